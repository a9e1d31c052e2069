package service

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// ConversationStatus is whether a conversation takes messages.
type ConversationStatus string

// The conversation statuses.
const (
	// ConversationOpen takes messages from the visitor and the desk.
	ConversationOpen ConversationStatus = "open"
	// ConversationClosed takes no more (ErrConflict): the visitor starts
	// a new conversation.
	ConversationClosed ConversationStatus = "closed"
)

// Author is who wrote a chat message.
type Author string

// The authors.
const (
	AuthorVisitor Author = "visitor" // the person on the website
	AuthorMember  Author = "member"  // the desk: a member (AuthorID)
	AuthorSystem  Author = "system"  // automatic: the away message
)

// MaxChatLen bounds a chat message's body, in bytes.
const MaxChatLen = 4000

// DefaultAwayText is the automatic answer to a visitor's first message
// outside business hours, until the workspace sets its own
// (SettingsService.SetChat).
const DefaultAwayText = "Thanks for your message. We are away right now and will answer as soon as we are back."

// Conversation is a live chat between a website's visitor and the desk.
type Conversation struct {
	storage.Meta
	// ContactID is the visitor's contact, once known: given by the host,
	// or found or made by the email of a verified identity (Identity).
	ContactID string `bun:"contact_id,notnull" json:"contact_id,omitempty"`
	// VisitorID is the host's user ID of a verified visitor, else the
	// widget's anonymous visitor ID (random when it gave none).
	VisitorID string `bun:"visitor_id,notnull" json:"visitor_id"`
	// Verified says the visitor's identity was signed by the host.
	Verified bool `bun:"verified,notnull" json:"verified,omitempty"`
	// Name and Email are what the visitor gave (a verified identity's
	// email is verified).
	Name   string             `bun:"name,notnull" json:"name,omitempty"`
	Email  string             `bun:"email,notnull" json:"email,omitempty"`
	Status ConversationStatus `bun:"status,notnull" json:"status"`
	// OwnerID is the member the conversation is assigned to, TeamID the
	// team that handles it: the access scopes of conversations and of
	// their messages are theirs.
	OwnerID string  `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID  string  `bun:"team_id,notnull" json:"team_id,omitempty"`
	Channel Channel `bun:"channel,notnull" json:"channel"`
	// StartedAt is when the conversation started, LastMessageAt when its
	// last message was written, LastVisitorAt the visitor's last (zero
	// before the first), ClosedAt when it was closed.
	StartedAt     time.Time `bun:"started_at,notnull" json:"started_at"`
	LastMessageAt time.Time `bun:"last_message_at,notnull" json:"last_message_at,omitzero"`
	LastVisitorAt time.Time `bun:"last_visitor_at,notnull" json:"last_visitor_at,omitzero"`
	ClosedAt      time.Time `bun:"closed_at,notnull" json:"closed_at,omitzero"`
	// CaseID is the case the conversation was handed off to (HandOff).
	CaseID string `bun:"case_id,notnull" json:"case_id,omitempty"`
	// LastSeq is the sequence number of the conversation's last message:
	// messages are numbered 1, 2, 3… without gaps.
	LastSeq int64 `bun:"last_seq,notnull" json:"last_seq"`
	// TokenHash is the SHA-256 of the secret of the visitor's token.
	TokenHash string `bun:"token_hash,notnull" json:"-"`
}

// RecordType returns "conversation".
func (*Conversation) RecordType() string { return ObjectConversation }

// References returns the conversation's contact and case, which filter
// expressions name as "contact" and "case".
func (*Conversation) References() []storage.Reference {
	return []storage.Reference{{Name: "contact", Field: "contact_id", Type: contacts.ObjectContact},
		{Name: "case", Field: "case_id", Type: ObjectCase}}
}

// Links returns the conversation's contact and case.
func (c *Conversation) Links() []storage.Ref {
	var out []storage.Ref
	if c.ContactID != "" {
		out = append(out, storage.Ref{Type: contacts.ObjectContact, ID: c.ContactID})
	}
	if c.CaseID != "" {
		out = append(out, storage.Ref{Type: ObjectCase, ID: c.CaseID})
	}
	return out
}

// ChatMessage is one message of a conversation.
type ChatMessage struct {
	storage.Meta
	ConversationID string `bun:"conversation_id,notnull" json:"conversation_id"`
	// Seq is the message's number in its conversation: 1, 2, 3… without
	// gaps, in the order of commit, so that a client that saw up to n
	// reads exactly the messages after n (Conversations.Messages).
	Seq    int64  `bun:"seq,notnull" json:"seq"`
	Author Author `bun:"author,notnull" json:"author"`
	// AuthorID is the member who wrote a member's message.
	AuthorID string    `bun:"author_id,notnull" json:"author_id,omitempty"`
	Body     string    `bun:"body,notnull" json:"body"`
	SentAt   time.Time `bun:"sent_at,notnull" json:"sent_at"`
	// ContactID, OwnerID and TeamID are the conversation's, kept with
	// each message: the transcript goes with the contact, and whoever may
	// read the conversation reads its messages.
	ContactID string `bun:"contact_id,notnull" json:"contact_id,omitempty"`
	OwnerID   string `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID    string `bun:"team_id,notnull" json:"team_id,omitempty"`
}

// RecordType returns "chat_message".
func (*ChatMessage) RecordType() string { return ObjectChatMessage }

// Links returns the message's conversation and contact, so that it shows
// in the contact's timeline.
func (m *ChatMessage) Links() []storage.Ref {
	out := []storage.Ref{{Type: ObjectConversation, ID: m.ConversationID}}
	if m.ContactID != "" {
		out = append(out, storage.Ref{Type: contacts.ObjectContact, ID: m.ContactID})
	}
	return out
}

// Identity is a visitor's identity as the host knows it (its logged-in
// user), signed by the host with Options.IdentityKey: Signature is
// SignIdentity(key, UserID, Email). Name is not signed; it names a contact
// made for the email.
type Identity struct {
	UserID, Email, Name string
	Signature           string
}

// SignIdentity returns the signature of a visitor's identity that the host
// puts in its pages for the widget: the lower-case hex HMAC-SHA256 under
// key of UserID, a line feed, and Email trimmed and in lower case. A host
// in another language computes the same
// (hmac_sha256(key, user_id + "\n" + lower(email)) in hex).
func SignIdentity(key []byte, userID, email string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.TrimSpace(userID) + "\n" + strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(m.Sum(nil))
}

// verify checks id's signature and returns its normalised email. A bad
// signature, or one with no key to check it, is ErrForbidden; a bad
// identity ErrInvalid naming the field.
func (o Options) verify(id Identity) (string, error) {
	var v storage.ValidationError
	uid := strings.TrimSpace(id.UserID)
	if uid == "" || len(uid) > MaxTextLen || strings.ContainsAny(uid, "\r\n") {
		v.Add("identity.user_id", "is required, one line of at most %d bytes", MaxTextLen)
	}
	addr, err := contacts.NormalizeEmail(id.Email)
	if err != nil || addr == "" {
		v.Add("identity.email", "%q is not an email address", id.Email)
	}
	if err := v.Err(); err != nil {
		return "", err
	}
	if len(o.IdentityKey) == 0 {
		return "", fmt.Errorf("%w: no identity key to verify the visitor (service.Options.IdentityKey)", storage.ErrForbidden)
	}
	want := SignIdentity(o.IdentityKey, uid, addr)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(strings.TrimSpace(id.Signature))), []byte(want)) != 1 {
		return "", fmt.Errorf("%w: the visitor's identity signature does not match", storage.ErrForbidden)
	}
	return addr, nil
}

// NewConversation is the input of Conversations.Start.
type NewConversation struct {
	// Name and Email are what an anonymous visitor gives (optional,
	// unverified: they link no contact).
	Name, Email string
	// VisitorID is the widget's ID of an anonymous visitor (random when
	// "").
	VisitorID string
	// Identity, when set, is the host's signed identity of the visitor:
	// verified, it links the contact with its email (made when there is
	// none); a bad signature is ErrForbidden.
	Identity *Identity
	// ContactID starts the conversation for a known contact (a host's or
	// the desk's own call).
	ContactID       string
	OwnerID, TeamID string
	// Message, when set, is the visitor's first message.
	Message string
}

// Conversations manages live chat: conversations, their messages, and the
// signal of new messages to the streams of this process (Watch).
type Conversations struct {
	s   *Service
	hub hub
}

// Start opens a conversation and returns it with the visitor's token, the
// proof the widget gives on every later call (Visitor): the
// conversation's ID and a random secret, of which only the SHA-256 is
// stored. A verified Identity links the contact with its email, found or
// made (a contact made meanwhile by another call is read back).
func (cv *Conversations) Start(ctx context.Context, in NewConversation) (*Conversation, string, error) {
	c := &Conversation{Name: in.Name, Email: in.Email, VisitorID: in.VisitorID, ContactID: strings.TrimSpace(in.ContactID),
		OwnerID: strings.TrimSpace(in.OwnerID), TeamID: strings.TrimSpace(in.TeamID), Status: ConversationOpen, Channel: ChannelChat}
	var v storage.ValidationError
	storage.TrimText(&v, "name", &c.Name, MaxTextLen)
	storage.TrimText(&v, "visitor_id", &c.VisitorID, MaxTextLen)
	if c.Email = strings.TrimSpace(c.Email); c.Email != "" {
		addr, err := contacts.NormalizeEmail(c.Email)
		if err != nil {
			v.Add("email", "%q is not an email address", c.Email)
		}
		c.Email = addr
	}
	first := strings.TrimSpace(in.Message)
	if len(first) > MaxChatLen {
		v.Add("message", "is longer than %d bytes", MaxChatLen)
	}
	var addr string
	if in.Identity != nil {
		var err error
		if addr, err = cv.s.opts.verify(*in.Identity); errors.Is(err, storage.ErrForbidden) {
			return nil, "", err
		} else if bad := (*storage.ValidationError)(nil); errors.As(err, &bad) {
			v.Merge("", bad)
		}
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, "", err
	}
	c.ID = storage.NewID()
	c.TokenHash = tokenHash(secret)
	token := c.ID + "." + base64.RawURLEncoding.EncodeToString(secret)
	if c.VisitorID == "" {
		c.VisitorID = storage.NewID()
	}
	err := cv.s.store.RunInTx(ctx, func(ctx context.Context) error {
		var v storage.ValidationError
		if err := cv.checkAssignee(ctx, &v, c.OwnerID, c.TeamID); err != nil {
			return err
		}
		if c.ContactID != "" {
			if err := storage.CheckRef(ctx, &v, "contact_id", cv.s.store, storage.Ref{Type: contacts.ObjectContact, ID: c.ContactID}); err != nil {
				return err
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		if in.Identity != nil {
			contact, _, err := cv.s.contactByEmail(ctx, in.Identity.Name, addr)
			if err != nil {
				return err
			}
			c.ContactID, c.Verified, c.VisitorID, c.Email = contact.ID, true, strings.TrimSpace(in.Identity.UserID), addr
			if c.Name == "" {
				c.Name = storage.CutText(strings.TrimSpace(in.Identity.Name), MaxTextLen)
			}
		}
		c.StartedAt = storage.WriteTimeFrom(ctx)
		if err := cv.s.t.conversations.Insert(ctx, c); err != nil {
			return err
		}
		if first == "" {
			return nil
		}
		_, err := cv.post(ctx, c.ID, AuthorVisitor, "", first)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if first != "" {
		if c, err = cv.s.t.conversations.Get(ctx, c.ID); err != nil {
			return nil, "", err
		}
	}
	return c, token, nil
}

// tokenHash is what a conversation keeps of its visitor's secret.
func tokenHash(secret []byte) string {
	h := sha256.Sum256(secret)
	return hex.EncodeToString(h[:])
}

// Visitor returns the conversation a visitor's token (from Start) is for,
// read as the system: the token is the visitor's whole authority. A
// token that is malformed, of no conversation or with the wrong secret is
// ErrForbidden; the secret is compared in constant time.
func (cv *Conversations) Visitor(ctx context.Context, token string) (*Conversation, error) {
	bad := fmt.Errorf("%w: not a valid conversation token", storage.ErrForbidden)
	id, enc, ok := strings.Cut(token, ".")
	if !ok || id == "" || len(id) > 64 || len(enc) > 64 {
		return nil, bad
	}
	secret, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil || len(secret) != 32 {
		return nil, bad
	}
	c, err := cv.s.t.conversations.Get(storage.AsSystem(ctx), id)
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrInvalid) {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(tokenHash(secret)), []byte(c.TokenHash)) != 1 {
		return nil, bad
	}
	return c, nil
}

// Get returns the conversation id.
func (cv *Conversations) Get(ctx context.Context, id string) (*Conversation, error) {
	return cv.s.t.conversations.Get(ctx, id)
}

// List returns a page of conversations (an agent's queue: status open,
// sorted by last_message_at).
func (cv *Conversations) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Conversation], error) {
	return cv.s.t.conversations.List(ctx, q)
}

// NewChatMessage is the input of Conversations.Post.
type NewChatMessage struct {
	// Author defaults to AuthorMember for a member's context and to
	// AuthorVisitor otherwise; AuthorMember needs a member's context.
	Author Author
	// Body is plain text, at most MaxChatLen bytes.
	Body string
}

// Post adds a message to the open conversation id, numbered next
// (LastSeq+1) in the transaction that writes it, so that numbers are
// gap-free and committed in order. The visitor's first message outside
// the workspace's chat hours (Settings.ChatCalendarID) is followed by an
// automatic system message, the away text. A closed conversation is
// ErrConflict; an empty or too long body ErrInvalid naming "body".
// Streams of this process watching the conversation (Watch) are signalled
// once the message is committed.
func (cv *Conversations) Post(ctx context.Context, id string, in NewChatMessage) (*ChatMessage, error) {
	author, member := in.Author, ""
	if p := storage.PrincipalFrom(ctx); p != nil && !p.IsSystem() {
		member = p.MemberID
	}
	if author == "" {
		author = AuthorVisitor
		if member != "" {
			author = AuthorMember
		}
	}
	var v storage.ValidationError
	switch author {
	case AuthorVisitor, AuthorSystem:
	case AuthorMember:
		if member == "" {
			v.Add("author", "a member's message needs a member's context")
		}
	default:
		v.Add("author", "%q is not visitor, member or system", author)
	}
	body := strings.TrimSpace(in.Body)
	if body == "" {
		v.Add("body", "is required")
	}
	if len(body) > MaxChatLen {
		v.Add("body", "is longer than %d bytes", MaxChatLen)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *ChatMessage
	err := cv.s.store.RunInTx(ctx, func(ctx context.Context) error {
		var err error
		out, err = cv.post(ctx, id, author, member, body)
		return err
	})
	if err != nil {
		return nil, err
	}
	cv.hub.notify(storage.WorkspaceFrom(ctx) + "/" + id)
	return out, nil
}

// post is Post's write, in the caller's transaction: it takes the next
// sequence number (two with an away message) on the conversation's row,
// whose version check orders concurrent posts, and inserts the messages.
func (cv *Conversations) post(ctx context.Context, id string, author Author, member, body string) (*ChatMessage, error) {
	at := storage.WriteTimeFrom(ctx)
	away := ""
	c, err := storage.Modify(ctx, cv.s.store, cv.s.t.conversations, id, 0, func(ctx context.Context, c *Conversation) error {
		if c.Status == ConversationClosed {
			return fmt.Errorf("%w: conversation %s is closed", storage.ErrConflict, c.ID)
		}
		away = ""
		if author == AuthorVisitor && c.LastVisitorAt.IsZero() {
			var err error
			if away, err = cv.away(ctx, at); err != nil {
				return err
			}
		}
		c.LastSeq++
		if away != "" {
			c.LastSeq++
		}
		c.LastMessageAt = at
		if author == AuthorVisitor {
			c.LastVisitorAt = at
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	seq := c.LastSeq
	if away != "" {
		seq--
	}
	m := &ChatMessage{ConversationID: c.ID, Seq: seq, Author: author, AuthorID: member, Body: body, SentAt: at,
		ContactID: c.ContactID, OwnerID: c.OwnerID, TeamID: c.TeamID}
	if err := cv.s.t.chat.Insert(ctx, m); err != nil {
		return nil, err
	}
	if away != "" {
		auto := *m
		auto.Meta, auto.Seq, auto.Author, auto.AuthorID, auto.Body = storage.Meta{}, seq+1, AuthorSystem, "", away
		if err := cv.s.t.chat.Insert(storage.AsSystem(ctx), &auto); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// away returns the away text when at is outside the workspace's chat
// hours, else "". A workspace without a chat calendar is always open; a
// calendar gone since is too.
func (cv *Conversations) away(ctx context.Context, at time.Time) (string, error) {
	set, err := cv.s.Settings.Get(ctx)
	if err != nil || set.ChatCalendarID == "" {
		return "", err
	}
	sched, err := cv.s.Calendars.Schedule(ctx, set.ChatCalendarID)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	}
	if err != nil || sched.Working(at) {
		return "", err
	}
	if set.ChatAwayText != "" {
		return set.ChatAwayText, nil
	}
	return DefaultAwayText, nil
}

// MaxChatPage bounds the messages Messages returns at once.
const MaxChatPage = 500

// Messages returns the messages of the conversation id numbered after
// after, in order, at most limit (default and at most MaxChatPage): a
// client that saw up to n asks for the messages after n and gets each
// later one exactly once. Only the messages the context may read are
// returned (those of a conversation it may read).
func (cv *Conversations) Messages(ctx context.Context, id string, after int64, limit int) ([]*ChatMessage, error) {
	if limit <= 0 || limit > MaxChatPage {
		limit = MaxChatPage
	}
	page, err := cv.s.t.chat.List(ctx, storage.ListQuery{Filter: storage.And{storage.Eq("conversation_id", id), storage.Gt("seq", after)},
		Sort: []storage.Sort{{Field: "seq"}}, PageQuery: storage.PageQuery{Limit: limit}})
	return page.Items, err
}

// Watch returns a channel that receives a value (dropped when one is
// pending) after each message committed to the conversation id by this
// process's Post, and a function that stops the watch. The signal carries
// no message: the watcher reads Messages after the last number it saw,
// which also finds messages other processes posted (a stream polls for
// those), and a Post inside a caller's own transaction, which signals
// before that transaction commits.
func (cv *Conversations) Watch(ctx context.Context, id string) (<-chan struct{}, func()) {
	return cv.hub.subscribe(storage.WorkspaceFrom(ctx) + "/" + id)
}

// checkAssignee adds to v an owner or team that names no member or team.
func (cv *Conversations) checkAssignee(ctx context.Context, v *storage.ValidationError, ownerID, teamID string) error {
	for _, r := range []struct{ field, typ, id string }{{"owner_id", access.ObjectMember, ownerID}, {"team_id", access.ObjectTeam, teamID}} {
		if r.id == "" {
			continue
		}
		if err := storage.CheckRef(ctx, v, r.field, cv.s.store, storage.Ref{Type: r.typ, ID: r.id}); err != nil {
			return err
		}
	}
	return nil
}

// Assign gives a conversation to a member and a team ("" for none); its
// messages follow, so that whoever may read the conversation reads them.
// The change event is conversation.assigned.
func (cv *Conversations) Assign(ctx context.Context, id, ownerID, teamID string) (*Conversation, error) {
	ownerID, teamID = strings.TrimSpace(ownerID), strings.TrimSpace(teamID)
	var out *Conversation
	err := cv.s.store.RunInTx(ctx, func(ctx context.Context) error {
		// Modify reads again and retries when a message moved the
		// conversation's version meanwhile; no change writes nothing.
		c, err := storage.Modify(ctx, cv.s.store, cv.s.t.conversations, id, 0, func(ctx context.Context, c *Conversation) error {
			if c.OwnerID == ownerID && c.TeamID == teamID {
				return nil
			}
			var v storage.ValidationError
			if err := cv.checkAssignee(ctx, &v, ownerID, teamID); err != nil {
				return err
			}
			c.OwnerID, c.TeamID = ownerID, teamID
			return v.Err()
		}, storage.WithEventType(ObjectConversation+".assigned"))
		if err != nil {
			return err
		}
		out = c
		return cv.follow(ctx, c)
	})
	return out, err
}

// follow gives the messages of c its contact, owner and team.
func (cv *Conversations) follow(ctx context.Context, c *Conversation) error {
	return storage.Each(ctx, cv.s.t.chat, storage.ListQuery{Filter: storage.Eq("conversation_id", c.ID)}, func(m *ChatMessage) error {
		if m.ContactID == c.ContactID && m.OwnerID == c.OwnerID && m.TeamID == c.TeamID {
			return nil
		}
		next := *m
		next.ContactID, next.OwnerID, next.TeamID = c.ContactID, c.OwnerID, c.TeamID
		return cv.s.t.chat.Update(ctx, m, &next)
	})
}

// Identify verifies the host's signed identity of the visitor of the
// conversation id and links its contact (found or made by the email):
// the conversation and every message written so far take the contact's
// ID, so that the transcript is the contact's personal data. A bad
// signature is ErrForbidden; a conversation verified as someone else
// ErrConflict; the same identity again changes nothing.
func (cv *Conversations) Identify(ctx context.Context, id string, ident Identity) (*Conversation, error) {
	addr, err := cv.s.opts.verify(ident)
	if err != nil {
		return nil, err
	}
	uid := strings.TrimSpace(ident.UserID)
	var out *Conversation
	err = cv.s.store.RunInTx(ctx, func(ctx context.Context) error {
		// Modify reads again and retries when a message moved the
		// conversation's version meanwhile; no change writes nothing.
		c, err := storage.Modify(ctx, cv.s.store, cv.s.t.conversations, id, 0, func(ctx context.Context, c *Conversation) error {
			if c.Verified && (c.VisitorID != uid || c.Email != addr) {
				return fmt.Errorf("%w: conversation %s is verified as another visitor", storage.ErrConflict, c.ID)
			}
			contact, _, err := cv.s.contactByEmail(ctx, ident.Name, addr)
			if err != nil || c.Verified && c.ContactID == contact.ID {
				return err
			}
			c.ContactID, c.Verified, c.VisitorID, c.Email = contact.ID, true, uid, addr
			if c.Name == "" {
				c.Name = storage.CutText(strings.TrimSpace(ident.Name), MaxTextLen)
			}
			return nil
		}, storage.WithEventType(ObjectConversation+".identified"))
		if err != nil {
			return err
		}
		out = c
		return cv.follow(ctx, c)
	})
	return out, err
}

// Close closes the conversation id: it takes no more messages. The change
// event is conversation.closed; closing a closed conversation changes
// nothing.
func (cv *Conversations) Close(ctx context.Context, id string) (*Conversation, error) {
	// Modify reads again and retries when a message moved the
	// conversation's version meanwhile.
	out, err := storage.Modify(ctx, cv.s.store, cv.s.t.conversations, id, 0, func(ctx context.Context, c *Conversation) error {
		if c.Status != ConversationClosed {
			c.Status, c.ClosedAt = ConversationClosed, storage.WriteTimeFrom(ctx)
		}
		return nil
	}, storage.WithEventType(ObjectConversation+".closed"))
	if err == nil {
		cv.hub.notify(storage.WorkspaceFrom(ctx) + "/" + id) // streams end
	}
	return out, err
}

// HandOff is the input of Conversations.HandOff.
type HandOff struct {
	// Subject is the case's subject; default: the first line of the
	// visitor's first message (else "Chat with <name>").
	Subject string
	// Priority defaults to normal.
	Priority Priority
}

// HandOff turns the conversation id into a case (Cases.Create: channel
// chat, the conversation's contact, owner and team) whose description is
// the transcript, one message a paragraph ("Ada (visitor), 2026-03-02
// 09:00 UTC:" then the text; a member's named "Bob (desk)"; cut to
// MaxBodyLen), and records the case on
// the conversation (event conversation.handed_off). The conversation stays
// as it was otherwise (close it with Close). A conversation handed off
// before returns its case, also when two hand-offs run at once (the
// second one, stale, is run again and finds the first's case).
func (cv *Conversations) HandOff(ctx context.Context, id string, in HandOff) (*Case, error) {
	for attempt := 0; ; attempt++ {
		c, err := cv.handOff(ctx, id, in)
		if !errors.Is(err, storage.ErrStale) || attempt >= 3 || ctx.Err() != nil {
			return c, err
		}
	}
}

func (cv *Conversations) handOff(ctx context.Context, id string, in HandOff) (*Case, error) {
	var out *Case
	err := cv.s.store.RunInTx(ctx, func(ctx context.Context) error {
		prev, err := cv.s.t.conversations.Get(ctx, id)
		if err != nil {
			return err
		}
		if prev.CaseID != "" {
			out, err = cv.s.Cases.Get(ctx, prev.CaseID)
			return err
		}
		var text strings.Builder
		subject := strings.TrimSpace(in.Subject)
		names := map[string]string{} // members by ID, read as the system: a transcript names who wrote
		err = storage.Each(ctx, cv.s.t.chat, storage.ListQuery{Filter: storage.Eq("conversation_id", prev.ID), Sort: []storage.Sort{{Field: "seq"}}},
			func(m *ChatMessage) error {
				if subject == "" && m.Author == AuthorVisitor {
					subject, _, _ = strings.Cut(m.Body, "\n")
				}
				who := string(m.Author)
				switch {
				case m.Author == AuthorVisitor && prev.Name != "":
					who = prev.Name + " (visitor)"
				case m.Author == AuthorMember:
					name, ok := names[m.AuthorID]
					if !ok {
						name = m.AuthorID
						mb, err := cv.s.t.members.Get(storage.AsSystem(ctx), m.AuthorID)
						if err != nil && !errors.Is(err, storage.ErrNotFound) {
							return err
						}
						if err == nil && mb.Name != "" {
							name = mb.Name
						}
						names[m.AuthorID] = name
					}
					who = name + " (desk)"
				}
				fmt.Fprintf(&text, "%s, %s:\n%s\n\n", who, m.SentAt.UTC().Format("2006-01-02 15:04 MST"), m.Body)
				return nil
			})
		if err != nil {
			return err
		}
		if subject == "" {
			subject = "Chat with " + prev.Name
			if prev.Name == "" {
				subject = "Chat conversation"
			}
		}
		c, err := cv.s.Cases.Create(ctx, NewCase{Subject: storage.CutText(strings.TrimSpace(subject), MaxTextLen),
			Description: storage.CutText(strings.TrimSpace(text.String()), MaxBodyLen), ContactID: prev.ContactID,
			Channel: ChannelChat, Priority: in.Priority, OwnerID: prev.OwnerID, TeamID: prev.TeamID})
		if err != nil {
			return err
		}
		next := *prev
		next.CaseID = c.ID
		if err := cv.s.t.conversations.Update(ctx, prev, &next, storage.WithEventType(ObjectConversation+".handed_off")); err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, err
}

// ChatSettings are a workspace's live chat settings.
type ChatSettings struct {
	// CalendarID is the calendar of the chat's business hours; "" for
	// always open.
	CalendarID string
	// AwayText answers a visitor's first message outside them; ""
	// for DefaultAwayText.
	AwayText string
}

// SetChat sets the workspace's chat hours and away text. A calendar that
// does not exist is ErrInvalid naming "calendar_id".
func (ss *SettingsService) SetChat(ctx context.Context, in ChatSettings) (*Settings, error) {
	cur, err := ss.Get(ctx)
	if err != nil {
		return nil, err
	}
	return storage.Modify(ctx, ss.s.store, ss.s.t.settings, cur.ID, 0, func(ctx context.Context, set *Settings) error {
		var v storage.ValidationError
		set.ChatCalendarID, set.ChatAwayText = strings.TrimSpace(in.CalendarID), in.AwayText
		storage.TrimText(&v, "away_text", &set.ChatAwayText, MaxChatLen)
		if set.ChatCalendarID != "" {
			if err := storage.CheckRef(ctx, &v, "calendar_id", ss.s.store, storage.Ref{Type: ObjectCalendar, ID: set.ChatCalendarID}); err != nil {
				return err
			}
		}
		return v.Err()
	})
}
