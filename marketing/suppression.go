package marketing

import (
	"context"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// SuppressionReason says why an address is on the suppression list.
type SuppressionReason string

// The suppression reasons.
const (
	// SuppressHardBounce: mail to the address failed for good (RFC 3463
	// class 5), or soft bounces reached the threshold.
	SuppressHardBounce SuppressionReason = "hard_bounce"
	// SuppressComplaint: the recipient reported the mail as spam.
	SuppressComplaint SuppressionReason = "complaint"
	// SuppressUnsubscribed: the recipient opted out of all mail (an
	// unsubscribe from an email sent to no list).
	SuppressUnsubscribed SuppressionReason = "unsubscribed"
	// SuppressManual: added by hand.
	SuppressManual SuppressionReason = "manual"
)

// Suppression is an address the workspace never mails, whatever the list
// or segment: every send checks it.
type Suppression struct {
	storage.Meta
	// Email is the address, lower-case; unique in the workspace.
	Email  string            `bun:"email,notnull" json:"email"`
	Reason SuppressionReason `bun:"reason,notnull" json:"reason"`
	// Detail says more: the bounce's status and diagnostic, a note.
	Detail string `bun:"detail,notnull" json:"detail,omitempty"`
	// ContactID is the contact with the address when it was suppressed.
	ContactID string    `bun:"contact_id,notnull" json:"contact_id,omitempty"`
	At        time.Time `bun:"at,notnull" json:"at"`
}

// RecordType returns "suppression".
func (*Suppression) RecordType() string { return ObjectSuppression }

// Suppressions is the workspace's suppression list.
type Suppressions struct{ s *Service }

// Add puts an address on the suppression list (event suppression.created);
// an address there already keeps its first reason. A bad address is
// ErrInvalid.
func (ss *Suppressions) Add(ctx context.Context, email string, reason SuppressionReason, detail string) (*Suppression, error) {
	addr, err := contacts.NormalizeEmail(email)
	var v storage.ValidationError
	if err != nil || addr == "" {
		v.Add("email", "%q is not an email address", email)
	}
	switch reason {
	case SuppressHardBounce, SuppressComplaint, SuppressUnsubscribed, SuppressManual:
	default:
		v.Add("reason", "%q is not hard_bounce, complaint, unsubscribed or manual", reason)
	}
	storage.TrimText(&v, "detail", &detail, 4000)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *Suppression
	err = ss.s.store.RunInTx(ctx, func(ctx context.Context) error {
		if prev, err := ss.get(ctx, addr); err != nil || prev != nil {
			out = prev
			return err
		}
		n := &Suppression{Email: addr, Reason: reason, Detail: detail, At: ss.s.now()}
		page, err := ss.s.people.Contacts.List(ctx, storage.ListQuery{Filter: storage.Eq("email", addr), PageQuery: storage.PageQuery{Limit: 1}})
		if err != nil {
			return err
		}
		if len(page.Items) == 1 {
			n.ContactID = page.Items[0].ID
		}
		out = n
		return ss.s.t.suppressions.Insert(ctx, n)
	})
	return out, err
}

// Remove takes an address off the suppression list; one not on it is
// left as it is.
func (ss *Suppressions) Remove(ctx context.Context, email string) error {
	addr, _ := contacts.NormalizeEmail(email)
	return ss.s.store.RunInTx(ctx, func(ctx context.Context) error {
		prev, err := ss.get(ctx, addr)
		if err != nil || prev == nil {
			return err
		}
		return ss.s.t.suppressions.Delete(ctx, prev)
	})
}

// Check returns the suppression of an address, or nil when it may be
// mailed.
func (ss *Suppressions) Check(ctx context.Context, email string) (*Suppression, error) {
	addr, err := contacts.NormalizeEmail(email)
	if err != nil {
		return nil, storage.Invalid("email", "%q is not an email address", email)
	}
	return ss.get(ctx, addr)
}

// List returns a page of the suppression list, by address.
func (ss *Suppressions) List(ctx context.Context, q storage.PageQuery) (storage.Page[*Suppression], error) {
	return ss.s.t.suppressions.List(ctx, storage.ListQuery{Sort: []storage.Sort{{Field: "email"}}, PageQuery: q})
}

func (ss *Suppressions) get(ctx context.Context, addr string) (*Suppression, error) {
	page, err := ss.s.t.suppressions.List(ctx, storage.ListQuery{Filter: storage.Eq("email", addr), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil || len(page.Items) == 0 {
		return nil, err
	}
	return page.Items[0], nil
}

// suppressed returns which of addrs (lower-case) are on the list.
func (ss *Suppressions) suppressed(ctx context.Context, addrs []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(addrs) == 0 {
		return out, nil
	}
	err := storage.Each(ctx, ss.s.t.suppressions, storage.ListQuery{Filter: storage.In("email", addrs...),
		Sort: []storage.Sort{{Field: "email"}}, Fields: []string{"email"}, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}, func(s *Suppression) error {
		out[s.Email] = true
		return nil
	})
	return out, err
}
