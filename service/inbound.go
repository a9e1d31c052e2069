package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jhillyerd/enmime/v2"
	"github.com/microcosm-cc/bluemonday"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// Ingested is what Cases.Ingest did with a message.
type Ingested struct {
	// Case is the case the message joined or opened, Message its record.
	Case    *Case
	Message *Message
	// Opened says the message opened a new case; NewContact that its
	// sender was no contact and now is one.
	Opened, NewContact bool
	// Duplicate says the message (by its Message-ID) was ingested before:
	// nothing was written, and Case and Message are the earlier ones.
	Duplicate bool
	// ThreadedBy says how the message found its case: "headers"
	// (In-Reply-To or References name a message of the case), "subject"
	// (its [#number] token, from the case's contact), or "" for a new
	// case.
	ThreadedBy string
}

// tokenRE finds a case token in a subject: "[#42]".
var tokenRE = regexp.MustCompile(`\[#(\d{1,18})\]`)

// htmlPolicy is the sanitiser of inbound HTML bodies: the user-generated-content
// policy (no scripts, styles, event handlers or forms; links kept, made
// nofollow), with inline images by cid: kept.
var htmlPolicy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("http", "https", "mailto", "cid")
	return p
}()

// Ingest takes in an inbound email (RFC 5322, MIME) as the desk receives
// it, in one transaction:
//
//   - a message whose Message-ID was ingested before is a Duplicate and
//     writes nothing (a redelivery, or a retry after a crash);
//   - it joins the case of the first message its In-Reply-To or References
//     name (a merged case's survivor), else the case its subject's token
//     names ("Re: [#42] Printer") when the sender is that case's contact
//     (a token alone, which anyone may type, threads no one else's mail);
//   - else it opens a case (channel email, its subject, its text as the
//     description) for the contact with the sender's address, made from
//     the From header's name when there is none.
//
// The text body is kept as it is and the HTML body sanitised (bluemonday's
// policy for user content); attachments and inline parts are described
// (name, type, size, Content-ID), their bytes left to the caller. A
// message with an Auto-Submitted header other than "no" (RFC 3834: an
// out-of-office reply, a bounce) is kept with AutoSubmitted set, which
// Reply honours: nothing answers it automatically. A message that does
// not parse, or has no sender, is ErrInvalid.
func (cs *Cases) Ingest(ctx context.Context, r io.Reader) (*Ingested, error) {
	env, err := enmime.ReadEnvelope(r)
	if err != nil {
		return nil, storage.Invalid("message", "does not parse as a MIME message: %v", err)
	}
	from, err := mail.ParseAddress(env.GetHeader("From"))
	if err != nil {
		return nil, storage.Invalid("from", "%q is not a sender's address", env.GetHeader("From"))
	}
	addr, err := contacts.NormalizeEmail(from.Address)
	if err != nil {
		return nil, storage.Invalid("from", "%q is not a sender's address", from.Address)
	}
	// Bodies beyond MaxBodyLen are cut, not refused: the mail arrived.
	in := NewMessage{Direction: Inbound, From: storage.CutText(from.String(), MaxTextLen), Body: storage.CutText(env.Text, MaxBodyLen),
		HTML:      storage.CutText(htmlPolicy.Sanitize(env.HTML), MaxBodyLen),
		MessageID: trimID(env.GetHeader("Message-ID")), InReplyTo: firstID(env.GetHeader("In-Reply-To")),
		References: ids(env.GetHeader("References"))}
	if at, err := env.Date(); err == nil {
		in.SentAt = at
	}
	for i, p := range slices.Concat(env.Attachments, env.Inlines, env.OtherParts) {
		if strings.HasPrefix(p.ContentType, "multipart/") {
			continue
		}
		a := Attachment{Name: storage.CutText(p.FileName, MaxTextLen), ContentType: storage.CutText(p.ContentType, MaxTextLen),
			Size: int64(len(p.Content)), ContentID: storage.CutText(trimID(p.ContentID), MaxTextLen)}
		if a.Name == "" && a.ContentID == "" {
			a.Name = fmt.Sprintf("part-%d", i+1) // a part with neither name nor Content-ID
		}
		in.Attachments = append(in.Attachments, a)
	}
	auto := env.GetHeader("Auto-Submitted")
	in.AutoSubmitted = auto != "" && !strings.EqualFold(strings.TrimSpace(auto), "no")
	subject := strings.TrimSpace(env.GetHeader("Subject"))
	var out *Ingested
	err = cs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		out = &Ingested{}
		if in.MessageID != "" {
			page, err := cs.s.t.messages.List(ctx, storage.ListQuery{Filter: storage.Eq("message_id", in.MessageID),
				PageQuery: storage.PageQuery{Limit: 1}})
			if err != nil {
				return err
			}
			if len(page.Items) > 0 {
				out.Duplicate, out.Message = true, page.Items[0]
				out.Case, err = cs.s.t.cases.Get(ctx, page.Items[0].CaseID)
				return err
			}
		}
		c, err := cs.thread(ctx, &in, subject, addr)
		if err != nil {
			return err
		}
		if c != nil {
			out.ThreadedBy = "headers"
			if c.threadedBySubject {
				out.ThreadedBy = "subject"
			}
		} else {
			contact, created, err := cs.s.contactByEmail(ctx, from.Name, addr)
			if err != nil {
				return err
			}
			out.NewContact, out.Opened = created, true
			if subject == "" {
				subject = "(no subject)"
			}
			desc := in.Body
			if len(desc) > MaxBodyLen {
				desc = desc[:MaxBodyLen]
			}
			opened, err := cs.Create(ctx, NewCase{Subject: storage.CutText(subject, MaxTextLen), Description: desc, ContactID: contact.ID,
				Channel: ChannelEmail})
			if err != nil {
				return err
			}
			c = &threaded{Case: opened}
		}
		out.Message, err = cs.AddMessage(ctx, c.ID, in)
		if err != nil {
			return err
		}
		out.Case, err = cs.s.t.cases.Get(ctx, c.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// threaded is a case found for an inbound message, and how.
type threaded struct {
	*Case
	threadedBySubject bool
}

// thread finds the case an inbound message belongs to, or nil: by its
// headers, then by its subject's token from the case's contact.
func (cs *Cases) thread(ctx context.Context, in *NewMessage, subject, sender string) (*threaded, error) {
	refs := slices.DeleteFunc(append([]string{in.InReplyTo}, in.References...), func(s string) bool { return s == "" })
	if len(refs) > 0 {
		page, err := cs.s.t.messages.List(ctx, storage.ListQuery{Filter: storage.In("message_id", refs...),
			PageQuery: storage.PageQuery{Limit: 1}})
		if err != nil {
			return nil, err
		}
		if len(page.Items) > 0 {
			c, err := cs.survivor(ctx, page.Items[0].CaseID)
			if err != nil || c == nil {
				return nil, err
			}
			return &threaded{Case: c}, nil
		}
	}
	m := tokenRE.FindStringSubmatch(subject)
	if m == nil {
		return nil, nil
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	c, err := cs.ByNumber(ctx, n)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil || c.ContactID == "" {
		return nil, err
	}
	contact, err := cs.s.t.contacts.Get(ctx, c.ContactID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(contact.Email, sender) {
		return nil, nil // a token typed by someone else opens their own case
	}
	if c, err = cs.survivor(ctx, c.ID); err != nil || c == nil {
		return nil, err
	}
	return &threaded{Case: c, threadedBySubject: true}, nil
}

// survivor returns the case id, or the case it was merged into (and so
// on); nil when that case is gone.
func (cs *Cases) survivor(ctx context.Context, id string) (*Case, error) {
	for range 16 {
		c, err := cs.s.t.cases.Get(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		if err != nil || c.MergedInto == "" {
			return c, err
		}
		id = c.MergedInto
	}
	return nil, fmt.Errorf("%w: case %s: merges nested too deep", storage.ErrConflict, id)
}

// contactByEmail returns the contact with the normalised address addr,
// made (with name) when there is none, and whether it was made: an email's
// sender, a chat visitor's verified identity. A contact made meanwhile by
// a concurrent call is caught by the unique email index in a savepoint and
// read back.
func (s *Service) contactByEmail(ctx context.Context, name, addr string) (*contacts.Contact, bool, error) {
	find := func() (*contacts.Contact, error) {
		page, err := s.t.contacts.List(ctx, storage.ListQuery{Filter: storage.Eq("email", addr), PageQuery: storage.PageQuery{Limit: 1}})
		if err != nil || len(page.Items) == 0 {
			return nil, err
		}
		return page.Items[0], nil
	}
	if c, err := find(); err != nil || c != nil {
		return c, false, err
	}
	first, last, _ := strings.Cut(strings.TrimSpace(name), " ")
	if first == "" {
		first, _, _ = strings.Cut(addr, "@")
	}
	var c *contacts.Contact
	err := storage.RunInSavepoint(ctx, s.store, func(ctx context.Context) error {
		var err error
		c, err = s.people.Contacts.Create(ctx, contacts.NewContact{FirstName: storage.CutText(first, 100), LastName: storage.CutText(last, 100), Email: addr})
		return err
	})
	if errors.Is(err, storage.ErrConflict) { // made meanwhile by a concurrent call
		c, err = find()
		return c, false, err
	}
	return c, err == nil, err
}

// firstID returns the first message ID of a header such as In-Reply-To.
func firstID(h string) string {
	if l := ids(h); len(l) > 0 {
		return l[0]
	}
	return ""
}

// ids returns the message IDs of a header such as References, without
// angle brackets.
func ids(h string) []string {
	var out []string
	for _, f := range strings.Fields(h) {
		if id := trimID(f); id != "" && len(id) <= MaxTextLen {
			out = append(out, id)
		}
	}
	return out
}
