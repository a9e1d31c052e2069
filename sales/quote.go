package sales

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// QuoteStatus is where a quote stands.
type QuoteStatus string

// The quote statuses: draft → sent → accepted, rejected or expired.
const (
	QuoteDraft    QuoteStatus = "draft"
	QuoteSent     QuoteStatus = "sent"
	QuoteAccepted QuoteStatus = "accepted"
	QuoteRejected QuoteStatus = "rejected"
	QuoteExpired  QuoteStatus = "expired"
)

// Line is one line of a quote or an invoice. The amounts after Quantity,
// Discount and TaxRate are computed (see the rounding rule of Totals).
type Line struct {
	// ProductID is the product sold, or "" for a free-text line.
	ProductID   string `json:"product_id,omitempty"`
	SKU         string `json:"sku,omitempty"`
	Description string `json:"description"`
	// Quantity, with up to 3 decimals.
	Quantity float64 `json:"quantity"`
	// UnitPrice in the document's currency's minor units.
	UnitPrice int64 `json:"unit_price"`
	// Discount is a percentage, 0–100, with up to 2 decimals.
	Discount float64 `json:"discount,omitempty"`
	// TaxRate is a percentage, 0–100, with up to 3 decimals.
	TaxRate float64 `json:"tax_rate,omitempty"`

	Gross        int64 `json:"gross"`         // UnitPrice × Quantity
	DiscountAmnt int64 `json:"discount_amnt"` // Gross × Discount
	Net          int64 `json:"net"`           // Gross − DiscountAmnt
	Tax          int64 `json:"tax"`           // Net × TaxRate
	Total        int64 `json:"total"`         // Net + Tax
}

// Totals are the sums of a document's lines, in minor units.
//
// The rounding rule: quantities are read in thousandths, discounts in
// hundredths of a percent and tax rates in thousandths of a percent, as
// exact integers. Each line computes, in integers, gross = unit price ×
// quantity, discount = gross × discount%, net = gross − discount, tax =
// net × tax rate and total = net + tax, each product rounded to the minor
// unit half away from zero, once, per line. Document totals are the sums
// of the line figures, so they always add up.
type Totals struct {
	Gross    int64 `bun:"gross,notnull" json:"gross"`
	Discount int64 `bun:"discount,notnull" json:"discount"`
	Net      int64 `bun:"net,notnull" json:"net"`
	Tax      int64 `bun:"tax,notnull" json:"tax"`
	Total    int64 `bun:"total,notnull" json:"total"`
}

// maxUnitPrice and maxQuantity bound a line so that no total overflows.
const (
	maxUnitPrice = 1e13
	maxQuantity  = 1e7
)

// scaled returns f × 10^digits as an integer, and whether f has no more
// than digits decimals.
func scaled(f float64, digits int) (int64, bool) {
	m := math.Pow10(digits)
	r := math.Round(f * m)
	return int64(r), math.Abs(f*m-r) < 1e-6
}

// mulDiv returns a × b / d rounded half away from zero.
func mulDiv(a, b, d int64) int64 {
	n := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	q, r := new(big.Int).QuoRem(n, big.NewInt(d), new(big.Int))
	if new(big.Int).Abs(r).Cmp(new(big.Int).Quo(big.NewInt(d+1), big.NewInt(2))) >= 0 {
		if n.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q.Int64()
}

// price computes the line's amounts and checks its numbers; problems are
// added to v under field.
func (l *Line) price(v *storage.ValidationError, field string) {
	q, ok := scaled(l.Quantity, 3)
	switch {
	case l.Quantity <= 0:
		v.Add(field+".quantity", "%v is not positive", l.Quantity)
	case !ok || l.Quantity > maxQuantity:
		v.Add(field+".quantity", "%v has more than 3 decimals or exceeds %d", l.Quantity, int64(maxQuantity))
	}
	if l.UnitPrice < 0 || l.UnitPrice > maxUnitPrice {
		v.Add(field+".unit_price", "%d is outside 0–%d", l.UnitPrice, int64(maxUnitPrice))
	}
	d, dok := scaled(l.Discount, 2)
	if l.Discount < 0 || l.Discount > 100 || !dok {
		v.Add(field+".discount", "%v is outside 0–100 or has more than 2 decimals", l.Discount)
	}
	r, rok := scaled(l.TaxRate, 3)
	if l.TaxRate < 0 || l.TaxRate > 100 || !rok {
		v.Add(field+".tax_rate", "%v is outside 0–100 or has more than 3 decimals", l.TaxRate)
	}
	l.Description = strings.TrimSpace(l.Description)
	if l.Description == "" {
		v.Add(field+".description", "is required")
	}
	if len(v.Fields) > 0 {
		return
	}
	l.Gross = mulDiv(l.UnitPrice, q, 1000)
	l.DiscountAmnt = mulDiv(l.Gross, d, 10000)
	l.Net = l.Gross - l.DiscountAmnt
	l.Tax = mulDiv(l.Net, r, 100000)
	l.Total = l.Net + l.Tax
}

// sum returns the totals of lines.
func sum(lines []Line) Totals {
	var t Totals
	for _, l := range lines {
		t.Gross += l.Gross
		t.Discount += l.DiscountAmnt
		t.Net += l.Net
		t.Tax += l.Tax
		t.Total += l.Total
	}
	return t
}

// Quote is a priced offer to a customer.
type Quote struct {
	storage.Meta
	// Number is the workspace's gap-free quote number, such as "Q-000042".
	Number        string      `bun:"number,notnull" json:"number"`
	Name          string      `bun:"name,notnull" json:"name"`
	OpportunityID string      `bun:"opportunity_id,notnull" json:"opportunity_id,omitempty"`
	AccountID     string      `bun:"account_id,notnull" json:"account_id,omitempty"`
	ContactID     string      `bun:"contact_id,notnull" json:"contact_id,omitempty"`
	PriceBookID   string      `bun:"price_book_id,notnull" json:"price_book_id,omitempty"`
	Currency      string      `bun:"currency,notnull" json:"currency"`
	Status        QuoteStatus `bun:"status,notnull" json:"status"`
	ValidUntil    time.Time   `bun:"valid_until,notnull" json:"valid_until,omitzero"`
	Lines         []Line      `bun:"lines" json:"lines"`
	Totals        `bun:"embed:"`
	Notes         string    `bun:"notes,notnull" json:"notes,omitempty"`
	SentAt        time.Time `bun:"sent_at,notnull" json:"sent_at,omitzero"`
	DecidedAt     time.Time `bun:"decided_at,notnull" json:"decided_at,omitzero"`
	InvoiceID     string    `bun:"invoice_id,notnull" json:"invoice_id,omitempty"`
	OwnerID       string    `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID        string    `bun:"team_id,notnull" json:"team_id,omitempty"`
}

// RecordType returns "quote".
func (*Quote) RecordType() string { return ObjectQuote }

// Links returns the deal, account and contact of the quote.
func (q *Quote) Links() []storage.Ref { return docLinks(q.OpportunityID, q.AccountID, q.ContactID) }

func docLinks(opp, account, contact string) []storage.Ref {
	var out []storage.Ref
	for _, r := range []storage.Ref{{Type: ObjectOpportunity, ID: opp}, {Type: contacts.ObjectAccount, ID: account}, {Type: contacts.ObjectContact, ID: contact}} {
		if r.ID != "" {
			out = append(out, r)
		}
	}
	return out
}

// NewLine is one line of NewQuote.
type NewLine struct {
	// ProductID names a product; its name is the default description and
	// its price in the quote's price book the default unit price.
	ProductID   string
	Description string
	Quantity    float64
	// UnitPrice, when set, overrides the price book; its currency must be
	// the quote's.
	UnitPrice *storage.Money
	Discount  float64
	TaxRate   float64
}

// NewQuote is the input of Quotes.Create.
type NewQuote struct {
	Name string
	// OpportunityID, when set, gives the defaults of account, contact,
	// currency and owner.
	OpportunityID, AccountID, ContactID string
	PriceBookID                         string // "" for the standard one
	Currency                            string
	ValidUntil                          time.Time
	Lines                               []NewLine
	Notes                               string
	OwnerID, TeamID                     string
}

// Quotes manages quotes.
type Quotes struct{ s *Service }

// Create stores a draft quote with the next quote number, its lines priced
// and totalled.
func (qs *Quotes) Create(ctx context.Context, in NewQuote) (*Quote, error) {
	q := &Quote{Name: strings.TrimSpace(in.Name), OpportunityID: in.OpportunityID, AccountID: in.AccountID, ContactID: in.ContactID,
		PriceBookID: in.PriceBookID, Currency: in.Currency, Status: QuoteDraft, ValidUntil: in.ValidUntil,
		Notes: strings.TrimSpace(in.Notes), OwnerID: in.OwnerID, TeamID: in.TeamID}
	err := qs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		var v storage.ValidationError
		if q.OpportunityID != "" {
			o, err := qs.s.t.opps.Get(ctx, q.OpportunityID)
			if errors.Is(err, storage.ErrNotFound) {
				v.Add("opportunity_id", "does not exist in the workspace")
			} else if err != nil {
				return err
			} else {
				q.AccountID = or(q.AccountID, o.AccountID)
				q.ContactID = or(q.ContactID, o.ContactID)
				q.Currency = or(q.Currency, o.Amount.Currency)
				q.OwnerID, q.TeamID = or(q.OwnerID, o.OwnerID), or(q.TeamID, o.TeamID)
				q.Name = or(q.Name, o.Name)
			}
		}
		if q.Name == "" {
			v.Add("name", "is required")
		}
		checkCurrency(&v, "currency", q.Currency)
		book, err := qs.s.PriceBooks.book(ctx, q.PriceBookID)
		if err != nil {
			mergeInto(&v, "", err)
			if !errors.Is(err, storage.ErrInvalid) {
				return err
			}
		} else {
			q.PriceBookID = book.ID
		}
		for i, nl := range in.Lines {
			l, err := qs.line(ctx, &v, fmt.Sprintf("lines[%d]", i), q, nl)
			if err != nil {
				return err
			}
			q.Lines = append(q.Lines, l)
		}
		if len(in.Lines) == 0 {
			v.Add("lines", "a quote needs at least one line")
		}
		if err := v.Err(); err != nil {
			return err
		}
		q.Totals = sum(q.Lines)
		n, err := qs.s.store.NextNumber(ctx, "quote")
		if err != nil {
			return err
		}
		q.Number = fmt.Sprintf("Q-%06d", n)
		return qs.s.t.quotes.Insert(ctx, q)
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// line prices one line of q.
func (qs *Quotes) line(ctx context.Context, v *storage.ValidationError, field string, q *Quote, nl NewLine) (Line, error) {
	l := Line{ProductID: nl.ProductID, Description: nl.Description, Quantity: nl.Quantity, Discount: nl.Discount, TaxRate: nl.TaxRate}
	if nl.ProductID != "" {
		p, err := qs.s.t.products.Get(ctx, nl.ProductID)
		if errors.Is(err, storage.ErrNotFound) {
			v.Add(field+".product_id", "does not exist in the workspace")
			return l, nil
		} else if err != nil {
			return l, err
		}
		l.SKU = p.SKU
		l.Description = or(strings.TrimSpace(l.Description), p.Name)
	}
	switch {
	case nl.UnitPrice != nil:
		if nl.UnitPrice.Currency != q.Currency {
			v.Add(field+".unit_price.currency", "%q is not the quote's currency %q", nl.UnitPrice.Currency, q.Currency)
		}
		l.UnitPrice = nl.UnitPrice.Amount
	case nl.ProductID != "" && q.PriceBookID != "" && q.Currency != "":
		m, err := qs.s.PriceBooks.Price(ctx, q.PriceBookID, nl.ProductID, q.Currency)
		if errors.Is(err, storage.ErrNotFound) {
			v.Add(field+".unit_price", "the product has no %s price in the price book; give one", q.Currency)
			return l, nil
		} else if err != nil {
			return l, err
		}
		l.UnitPrice = m.Amount
	case nl.ProductID == "":
		v.Add(field+".unit_price", "is required for a line without a product")
	}
	l.price(v, field)
	return l, nil
}

// Get returns the quote with id.
func (qs *Quotes) Get(ctx context.Context, id string) (*Quote, error) {
	return qs.s.t.quotes.Get(ctx, id)
}

// List returns a page of quotes.
func (qs *Quotes) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Quote], error) {
	return qs.s.t.quotes.List(ctx, q)
}

// UpdateQuote changes a draft quote; nil fields stay as they are.
type UpdateQuote struct {
	Name       *string
	ValidUntil *time.Time
	Notes      *string
	// Lines replaces the lines, priced again.
	Lines *[]NewLine
}

// Update changes a draft quote. Once sent, a quote cannot change
// (ErrConflict): make a new one.
func (qs *Quotes) Update(ctx context.Context, id string, in UpdateQuote) (*Quote, error) {
	return storage.Modify(ctx, qs.s.store, qs.s.t.quotes, id, 0, func(ctx context.Context, q *Quote) error {
		if q.Status != QuoteDraft {
			return fmt.Errorf("%w: quote %s is %s; only drafts change", storage.ErrConflict, q.Number, q.Status)
		}
		storage.Set(&q.Name, in.Name)
		storage.Set(&q.ValidUntil, in.ValidUntil)
		storage.Set(&q.Notes, in.Notes)
		var v storage.ValidationError
		if in.Lines != nil {
			q.Lines = nil
			for i, nl := range *in.Lines {
				l, err := qs.line(ctx, &v, fmt.Sprintf("lines[%d]", i), q, nl)
				if err != nil {
					return err
				}
				q.Lines = append(q.Lines, l)
			}
			if len(q.Lines) == 0 {
				v.Add("lines", "a quote needs at least one line")
			}
		}
		q.Name = strings.TrimSpace(q.Name)
		if q.Name == "" {
			v.Add("name", "is required")
		}
		q.Totals = sum(q.Lines)
		return v.Err()
	})
}

// Send marks a draft quote sent (event quote.sent).
func (qs *Quotes) Send(ctx context.Context, id string) (*Quote, error) {
	return qs.move(ctx, id, QuoteSent, QuoteDraft)
}

// Accept marks a sent quote accepted (event quote.accepted). A quote past
// its ValidUntil date cannot be accepted: it is marked expired instead and
// the answer is ErrConflict.
func (qs *Quotes) Accept(ctx context.Context, id string) (*Quote, error) {
	return qs.move(ctx, id, QuoteAccepted, QuoteSent)
}

// Reject marks a sent quote rejected (event quote.rejected).
func (qs *Quotes) Reject(ctx context.Context, id string) (*Quote, error) {
	return qs.move(ctx, id, QuoteRejected, QuoteSent)
}

// Expire marks a sent quote expired (event quote.expired).
func (qs *Quotes) Expire(ctx context.Context, id string) (*Quote, error) {
	return qs.move(ctx, id, QuoteExpired, QuoteSent)
}

func (qs *Quotes) move(ctx context.Context, id string, to, from QuoteStatus) (*Quote, error) {
	var expired bool
	q, err := storage.Modify(ctx, qs.s.store, qs.s.t.quotes, id, 0, func(ctx context.Context, q *Quote) error {
		if q.Status != from {
			return fmt.Errorf("%w: quote %s is %s, not %s", storage.ErrConflict, q.Number, q.Status, from)
		}
		now := storage.Now()
		if to == QuoteAccepted && !q.ValidUntil.IsZero() && now.After(q.ValidUntil.AddDate(0, 0, 1)) {
			expired, to = true, QuoteExpired
		}
		q.Status = to
		if to == QuoteSent {
			q.SentAt = now
		} else {
			q.DecidedAt = now
		}
		return nil
	}, func(o *storage.WriteOptions) { o.EventType = "quote." + string(to) }) // read after apply set to
	if err == nil && expired {
		return q, fmt.Errorf("%w: quote %s expired on %s", storage.ErrConflict, q.Number, q.ValidUntil.Format(time.DateOnly))
	}
	return q, err
}

//go:embed quote.html
var quoteHTML string

var quoteTemplate = template.Must(template.New("quote").Funcs(template.FuncMap{
	"money": func(amount int64, currency string) string {
		return storage.Money{Amount: amount, Currency: currency}.String()
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.DateOnly)
	},
}).Parse(quoteHTML))

// RenderHTML writes the quote as a printable HTML page (html/template, so
// every value is escaped).
func (qs *Quotes) RenderHTML(w io.Writer, q *Quote) error {
	return quoteTemplate.Execute(w, q)
}
