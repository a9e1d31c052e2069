package sales

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crm/storage"
)

// InvoiceStatus is where an invoice stands.
type InvoiceStatus string

// The invoice statuses: draft → issued → partially_paid → paid; any but
// paid can become void.
const (
	InvoiceDraft         InvoiceStatus = "draft"
	InvoiceIssued        InvoiceStatus = "issued"
	InvoicePartiallyPaid InvoiceStatus = "partially_paid"
	InvoicePaid          InvoiceStatus = "paid"
	InvoiceVoid          InvoiceStatus = "void"
)

// Payment is money received against an invoice.
type Payment struct {
	Amount    int64     `json:"amount"`
	At        time.Time `json:"at"`
	Method    string    `json:"method,omitempty"`
	Reference string    `json:"reference,omitempty"`
}

// Invoice bills an accepted quote.
type Invoice struct {
	storage.Meta
	// Number is the workspace's gap-free invoice number, such as
	// "INV-000042".
	Number        string        `bun:"number,notnull" json:"number"`
	QuoteID       string        `bun:"quote_id,notnull" json:"quote_id,omitempty"`
	OpportunityID string        `bun:"opportunity_id,notnull" json:"opportunity_id,omitempty"`
	AccountID     string        `bun:"account_id,notnull" json:"account_id,omitempty"`
	ContactID     string        `bun:"contact_id,notnull" json:"contact_id,omitempty"`
	Currency      string        `bun:"currency,notnull" json:"currency"`
	Status        InvoiceStatus `bun:"status,notnull" json:"status"`
	IssueDate     time.Time     `bun:"issue_date,notnull" json:"issue_date,omitzero"`
	DueDate       time.Time     `bun:"due_date,notnull" json:"due_date,omitzero"`
	Lines         []Line        `bun:"lines" json:"lines"`
	Totals        `bun:"embed:"`
	// TermDays is the payment term: DueDate is IssueDate plus this.
	TermDays int `bun:"term_days,notnull" json:"term_days"`
	// Paid sums the payments.
	Paid     int64     `bun:"paid,notnull" json:"paid"`
	Payments []Payment `bun:"payments" json:"payments,omitempty"`
	OwnerID  string    `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID   string    `bun:"team_id,notnull" json:"team_id,omitempty"`
}

// RecordType returns "invoice".
func (*Invoice) RecordType() string { return ObjectInvoice }

// Links returns the deal, account and contact of the invoice.
func (i *Invoice) Links() []storage.Ref { return docLinks(i.OpportunityID, i.AccountID, i.ContactID) }

// Due returns what is left to pay.
func (i *Invoice) Due() int64 { return i.Total - i.Paid }

// Invoices manages invoices.
type Invoices struct{ s *Service }

// InvoiceOptions adjust FromQuote.
type InvoiceOptions struct {
	// TermDays is the payment term in days after issue; default 30.
	TermDays int
}

// FromQuote makes a draft invoice of an accepted quote, with its lines,
// totals and the next invoice number, and links the quote to it (event
// quote.invoiced). A quote is invoiced once (ErrConflict the second time).
func (is *Invoices) FromQuote(ctx context.Context, quoteID string, opts InvoiceOptions) (*Invoice, error) {
	if opts.TermDays < 0 {
		return nil, storage.Invalid("term_days", "is negative")
	}
	if opts.TermDays == 0 {
		opts.TermDays = 30
	}
	var inv *Invoice
	err := is.s.store.RunInTx(ctx, func(ctx context.Context) error {
		q, err := is.s.t.quotes.Get(ctx, quoteID)
		if err != nil {
			return err
		}
		switch {
		case q.Status != QuoteAccepted:
			return fmt.Errorf("%w: quote %s is %s; only accepted quotes are invoiced", storage.ErrConflict, q.Number, q.Status)
		case q.InvoiceID != "":
			return fmt.Errorf("%w: quote %s is already invoiced", storage.ErrConflict, q.Number)
		}
		n, err := is.s.store.NextNumber(ctx, "invoice")
		if err != nil {
			return err
		}
		inv = &Invoice{Number: fmt.Sprintf("INV-%06d", n), QuoteID: q.ID, OpportunityID: q.OpportunityID, AccountID: q.AccountID,
			ContactID: q.ContactID, Currency: q.Currency, Status: InvoiceDraft, Lines: q.Lines, Totals: q.Totals,
			TermDays: opts.TermDays, OwnerID: q.OwnerID, TeamID: q.TeamID}
		if err := is.s.t.invoices.Insert(ctx, inv); err != nil {
			return err
		}
		nq := *q
		nq.InvoiceID = inv.ID
		return is.s.t.quotes.Update(ctx, q, &nq, storage.WithEventType("quote.invoiced"))
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// Get returns the invoice with id.
func (is *Invoices) Get(ctx context.Context, id string) (*Invoice, error) {
	return is.s.t.invoices.Get(ctx, id)
}

// List returns a page of invoices.
func (is *Invoices) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Invoice], error) {
	return is.s.t.invoices.List(ctx, q)
}

// Issue issues a draft invoice today: its issue date is set, and its due
// date TermDays later (event invoice.issued).
func (is *Invoices) Issue(ctx context.Context, id string) (*Invoice, error) {
	return storage.Modify(ctx, is.s.store, is.s.t.invoices, id, 0, func(ctx context.Context, inv *Invoice) error {
		if inv.Status != InvoiceDraft {
			return fmt.Errorf("%w: invoice %s is %s, not draft", storage.ErrConflict, inv.Number, inv.Status)
		}
		now := storage.Now().UTC()
		inv.Status = InvoiceIssued
		inv.IssueDate = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		inv.DueDate = inv.IssueDate.AddDate(0, 0, inv.TermDays)
		return nil
	}, storage.WithEventType("invoice.issued"))
}

// RecordPayment records money received against an issued invoice. Paying
// more than is due is refused; the invoice becomes partially_paid or paid
// (events invoice.partially_paid, invoice.paid).
func (is *Invoices) RecordPayment(ctx context.Context, id string, p Payment) (*Invoice, error) {
	p.Method, p.Reference = strings.TrimSpace(p.Method), strings.TrimSpace(p.Reference)
	if p.Amount <= 0 {
		return nil, storage.Invalid("amount", "%d is not positive", p.Amount)
	}
	if p.At.IsZero() {
		p.At = storage.Now()
	}
	var status InvoiceStatus
	return storage.Modify(ctx, is.s.store, is.s.t.invoices, id, 0, func(ctx context.Context, inv *Invoice) error {
		if inv.Status != InvoiceIssued && inv.Status != InvoicePartiallyPaid {
			return fmt.Errorf("%w: invoice %s is %s; payments go to issued invoices", storage.ErrConflict, inv.Number, inv.Status)
		}
		if p.Amount > inv.Due() {
			return storage.Invalid("amount", "%s is more than the %s due",
				storage.Money{Amount: p.Amount, Currency: inv.Currency}, storage.Money{Amount: inv.Due(), Currency: inv.Currency})
		}
		inv.Payments = append(append([]Payment(nil), inv.Payments...), p)
		inv.Paid += p.Amount
		inv.Status = InvoicePartiallyPaid
		if inv.Due() == 0 {
			inv.Status = InvoicePaid
		}
		status = inv.Status
		return nil
	}, func(o *storage.WriteOptions) { o.EventType = "invoice." + string(status) })
}

// Void cancels an invoice that is not paid (event invoice.void).
func (is *Invoices) Void(ctx context.Context, id string) (*Invoice, error) {
	return storage.Modify(ctx, is.s.store, is.s.t.invoices, id, 0, func(ctx context.Context, inv *Invoice) error {
		if inv.Status == InvoicePaid || inv.Status == InvoiceVoid {
			return fmt.Errorf("%w: invoice %s is %s", storage.ErrConflict, inv.Number, inv.Status)
		}
		inv.Status = InvoiceVoid
		return nil
	}, storage.WithEventType("invoice.void"))
}

// each calls fn with every invoice matching q's filter that the principal
// may export (the role's export scope: an export leaves the CRM), a page
// at a time.
func (is *Invoices) each(ctx context.Context, q storage.ListQuery, fn func(*Invoice) error) error {
	q.Limit = 200
	q.For = storage.ActionExport
	return storage.Each(ctx, is.s.t.invoices, q, fn)
}

// invoiceCSVHeader is the header row of ExportCSV.
var invoiceCSVHeader = []string{"number", "status", "issue_date", "due_date", "currency", "account_id", "contact_id",
	"line", "sku", "description", "quantity", "unit_price", "discount_percent", "tax_rate_percent", "net", "tax", "total",
	"invoice_net", "invoice_tax", "invoice_total", "paid"}

// ExportCSV writes the invoices matching q's filter as CSV for an
// accounting system: one row per line, amounts as decimals in the
// currency's scale. Cells that a spreadsheet would read as a formula are
// prefixed with a quote. It streams: memory does not grow with the count.
func (is *Invoices) ExportCSV(ctx context.Context, w io.Writer, q storage.ListQuery) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(invoiceCSVHeader); err != nil {
		return err
	}
	err := is.each(ctx, q, func(inv *Invoice) error {
		dec := func(a int64) string { return decimal(a, inv.Currency) }
		for i, l := range inv.Lines {
			row := []string{inv.Number, string(inv.Status), dateOnly(inv.IssueDate), dateOnly(inv.DueDate), inv.Currency,
				inv.AccountID, inv.ContactID, strconv.Itoa(i + 1), l.SKU, l.Description,
				strconv.FormatFloat(l.Quantity, 'f', -1, 64), dec(l.UnitPrice), strconv.FormatFloat(l.Discount, 'f', -1, 64),
				strconv.FormatFloat(l.TaxRate, 'f', -1, 64), dec(l.Net), dec(l.Tax), dec(l.Total),
				dec(inv.Net), dec(inv.Tax), dec(inv.Total), dec(inv.Paid)}
			for j := range row {
				row[j] = storage.SafeCSVCell(row[j])
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// ExportJSON writes the invoices matching q's filter as a JSON array of
// Invoice objects, streaming.
func (is *Invoices) ExportJSON(ctx context.Context, w io.Writer, q storage.ListQuery) error {
	if _, err := io.WriteString(w, "["); err != nil {
		return err
	}
	first := true
	enc := json.NewEncoder(w)
	err := is.each(ctx, q, func(inv *Invoice) error {
		if !first {
			if _, err := io.WriteString(w, ","); err != nil {
				return err
			}
		}
		first = false
		return enc.Encode(inv)
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "]\n")
	return err
}

func dateOnly(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// decimal formats minor units in the currency's scale: 123450 EUR is
// "1234.50".
func decimal(amount int64, currency string) string {
	s := storage.Money{Amount: amount, Currency: currency}.String()
	return s[strings.IndexByte(s, ' ')+1:]
}
