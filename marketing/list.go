package marketing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
)

// List is a subscription list, such as "newsletter": who may be mailed
// for one purpose. A list with DoubleOptIn counts a subscriber only once
// the person has confirmed through the link mailed to them.
type List struct {
	storage.Meta
	// Key names the list in code and expressions: lower-case letters,
	// digits and underscores; unique in the workspace.
	Key         string `bun:"key,notnull" json:"key"`
	Name        string `bun:"name,notnull" json:"name"`
	Description string `bun:"description,notnull" json:"description,omitempty"`
	// DoubleOptIn makes a new subscription unconfirmed until the person
	// follows the link of the confirmation mail.
	DoubleOptIn bool `bun:"double_opt_in,notnull" json:"double_opt_in,omitempty"`
	// Purpose is the consent purpose (contacts.Consent) a subscription
	// grants and an unsubscription withdraws. Default: "list_" + Key.
	Purpose string `bun:"purpose,notnull" json:"purpose"`
}

// RecordType returns "mailing_list".
func (*List) RecordType() string { return ObjectList }

// SubscriptionStatus is where a person stands on a list.
type SubscriptionStatus string

// The subscription statuses.
const (
	// Unconfirmed: subscribed to a double opt-in list, not confirmed yet.
	Unconfirmed SubscriptionStatus = "unconfirmed"
	// Subscribed: may be mailed.
	Subscribed SubscriptionStatus = "subscribed"
	// Unsubscribed: left the list (or was removed).
	Unsubscribed SubscriptionStatus = "unsubscribed"
)

// Subscription is one contact's standing on one list. Its change events
// (subscription.subscribed, .confirmed, .unsubscribed) are the history.
type Subscription struct {
	storage.Meta
	ListID    string `bun:"list_id,notnull" json:"list_id"`
	ContactID string `bun:"contact_id,notnull" json:"contact_id"`
	// Email is the address confirmed or mailed, lower-case.
	Email  string             `bun:"email,notnull" json:"email"`
	Status SubscriptionStatus `bun:"status,notnull" json:"status"`
	// Source says how the person subscribed or left: "web form",
	// "import", "unsubscribe link".
	Source string `bun:"source,notnull" json:"source,omitempty"`
	// RequestedAt is when the subscription was asked for; ConfirmedAt when
	// it took effect (zero while unconfirmed); UnsubscribedAt when it ended.
	RequestedAt    time.Time `bun:"requested_at,notnull" json:"requested_at,omitzero"`
	ConfirmedAt    time.Time `bun:"confirmed_at,notnull" json:"confirmed_at,omitzero"`
	UnsubscribedAt time.Time `bun:"unsubscribed_at,notnull" json:"unsubscribed_at,omitzero"`
	// ConsentID is the contacts.Consent the subscription granted.
	ConsentID string `bun:"consent_id,notnull" json:"consent_id,omitempty"`
}

// RecordType returns "subscription".
func (*Subscription) RecordType() string { return ObjectSubscription }

// Links returns the contact and the list.
func (s *Subscription) Links() []storage.Ref {
	return []storage.Ref{{Type: contacts.ObjectContact, ID: s.ContactID}, {Type: ObjectList, ID: s.ListID}}
}

// NewList is the input of Lists.Create.
type NewList struct {
	Key, Name, Description string
	DoubleOptIn            bool
	Purpose                string // default "list_" + Key
}

// Lists manages subscription lists and subscriptions.
type Lists struct{ s *Service }

// Create adds a list. A key taken in the workspace is ErrConflict.
func (ls *Lists) Create(ctx context.Context, in NewList) (*List, error) {
	l := &List{Key: in.Key, Name: in.Name, Description: in.Description, DoubleOptIn: in.DoubleOptIn, Purpose: in.Purpose}
	var v storage.ValidationError
	storage.TrimText(&v, "key", &l.Key, MaxTextLen)
	if !storage.ValidKey(l.Key) {
		v.Add("key", "%q must be lower-case letters, digits and underscores, starting with a letter", l.Key)
	}
	storage.TrimText(&v, "name", &l.Name, MaxTextLen)
	if l.Name == "" {
		l.Name = l.Key
	}
	storage.TrimText(&v, "description", &l.Description, 4000)
	storage.TrimText(&v, "purpose", &l.Purpose, MaxTextLen)
	if l.Purpose == "" {
		l.Purpose = "list_" + l.Key
	}
	if !storage.ValidKey(l.Purpose) {
		v.Add("purpose", "%q must be lower-case letters, digits and underscores, starting with a letter", l.Purpose)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := ls.s.t.lists.Insert(ctx, l); err != nil {
		return nil, err
	}
	return l, nil
}

// Get returns the list with id.
func (ls *Lists) Get(ctx context.Context, id string) (*List, error) { return ls.s.t.lists.Get(ctx, id) }

// ByKey returns the list with key, or ErrNotFound.
func (ls *Lists) ByKey(ctx context.Context, key string) (*List, error) {
	page, err := ls.s.t.lists.List(ctx, storage.ListQuery{Filter: storage.Eq("key", key), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, fmt.Errorf("%w: no list %q", storage.ErrNotFound, key)
	}
	return page.Items[0], nil
}

// List returns every list of the workspace, by key.
func (ls *Lists) List(ctx context.Context) ([]*List, error) {
	page, err := ls.s.t.lists.List(ctx, storage.ListQuery{Sort: []storage.Sort{{Field: "key"}}, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
	return page.Items, err
}

// SubscribeOptions adjust Lists.Subscribe.
type SubscribeOptions struct {
	// Source says how the person subscribed: "web form", "import".
	Source string
	// Confirmed records the subscription as confirmed even on a double
	// opt-in list, with no confirmation mail: for an import of people who
	// confirmed elsewhere.
	Confirmed bool
}

// Subscribe subscribes a contact to a list. On a double opt-in list (unless
// opts.Confirmed) the subscription is unconfirmed and a confirmation mail
// with a signed link (Tracking.Confirm) goes to the contact's address,
// after the subscription commits; otherwise it is subscribed at once and
// grants the list's consent. Subscribing someone already subscribed
// changes nothing; someone unsubscribed subscribes again. A contact
// without an email address is ErrInvalid.
func (ls *Lists) Subscribe(ctx context.Context, listID, contactID string, opts SubscribeOptions) (*Subscription, error) {
	var out *Subscription
	var confirm *send.Message
	err := ls.s.store.RunInTx(ctx, func(ctx context.Context) error {
		var v storage.ValidationError
		storage.TrimText(&v, "source", &opts.Source, MaxTextLen)
		l, err := ls.s.t.lists.Get(ctx, listID)
		if errors.Is(err, storage.ErrNotFound) {
			v.Add("list_id", "does not exist in the workspace")
		} else if err != nil {
			return err
		}
		c, err := ls.s.people.Contacts.Get(ctx, contactID)
		if errors.Is(err, storage.ErrNotFound) {
			v.Add("contact_id", "does not exist in the workspace")
		} else if err != nil {
			return err
		} else if c.Email == "" {
			v.Add("contact_id", "the contact has no email address")
		}
		double := l != nil && l.DoubleOptIn && !opts.Confirmed
		if double {
			if err := ls.s.canMail(); err != nil {
				return fmt.Errorf("a double opt-in list mails a confirmation: %w", err)
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		prev, err := ls.subscription(ctx, listID, contactID)
		if err != nil {
			return err
		}
		if prev != nil && (prev.Status == Subscribed || prev.Status == Unconfirmed && double) {
			out = prev
			return nil
		}
		now := ls.s.now()
		n := &Subscription{ListID: listID, ContactID: contactID, Email: c.Email, Source: opts.Source, RequestedAt: now, Status: Subscribed}
		event := "subscription.subscribed"
		if double {
			n.Status = Unconfirmed
			event = "subscription.requested"
		} else {
			n.ConfirmedAt = now
			consent, err := ls.s.people.Consents.Set(ctx, contactID, contacts.ConsentChange{Purpose: l.Purpose, Granted: true,
				Source: or(opts.Source, "subscription"), At: now})
			if err != nil {
				return err
			}
			n.ConsentID = consent.ID
		}
		if prev == nil {
			err = ls.s.t.subs.Insert(ctx, n, storage.WithEventType(event))
		} else {
			n.Meta = prev.Meta
			err = ls.s.t.subs.Update(ctx, prev, n, storage.WithEventType(event))
		}
		if err != nil {
			return err
		}
		out = n
		if double {
			m := ls.confirmation(ctx, l, n)
			confirm = &m
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if confirm != nil {
		if err := ls.s.opts.Mailer.Send(ctx, *confirm); err != nil {
			return out, fmt.Errorf("marketing: the subscription is stored, but its confirmation mail failed: %w", err)
		}
	}
	return out, nil
}

// confirmation is the mail that asks the subscriber of sub to confirm.
func (ls *Lists) confirmation(ctx context.Context, l *List, sub *Subscription) send.Message {
	expires := ls.s.now().Add(ls.s.opts.ConfirmFor).Unix()
	link := ls.s.opts.BaseURL + "/confirm/" + ls.s.sign.Sign(tokenConfirm, storage.WorkspaceFrom(ctx), sub.ID, strconv.FormatInt(expires, 10))
	return send.Message{
		ID:      "confirm-" + sub.ID + "-" + strconv.FormatInt(sub.Version, 10),
		From:    ls.s.opts.From,
		To:      []string{sub.Email},
		Subject: "Please confirm your subscription to " + l.Name,
		Text: "Please confirm that you want to receive " + l.Name + " by opening this link:\n\n" + link +
			"\n\nIf you did not ask for it, ignore this mail: you will not be subscribed.\n",
	}
}

// Unsubscribe ends a contact's subscription to a list and withdraws the
// list's consent; source says how ("unsubscribe link", "preference
// center"). A contact that is not subscribed is left as it is.
func (ls *Lists) Unsubscribe(ctx context.Context, listID, contactID, source string) error {
	return ls.s.store.RunInTx(ctx, func(ctx context.Context) error {
		prev, err := ls.subscription(ctx, listID, contactID)
		if err != nil || prev == nil || prev.Status == Unsubscribed {
			return err
		}
		l, err := ls.s.t.lists.Get(ctx, listID)
		if err != nil {
			return err
		}
		now := ls.s.now()
		n := *prev
		n.Status, n.UnsubscribedAt, n.Source = Unsubscribed, now, source
		if _, err := ls.s.people.Consents.Set(ctx, contactID, contacts.ConsentChange{Purpose: l.Purpose, Granted: false,
			Source: or(source, "unsubscribe"), At: now}); err != nil {
			return err
		}
		return ls.s.t.subs.Update(ctx, prev, &n, storage.WithEventType("subscription.unsubscribed"))
	})
}

// confirm makes an unconfirmed subscription subscribed and grants the
// list's consent.
func (ls *Lists) confirm(ctx context.Context, subID string) (*Subscription, error) {
	var out *Subscription
	err := ls.s.store.RunInTx(ctx, func(ctx context.Context) error {
		prev, err := ls.s.t.subs.Get(ctx, subID)
		if err != nil {
			return err
		}
		out = prev
		if prev.Status != Unconfirmed {
			return nil // confirmed already, or left since: the link does nothing
		}
		l, err := ls.s.t.lists.Get(ctx, prev.ListID)
		if err != nil {
			return err
		}
		now := ls.s.now()
		consent, err := ls.s.people.Consents.Set(ctx, prev.ContactID, contacts.ConsentChange{Purpose: l.Purpose, Granted: true,
			Source: "double opt-in", At: now})
		if err != nil {
			return err
		}
		n := *prev
		n.Status, n.ConfirmedAt, n.ConsentID = Subscribed, now, consent.ID
		out = &n
		return ls.s.t.subs.Update(ctx, prev, &n, storage.WithEventType("subscription.confirmed"))
	})
	return out, err
}

// Subscription returns the subscription of a contact to a list, or
// ErrNotFound.
func (ls *Lists) Subscription(ctx context.Context, listID, contactID string) (*Subscription, error) {
	sub, err := ls.subscription(ctx, listID, contactID)
	if err == nil && sub == nil {
		err = fmt.Errorf("%w: contact %s has no subscription to list %s", storage.ErrNotFound, contactID, listID)
	}
	return sub, err
}

// subscription returns the subscription, or nil.
func (ls *Lists) subscription(ctx context.Context, listID, contactID string) (*Subscription, error) {
	page, err := ls.s.t.subs.List(ctx, storage.ListQuery{Filter: storage.And{storage.Eq("list_id", listID), storage.Eq("contact_id", contactID)},
		PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil || len(page.Items) == 0 {
		return nil, err
	}
	return page.Items[0], nil
}

// Subscriptions returns every subscription of a contact.
func (ls *Lists) Subscriptions(ctx context.Context, contactID string) ([]*Subscription, error) {
	return storage.All(ctx, ls.s.t.subs, storage.Eq("contact_id", contactID))
}

// Subscribers returns a page of a list's subscriptions of status st
// (Subscribed when empty).
func (ls *Lists) Subscribers(ctx context.Context, listID string, st SubscriptionStatus, q storage.PageQuery) (storage.Page[*Subscription], error) {
	if st == "" {
		st = Subscribed
	}
	return ls.s.t.subs.List(ctx, storage.ListQuery{Filter: storage.And{storage.Eq("list_id", listID), storage.Eq("status", string(st))}, PageQuery: q})
}

// Count returns how many contacts have status st (Subscribed when empty)
// on a list.
func (ls *Lists) Count(ctx context.Context, listID string, st SubscriptionStatus) (int64, error) {
	if st == "" {
		st = Subscribed
	}
	return ls.s.t.subs.Count(ctx, storage.And{storage.Eq("list_id", listID), storage.Eq("status", string(st))})
}

// or returns s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
