package sales

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// OrderLine is one line of an order.
type OrderLine struct {
	SKU       string  `json:"sku,omitempty"`
	Name      string  `json:"name"`
	Quantity  float64 `json:"quantity"`
	UnitPrice int64   `json:"unit_price"`
	// Total is UnitPrice × Quantity, rounded half away from zero.
	Total int64 `json:"total"`
}

// The statuses of an order. A cancelled order and one refunded in full
// count for nothing in the purchase history; a partial refund lowers what
// the order counts for.
const (
	OrderPlaced    = "placed" // the default
	OrderPending   = "pending"
	OrderPaid      = "paid"
	OrderShipped   = "shipped"
	OrderDelivered = "delivered"
	OrderRefunded  = "refunded" // paid back in full
	OrderCancelled = "cancelled"
)

// orderStatuses are the statuses an order may take.
var orderStatuses = []string{OrderPlaced, OrderPending, OrderPaid, OrderShipped, OrderDelivered, OrderRefunded, OrderCancelled}

// Order is a purchase recorded from the host's shop or ERP. A change of
// its status is its own event, order.<status> (order.paid, order.shipped,
// order.refunded, order.cancelled…), which workflow rules trigger on; an
// order recorded in a status is order.created (a rule for every paid order
// triggers on created and paid, with the condition status == 'paid').
type Order struct {
	storage.Meta
	// ExternalID is the order's ID in the host system; unique in the
	// workspace, so recording it again changes nothing.
	ExternalID string      `bun:"external_id,notnull" json:"external_id"`
	ContactID  string      `bun:"contact_id,notnull" json:"contact_id,omitempty"`
	AccountID  string      `bun:"account_id,notnull" json:"account_id,omitempty"`
	Currency   string      `bun:"currency,notnull" json:"currency"`
	Lines      []OrderLine `bun:"lines" json:"lines"`
	Total      int64       `bun:"total,notnull" json:"total"`
	// Refunded is how much of Total was paid back (Orders.Refund), in
	// minor units; the purchase history counts Total − Refunded.
	Refunded int64 `bun:"refunded,notnull" json:"refunded,omitempty"`
	// Status is where the order stands (OrderPlaced … OrderCancelled).
	Status    string    `bun:"status,notnull" json:"status,omitempty"`
	OrderedAt time.Time `bun:"ordered_at,notnull" json:"ordered_at"`
	OwnerID   string    `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID    string    `bun:"team_id,notnull" json:"team_id,omitempty"`
}

// RecordType returns "order".
func (*Order) RecordType() string { return ObjectOrder }

// Links returns the contact and account of the order, whose timelines
// show it.
func (o *Order) Links() []storage.Ref { return docLinks("", o.AccountID, o.ContactID) }

// NewOrder is the input of Orders.Record.
type NewOrder struct {
	ExternalID           string
	ContactID, AccountID string
	Currency             string
	Lines                []OrderLine // Total is computed
	Status               string      // one of the order statuses; default OrderPlaced
	OrderedAt            time.Time   // zero means now
	// OwnerID and TeamID default to the contact's (else the account's),
	// so that who may read the customer may read what it bought.
	OwnerID, TeamID string
}

// UpdateOrder is the input of Orders.Update; nil fields are kept.
type UpdateOrder struct {
	Status               *string
	Lines                *[]OrderLine
	ContactID, AccountID *string
	OrderedAt            *time.Time
	OwnerID, TeamID      *string
}

// Purchases is a contact's or account's purchase history in one currency:
// the orders that count (neither cancelled nor refunded in full), what
// they came to net of refunds, the last one and the average order value.
type Purchases struct {
	Currency string    `json:"currency"`
	Orders   int64     `json:"orders"`
	Spent    int64     `json:"spent"`
	Last     time.Time `json:"last"`
	// Average is Spent / Orders, rounded half away from zero; 0 with no
	// orders.
	Average int64 `json:"average"`
}

// Orders records purchases.
type Orders struct{ s *Service }

// Record stores an order from the host, once per ExternalID: recording an
// ExternalID again updates the stored order to what in says (its status,
// lines, contact…) and returns it with created false; when nothing
// differs nothing is written. Bad input is ErrInvalid naming the fields.
func (ors *Orders) Record(ctx context.Context, in NewOrder) (o *Order, created bool, err error) {
	o = &Order{ExternalID: strings.TrimSpace(in.ExternalID), ContactID: in.ContactID, AccountID: in.AccountID, Currency: in.Currency,
		Lines: in.Lines, Status: strings.TrimSpace(in.Status), OrderedAt: in.OrderedAt, OwnerID: in.OwnerID, TeamID: in.TeamID}
	if o.OrderedAt.IsZero() {
		o.OrderedAt = storage.Now()
	}
	var v storage.ValidationError
	if o.ExternalID == "" || len(o.ExternalID) > MaxTextLen {
		v.Add("external_id", "is required, at most %d characters", MaxTextLen)
	}
	checkCurrency(&v, "currency", o.Currency)
	ors.normalize(&v, o)
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	err = ors.s.store.RunInTx(ctx, func(ctx context.Context) error {
		page, err := ors.s.t.orders.List(ctx, storage.ListQuery{Filter: storage.Eq("external_id", o.ExternalID), PageQuery: storage.PageQuery{Limit: 1}})
		if err != nil {
			return err
		}
		if len(page.Items) > 0 {
			prev := page.Items[0]
			if prev.Currency != o.Currency {
				return storage.Invalid("currency", "order %s is in %s, not %s", o.ExternalID, prev.Currency, o.Currency)
			}
			up := UpdateOrder{Status: &o.Status, Lines: &o.Lines, ContactID: &o.ContactID, AccountID: &o.AccountID, OrderedAt: &o.OrderedAt}
			if in.OwnerID != "" {
				up.OwnerID = &o.OwnerID
			}
			if in.TeamID != "" {
				up.TeamID = &o.TeamID
			}
			o, err = ors.update(ctx, prev, up)
			return err
		}
		if err := ors.check(ctx, o); err != nil {
			return err
		}
		created = true
		return ors.s.t.orders.Insert(ctx, o, storage.WithEventType(ObjectOrder+".created"))
	})
	if err != nil {
		return nil, false, err
	}
	return o, created, nil
}

// normalize checks and prices o's lines and status, adding what is wrong
// to v.
func (ors *Orders) normalize(v *storage.ValidationError, o *Order) {
	if o.Status == "" {
		o.Status = OrderPlaced
	}
	if !slices.Contains(orderStatuses, o.Status) {
		v.Add("status", "%q is not one of %s", o.Status, strings.Join(orderStatuses, ", "))
	}
	if len(o.Lines) == 0 {
		v.Add("lines", "an order needs at least one line")
	}
	o.Lines = append([]OrderLine(nil), o.Lines...)
	o.Total = 0
	for i := range o.Lines {
		l := &o.Lines[i]
		f := fmt.Sprintf("lines[%d]", i)
		ql := Line{Description: or(strings.TrimSpace(l.Name), l.SKU), Quantity: l.Quantity, UnitPrice: l.UnitPrice}
		ql.price(v, f)
		l.Name, l.Total = strings.TrimSpace(l.Name), ql.Total
		o.Total += l.Total
	}
	if o.Refunded > o.Total {
		v.Add("lines", "the order's total %d is below what was refunded, %d", o.Total, o.Refunded)
	}
	if o.Status == OrderRefunded && o.Refunded != o.Total {
		v.Add("status", "an order is refunded once Refund paid back its total")
	}
}

// check looks up o's contact and account, and gives o their owner and team
// when it names none.
func (ors *Orders) check(ctx context.Context, o *Order) error {
	var v storage.ValidationError
	var owner, team string
	if o.ContactID != "" {
		if err := exists(ctx, &v, "contact_id", func(ctx context.Context) error {
			c, err := ors.s.people.Contacts.Get(ctx, o.ContactID)
			if err == nil {
				owner, team = c.OwnerID, c.TeamID
			}
			return err
		}); err != nil {
			return err
		}
	}
	if o.AccountID != "" {
		if err := exists(ctx, &v, "account_id", func(ctx context.Context) error {
			a, err := ors.s.people.Accounts.Get(ctx, o.AccountID)
			if err == nil && owner == "" {
				owner, team = a.OwnerID, a.TeamID
			}
			return err
		}); err != nil {
			return err
		}
	}
	if o.OwnerID == "" {
		o.OwnerID = owner
	}
	if o.TeamID == "" {
		o.TeamID = team
	}
	return v.Err()
}

// Update changes order id (at version, 0 for any). A change of status is
// the event order.<status>; refunds go through Refund.
func (ors *Orders) Update(ctx context.Context, id string, version int64, in UpdateOrder) (*Order, error) {
	var out *Order
	err := ors.s.store.RunInTx(ctx, func(ctx context.Context) error {
		prev, err := ors.s.t.orders.Get(ctx, id)
		if err != nil {
			return err
		}
		if version != 0 && prev.Version != version {
			return fmt.Errorf("%w: order %s is at version %d, not %d", storage.ErrStale, id, prev.Version, version)
		}
		out, err = ors.update(ctx, prev, in)
		return err
	})
	return out, err
}

// update writes prev changed by in, when that changes anything.
func (ors *Orders) update(ctx context.Context, prev *Order, in UpdateOrder) (*Order, error) {
	n := *prev
	storage.Set(&n.Status, in.Status)
	n.Status = strings.TrimSpace(n.Status)
	storage.Set(&n.Lines, in.Lines)
	storage.Set(&n.ContactID, in.ContactID)
	storage.Set(&n.AccountID, in.AccountID)
	storage.Set(&n.OrderedAt, in.OrderedAt)
	storage.Set(&n.OwnerID, in.OwnerID)
	storage.Set(&n.TeamID, in.TeamID)
	n.OrderedAt = storage.Truncate(n.OrderedAt)
	var v storage.ValidationError
	ors.normalize(&v, &n)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if n.ContactID != prev.ContactID || n.AccountID != prev.AccountID {
		if in.OwnerID == nil && n.OwnerID == prev.OwnerID {
			n.OwnerID, n.TeamID = "", ""
		}
		if err := ors.check(ctx, &n); err != nil {
			return nil, err
		}
	}
	if orderEqual(prev, &n) {
		return prev, nil
	}
	var opts []storage.WriteOption
	if n.Status != prev.Status {
		opts = append(opts, storage.WithEventType(ObjectOrder+"."+n.Status))
	}
	if err := ors.s.t.orders.Update(ctx, prev, &n, opts...); err != nil {
		return nil, err
	}
	return &n, nil
}

// orderEqual reports whether a and b hold the same order.
func orderEqual(a, b *Order) bool {
	return a.Status == b.Status && slices.Equal(a.Lines, b.Lines) && a.ContactID == b.ContactID && a.AccountID == b.AccountID &&
		a.OrderedAt.Equal(b.OrderedAt) && a.OwnerID == b.OwnerID && a.TeamID == b.TeamID && a.Total == b.Total && a.Refunded == b.Refunded
}

// Refund pays back amount (minor units, more than 0) of order id: its
// Refunded grows, and once it reaches the total the order is refunded
// (event order.refunded; a partial refund is order.updated with the
// change). More than what is left to refund is ErrInvalid; a cancelled
// order is ErrConflict.
func (ors *Orders) Refund(ctx context.Context, id string, amount int64) (*Order, error) {
	if amount <= 0 {
		return nil, storage.Invalid("amount", "must be more than 0")
	}
	var out *Order
	err := ors.s.store.RunInTx(ctx, func(ctx context.Context) error {
		prev, err := ors.s.t.orders.Get(ctx, id)
		if err != nil {
			return err
		}
		if prev.Status == OrderCancelled {
			return fmt.Errorf("%w: order %s is cancelled", storage.ErrConflict, prev.ExternalID)
		}
		if left := prev.Total - prev.Refunded; amount > left {
			return storage.Invalid("amount", "is more than the %d left to refund", left)
		}
		n := *prev
		n.Refunded += amount
		var opts []storage.WriteOption
		if n.Refunded == n.Total {
			n.Status = OrderRefunded
			opts = append(opts, storage.WithEventType(ObjectOrder+"."+OrderRefunded))
		}
		if err := ors.s.t.orders.Update(ctx, prev, &n, opts...); err != nil {
			return err
		}
		out = &n
		return nil
	})
	return out, err
}

// Cancel cancels order id (event order.cancelled): it counts for nothing
// in the purchase history from then on.
func (ors *Orders) Cancel(ctx context.Context, id string) (*Order, error) {
	st := OrderCancelled
	return ors.Update(ctx, id, 0, UpdateOrder{Status: &st})
}

// Get returns the order with id.
func (ors *Orders) Get(ctx context.Context, id string) (*Order, error) {
	return ors.s.t.orders.Get(ctx, id)
}

// List returns a page of orders.
func (ors *Orders) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Order], error) {
	return ors.s.t.orders.List(ctx, q)
}

// History returns the purchase history of a contact (ref type "contact")
// or an account ("account"), per currency (see Purchases), in one
// aggregate statement: exact whatever orders were updated, cancelled or
// refunded.
func (ors *Orders) History(ctx context.Context, ref storage.Ref) ([]Purchases, error) {
	field := ""
	switch ref.Type {
	case contacts.ObjectContact:
		field = "contact_id"
	case contacts.ObjectAccount:
		field = "account_id"
	default:
		return nil, storage.Invalid("ref.type", "%q is not contact or account", ref.Type)
	}
	counted := storage.Not{Filter: storage.In("status", OrderCancelled, OrderRefunded)}
	live := storage.Ne("status", OrderCancelled)
	rows, err := ors.s.store.Aggregate(ctx, ObjectOrder, storage.AggregateQuery{Filter: storage.Eq(field, ref.ID),
		GroupBy: []string{"currency"},
		Measures: []storage.Measure{{Op: storage.AggCount, Where: counted}, {Op: storage.AggSum, Field: "total", Where: live},
			{Op: storage.AggSum, Field: "refunded", Where: live}, {Op: storage.AggMax, Field: "ordered_at", Where: counted}}})
	if err != nil {
		return nil, err
	}
	out := make([]Purchases, 0, len(rows))
	for _, r := range rows {
		var p Purchases
		p.Currency, _ = r.Group[0].(string)
		p.Orders, _ = r.Values[0].(int64)
		total, _ := r.Values[1].(int64)
		refunded, _ := r.Values[2].(int64)
		p.Spent = total - refunded
		p.Last, _ = r.Values[3].(time.Time)
		if p.Orders > 0 {
			p.Average = mulDiv(p.Spent, 1, p.Orders)
		}
		if p.Orders == 0 && p.Spent == 0 {
			continue // only cancelled or refunded orders
		}
		out = append(out, p)
	}
	return out, nil
}
