package storagetest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

func testNotFound(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for _, id := range []string{storage.NewID(), "not-an-id", ""} {
		_, err := e.svc.Contacts.Get(e.ctx, id)
		wantErr(t, "get contact "+id, err, storage.ErrNotFound)
		_, err = e.svc.Accounts.Get(e.ctx, id)
		wantErr(t, "get account "+id, err, storage.ErrNotFound)
		_, err = e.svc.Activities.Get(e.ctx, id)
		wantErr(t, "get activity "+id, err, storage.ErrNotFound)
		_, err = e.svc.Fields.Get(e.ctx, id)
		wantErr(t, "get field "+id, err, storage.ErrNotFound)
		_, err = e.svc.Contacts.Update(e.ctx, id, contacts.UpdateContact{FirstName: ptr("x")})
		wantErr(t, "update contact "+id, err, storage.ErrNotFound)
		wantErr(t, "delete contact "+id, e.svc.Contacts.Delete(e.ctx, id), storage.ErrNotFound)
		wantErr(t, "delete account "+id, e.svc.Accounts.Delete(e.ctx, id), storage.ErrNotFound)
	}
	if n := e.counts(e.ctx); n != (counts{}) {
		t.Fatalf("failed calls wrote: %+v", n)
	}
}

func testConflict(t *testing.T, h Harness) {
	e := newEnv(t, h)
	first := e.contact(e.ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	before := e.counts(e.ctx)
	for _, email := range []string{"ada@example.com", "  ADA@Example.COM "} {
		_, err := e.svc.Contacts.Create(e.ctx, contacts.NewContact{FirstName: "Twin", Email: email})
		var ce *storage.ConflictError
		if !errors.As(err, &ce) || !errors.Is(err, storage.ErrConflict) || ce.Field != "email" || ce.RecordType != "contact" {
			t.Fatalf("duplicate %q: got %v, want a *ConflictError on contact email", email, err)
		}
	}
	// Update into a taken email conflicts too.
	other := e.contact(e.ctx, contacts.NewContact{FirstName: "Bob", Email: "bob@example.com"})
	before.Contacts++
	before.Events++
	_, err := e.svc.Contacts.Update(e.ctx, other.ID, contacts.UpdateContact{Email: ptr("ADA@example.com")})
	var ce *storage.ConflictError
	if !errors.As(err, &ce) || ce.Field != "email" {
		t.Fatalf("update into a taken email: got %v, want a *ConflictError on email", err)
	}
	if after := e.counts(e.ctx); after != before {
		t.Fatalf("conflicting writes wrote: before %+v, after %+v", before, after)
	}
	got, err := e.svc.Contacts.Get(e.ctx, other.ID)
	must(t, "get", err)
	if got.Email != "bob@example.com" || got.Version != 1 {
		t.Fatalf("conflicting update changed the record: %+v", got)
	}
	// Contacts without email do not collide; the same email in another
	// workspace is fine.
	e.contact(e.ctx, contacts.NewContact{FirstName: "No"})
	e.contact(e.ctx, contacts.NewContact{FirstName: "Mail"})
	e.contact(e.in("ws-b"), contacts.NewContact{FirstName: "Ada", Email: first.Email})
}

func testStale(t *testing.T, h Harness) {
	e := newEnv(t, h)
	c := e.contact(e.ctx, contacts.NewContact{FirstName: "Grace", Email: "grace@example.com"})
	_, err := e.svc.Contacts.Update(e.ctx, c.ID, contacts.UpdateContact{Version: c.Version, JobTitle: ptr("Admiral")})
	must(t, "update at version 1", err)
	before := e.counts(e.ctx)
	_, err = e.svc.Contacts.Update(e.ctx, c.ID, contacts.UpdateContact{Version: c.Version, JobTitle: ptr("Captain")})
	wantErr(t, "update at old version", err, storage.ErrStale)
	if after := e.counts(e.ctx); after != before {
		t.Fatalf("stale update wrote: before %+v, after %+v", before, after)
	}
	got, err := e.svc.Contacts.Get(e.ctx, c.ID)
	must(t, "get", err)
	if got.JobTitle != "Admiral" || got.Version != 2 {
		t.Fatalf("stale update changed the record: %+v", got)
	}

	// The table contract itself: Update and Delete from a stale read.
	tbl := storage.TableOf[*contacts.Contact](e.store)
	old, err := tbl.Get(e.ctx, c.ID)
	must(t, "get", err)
	next := *old
	next.JobTitle = "Rear Admiral"
	must(t, "table update", tbl.Update(e.ctx, old, &next))
	again := *old
	again.JobTitle = "Commodore"
	wantErr(t, "table update from stale read", tbl.Update(e.ctx, old, &again), storage.ErrStale)
	wantErr(t, "table delete from stale read", tbl.Delete(e.ctx, old), storage.ErrStale)

	a := e.account(e.ctx, contacts.NewAccount{Name: "Navy"})
	_, err = e.svc.Accounts.Update(e.ctx, a.ID, contacts.UpdateAccount{Version: a.Version + 1, Name: ptr("Fleet")})
	wantErr(t, "account update at a future version", err, storage.ErrStale)
}

func testBadInput(t *testing.T, h Harness) {
	e := newEnv(t, h)
	_, err := e.svc.Fields.Define(e.ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "region", Type: contacts.FieldText, Required: true})
	must(t, "define", err)
	long := strings.Repeat("x", contacts.MaxNameLen+1)
	cases := []struct {
		name   string
		in     contacts.NewContact
		fields []string
	}{
		{"invalid email", contacts.NewContact{FirstName: "A", Email: "not-an-email", Custom: map[string]any{"region": "x"}}, []string{"email"}},
		{"email with a name", contacts.NewContact{FirstName: "A", Email: "A <a@example.com>", Custom: map[string]any{"region": "x"}}, []string{"email"}},
		{"unknown custom field", contacts.NewContact{FirstName: "A", Custom: map[string]any{"region": "x", "shoe": 1}}, []string{"custom.shoe"}},
		{"wrong custom type", contacts.NewContact{FirstName: "A", Custom: map[string]any{"region": 5}}, []string{"custom.region"}},
		{"missing required", contacts.NewContact{FirstName: "A"}, []string{"custom.region"}},
		{"no name", contacts.NewContact{Custom: map[string]any{"region": "x"}}, []string{"first_name"}},
		{"over-long name", contacts.NewContact{FirstName: long, Custom: map[string]any{"region": "x"}}, []string{"first_name"}},
		{"bad phone", contacts.NewContact{FirstName: "A", Phones: []contacts.Phone{{Number: "12"}}, Custom: map[string]any{"region": "x"}}, []string{"phones[0].number"}},
		{"bad lifecycle", contacts.NewContact{FirstName: "A", Lifecycle: "zombie", Custom: map[string]any{"region": "x"}}, []string{"lifecycle"}},
		{"unknown account", contacts.NewContact{FirstName: "A", AccountID: storage.NewID(), Custom: map[string]any{"region": "x"}}, []string{"account_id"}},
		{"every problem at once", contacts.NewContact{FirstName: long, Email: "@", Lifecycle: "zombie"}, []string{"first_name", "email", "lifecycle", "custom.region"}},
	}
	before := e.counts(e.ctx)
	for _, tc := range cases {
		_, err := e.svc.Contacts.Create(e.ctx, tc.in)
		wantErr(t, tc.name, err, storage.ErrInvalid)
		wantFields(t, tc.name, err, tc.fields...)
	}
	_, err = e.svc.Accounts.Create(e.ctx, contacts.NewAccount{Domain: "not a domain", AnnualRevenue: storage.Money{Amount: 1, Currency: "XYZ"}})
	wantFields(t, "bad account", err, "name", "domain", "annual_revenue.currency")
	if after := e.counts(e.ctx); after != before {
		t.Fatalf("refused input wrote: before %+v, after %+v", before, after)
	}
}

// WorkspaceRequired checks a store opened to require a workspace in every
// context (bunstore.Options.RequireWorkspace): the CRM starts on it, a
// call without a workspace is ErrInvalid naming "workspace" and writes
// nothing, one with a workspace works, and the system may still act
// without one.
func WorkspaceRequired(t *testing.T, store Store) {
	ctx := t.Context()
	app, err := crm.New(ctx, store, crm.Config{})
	must(t, "crm.New without a workspace", err)
	_, err = app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Nowhere"})
	wantFields(t, "a create without a workspace", err, "workspace")
	_, err = app.Contacts.List(ctx, storage.ListQuery{})
	wantFields(t, "a list without a workspace", err, "workspace")
	ws := storage.WithWorkspace(ctx, "ws-required")
	c, err := app.Contacts.Create(ws, contacts.NewContact{FirstName: "Somewhere"})
	must(t, "a create in a workspace", err)
	if n, err := app.Contacts.Count(storage.AsSystem(ctx), nil); err != nil || n != 0 {
		t.Errorf("the default workspace holds %d contacts (%v), want 0", n, err)
	}
	if got, err := app.Contacts.Get(ws, c.ID); err != nil || got.FirstName != "Somewhere" {
		t.Errorf("get in the workspace: %v", err)
	}
}

// testValueBounds checks that what neither adapter can keep is ErrInvalid
// naming the field, before anything is written, for every record type
// (the generic path bounds it): a NUL byte in text, NaN and infinite
// custom numbers, times outside the years 1–9999 (a year-10000 date used
// to be accepted and then break every read of the record on SQLite).
func testValueBounds(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	_, err := app.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "score", Label: "Score", Type: contacts.FieldNumber})
	must(t, "define score", err)
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		what, field string
		err         func() error
	}{
		{"a NUL byte in a name", "first_name", func() error {
			_, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada\x00"})
			return err
		}},
		{"a NaN custom number", "custom.score", func() error {
			_, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Custom: map[string]any{"score": math.NaN()}})
			return err
		}},
		{"an infinite custom number", "custom.score", func() error {
			_, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Custom: map[string]any{"score": math.Inf(1)}})
			return err
		}},
		{"a deal closing in the year 10000", "expected_close", func() error {
			_, err := app.Sales.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Far", ExpectedClose: far})
			return err
		}},
		{"a task due in the year 10000", "due", func() error {
			_, err := app.Sales.Tasks.Create(ctx, sales.NewTask{Title: "Far", Due: far})
			return err
		}},
	} {
		err := c.err()
		var ve *storage.ValidationError
		if !errors.As(err, &ve) || !slices.ContainsFunc(ve.Fields, func(f storage.FieldError) bool { return f.Field == c.field }) {
			t.Errorf("%s: %v, want ErrInvalid naming %s", c.what, err, c.field)
		}
	}
	if n, err := app.Contacts.Count(ctx, nil); err != nil || n != 0 {
		t.Errorf("%d contacts after the refused writes (%v), want 0", n, err)
	}
	// Every record still reads.
	_, err = app.Sales.Opportunities.List(ctx, storage.ListQuery{})
	must(t, "list deals", err)
}

// testAmountBounds checks that an amount beyond storage.MaxAmount is
// ErrInvalid naming it (a deal of MaxInt64/2 was accepted, and two broke
// the pipeline summary and the forecast), and that deals at the bound
// still add up in the summary and in an aggregate.
func testAmountBounds(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	_, err := app.Sales.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Huge", Amount: storage.Money{Amount: math.MaxInt64 / 2, Currency: "EUR"}})
	wantFields(t, "a deal of MaxInt64/2", err, "amount.amount")
	_, err = app.Accounts.Create(ctx, contacts.NewAccount{Name: "Huge", AnnualRevenue: storage.Money{Amount: -storage.MaxAmount - 1, Currency: "EUR"}})
	wantFields(t, "an account revenue beyond the bound", err, "annual_revenue.amount")
	for range 3 {
		_, err := app.Sales.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Big", Amount: storage.Money{Amount: storage.MaxAmount, Currency: "EUR"}})
		must(t, "a deal at the bound", err)
	}
	p, err := app.Sales.Pipelines.Default(ctx)
	must(t, "pipeline", err)
	sum, err := app.Sales.Forecasts.Summary(ctx, p.ID)
	must(t, "pipeline summary", err)
	var total int64
	for _, r := range sum {
		total += r.Amount
	}
	if total != 3*storage.MaxAmount {
		t.Errorf("the pipeline summary adds up to %d, want %d", total, int64(3*storage.MaxAmount))
	}
	rows, err := e.store.Aggregate(ctx, sales.ObjectOpportunity, storage.AggregateQuery{Measures: []storage.Measure{{Op: storage.AggSum, Field: "amount"}}})
	must(t, "aggregate", err)
	if len(rows) != 1 || rows[0].Values[0] != int64(3*storage.MaxAmount) {
		t.Errorf("the sum of amounts = %+v", rows)
	}
}

// testRelatedRefs checks the references a task or an activity keeps
// (Related): a record of another workspace or of a type no module has is
// ErrInvalid naming it (both were accepted); a readable record of the
// workspace is kept.
func testRelatedRefs(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	here := e.contact(ctx, contacts.NewContact{FirstName: "Here"})
	elsewhere, err := app.Contacts.Create(storage.AsSystem(e.in("ws-elsewhere")), contacts.NewContact{FirstName: "Elsewhere"})
	must(t, "contact elsewhere", err)
	for _, bad := range []storage.Ref{{Type: contacts.ObjectContact, ID: elsewhere.ID}, {Type: "spaceship", ID: storage.NewID()}} {
		_, err := app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindNote, Subject: "x", Related: []storage.Ref{bad}})
		wantFields(t, "an activity related to "+bad.Type, err, "related[0]")
		_, err = app.Sales.Tasks.Create(ctx, sales.NewTask{Title: "x", Related: []storage.Ref{bad}})
		wantFields(t, "a task related to "+bad.Type, err, "related[0]")
	}
	ok := []storage.Ref{{Type: contacts.ObjectContact, ID: here.ID}}
	_, err = app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindNote, Subject: "ok", Related: ok})
	must(t, "an activity related to a contact here", err)
	_, err = app.Sales.Tasks.Create(ctx, sales.NewTask{Title: "ok", Related: ok})
	must(t, "a task related to a contact here", err)
}

// testInputChecks checks inputs that were accepted though wrong: a
// negative account revenue, a negative lead score, a secondary email
// equal to the primary or repeated; each is ErrInvalid naming the field,
// and nothing is written.
func testInputChecks(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	_, err := app.Accounts.Create(ctx, contacts.NewAccount{Name: "Minus", AnnualRevenue: storage.Money{Amount: -100, Currency: "EUR"}})
	wantFields(t, "a negative revenue", err, "annual_revenue.amount")
	_, err = app.Sales.Leads.Capture(ctx, sales.NewLead{FirstName: "Minus", Score: -5})
	wantFields(t, "a negative lead score", err, "score")
	_, err = app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com",
		Emails: []contacts.EmailAddress{{Address: " ADA@example.com"}, {Address: "a@example.org"}, {Address: "a@example.org"}}})
	wantFields(t, "secondary emails", err, "emails[0].address", "emails[2].address")
	if n, err := app.Contacts.Count(ctx, nil); err != nil || n != 0 {
		t.Errorf("%d contacts after the refused create (%v)", n, err)
	}
	c, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com",
		Emails: []contacts.EmailAddress{{Address: "a@example.org"}}})
	must(t, "distinct emails", err)
	_, err = app.Contacts.Update(ctx, c.ID, contacts.UpdateContact{Email: ptr("a@example.org")})
	wantFields(t, "a primary email equal to a secondary one", err, "emails[0].address")
}

// testFilterBounds checks that filters past storage's bounds are ErrInvalid
// naming the filter, before SQL is built, in lists, counts and aggregates
// (an Or of 1,000 comparisons, an In of 40,000 values and a Not 1,000 deep
// used to reach the driver, which refused them with errors of its own),
// and that filters at the bounds run on both adapters.
func testFilterBounds(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	ada := e.contact(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	ors := func(n int) storage.Filter {
		f := make(storage.Or, n)
		for i := range f {
			f[i] = storage.Eq("email", fmt.Sprintf("p%d@example.com", i))
		}
		return append(f, storage.Eq("id", ada.ID))
	}
	ids := func(n int) storage.Filter {
		v := make([]string, n)
		for i := range v {
			v[i] = fmt.Sprintf("id-%d", i)
		}
		return storage.In("id", append(v, ada.ID)...)
	}
	nots := func(n int) storage.Filter {
		var f storage.Filter = storage.Eq("id", ada.ID)
		for range n {
			f = storage.Not{Filter: storage.Not{Filter: f}}
		}
		return f
	}
	for _, c := range []struct {
		what string
		f    storage.Filter
		ok   bool
	}{
		{"an Or of 1,000 comparisons", ors(1000), false},
		{"an In of 40,000 values", ids(40_000), false},
		{"a Not 1,000 deep", nots(500), false},
		{"an Or at the bound", ors(storage.MaxFilterTerms - 1), true},
		{"an In at the bound", ids(storage.MaxFilterValues - 1), true},
		{"a Not at the bound", nots(storage.MaxFilterDepth / 2), true},
	} {
		page, err := app.Contacts.List(ctx, storage.ListQuery{Filter: c.f})
		n, cerr := app.Contacts.Count(ctx, c.f)
		_, aerr := e.store.(storage.Aggregator).Aggregate(ctx, contacts.ObjectContact, storage.AggregateQuery{Filter: c.f,
			Measures: []storage.Measure{{Op: storage.AggCount}}})
		if c.ok {
			if err != nil || cerr != nil || aerr != nil || len(page.Items) != 1 || n != 1 {
				t.Errorf("%s: list %d (%v), count %d (%v), aggregate %v; want Ada", c.what, len(page.Items), err, n, cerr, aerr)
			}
			continue
		}
		for _, err := range []error{err, cerr, aerr} {
			var ve *storage.ValidationError
			if !errors.As(err, &ve) || ve.Fields[0].Field != "filter" {
				t.Errorf("%s: %v, want ErrInvalid naming the filter", c.what, err)
			}
		}
	}
}
