package storagetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/workflow"
)

// hostTxStore is what a store offers a host that runs CRM calls in its own
// transactions (*bunstore.Store does).
type hostTxStore interface {
	WithTx(ctx context.Context, tx *sql.Tx) context.Context
	Tx(ctx context.Context) *sql.Tx
}

// hostApp returns the CRM on e's store, its engine serving e's workspace.
func hostApp(t *testing.T, h Harness, e *accessEnv) *crm.CRM {
	wf := workflow.Config{}
	if h.RowLevelSecurity {
		wf.Workspaces = []string{storage.WorkspaceFrom(e.sys)}
	}
	app, err := crm.New(e.sys, e.store, crm.Config{Workflow: wf})
	must(t, "crm.New", err)
	return app
}

// testHostTxCallFails checks that a CRM call that fails inside a host's
// transaction (crm.RunInTx, or the host's own *sql.Tx through WithTx)
// writes nothing and leaves the transaction usable, on both adapters: on
// Postgres the failed statement would otherwise abort the transaction
// (SQLSTATE 25P02). It also checks that the host's own statements reach
// the same transaction (Tx).
func testHostTxCallFails(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	hs, ok := e.store.(hostTxStore)
	if !ok {
		t.Skip("the store runs no host transactions")
	}
	taken := e.contact(e.sys, contacts.NewContact{Email: "taken@example.com"})
	var inTx, viaWithTx string
	err := app.RunInTx(e.sys, func(ctx context.Context) error {
		_, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Dup", Email: "TAKEN@example.com", Tags: []string{"dup"}})
		var ce *storage.ConflictError
		if !errors.As(err, &ce) || ce.Field != "email" {
			return fmt.Errorf("a taken email in the transaction: %v, want a conflict on email", err)
		}
		// A validation error and a missing record on the way.
		if _, err := app.Contacts.Create(ctx, contacts.NewContact{}); !errors.Is(err, storage.ErrInvalid) {
			return fmt.Errorf("empty contact: %v", err)
		}
		if _, err := app.Contacts.Update(ctx, storage.NewID(), contacts.UpdateContact{}); !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("update of a missing contact: %v", err)
		}
		c, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "After", Email: "after@example.com"})
		if err != nil {
			return fmt.Errorf("a create after the failed ones: %w", err)
		}
		inTx = c.ID
		// The host's own statement runs in the same transaction: it sees
		// the contact not yet committed.
		tx := hs.Tx(ctx)
		if tx == nil {
			return errors.New("Tx(ctx) is nil inside RunInTx")
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM crm_contacts WHERE id = "+placeholder(e.store)+"", c.ID).Scan(&n); err != nil || n != 1 {
			return fmt.Errorf("the host's query in the transaction counts %d (%v), want 1", n, err)
		}
		// The same transaction handed over as the host's own (WithTx):
		// each call again undone alone.
		hctx := hs.WithTx(e.sys, tx)
		if _, err := app.Contacts.Create(hctx, contacts.NewContact{Email: "after@example.com"}); !errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("a taken email through WithTx: %v", err)
		}
		d, err := app.Contacts.Create(hctx, contacts.NewContact{FirstName: "Host", Email: "host@example.com"})
		if err != nil {
			return fmt.Errorf("a create through WithTx after a failed one: %w", err)
		}
		viaWithTx = d.ID
		return nil
	})
	must(t, "the host's transaction", err)
	for _, id := range []string{taken.ID, inTx, viaWithTx} {
		if _, err := app.Contacts.Get(e.sys, id); err != nil {
			t.Errorf("contact %s after commit: %v", id, err)
		}
	}
	if n, err := app.Contacts.Count(e.sys, nil); err != nil || n != 3 {
		t.Errorf("contacts after commit = %d (%v), want 3: the failed calls wrote nothing", n, err)
	}
	got, err := app.Contacts.Get(e.sys, taken.ID)
	must(t, "the taken contact", err)
	if len(got.Tags) != 0 || got.Version != 1 {
		t.Errorf("the holder of the email changed: %+v", got)
	}

	// fn's own error still rolls everything back.
	boom := errors.New("boom")
	err = app.RunInTx(e.sys, func(ctx context.Context) error {
		if _, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Gone"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("RunInTx = %v, want fn's error", err)
	}
	if n, err := app.Contacts.Count(e.sys, storage.Eq("first_name", "Gone")); err != nil || n != 0 {
		t.Errorf("a rolled-back host transaction left %d contacts (%v)", n, err)
	}
	if hs.Tx(e.sys) != nil {
		t.Error("Tx outside a transaction is not nil")
	}
}

// placeholder returns the store's bind parameter for the host's raw query.
func placeholder(s Store) string {
	if d, ok := s.(interface{ Dialect() string }); ok && d.Dialect() == "postgres" {
		return "$1"
	}
	return "?"
}

// testHostCheckouts runs 40 checkouts at once, each a host transaction that
// first tries to create the customer (which all but one find taken), then
// upserts it by email and records its order: every checkout commits, one
// customer exists, and every order is its (0 lost).
func testHostCheckouts(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	const n = 40
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = app.RunInTx(e.sys, func(ctx context.Context) error {
				_, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Grace", Email: "grace@example.com"})
				if err != nil && !errors.Is(err, storage.ErrConflict) {
					return fmt.Errorf("create: %w", err)
				}
				c, _, err := app.Contacts.Upsert(ctx, "email", contacts.NewContact{Email: "Grace@example.com", LastName: "Hopper",
					Tags: []string{fmt.Sprintf("checkout-%d", i)}})
				if err != nil {
					return fmt.Errorf("upsert: %w", err)
				}
				_, _, err = app.Sales.Orders.Record(ctx, sales.NewOrder{ExternalID: fmt.Sprintf("order-%d", i), ContactID: c.ID, Currency: "EUR",
					Lines: []sales.OrderLine{{Name: "Tea", Quantity: 1, UnitPrice: 500}}})
				if err != nil {
					return fmt.Errorf("order: %w", err)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("checkout %d: %v", i, err)
		}
	}
	page, err := app.Contacts.List(e.sys, storage.ListQuery{})
	must(t, "contacts", err)
	if len(page.Items) != 1 {
		t.Fatalf("%d contacts after 40 checkouts of one customer, want 1", len(page.Items))
	}
	c := page.Items[0]
	if c.LastName != "Hopper" || len(c.Tags) != n {
		t.Errorf("the customer = %s %s with %d tags, want Hopper with %d (one per checkout)", c.FirstName, c.LastName, len(c.Tags), n)
	}
	hist, err := app.Sales.Orders.History(e.sys, storage.Ref{Type: contacts.ObjectContact, ID: c.ID})
	must(t, "purchase history", err)
	if len(hist) != 1 || hist[0].Orders != n || hist[0].Spent != n*500 {
		t.Errorf("purchase history = %+v, want %d orders of 5.00", hist, n)
	}
}

// testUpserts checks Contacts.Upsert, Accounts.Upsert and
// Opportunities.Upsert: created once, then updated with the fields given
// (tags added, others kept), by a built-in key or a custom external-ID
// field; the key's value is required; a key held by two records is a
// conflict; and 16 concurrent upserts of one custom key (no unique index to
// catch them) make one record.
func testUpserts(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	_, err := app.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "customer_no", Label: "Customer no.", Type: contacts.FieldText})
	must(t, "define customer_no", err)
	_, err = app.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectAccount, Name: "erp_id", Label: "ERP ID", Type: contacts.FieldNumber})
	must(t, "define erp_id", err)

	c, created, err := app.Contacts.Upsert(ctx, "", contacts.NewContact{FirstName: "Ada", Email: " ADA@example.com ", Tags: []string{"vip"}, JobTitle: "Analyst"})
	must(t, "upsert a new contact", err)
	if !created || c.Email != "ada@example.com" {
		t.Fatalf("first upsert = %+v (created %v)", c, created)
	}
	c2, created, err := app.Contacts.Upsert(ctx, "email", contacts.NewContact{Email: "ada@EXAMPLE.com", LastName: "Lovelace", Tags: []string{"VIP", "buyer"}})
	must(t, "upsert the same contact", err)
	if created || c2.ID != c.ID || c2.FirstName != "Ada" || c2.LastName != "Lovelace" || c2.JobTitle != "Analyst" || len(c2.Tags) != 2 {
		t.Errorf("second upsert = %+v (created %v), want the same contact, names kept and added, tags vip+buyer", c2, created)
	}
	_, _, err = app.Contacts.Upsert(ctx, "", contacts.NewContact{FirstName: "No email"})
	wantFields(t, "upsert without the key", err, "email")
	_, _, err = app.Contacts.Upsert(ctx, "phone", contacts.NewContact{Email: "x@example.com"})
	wantFields(t, "upsert by an unknown key", err, "key")
	_, _, err = app.Contacts.Upsert(ctx, "custom.customer_no", contacts.NewContact{FirstName: "No number"})
	wantFields(t, "upsert without the custom key", err, "custom.customer_no")

	// By the host's customer number, 16 at once.
	var wg sync.WaitGroup
	errs := make([]error, 16)
	made := make([]bool, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, made[i], errs[i] = app.Contacts.Upsert(ctx, "custom.customer_no", contacts.NewContact{FirstName: "Kay",
				Tags: []string{fmt.Sprintf("t%d", i)}, Custom: map[string]any{"customer_no": " C-1 "}})
		}()
	}
	wg.Wait()
	creates := 0
	for i := range 16 {
		must(t, "concurrent upsert", errs[i])
		if made[i] {
			creates++
		}
	}
	if n, err := app.Contacts.Count(ctx, storage.Eq("first_name", "Kay")); err != nil || n != 1 || creates != 1 {
		t.Errorf("16 concurrent upserts of one customer number made %d contacts (%v), %d said created; want 1", n, err, creates)
	}
	kay, err := app.Contacts.List(ctx, storage.ListQuery{Filter: storage.Eq("custom.customer_no", "C-1")})
	must(t, "by customer number", err)
	if len(kay.Items) != 1 || len(kay.Items[0].Tags) != 16 {
		var tags [][]string
		for _, c := range kay.Items {
			tags = append(tags, c.Tags)
		}
		t.Errorf("the customer by number = %d contacts, tags %v; want 1 with 16 tags", len(kay.Items), tags)
	}
	// Two contacts with one number: the key names no single one.
	e.contact(ctx, contacts.NewContact{FirstName: "Twin", Custom: map[string]any{"customer_no": "C-2"}})
	e.contact(ctx, contacts.NewContact{FirstName: "Twin", Custom: map[string]any{"customer_no": "C-2"}})
	_, _, err = app.Contacts.Upsert(ctx, "custom.customer_no", contacts.NewContact{FirstName: "Who", Custom: map[string]any{"customer_no": "C-2"}})
	var ce *storage.ConflictError
	if !errors.As(err, &ce) || ce.Field != "custom.customer_no" {
		t.Errorf("upsert of a number two contacts hold = %v, want a conflict on custom.customer_no", err)
	}

	// Accounts by domain and by a numeric ERP ID.
	a, created, err := app.Accounts.Upsert(ctx, "", contacts.NewAccount{Name: "Analytical", Domain: "https://www.analytical.example/"})
	must(t, "upsert an account", err)
	a2, created2, err := app.Accounts.Upsert(ctx, "domain", contacts.NewAccount{Domain: "analytical.example", Industry: "Engines"})
	must(t, "upsert the account again", err)
	if !created || created2 || a2.ID != a.ID || a2.Name != "Analytical" || a2.Industry != "Engines" {
		t.Errorf("account upserts = %+v / %+v (%v, %v)", a, a2, created, created2)
	}
	b, _, err := app.Accounts.Upsert(ctx, "custom.erp_id", contacts.NewAccount{Name: "Babbage", Custom: map[string]any{"erp_id": 42}})
	must(t, "upsert by ERP ID", err)
	b2, created, err := app.Accounts.Upsert(ctx, "custom.erp_id", contacts.NewAccount{Name: "Babbage & Co", Custom: map[string]any{"erp_id": 42.0}})
	must(t, "upsert by ERP ID again", err)
	if created || b2.ID != b.ID || b2.Name != "Babbage & Co" {
		t.Errorf("account by ERP ID again = %+v (created %v)", b2, created)
	}

	// Opportunities by external ID: updated, moved to the stage given.
	o, created, err := app.Sales.Opportunities.Upsert(ctx, sales.NewOpportunity{ExternalID: "SF-0061", Name: "Engines", AccountID: a.ID,
		Amount: storage.Money{Amount: 100000, Currency: "EUR"}})
	must(t, "upsert a deal", err)
	p, err := app.Sales.Pipelines.Default(ctx)
	must(t, "default pipeline", err)
	var won sales.Stage
	for _, st := range p.Stages {
		if st.Kind == sales.StageWon {
			won = st
			break
		}
	}
	o2, created2, err := app.Sales.Opportunities.Upsert(ctx, sales.NewOpportunity{ExternalID: " SF-0061 ", Stage: won.Key,
		Amount: storage.Money{Amount: 120000, Currency: "EUR"}, Tags: []string{"renewal"}})
	must(t, "upsert the deal again", err)
	if !created || created2 || o2.ID != o.ID || o2.Name != "Engines" || o2.Amount.Amount != 120000 || o2.Stage != won.Key || o2.ClosedAt.IsZero() {
		t.Errorf("deal upserts = %+v (%v, %v)", o2, created, created2)
	}
	_, err = app.Sales.Opportunities.Create(ctx, sales.NewOpportunity{ExternalID: "SF-0061", Name: "Copy"})
	if !errors.As(err, &ce) || ce.Field != "external_id" || ce.ExistingID != o.ID {
		t.Errorf("a second deal with the external ID = %v (%+v), want a conflict naming %s", err, ce, o.ID)
	}
	_, _, err = app.Sales.Opportunities.Upsert(ctx, sales.NewOpportunity{Name: "No ID"})
	wantFields(t, "deal upsert without the key", err, "external_id")
	if n, err := app.Sales.Opportunities.Count(ctx, nil); err != nil || n != 1 {
		t.Errorf("deals = %d (%v), want 1", n, err)
	}
}

// testConflictFields checks that a conflict names the field its unique
// index guards, read from the catalog: a taken member external ID (on
// Postgres it was reported as "id", the last word of the index's name), a
// product SKU, a team name, a deal's external ID.
func testConflictFields(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	first, err := e.acc.CreateMember(ctx, access.NewMember{Name: "One", Role: access.RoleRep, ExternalID: "u-1"})
	must(t, "member", err)
	_, err = app.Sales.Products.Create(ctx, sales.NewProduct{SKU: "TEA-1", Name: "Tea"})
	must(t, "product", err)
	_, err = app.Sales.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Deal", ExternalID: "D-1"})
	must(t, "deal", err)
	for _, c := range []struct {
		what, field, holder string
		err                 func() error
	}{
		{"a member's external ID", "external_id", first.ID, func() error {
			_, err := e.acc.CreateMember(ctx, access.NewMember{Name: "Two", Role: access.RoleRep, ExternalID: "u-1"})
			return err
		}},
		{"a product's SKU", "sku", "", func() error {
			_, err := app.Sales.Products.Create(ctx, sales.NewProduct{SKU: "TEA-1", Name: "Tea again"})
			return err
		}},
		{"a team's name", "name", "", func() error { _, err := e.acc.CreateTeam(ctx, "X", ""); return err }},
		{"a deal's external ID", "external_id", "", func() error {
			_, err := app.Sales.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Copy", ExternalID: "D-1"})
			return err
		}},
	} {
		var ce *storage.ConflictError
		if err := c.err(); !errors.As(err, &ce) || ce.Field != c.field || (c.holder != "" && ce.ExistingID != c.holder) {
			t.Errorf("%s taken: %v (%+v), want a conflict on %s", c.what, err, ce, c.field)
		}
	}
}
