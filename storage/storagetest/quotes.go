package storagetest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

// testProductsPrices checks products, the standard and custom price books,
// and the fallback from a custom book to the standard one.
func testProductsPrices(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.sales()
	p, err := s.Products.Create(e.ctx, sales.NewProduct{SKU: "ORR-1", Name: "Orrery", TaxCategory: "goods"})
	must(t, "product", err)
	_, err = s.Products.Create(e.ctx, sales.NewProduct{SKU: "ORR-1", Name: "Twin"})
	wantErr(t, "duplicate SKU", err, storage.ErrConflict)
	_, err = s.Products.Create(e.ctx, sales.NewProduct{SKU: "X"})
	wantFields(t, "product without name", err, "name")

	_, err = s.PriceBooks.SetPrice(e.ctx, "", p.ID, storage.Money{Amount: 100000, Currency: "EUR"})
	must(t, "standard price", err)
	_, err = s.PriceBooks.SetPrice(e.ctx, "", p.ID, storage.Money{Amount: 120000, Currency: "EUR"})
	must(t, "standard price again", err)
	vip, err := s.PriceBooks.Create(e.ctx, "VIP", "")
	must(t, "book", err)
	_, err = s.PriceBooks.SetPrice(e.ctx, vip.ID, p.ID, storage.Money{Amount: 90000, Currency: "EUR"})
	must(t, "vip price", err)
	for _, c := range []struct {
		book, cur string
		want      int64
	}{{"", "EUR", 120000}, {vip.ID, "EUR", 90000}} {
		m, err := s.PriceBooks.Price(e.ctx, c.book, p.ID, c.cur)
		must(t, "price", err)
		if m.Amount != c.want {
			t.Errorf("price in book %q = %v, want %d", c.book, m, c.want)
		}
	}
	_, err = s.PriceBooks.SetPrice(e.ctx, vip.ID, p.ID, storage.Money{Amount: 1, Currency: "USD"})
	must(t, "vip usd", err)
	_, err = s.PriceBooks.Price(e.ctx, "", p.ID, "USD")
	wantErr(t, "no standard USD price", err, storage.ErrNotFound)
	_, err = s.PriceBooks.SetPrice(e.ctx, "", storage.NewID(), storage.Money{Amount: -1, Currency: "eur"})
	wantFields(t, "bad price", err, "price.amount", "price.currency")
	if n, err := storage.TableOf[*sales.PriceEntry](e.store).Count(e.ctx, nil); err != nil || n != 3 {
		t.Errorf("%d price entries (%v), want 3", n, err)
	}
}

// testQuotes checks pricing and the rounding rule, gap-free numbers,
// statuses and their events, editing rules and the HTML rendering.
func testQuotes(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.sales()
	prod, err := s.Products.Create(e.ctx, sales.NewProduct{SKU: "WID", Name: "Widget"})
	must(t, "product", err)
	_, err = s.PriceBooks.SetPrice(e.ctx, "", prod.ID, storage.Money{Amount: 1999, Currency: "EUR"})
	must(t, "price", err)
	opp, err := s.Opportunities.Create(e.ctx, sales.NewOpportunity{Name: "Widgets for Acme", Amount: storage.Money{Currency: "EUR"},
		LineItems: []sales.NewLine{{ProductID: prod.ID, Quantity: 10, Discount: 10}, {Description: "Support", Quantity: 1,
			UnitPrice: &storage.Money{Amount: 5000, Currency: "EUR"}}}})
	must(t, "opportunity with line items", err)
	if len(opp.LineItems) != 2 || opp.Amount.Amount != 17991+5000 { // 10 × 19.99 − 10% = 179.91
		t.Errorf("opportunity line items %+v, amount %v", opp.LineItems, opp.Amount)
	}
	_, err = s.Opportunities.Create(e.ctx, sales.NewOpportunity{Name: "Mixed", Amount: storage.Money{Currency: "EUR"},
		LineItems: []sales.NewLine{{Description: "x", Quantity: 1, UnitPrice: &storage.Money{Amount: 1, Currency: "USD"}}}})
	wantFields(t, "line item in another currency", err, "line_items[0].unit_price.currency")
	opp, err = s.Opportunities.Update(e.ctx, opp.ID, sales.UpdateOpportunity{LineItems: &[]sales.NewLine{{ProductID: prod.ID, Quantity: 1}}})
	must(t, "update line items", err)
	if opp.Amount.Amount != 1999 {
		t.Errorf("amount after new line items = %v", opp.Amount)
	}

	// A failed create takes no number.
	_, err = s.Quotes.Create(e.ctx, sales.NewQuote{OpportunityID: opp.ID, Lines: []sales.NewLine{
		{ProductID: prod.ID, Quantity: -1}, {Description: "Setup", Quantity: 1, Discount: 150},
		{Description: "Freight", Quantity: 1.2345, UnitPrice: &storage.Money{Amount: 5, Currency: "USD"}, TaxRate: 101},
		{ProductID: storage.NewID(), Quantity: 1}}})
	wantFields(t, "bad lines", err, "lines[0].quantity", "lines[1].discount", "lines[1].unit_price",
		"lines[2].quantity", "lines[2].unit_price.currency", "lines[2].tax_rate", "lines[3].product_id")
	_, err = s.Quotes.Create(e.ctx, sales.NewQuote{Name: "Empty", Currency: "EUR"})
	wantFields(t, "no lines", err, "lines")

	q, err := s.Quotes.Create(e.ctx, sales.NewQuote{OpportunityID: opp.ID, ValidUntil: time.Now().AddDate(0, 1, 0), Lines: []sales.NewLine{
		{ProductID: prod.ID, Quantity: 3, Discount: 12.5, TaxRate: 19},
		{Description: "<b>Consulting</b>", Quantity: 1.5, UnitPrice: &storage.Money{Amount: 3333, Currency: "EUR"}, TaxRate: 7.25},
	}})
	must(t, "quote", err)
	// 3 × 19.99 = 59.97; −12.5% = 7.49625 → 7.50; net 52.47; 19% = 9.9693 → 9.97.
	// 1.5 × 33.33 = 49.995 → 50.00; 7.25% = 3.625 → 3.63.
	want := []sales.Line{
		{ProductID: prod.ID, SKU: "WID", Description: "Widget", Quantity: 3, UnitPrice: 1999, Discount: 12.5, TaxRate: 19,
			Gross: 5997, DiscountAmnt: 750, Net: 5247, Tax: 997, Total: 6244},
		{Description: "<b>Consulting</b>", Quantity: 1.5, UnitPrice: 3333, TaxRate: 7.25, Gross: 5000, Net: 5000, Tax: 363, Total: 5363},
	}
	if !slices.Equal(q.Lines, want) {
		t.Errorf("lines = %+v, want %+v", q.Lines, want)
	}
	if q.Totals != (sales.Totals{Gross: 10997, Discount: 750, Net: 10247, Tax: 1360, Total: 11607}) || q.Currency != "EUR" ||
		q.Number != "Q-000001" || q.Name != opp.Name || q.Status != sales.QuoteDraft {
		t.Errorf("quote = %s %s %q %s %+v", q.Number, q.Currency, q.Name, q.Status, q.Totals)
	}
	got, err := s.Quotes.Get(e.ctx, q.ID)
	must(t, "get", err)
	if !slices.Equal(got.Lines, q.Lines) || got.Totals != q.Totals {
		t.Errorf("stored quote = %+v", got)
	}

	// Numbers: gap-free under concurrent creates.
	var wg sync.WaitGroup
	nums := make([]string, 6)
	for i := range nums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q, err := s.Quotes.Create(e.ctx, sales.NewQuote{Name: fmt.Sprint("Q", i), Currency: "EUR",
				Lines: []sales.NewLine{{ProductID: prod.ID, Quantity: 1}}})
			if err != nil {
				t.Errorf("concurrent create: %v", err)
				return
			}
			nums[i] = q.Number
		}()
	}
	wg.Wait()
	slices.Sort(nums)
	if want := []string{"Q-000002", "Q-000003", "Q-000004", "Q-000005", "Q-000006", "Q-000007"}; !slices.Equal(nums, want) {
		t.Errorf("concurrent numbers = %v, want %v", nums, want)
	}

	// Drafts change; sent quotes do not.
	q, err = s.Quotes.Update(e.ctx, q.ID, sales.UpdateQuote{Lines: &[]sales.NewLine{{ProductID: prod.ID, Quantity: 2}}})
	must(t, "update draft", err)
	if q.Total != 3998 {
		t.Errorf("total after update = %d, want 3998", q.Total)
	}
	_, err = s.Quotes.Accept(e.ctx, q.ID)
	wantErr(t, "accept a draft", err, storage.ErrConflict)
	_, err = s.Quotes.Send(e.ctx, q.ID)
	must(t, "send", err)
	_, err = s.Quotes.Update(e.ctx, q.ID, sales.UpdateQuote{Notes: ptr("late change")})
	wantErr(t, "edit a sent quote", err, storage.ErrConflict)
	q, err = s.Quotes.Accept(e.ctx, q.ID)
	must(t, "accept", err)
	if q.Status != sales.QuoteAccepted || q.SentAt.IsZero() || q.DecidedAt.IsZero() {
		t.Errorf("accepted quote = %+v", q)
	}
	hist, err := e.store.History(e.ctx, q.ID, storage.PageQuery{})
	must(t, "history", err)
	var types []string
	for _, ev := range hist.Items {
		types = append(types, ev.Type)
	}
	if !slices.Equal(types, []string{"quote.accepted", "quote.sent", "quote.updated", "quote.created"}) {
		t.Errorf("quote events = %v", types)
	}

	// A quote past its validity expires instead of being accepted.
	old, err := s.Quotes.Create(e.ctx, sales.NewQuote{Name: "Old", Currency: "EUR", ValidUntil: time.Now().AddDate(0, 0, -3),
		Lines: []sales.NewLine{{ProductID: prod.ID, Quantity: 1}}})
	must(t, "old quote", err)
	_, err = s.Quotes.Send(e.ctx, old.ID)
	must(t, "send", err)
	_, err = s.Quotes.Accept(e.ctx, old.ID)
	wantErr(t, "accept an expired quote", err, storage.ErrConflict)
	if o, _ := s.Quotes.Get(e.ctx, old.ID); o.Status != sales.QuoteExpired {
		t.Errorf("late acceptance left the quote %s, want expired", o.Status)
	}

	// The printable rendering escapes what it prints.
	var html bytes.Buffer
	q2, _ := s.Quotes.Get(e.ctx, got.ID)
	q2.Lines = want
	must(t, "render", s.Quotes.RenderHTML(&html, q2))
	for _, w := range []string{"Quote Q-000001", "&lt;b&gt;Consulting&lt;/b&gt;", "EUR 19.99", "EUR 62.44", "EUR 39.98"} {
		if !strings.Contains(html.String(), w) {
			t.Errorf("rendered quote lacks %q", w)
		}
	}
	if strings.Contains(html.String(), "<b>Consulting") {
		t.Error("rendered quote does not escape a description")
	}
}

// testInvoices checks invoicing an accepted quote, issuing, payments and
// the exports.
func testInvoices(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.sales()
	mk := func(desc string) *sales.Quote {
		q, err := s.Quotes.Create(e.ctx, sales.NewQuote{Name: "Deal", Currency: "EUR",
			Lines: []sales.NewLine{{Description: desc, Quantity: 2, UnitPrice: &storage.Money{Amount: 5000, Currency: "EUR"}, TaxRate: 10}}})
		must(t, "quote", err)
		return q
	}
	q := mk("=HYPERLINK(\"http://evil.example\")")
	_, err := s.Invoices.FromQuote(e.ctx, q.ID, sales.InvoiceOptions{})
	wantErr(t, "invoice a draft quote", err, storage.ErrConflict)
	_, err = s.Quotes.Send(e.ctx, q.ID)
	must(t, "send", err)
	_, err = s.Quotes.Accept(e.ctx, q.ID)
	must(t, "accept", err)
	inv, err := s.Invoices.FromQuote(e.ctx, q.ID, sales.InvoiceOptions{TermDays: 14})
	must(t, "invoice", err)
	if inv.Number != "INV-000001" || inv.Total != 11000 || inv.Status != sales.InvoiceDraft || len(inv.Lines) != 1 {
		t.Errorf("invoice = %+v", inv)
	}
	_, err = s.Invoices.FromQuote(e.ctx, q.ID, sales.InvoiceOptions{})
	wantErr(t, "invoice a quote twice", err, storage.ErrConflict)
	if q, _ := s.Quotes.Get(e.ctx, q.ID); q.InvoiceID != inv.ID {
		t.Errorf("quote's invoice = %q, want %s", q.InvoiceID, inv.ID)
	}

	_, err = s.Invoices.RecordPayment(e.ctx, inv.ID, sales.Payment{Amount: 100})
	wantErr(t, "pay a draft", err, storage.ErrConflict)
	inv, err = s.Invoices.Issue(e.ctx, inv.ID)
	must(t, "issue", err)
	if inv.IssueDate.IsZero() || inv.DueDate.Sub(inv.IssueDate) != 14*24*time.Hour {
		t.Errorf("issued %v due %v", inv.IssueDate, inv.DueDate)
	}
	inv, err = s.Invoices.RecordPayment(e.ctx, inv.ID, sales.Payment{Amount: 4000, Method: "transfer"})
	must(t, "pay part", err)
	if inv.Status != sales.InvoicePartiallyPaid || inv.Due() != 7000 {
		t.Errorf("after a part payment: %s, due %d", inv.Status, inv.Due())
	}
	_, err = s.Invoices.RecordPayment(e.ctx, inv.ID, sales.Payment{Amount: 7001})
	wantFields(t, "pay more than due", err, "amount")
	_, err = s.Invoices.RecordPayment(e.ctx, inv.ID, sales.Payment{Amount: 0})
	wantFields(t, "pay nothing", err, "amount")
	inv, err = s.Invoices.RecordPayment(e.ctx, inv.ID, sales.Payment{Amount: 7000})
	must(t, "pay the rest", err)
	if inv.Status != sales.InvoicePaid || len(inv.Payments) != 2 || inv.Paid != 11000 {
		t.Errorf("paid invoice = %+v", inv)
	}
	_, err = s.Invoices.Void(e.ctx, inv.ID)
	wantErr(t, "void a paid invoice", err, storage.ErrConflict)
	hist, err := e.store.History(e.ctx, inv.ID, storage.PageQuery{})
	must(t, "history", err)
	var types []string
	for _, ev := range hist.Items {
		types = append(types, ev.Type)
	}
	if !slices.Equal(types, []string{"invoice.paid", "invoice.partially_paid", "invoice.issued", "invoice.created"}) {
		t.Errorf("invoice events = %v", types)
	}

	// A second invoice, then both exported.
	q2 := mk("Plain widget")
	_, _ = s.Quotes.Send(e.ctx, q2.ID)
	_, _ = s.Quotes.Accept(e.ctx, q2.ID)
	inv2, err := s.Invoices.FromQuote(e.ctx, q2.ID, sales.InvoiceOptions{})
	must(t, "second invoice", err)
	if inv2.Number != "INV-000002" {
		t.Errorf("second number = %s", inv2.Number)
	}
	var buf bytes.Buffer
	must(t, "csv", s.Invoices.ExportCSV(e.ctx, &buf, storage.ListQuery{}))
	recs, err := csv.NewReader(&buf).ReadAll()
	must(t, "read csv", err)
	if len(recs) != 3 || recs[0][0] != "number" {
		t.Fatalf("csv = %v", recs)
	}
	for _, r := range recs[1:] {
		for _, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("csv cell %q starts like a formula", cell)
			}
		}
		if r[0] == "INV-000001" && (r[16] != "110.00" || r[9] != "'=HYPERLINK(\"http://evil.example\")") {
			t.Errorf("csv row = %v", r)
		}
	}
	buf.Reset()
	must(t, "json", s.Invoices.ExportJSON(e.ctx, &buf, storage.ListQuery{Filter: storage.Eq("status", "paid")}))
	var out []sales.Invoice
	must(t, "read json", json.Unmarshal(buf.Bytes(), &out))
	if len(out) != 1 || out[0].Number != "INV-000001" || out[0].Total != 11000 {
		t.Errorf("json export = %+v", out)
	}
}

// testQuotesAsRep checks that a rep can price a quote from the catalogue
// the admins keep, but not change the catalogue.
func testQuotesAsRep(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	s := e.sales()
	prod, err := s.Products.Create(e.sys, sales.NewProduct{SKU: "CAT-1", Name: "Catalogue item"})
	must(t, "product", err)
	_, err = s.PriceBooks.SetPrice(e.sys, "", prod.ID, storage.Money{Amount: 1000, Currency: "EUR"})
	must(t, "price", err)
	rep := e.as(e.repA)
	q, err := s.Quotes.Create(rep, sales.NewQuote{Name: "Rep's quote", Currency: "EUR", Lines: []sales.NewLine{{ProductID: prod.ID, Quantity: 2}}})
	must(t, "rep quotes from the catalogue", err)
	if q.Total != 2000 || q.OwnerID != e.repA.ID {
		t.Errorf("rep's quote = total %d owner %q", q.Total, q.OwnerID)
	}
	_, err = s.Products.Update(rep, prod.ID, sales.UpdateProduct{Name: ptr("Cheaper")})
	wantErr(t, "rep changes the catalogue", err, storage.ErrForbidden)
	_, err = s.Quotes.Get(e.as(e.repB), q.ID)
	wantErr(t, "another team's rep reads the quote", err, storage.ErrNotFound)

	// Exporting invoices leaves the CRM: it takes the export scope, which
	// a built-in rep does not have (it exported them before), and a
	// manager has for its team's.
	_, err = s.Quotes.Send(rep, q.ID)
	must(t, "send", err)
	_, err = s.Quotes.Accept(rep, q.ID)
	must(t, "accept", err)
	_, err = s.Invoices.FromQuote(e.sys, q.ID, sales.InvoiceOptions{})
	must(t, "invoice", err)
	var buf bytes.Buffer
	wantErr(t, "a rep exports invoices as CSV", s.Invoices.ExportCSV(rep, &buf, storage.ListQuery{}), storage.ErrForbidden)
	wantErr(t, "a rep exports invoices as JSON", s.Invoices.ExportJSON(rep, &buf, storage.ListQuery{}), storage.ErrForbidden)
	buf.Reset()
	must(t, "a manager exports invoices", s.Invoices.ExportJSON(e.as(e.mgr), &buf, storage.ListQuery{}))
	var out []sales.Invoice
	must(t, "read json", json.Unmarshal(buf.Bytes(), &out))
	if len(out) != 1 {
		t.Errorf("the manager exported %d invoices, want its team's 1", len(out))
	}
}
