package marketing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/crmkit/crm/storage"
)

// Bounces takes the reports that come back to the sender: delivery status
// notifications and abuse complaints.
type Bounces struct{ s *Service }

// ReportResult says what Process did with a report.
type ReportResult struct {
	Report *Report
	// Messages are the messages the report was matched to.
	Messages []string
	// Suppressed are the addresses it put on the suppression list.
	Suppressed []string
}

// The events of messages a report gives.
const (
	EventComplained = "email_message.complained"
	EventSoftBounce = "email_message.soft_bounced"
)

// softPrefix starts the Error of a message that bounced softly.
const softPrefix = "soft bounce: "

// Process reads an inbound report (the raw message a bounce or feedback
// mailbox received) and applies it in the context's workspace: each
// bounced recipient's message is found by the report's Message-ID (the
// message record's ID, as the mailer sets it) or else as the latest
// message to the address. A hard bounce marks the message bounced
// (email_message.bounced) and suppresses the address; a soft bounce is
// noted on the message (email_message.soft_bounced), and the address is
// suppressed once it has Options.SoftBounceLimit soft bounces in 30 days;
// a complaint suppresses the address (email_message.complained) and
// leaves the campaign. A message that is no report is ErrInvalid.
func (bs *Bounces) Process(ctx context.Context, r io.Reader) (*ReportResult, error) {
	rep, err := ParseReport(r)
	if err != nil {
		return nil, err
	}
	out := &ReportResult{Report: rep}
	ctx = storage.AsSystem(ctx)
	err = bs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		switch rep.Kind {
		case ReportComplaint:
			for _, addr := range rep.Recipients {
				if err := bs.complaint(ctx, rep, addr, out); err != nil {
					return err
				}
			}
		case ReportBounce:
			for _, b := range rep.Bounces {
				if b.Action != "failed" && b.Action != "delayed" {
					continue
				}
				if err := bs.bounce(ctx, rep, b, out); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

// message finds the message a report is about.
func (bs *Bounces) message(ctx context.Context, msgID, addr string) (*Message, error) {
	if local, _, ok := strings.Cut(msgID, "@"); ok {
		m, err := bs.s.t.messages.Get(ctx, local)
		if err == nil && (addr == "" || m.Address == addr) {
			return m, nil
		}
		if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrInvalid) {
			return nil, err
		}
	}
	if addr == "" {
		return nil, nil
	}
	page, err := bs.s.t.messages.List(ctx, storage.ListQuery{Filter: storage.And{storage.Eq("address", addr),
		storage.In("status", string(MessageSent), string(MessageBounced))},
		Sort: []storage.Sort{{Field: "sent_at", Desc: true}}, PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil || len(page.Items) == 0 {
		return nil, err
	}
	return page.Items[0], nil
}

func (bs *Bounces) bounce(ctx context.Context, rep *Report, b Bounce, out *ReportResult) error {
	m, err := bs.message(ctx, rep.MessageID, b.Recipient)
	if err != nil {
		return err
	}
	detail := strings.TrimSpace(b.Status + " " + b.Diagnostic)
	if m != nil {
		n := *m
		event := EventSoftBounce
		if b.Hard {
			n.Status, event = MessageBounced, EventBounced
			n.Error = detail
		} else {
			n.Error = softPrefix + detail
		}
		if err := bs.s.t.messages.Update(ctx, m, &n, storage.WithEventChanges(note("bounce", detail)), storage.WithEventType(event)); err != nil {
			return err
		}
		out.Messages = append(out.Messages, m.ID)
		if b.Hard {
			if err := bs.s.Campaigns.respond(ctx, m.CampaignID, m.ContactID, MemberBounced); err != nil && !errors.Is(err, storage.ErrInvalid) {
				return err
			}
		}
	}
	if !b.Hard {
		n, err := bs.s.t.messages.Count(ctx, storage.And{storage.Eq("address", b.Recipient), storage.StartsWith("error", softPrefix),
			storage.Ge("updated_at", bs.s.now().AddDate(0, 0, -30))})
		if err != nil || n < int64(bs.s.opts.SoftBounceLimit) {
			return err
		}
		detail = fmt.Sprintf("%d soft bounces in 30 days, the last %s", n, detail)
	}
	return bs.suppress(ctx, b.Recipient, SuppressHardBounce, detail, out)
}

func (bs *Bounces) complaint(ctx context.Context, rep *Report, addr string, out *ReportResult) error {
	m, err := bs.message(ctx, rep.MessageID, addr)
	if err != nil {
		return err
	}
	if m != nil {
		n := *m
		if err := bs.s.t.messages.Update(ctx, m, &n, storage.WithEventChanges(note("complaint", rep.FeedbackType)),
			storage.WithEventType(EventComplained)); err != nil {
			return err
		}
		out.Messages = append(out.Messages, m.ID)
		if err := bs.s.Campaigns.respond(ctx, m.CampaignID, m.ContactID, MemberUnsubscribed); err != nil && !errors.Is(err, storage.ErrInvalid) {
			return err
		}
	}
	return bs.suppress(ctx, addr, SuppressComplaint, "feedback report: "+rep.FeedbackType, out)
}

// note is an event change that records what a report said.
func note(field, text string) storage.Change {
	b, _ := json.Marshal(text)
	return storage.Change{Field: field, New: b}
}

func (bs *Bounces) suppress(ctx context.Context, addr string, reason SuppressionReason, detail string, out *ReportResult) error {
	if _, err := bs.s.Suppressions.Add(ctx, addr, reason, detail); err != nil {
		if errors.Is(err, storage.ErrInvalid) {
			return nil // not an address we can suppress
		}
		return err
	}
	out.Suppressed = append(out.Suppressed, addr)
	return nil
}
