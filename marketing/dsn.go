package marketing

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"

	"github.com/crmkit/crm/storage"
)

// ReportKind says what an inbound report is.
type ReportKind string

// The report kinds.
const (
	ReportBounce    ReportKind = "bounce"
	ReportComplaint ReportKind = "complaint"
)

// Bounce is one recipient of an RFC 3464 delivery status notification.
type Bounce struct {
	// Recipient is the Final-Recipient (else Original-Recipient) address,
	// lower-case.
	Recipient string
	// Action is failed, delayed, delivered, relayed or expanded.
	Action string
	// Status is the RFC 3463 code, such as "5.1.1".
	Status string
	// Hard says the failure is permanent: Action failed and a class 5
	// Status.
	Hard bool
	// Diagnostic is the Diagnostic-Code without its type ("550 5.1.1 …").
	Diagnostic string
}

// Report is a delivery status notification (RFC 3464) or an abuse
// complaint (an RFC 5965 feedback report).
type Report struct {
	Kind    ReportKind
	Bounces []Bounce
	// FeedbackType is a complaint's Feedback-Type ("abuse", "fraud"…).
	FeedbackType string
	// Recipients are a complaint's Original-Rcpt-To addresses, or the To
	// of the returned message when it has none; lower-case.
	Recipients []string
	// MessageID is the Message-ID (without angle brackets) of the message
	// the report is about, from the returned message or its headers.
	MessageID string
}

// maxReport is how much of an inbound report is read.
const maxReport = 10 << 20

// ParseReport reads an RFC 5322 message and returns the report it carries:
// a multipart/report of report-type delivery-status or feedback-report
// (also inside a multipart/mixed). Anything else is ErrInvalid.
func ParseReport(r io.Reader) (*Report, error) {
	msg, err := mail.ReadMessage(bufio.NewReader(io.LimitReader(r, maxReport)))
	if err != nil {
		return nil, storage.Invalid("report", "is not a mail message: %v", err)
	}
	rep := &Report{}
	if err := rep.walk(textproto.MIMEHeader(msg.Header), msg.Body, 0); err != nil {
		return nil, err
	}
	switch {
	case rep.FeedbackType != "":
		rep.Kind = ReportComplaint
	case len(rep.Bounces) > 0:
		rep.Kind = ReportBounce
	default:
		return nil, storage.Invalid("report", "is neither a delivery status notification nor a feedback report")
	}
	return rep, nil
}

// walk reads one MIME part of a report (depth levels down) into rep.
func (rep *Report) walk(h textproto.MIMEHeader, body io.Reader, depth int) error {
	if depth > 5 {
		return nil
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mt = "text/plain"
	}
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &lineless{r: body})
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return storage.Invalid("report", "a MIME part does not parse: %v", err)
			}
			if err := rep.walk(p.Header, p, depth+1); err != nil {
				return err
			}
		}
	case mt == "message/delivery-status" || mt == "message/global-delivery-status":
		return rep.deliveryStatus(body)
	case mt == "message/feedback-report":
		f, err := fields(body)
		if err != nil || len(f) == 0 {
			return storage.Invalid("report", "the feedback report does not parse")
		}
		rep.FeedbackType = strings.ToLower(strings.TrimSpace(f[0].Get("Feedback-Type")))
		for _, a := range f[0].Values("Original-Rcpt-To") {
			rep.Recipients = append(rep.Recipients, strings.ToLower(address(a)))
		}
	case mt == "message/rfc822" || mt == "text/rfc822-headers" || mt == "message/rfc822-headers" || mt == "message/global-headers":
		hd, err := textproto.NewReader(bufio.NewReader(body)).ReadMIMEHeader()
		if err != nil && len(hd) == 0 {
			return nil // the returned message is often cut short
		}
		if id := strings.Trim(strings.TrimSpace(hd.Get("Message-Id")), "<>"); id != "" && rep.MessageID == "" {
			rep.MessageID = id
		}
		if len(rep.Recipients) == 0 {
			if to, err := mail.ParseAddressList(hd.Get("To")); err == nil {
				for _, a := range to {
					rep.Recipients = append(rep.Recipients, strings.ToLower(a.Address))
				}
			}
		}
	}
	return nil
}

// deliveryStatus reads the per-message block and the per-recipient
// blocks of a delivery-status part.
func (rep *Report) deliveryStatus(body io.Reader) error {
	blocks, err := fields(body)
	if err != nil || len(blocks) < 2 {
		return storage.Invalid("report", "the delivery status has no recipient")
	}
	for _, f := range blocks[1:] {
		b := Bounce{
			Recipient:  strings.ToLower(address(f.Get("Final-Recipient"))),
			Action:     strings.ToLower(strings.TrimSpace(f.Get("Action"))),
			Status:     strings.TrimSpace(strings.Fields(f.Get("Status") + " ")[0]),
			Diagnostic: strings.Join(strings.Fields(typed(f.Get("Diagnostic-Code"))), " "),
		}
		if b.Recipient == "" {
			b.Recipient = strings.ToLower(address(f.Get("Original-Recipient")))
		}
		if b.Recipient == "" {
			continue
		}
		b.Hard = b.Action == "failed" && strings.HasPrefix(b.Status, "5.")
		rep.Bounces = append(rep.Bounces, b)
	}
	return nil
}

// fields reads the blank-line separated blocks of header fields of a
// delivery-status or feedback-report part.
func fields(body io.Reader) ([]textproto.MIMEHeader, error) {
	data, err := io.ReadAll(io.LimitReader(body, maxReport))
	if err != nil {
		return nil, err
	}
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	var out []textproto.MIMEHeader
	for _, block := range strings.Split(string(data), "\n\n") {
		if strings.TrimSpace(block) == "" {
			continue
		}
		h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(strings.TrimLeft(block, "\n") + "\n\n"))).ReadMIMEHeader()
		if err != nil && len(h) == 0 {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// typed strips the address or diagnostic type of a field: "rfc822;
// a@b.example" → "a@b.example".
func typed(v string) string {
	if _, rest, ok := strings.Cut(v, ";"); ok {
		return strings.TrimSpace(rest)
	}
	return strings.TrimSpace(v)
}

// address returns the address of a recipient field, without its type or
// angle brackets.
func address(v string) string {
	return strings.Trim(typed(v), "<> \t")
}

// lineless drops the line ends of base64 text.
type lineless struct{ r io.Reader }

func (l *lineless) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	j := 0
	for _, c := range p[:n] {
		if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
			p[j] = c
			j++
		}
	}
	return j, err
}
