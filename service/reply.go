package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
)

// NewReply is the input of Cases.Reply.
type NewReply struct {
	// Text and HTML are the bodies; at least one is set.
	Text, HTML string
	// Auto marks an automatic reply (an acknowledgement a rule sends): it
	// goes out with Auto-Submitted: auto-replied, and is not sent at all
	// when the customer's last message was itself automatic (RFC 3834), so
	// that two machines never answer each other.
	Auto bool
}

// Reply answers the case id's contact by email, as the context's member:
// the reply joins the thread (an outbound public message, stamping the
// first response) and goes out through Options.Mailer from Options.From,
// with the subject "Re: [#42] <subject>", the threading headers set
// (In-Reply-To the customer's last message, References the thread's) and
// its Message-ID the message's, so that the customer's answer threads
// back (Ingest). Whoever may read the case may answer it: the contact's
// address is read for the mail alone, as the system. An automatic reply to an automatic message sends nothing
// and returns nil, nil. A case without a contact's address is ErrInvalid;
// without a mailer, ErrInvalid too.
func (cs *Cases) Reply(ctx context.Context, id string, in NewReply) (*Message, error) {
	o := cs.s.opts
	if o.Mailer == nil || o.From == "" {
		return nil, storage.Invalid("mailer", "the service module has no mailer or From address (service.Options)")
	}
	var out *Message
	var msg send.Message
	err := cs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		c, err := cs.s.t.cases.Get(ctx, id)
		if err != nil {
			return err
		}
		if c.ContactID == "" {
			return storage.Invalid("contact_id", "case %s has no contact to reply to", c.Ref())
		}
		// The address is read as the system: whoever may answer the case
		// mails its contact, without reading the contact's record.
		contact, err := cs.s.t.contacts.Get(storage.AsSystem(ctx), c.ContactID)
		if err != nil {
			return err
		}
		if contact.Email == "" {
			return storage.Invalid("contact_id", "the case's contact has no email address")
		}
		var refs []string
		var last *Message
		err = storage.Each(ctx, cs.s.t.messages, storage.ListQuery{Filter: storage.Eq("case_id", c.ID), Sort: []storage.Sort{{Field: "sent_at"}}},
			func(m *Message) error {
				if m.MessageID != "" && m.Kind == KindReply {
					refs = append(refs, m.MessageID)
				}
				if m.Direction == Inbound {
					last = m
				}
				return nil
			})
		if err != nil {
			return err
		}
		if in.Auto && last != nil && last.AutoSubmitted {
			return nil
		}
		if len(refs) > 20 { // the first and the latest, as RFC 5322 suggests trimming
			refs = append(refs[:1], refs[len(refs)-19:]...)
		}
		nm := NewMessage{Kind: KindReply, Direction: Outbound, Body: in.Text, HTML: in.HTML, References: refs, AutoSubmitted: in.Auto}
		if last != nil {
			nm.InReplyTo = last.MessageID
		}
		m, err := cs.AddMessage(ctx, c.ID, nm)
		if err != nil {
			return err
		}
		// The message's own ID names it in the Message-ID header, as the
		// mailer writes it.
		next := *m
		next.MessageID = o.messageID(m.ID)
		if err := cs.s.t.messages.Update(ctx, m, &next); err != nil {
			return err
		}
		out = &next
		subject := c.Subject
		if !tokenRE.MatchString(subject) {
			subject = "[" + c.Ref() + "] " + subject
		}
		if !strings.HasPrefix(strings.ToLower(subject), "re:") {
			subject = "Re: " + subject
		}
		msg = send.Message{ID: m.ID, From: o.From, To: []string{contact.Email}, Subject: subject, Text: in.Text, HTML: in.HTML,
			Headers: map[string]string{}}
		if nm.InReplyTo != "" {
			msg.Headers["In-Reply-To"] = "<" + nm.InReplyTo + ">"
		}
		if len(refs) > 0 {
			msg.Headers["References"] = "<" + strings.Join(refs, "> <") + ">"
		}
		if in.Auto {
			msg.Headers["Auto-Submitted"] = "auto-replied"
		}
		return send.CheckMessage(msg)
	})
	if err != nil || out == nil {
		return out, err
	}
	// Sent once the reply is committed: a failure to send leaves the
	// reply in the thread, and the error says it did not go out.
	if err := o.Mailer.Send(ctx, msg); err != nil {
		return out, fmt.Errorf("service: reply %s recorded but not sent: %w", out.ID, err)
	}
	return out, nil
}

// messageID is the Message-ID of the desk's message id: the mailer's
// (send.MessageIDer), else id at MessageIDDomain or From's domain.
func (o Options) messageID(id string) string {
	if m, ok := o.Mailer.(send.MessageIDer); ok {
		return m.MessageID(id)
	}
	domain := o.MessageIDDomain
	if domain == "" {
		domain = "localhost"
		if _, d, ok := strings.Cut(o.From, "@"); ok {
			domain = strings.TrimSuffix(d, ">")
		}
	}
	return id + "@" + domain
}
