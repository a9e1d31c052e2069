package workflow

import (
	"context"
	"fmt"
	"net/mail"
	"strings"

	"github.com/crmkit/crm/storage"
)

// Mailer sends email for SendEmail actions. Package workflow/smtp has an
// SMTP implementation.
type Mailer interface {
	// Send delivers m. An error is retried by the job policy unless it is
	// permanent (see Permanent).
	Send(ctx context.Context, m Message) error
}

// Message is one email. Header values (From, To, Cc, ReplyTo, Subject and
// Headers) never hold CR or LF: CheckMessage refuses them.
type Message struct {
	// ID is the message's stable identity, the same on every attempt of a
	// step: a Mailer puts it in the Message-ID header, so that a receiver
	// can drop a repeat.
	ID      string
	From    string
	To      []string
	Cc      []string
	ReplyTo string
	Subject string
	// Text and HTML are the bodies; at least one is set.
	Text, HTML string
	// Headers are further headers, such as List-Unsubscribe.
	Headers map[string]string
}

// CheckMessage verifies m before it is sent: addresses parse, at least one
// recipient and one body, and no header value holds CR or LF (header
// injection). Faults are ErrInvalid naming the field.
func CheckMessage(m Message) error {
	v := &storage.ValidationError{}
	noBreak := func(field, s string) {
		if strings.ContainsAny(s, "\r\n") {
			v.Add(field, "holds a line break (CR or LF), which would inject mail headers")
		}
	}
	addr := func(field, s string) {
		noBreak(field, s)
		if _, err := mail.ParseAddress(s); err != nil {
			v.Add(field, "%q is not an email address", s)
		}
	}
	if m.From != "" {
		addr("from", m.From)
	}
	if len(m.To) == 0 {
		v.Add("to", "at least one recipient is required")
	}
	for i, a := range m.To {
		addr(fmt.Sprintf("to[%d]", i), a)
	}
	for i, a := range m.Cc {
		addr(fmt.Sprintf("cc[%d]", i), a)
	}
	if m.ReplyTo != "" {
		addr("reply_to", m.ReplyTo)
	}
	noBreak("subject", m.Subject)
	noBreak("id", m.ID)
	for k, val := range m.Headers {
		noBreak("headers."+k, k)
		noBreak("headers."+k, val)
		if strings.ContainsAny(k, ": ") || k == "" {
			v.Add("headers."+k, "is not a header name")
		}
	}
	if m.Text == "" && m.HTML == "" {
		v.Add("text", "a text or an HTML body is required")
	}
	return v.Err()
}

// WebhookSender delivers CallWebhook actions. Package workflow/webhook has
// an HTTP implementation that signs the body in the Standard Webhooks
// format and refuses private addresses.
type WebhookSender interface {
	// Send posts req. A response outside 2xx is an error; 4xx other than
	// 408 and 429 should be permanent (see Permanent), the rest is retried.
	Send(ctx context.Context, req WebhookRequest) error
}

// WebhookRequest is one webhook call.
type WebhookRequest struct {
	// ID is the message's stable identity (the webhook-id header), the
	// same on every attempt of a step, so that a receiver can drop a
	// repeat.
	ID string
	// URL is where the body is posted.
	URL string
	// Body is the JSON body.
	Body []byte
	// Secret signs the body ("whsec_" and base64); empty sends it
	// unsigned.
	Secret string
	// Headers are further headers.
	Headers map[string]string
}
