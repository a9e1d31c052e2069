package sales

import (
	"context"
	"fmt"
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

// Order is a purchase recorded from the host's shop or ERP.
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
	Status     string      `bun:"status,notnull" json:"status,omitempty"`
	OrderedAt  time.Time   `bun:"ordered_at,notnull" json:"ordered_at"`
	OwnerID    string      `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID     string      `bun:"team_id,notnull" json:"team_id,omitempty"`
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
	Status               string      // the host's status, such as "paid" or "shipped"
	OrderedAt            time.Time   // zero means now
	OwnerID, TeamID      string
}

// Purchases is a contact's or account's purchase history in one currency.
type Purchases struct {
	Currency string    `json:"currency"`
	Orders   int64     `json:"orders"`
	Spent    int64     `json:"spent"`
	Last     time.Time `json:"last"`
}

// Orders records purchases.
type Orders struct{ s *Service }

// Record stores an order once: an order whose ExternalID is recorded
// already is returned as it is, with created false, and nothing is
// written.
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
	if len(o.Lines) == 0 {
		v.Add("lines", "an order needs at least one line")
	}
	o.Lines = append([]OrderLine(nil), o.Lines...)
	for i := range o.Lines {
		l := &o.Lines[i]
		f := fmt.Sprintf("lines[%d]", i)
		ql := Line{Description: or(strings.TrimSpace(l.Name), l.SKU), Quantity: l.Quantity, UnitPrice: l.UnitPrice}
		ql.price(&v, f)
		l.Name, l.Total = strings.TrimSpace(l.Name), ql.Total
		o.Total += l.Total
	}
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	err = ors.s.store.RunInTx(ctx, func(ctx context.Context) error {
		page, err := ors.s.t.orders.List(ctx, storage.ListQuery{Filter: storage.Eq("external_id", o.ExternalID), PageQuery: storage.PageQuery{Limit: 1}})
		if err != nil {
			return err
		}
		if len(page.Items) > 0 {
			o = page.Items[0]
			return nil
		}
		var v storage.ValidationError
		if o.ContactID != "" {
			if err := exists(ctx, &v, "contact_id", func(ctx context.Context) error { _, err := ors.s.people.Contacts.Get(ctx, o.ContactID); return err }); err != nil {
				return err
			}
		}
		if o.AccountID != "" {
			if err := exists(ctx, &v, "account_id", func(ctx context.Context) error { _, err := ors.s.people.Accounts.Get(ctx, o.AccountID); return err }); err != nil {
				return err
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		created = true
		return ors.s.t.orders.Insert(ctx, o)
	})
	if err != nil {
		return nil, false, err
	}
	return o, created, nil
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
// or an account ("account"): per currency, the number of orders, the total
// spent and the last purchase.
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
	rows, err := ors.s.store.Aggregate(ctx, ObjectOrder, storage.AggregateQuery{Filter: storage.Eq(field, ref.ID),
		GroupBy:  []string{"currency"},
		Measures: []storage.Measure{{Op: storage.AggCount}, {Op: storage.AggSum, Field: "total"}, {Op: storage.AggMax, Field: "ordered_at"}}})
	if err != nil {
		return nil, err
	}
	out := make([]Purchases, len(rows))
	for i, r := range rows {
		out[i].Currency, _ = r.Group[0].(string)
		out[i].Orders, _ = r.Values[0].(int64)
		out[i].Spent, _ = r.Values[1].(int64)
		out[i].Last, _ = r.Values[2].(time.Time)
	}
	return out, nil
}
