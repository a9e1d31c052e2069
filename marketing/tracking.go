package marketing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// HitKind is what a tracking hit was.
type HitKind string

// The hit kinds.
const (
	HitOpen        HitKind = "open"
	HitClick       HitKind = "click"
	HitUnsubscribe HitKind = "unsubscribe"
)

// Hit is one request on a tracking link of a message: an open (the pixel),
// a click (the redirect) or an unsubscribe. Hits that machines made
// (prefetches, link scanners, HEAD requests, hits within seconds of the
// send) are kept with Bot set and count for nothing.
type Hit struct {
	storage.Meta
	MessageID  string    `bun:"message_id,notnull" json:"message_id"`
	EmailID    string    `bun:"email_id,notnull" json:"email_id"`
	CampaignID string    `bun:"campaign_id,notnull" json:"campaign_id"`
	ContactID  string    `bun:"contact_id,notnull" json:"contact_id"`
	Kind       HitKind   `bun:"kind,notnull" json:"kind"`
	URL        string    `bun:"url,notnull" json:"url,omitempty"`
	At         time.Time `bun:"at,notnull" json:"at"`
	Bot        bool      `bun:"bot,notnull" json:"bot,omitempty"`
	BotReason  string    `bun:"bot_reason,notnull" json:"bot_reason,omitempty"`
	UserAgent  string    `bun:"user_agent,notnull" json:"user_agent,omitempty"`
}

// RecordType returns "tracking_hit".
func (*Hit) RecordType() string { return ObjectHit }

// Tracking records what recipients do with the links of the mail sent:
// the calls of package marketing/web's handlers. Each takes the token of
// a link, acts in the workspace the token names, as the system, and
// treats a token it did not sign as ErrInvalid.
type Tracking struct{ s *Service }

// in returns the context of the workspace ws, as the system.
func in(ctx context.Context, ws string) context.Context {
	return storage.AsSystem(storage.WithWorkspace(ctx, ws))
}

// maxUserAgent is how much of a user agent a hit keeps.
const maxUserAgent = 500

// Open records an open of the message the pixel's token names. A message
// that no longer exists (erased) records nothing.
func (t *Tracking) Open(ctx context.Context, token string, h HitInfo) error {
	f, err := t.s.sign.Verify(tokenOpen, token)
	if err != nil || len(f) != 2 {
		return storage.Invalid("token", "is not a tracking token of this service")
	}
	return t.s.hits.record(ctx, &pendingHit{ws: f[0], msgID: f[1], kind: HitOpen, info: h})
}

// Click records a click on the link the token names, and returns the
// link's URL (which the token binds: no one can make the redirect lead
// elsewhere). A message that no longer exists still gets its redirect.
func (t *Tracking) Click(ctx context.Context, token string, h HitInfo) (string, error) {
	f, err := t.s.sign.Verify(tokenClick, token)
	if err != nil || len(f) != 3 {
		return "", storage.Invalid("token", "is not a tracking token of this service")
	}
	err = t.s.hits.record(ctx, &pendingHit{ws: f[0], msgID: f[1], kind: HitClick, url: f[2], info: h})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return f[2], err
	}
	return f[2], nil
}

// hit records a hit on message m, in the caller's transaction, and for a
// person's first open or click marks the message (email_message.opened,
// .clicked); later hits are hit records alone.
func (t *Tracking) hit(ctx context.Context, m *Message, kind HitKind, url string, info HitInfo) (*Hit, *Message, string) {
	if len(info.UserAgent) > maxUserAgent {
		info.UserAgent = info.UserAgent[:maxUserAgent]
	}
	now := t.s.now()
	since := time.Duration(-1)
	if !m.SentAt.IsZero() {
		since = now.Sub(m.SentAt)
	}
	bot, why := classify(info, since)
	h := &Hit{MessageID: m.ID, EmailID: m.EmailID, CampaignID: m.CampaignID, ContactID: m.ContactID, Kind: kind, URL: url,
		At: now, Bot: bot, BotReason: why, UserAgent: info.UserAgent}
	if bot || kind == HitUnsubscribe {
		return h, nil, ""
	}
	n := *m
	event := ""
	switch kind {
	case HitOpen:
		if n.OpenedAt.IsZero() {
			n.OpenedAt, event = now, EventOpened
		}
	case HitClick:
		if n.OpenedAt.IsZero() {
			n.OpenedAt = now // a click is an open whose pixel was blocked
		}
		if n.ClickedAt.IsZero() {
			n.ClickedAt, event = now, EventClicked
		}
	}
	if event == "" {
		return h, nil, ""
	}
	return h, &n, event
}

// Recipient is what an unsubscribe page shows of the message a link came
// with.
type Recipient struct {
	// Address is the recipient's address, partly masked ("j***@example.com").
	Address string
	// List is the name of the list leaving it unsubscribes from; empty
	// when it stops all mail.
	List string
}

// Recipient returns who an unsubscribe token is for, for a confirmation
// page: a plain GET of the link must change nothing (link scanners follow
// links).
func (t *Tracking) Recipient(ctx context.Context, token string) (*Recipient, error) {
	ctx, m, e, err := t.unsubMessage(ctx, token)
	if err != nil {
		return nil, err
	}
	r := &Recipient{Address: maskAddress(m.Address)}
	if e.ListID != "" {
		if l, err := t.s.t.lists.Get(ctx, e.ListID); err == nil {
			r.List = l.Name
		}
	}
	return r, nil
}

// Unsubscribe acts on the unsubscribe link of a message (RFC 8058
// one-click, or the confirmation page's form): the recipient leaves the
// email's list, or, for an email sent to no list, goes on the suppression
// list. It records an unsubscribe hit. Repeating it changes nothing more.
func (t *Tracking) Unsubscribe(ctx context.Context, token string, info HitInfo) error {
	ctx, m, e, err := t.unsubMessage(ctx, token)
	if err != nil {
		return err
	}
	return t.s.store.RunInTx(ctx, func(ctx context.Context) error {
		if e.ListID != "" {
			if err := t.s.Lists.Unsubscribe(ctx, e.ListID, m.ContactID, "unsubscribe link"); err != nil {
				return err
			}
		} else if m.Address != "" {
			if _, err := t.s.Suppressions.Add(ctx, m.Address, SuppressUnsubscribed, "unsubscribe link of email "+e.Name); err != nil {
				return err
			}
		}
		if err := t.s.Campaigns.respond(ctx, m.CampaignID, m.ContactID, MemberUnsubscribed); err != nil && !errors.Is(err, storage.ErrInvalid) {
			return err
		}
		info.Prefetch = false // a POST is the person's (or their client's) act
		h, _, _ := t.hit(ctx, m, HitUnsubscribe, "", info)
		return t.s.t.hits.Insert(ctx, h)
	})
}

// unsubMessage verifies an unsubscribe token and reads its message and
// email, in the token's workspace.
func (t *Tracking) unsubMessage(ctx context.Context, token string) (context.Context, *Message, *Email, error) {
	f, err := t.s.sign.Verify(tokenUnsub, token)
	if err != nil || len(f) != 2 {
		return ctx, nil, nil, storage.Invalid("token", "is not an unsubscribe token of this service")
	}
	ctx = in(ctx, f[0])
	m, err := t.s.t.messages.Get(ctx, f[1])
	if err != nil {
		return ctx, nil, nil, err
	}
	e, err := t.s.t.emails.Get(ctx, m.EmailID)
	if err != nil {
		return ctx, nil, nil, err
	}
	return ctx, m, e, nil
}

// Confirm confirms the double opt-in subscription of a confirmation
// link's token and returns it. An expired link is ErrInvalid; confirming
// twice changes nothing.
func (t *Tracking) Confirm(ctx context.Context, token string) (*Subscription, error) {
	f, err := t.s.sign.Verify(tokenConfirm, token)
	if err != nil || len(f) != 3 {
		return nil, storage.Invalid("token", "is not a confirmation token of this service")
	}
	exp, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || t.s.now().Unix() > exp {
		return nil, storage.Invalid("token", "the confirmation link has expired; subscribe again")
	}
	return t.s.Lists.confirm(in(ctx, f[0]), f[1])
}

// Preferences is what the preference center shows a contact: every list
// of the workspace and whether the contact is subscribed.
type Preferences struct {
	// Address is the contact's address, partly masked.
	Address string
	Lists   []ListPreference
	// Suppressed says the address gets no mail at all.
	Suppressed bool
}

// ListPreference is one list of the preference center.
type ListPreference struct {
	ListID, Name, Description string
	Status                    SubscriptionStatus // "" when never subscribed
}

// Preferences returns the preference center of the contact a preferences
// token names.
func (t *Tracking) Preferences(ctx context.Context, token string) (*Preferences, error) {
	ctx, c, err := t.prefsContact(ctx, token)
	if err != nil {
		return nil, err
	}
	lists, err := t.s.Lists.List(ctx)
	if err != nil {
		return nil, err
	}
	subs, err := t.s.Lists.Subscriptions(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	status := map[string]SubscriptionStatus{}
	for _, s := range subs {
		status[s.ListID] = s.Status
	}
	p := &Preferences{Address: maskAddress(c.Email)}
	for _, l := range lists {
		p.Lists = append(p.Lists, ListPreference{ListID: l.ID, Name: l.Name, Description: l.Description, Status: status[l.ID]})
	}
	if c.Email != "" {
		s, err := t.s.Suppressions.get(ctx, c.Email)
		if err != nil {
			return nil, err
		}
		p.Suppressed = s != nil
	}
	return p, nil
}

// SetPreferences applies the preference center's form: the contact is
// subscribed to the lists in subscribe (confirmed: the link proves the
// address) and unsubscribed from the others it was on. With none it
// leaves every list.
func (t *Tracking) SetPreferences(ctx context.Context, token string, subscribe []string) error {
	ctx, c, err := t.prefsContact(ctx, token)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, id := range subscribe {
		want[id] = true
	}
	return t.s.store.RunInTx(ctx, func(ctx context.Context) error {
		lists, err := t.s.Lists.List(ctx)
		if err != nil {
			return err
		}
		known := map[string]bool{}
		for _, l := range lists {
			known[l.ID] = true
			if want[l.ID] {
				if _, err := t.s.Lists.Subscribe(ctx, l.ID, c.ID, SubscribeOptions{Source: "preference center", Confirmed: true}); err != nil {
					return err
				}
			} else if err := t.s.Lists.Unsubscribe(ctx, l.ID, c.ID, "preference center"); err != nil {
				return err
			}
		}
		for id := range want {
			if !known[id] {
				return storage.Invalid("lists", "list %s does not exist", id)
			}
		}
		return nil
	})
}

func (t *Tracking) prefsContact(ctx context.Context, token string) (context.Context, *contacts.Contact, error) {
	f, err := t.s.sign.Verify(tokenPrefs, token)
	if err != nil || len(f) != 2 {
		return ctx, nil, storage.Invalid("token", "is not a preferences token of this service")
	}
	ctx = in(ctx, f[0])
	c, err := t.s.people.Contacts.Get(ctx, f[1])
	if err != nil {
		return ctx, nil, fmt.Errorf("the contact of the link: %w", err)
	}
	return ctx, c, nil
}

// maskAddress hides most of an address's local part: "jane@example.com"
// → "j***@example.com".
func maskAddress(addr string) string {
	for i := 0; i < len(addr); i++ {
		if addr[i] == '@' {
			if i == 0 {
				return addr
			}
			return addr[:1] + "***" + addr[i:]
		}
	}
	if addr == "" {
		return ""
	}
	return addr[:1] + "***"
}
