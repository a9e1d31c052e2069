package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// MessageKind is what a message of a case's thread is.
type MessageKind string

// The message kinds.
const (
	// KindReply is public: the customer's message or the desk's answer.
	KindReply MessageKind = "reply"
	// KindNote is internal: the desk's, never sent to the customer.
	KindNote MessageKind = "note"
)

// Direction is which way a message went.
type Direction string

// The directions.
const (
	Inbound  Direction = "inbound"  // from the customer
	Outbound Direction = "outbound" // from the desk
)

// Attachment describes a file that came with a message; the bytes are the
// host's to keep (Location names where).
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size"`
	// ContentID is the Content-ID of an inline part (an image in an HTML
	// body), without angle brackets.
	ContentID string `json:"content_id,omitempty"`
	Location  string `json:"location,omitempty"`
}

// Message is one message of a case's thread.
type Message struct {
	storage.Meta
	CaseID    string      `bun:"case_id,notnull" json:"case_id"`
	Kind      MessageKind `bun:"kind,notnull" json:"kind"`
	Direction Direction   `bun:"direction,notnull" json:"direction"`
	// AuthorID is the member who wrote an outbound message or a note;
	// From the sender of an inbound one ("Ada <ada@example.com>").
	AuthorID string `bun:"author_id,notnull" json:"author_id,omitempty"`
	From     string `bun:"from_addr,notnull" json:"from,omitempty"`
	Body     string `bun:"body,notnull" json:"body"`
	// HTML is the message's HTML body, sanitised, or "".
	HTML        string       `bun:"html,notnull" json:"html,omitempty"`
	Attachments []Attachment `bun:"attachments" json:"attachments,omitempty"`
	// MessageID, InReplyTo and References are the RFC 5322 threading
	// headers of a message that came or went by email, without angle
	// brackets.
	MessageID  string    `bun:"message_id,notnull" json:"message_id,omitempty"`
	InReplyTo  string    `bun:"in_reply_to,notnull" json:"in_reply_to,omitempty"`
	References []string  `bun:"refs" json:"references,omitempty"`
	SentAt     time.Time `bun:"sent_at,notnull" json:"sent_at"`
	// AutoSubmitted marks a message sent by a machine, not a person (RFC
	// 3834's Auto-Submitted header: an out-of-office reply, a bounce, or
	// the desk's own automatic reply): nothing answers it automatically.
	AutoSubmitted bool `bun:"auto_submitted,notnull" json:"auto_submitted,omitempty"`
	// ContactID, OwnerID and TeamID are the case's, kept with each
	// message: the message goes with the contact, and whoever may read the
	// case reads its thread.
	ContactID string `bun:"contact_id,notnull" json:"contact_id,omitempty"`
	OwnerID   string `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID    string `bun:"team_id,notnull" json:"team_id,omitempty"`
}

// RecordType returns "case_message".
func (*Message) RecordType() string { return ObjectMessage }

// Links returns the message's case and contact, so that it shows in the
// contact's timeline.
func (m *Message) Links() []storage.Ref {
	out := []storage.Ref{{Type: ObjectCase, ID: m.CaseID}}
	if m.ContactID != "" {
		out = append(out, storage.Ref{Type: contacts.ObjectContact, ID: m.ContactID})
	}
	return out
}

// NewMessage is the input of Cases.AddMessage.
type NewMessage struct {
	// Kind defaults to a reply; Direction to outbound for a member's
	// message and inbound for the system's (an ingested email).
	Kind        MessageKind
	Direction   Direction
	From        string
	Body, HTML  string
	Attachments []Attachment
	MessageID   string
	InReplyTo   string
	References  []string
	// SentAt defaults to the write's time.
	SentAt time.Time
	// AutoSubmitted marks a machine's message (Message.AutoSubmitted).
	AutoSubmitted bool
}

// AddMessage adds a message to the thread of the case id. The first
// outbound reply stamps the case's FirstResponseAt, and each ends the
// customer's wait (WaitingSince); an inbound reply starts one. Every
// message stamps LastMessageAt. An inbound reply to a resolved case
// reopens it (to the first open status). Automatic messages
// (AutoSubmitted: an acknowledgement, an out-of-office reply) neither
// answer, wait nor reopen. A merged case takes no message (ErrConflict): write
// to the case it was merged into.
func (cs *Cases) AddMessage(ctx context.Context, caseID string, in NewMessage) (*Message, error) {
	var out *Message
	err := cs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		c, err := cs.s.t.cases.Get(ctx, caseID)
		if err != nil {
			return err
		}
		if c.MergedInto != "" {
			return fmt.Errorf("%w: case %s was merged into another", storage.ErrConflict, c.Ref())
		}
		m := &Message{CaseID: c.ID, Kind: in.Kind, Direction: in.Direction, From: in.From, Body: in.Body, HTML: in.HTML,
			Attachments: in.Attachments, MessageID: trimID(in.MessageID), InReplyTo: trimID(in.InReplyTo),
			SentAt: storage.Truncate(in.SentAt), AutoSubmitted: in.AutoSubmitted, ContactID: c.ContactID, OwnerID: c.OwnerID, TeamID: c.TeamID}
		for _, r := range in.References {
			if r = trimID(r); r != "" {
				m.References = append(m.References, r)
			}
		}
		if m.Kind == "" {
			m.Kind = KindReply
		}
		// A member writes as themself; the system (an ingested email)
		// for the customer.
		member := ""
		if p := storage.PrincipalFrom(ctx); p != nil && !p.IsSystem() {
			member = p.MemberID
		}
		if m.Direction == "" {
			m.Direction = Inbound
			if member != "" || m.Kind == KindNote {
				m.Direction = Outbound
			}
		}
		if m.Direction == Outbound {
			m.AuthorID = member
		}
		if m.SentAt.IsZero() {
			m.SentAt = storage.WriteTimeFrom(ctx)
		}
		if err := checkMessage(m); err != nil {
			return err
		}
		if err := cs.s.t.messages.Insert(ctx, m); err != nil {
			return err
		}
		next := *c
		if m.SentAt.After(next.LastMessageAt) {
			next.LastMessageAt = m.SentAt
		}
		event := ""
		switch {
		case m.Kind == KindReply && m.Direction == Outbound && !m.AutoSubmitted:
			if next.FirstResponseAt.IsZero() {
				next.FirstResponseAt = m.SentAt
			}
			next.WaitingSince = time.Time{}
		case m.Kind == KindReply && m.Direction == Inbound && !m.AutoSubmitted:
			if c.Category == StatusResolved {
				set, err := cs.s.Settings.Get(ctx)
				if err != nil {
					return err
				}
				st := set.First(StatusOpen)
				next.Status, next.Category, next.ResolvedAt, event = st.Key, st.Category, time.Time{}, ObjectCase+".reopened"
			}
			if next.Category == StatusOpen && next.WaitingSince.IsZero() {
				next.WaitingSince = m.SentAt
			}
		}
		if err := cs.s.clock(ctx, c, &next, m.SentAt); err != nil {
			return err
		}
		var opts []storage.WriteOption
		if event != "" {
			opts = append(opts, storage.WithEventType(event))
		}
		if err := cs.s.t.cases.Update(ctx, c, &next, opts...); err != nil {
			return err
		}
		out = m
		return nil
	})
	return out, err
}

// checkMessage validates m, naming each bad field.
func checkMessage(m *Message) error {
	var v storage.ValidationError
	switch m.Kind {
	case KindReply, KindNote:
	default:
		v.Add("kind", "%q is not reply or note", m.Kind)
	}
	switch m.Direction {
	case Inbound, Outbound:
	default:
		v.Add("direction", "%q is not inbound or outbound", m.Direction)
	}
	if m.Kind == KindNote && m.Direction == Inbound {
		v.Add("kind", "a note is the desk's, never inbound")
	}
	m.Body = strings.TrimSpace(m.Body)
	if m.Body == "" && m.HTML == "" && len(m.Attachments) == 0 {
		v.Add("body", "is required")
	}
	if len(m.Body) > MaxBodyLen || len(m.HTML) > MaxBodyLen {
		v.Add("body", "is longer than %d bytes", MaxBodyLen)
	}
	storage.TrimText(&v, "from", &m.From, MaxTextLen)
	storage.TrimText(&v, "message_id", &m.MessageID, MaxTextLen)
	storage.TrimText(&v, "in_reply_to", &m.InReplyTo, MaxTextLen)
	for i, a := range m.Attachments {
		if strings.TrimSpace(a.Name) == "" && a.ContentID == "" {
			v.Add(fmt.Sprintf("attachments[%d].name", i), "is required")
		}
		if a.Size < 0 {
			v.Add(fmt.Sprintf("attachments[%d].size", i), "is negative")
		}
	}
	return v.Err()
}

// trimID trims a message ID's spaces and angle brackets.
func trimID(id string) string {
	return strings.Trim(strings.TrimSpace(id), "<>")
}

// Messages returns the thread of the case id, oldest first.
func (cs *Cases) Messages(ctx context.Context, caseID string, q storage.PageQuery) (storage.Page[*Message], error) {
	return cs.s.t.messages.List(ctx, storage.ListQuery{Filter: storage.Eq("case_id", caseID),
		Sort: []storage.Sort{{Field: "sent_at"}}, PageQuery: q})
}

// follow gives the messages of c its contact, owner and team.
func (s *Service) follow(ctx context.Context, c *Case) error {
	return storage.Each(ctx, s.t.messages, storage.ListQuery{Filter: storage.Eq("case_id", c.ID)}, func(m *Message) error {
		if m.ContactID == c.ContactID && m.OwnerID == c.OwnerID && m.TeamID == c.TeamID {
			return nil
		}
		next := *m
		next.ContactID, next.OwnerID, next.TeamID = c.ContactID, c.OwnerID, c.TeamID
		return s.t.messages.Update(ctx, m, &next)
	})
}
