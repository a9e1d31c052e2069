package storagetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// testFilterWithin checks the semi-join filter: records whose field is
// among the values of another type's matching records, its negation (the
// anti-join), nesting, counting and paging through it, the principal's
// read scope on the inner records, and bad input.
func testFilterWithin(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	a := e.as(e.repA)
	acme := e.account(e.sys, contacts.NewAccount{Name: "Acme", OwnerID: e.repA.ID})
	bolt := e.account(e.sys, contacts.NewAccount{Name: "Bolt", OwnerID: e.repA.ID})
	cog := e.account(e.sys, contacts.NewAccount{Name: "Cog", OwnerID: e.repA.ID})
	_ = e.account(e.sys, contacts.NewAccount{Name: "Dent", OwnerID: e.repA.ID})
	// Acme has a customer contact of rep A's, Bolt one of rep B's, Cog
	// only a lead.
	e.contact(e.sys, contacts.NewContact{FirstName: "Ann", AccountID: acme.ID, Lifecycle: contacts.LifecycleCustomer, OwnerID: e.repA.ID})
	e.contact(e.sys, contacts.NewContact{FirstName: "Bob", AccountID: bolt.ID, Lifecycle: contacts.LifecycleCustomer, OwnerID: e.repB.ID})
	e.contact(e.sys, contacts.NewContact{FirstName: "Cy", AccountID: cog.ID, Lifecycle: contacts.LifecycleLead, OwnerID: e.repA.ID})
	e.contact(e.sys, contacts.NewContact{FirstName: "Di", Lifecycle: contacts.LifecycleCustomer, OwnerID: e.repA.ID})

	customers := storage.Within{Field: "id", Type: contacts.ObjectContact, Select: "account_id",
		Filter: storage.Eq("lifecycle", string(contacts.LifecycleCustomer))}
	names := func(ctx2 string, f storage.Filter) []string {
		t.Helper()
		ctx := e.sys
		if ctx2 == "a" {
			ctx = a
		}
		var out []string
		err := storage.Each(ctx, e.svc.Accounts, storage.ListQuery{Filter: f, PageQuery: storage.PageQuery{Limit: 1}},
			func(ac *contacts.Account) error {
				out = append(out, ac.Name)
				return nil
			})
		must(t, "list accounts", err)
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		what, who string
		f         storage.Filter
		want      []string
	}{
		{"accounts with a customer", "sys", customers, []string{"Acme", "Bolt"}},
		{"accounts with no customer", "sys", storage.Not{Filter: customers}, []string{"Cog", "Dent"}},
		{"with a customer or named Dent", "sys", storage.Or{customers, storage.Eq("name", "Dent")}, []string{"Acme", "Bolt", "Dent"}},
		{"with a contact but no customer", "sys", storage.And{
			storage.Within{Field: "id", Type: contacts.ObjectContact, Select: "account_id"},
			storage.Not{Filter: customers}}, []string{"Cog"}},
		// Rep A may not read Bob, so Bolt has no customer it can see.
		{"rep A: accounts with a customer", "a", customers, []string{"Acme"}},
		{"rep A: accounts with no customer", "a", storage.Not{Filter: customers}, []string{"Bolt", "Cog", "Dent"}},
		// Nested: contacts of accounts that have a customer contact.
	} {
		if got := names(c.who, c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s = %v, want %v", c.what, got, c.want)
		}
	}
	nested := storage.Within{Field: "account_id", Type: contacts.ObjectAccount, Select: "id", Filter: customers}
	page, err := e.svc.Contacts.List(e.sys, storage.ListQuery{Filter: nested, Sort: []storage.Sort{{Field: "first_name"}}})
	must(t, "nested within", err)
	var got []string
	for _, c := range page.Items {
		got = append(got, c.FirstName)
	}
	if want := []string{"Ann", "Bob"}; !slices.Equal(got, want) {
		t.Errorf("contacts of accounts with a customer = %v, want %v", got, want)
	}
	if n, err := storage.TableOf[*contacts.Account](e.store).Count(e.sys, storage.Not{Filter: customers}); err != nil || n != 2 {
		t.Errorf("count of accounts with no customer = %d (%v), want 2", n, err)
	}
	for _, bad := range []struct {
		f     storage.Within
		field string
	}{
		{storage.Within{Field: "id", Type: "no_such_type", Select: "id"}, "filter.within.type"},
		{storage.Within{Field: "nope", Type: contacts.ObjectContact, Select: "account_id"}, "filter.within.field"},
		{storage.Within{Field: "id", Type: contacts.ObjectContact, Select: "nope"}, "filter.within.select"},
	} {
		_, err := e.svc.Accounts.List(e.sys, storage.ListQuery{Filter: bad.f})
		wantFields(t, "bad within", err, bad.field)
	}
	_, err = e.svc.Accounts.List(e.sys, storage.ListQuery{Filter: storage.Within{Field: "id", Type: contacts.ObjectContact,
		Select: "account_id", Filter: storage.Eq("nope", 1)}})
	wantErr(t, "within filtering an unknown field", err, storage.ErrInvalid)
}

// testEmailLookups looks contacts up by email as a host writes it: in any
// case, with spaces, through List, Count, In, an expression and
// GetByEmail.
func testEmailLookups(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ada := e.contact(e.ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	e.contact(e.ctx, contacts.NewContact{FirstName: "Bob", Email: "bob@example.com"})
	one := func(what string, page storage.Page[*contacts.Contact], err error) {
		t.Helper()
		must(t, what, err)
		if len(page.Items) != 1 || page.Items[0].ID != ada.ID {
			t.Errorf("%s found %d contacts, want Ada", what, len(page.Items))
		}
	}
	page, err := e.svc.Contacts.List(e.ctx, storage.ListQuery{Filter: storage.Eq("email", " ADA@Example.com ")})
	one("Eq in upper case", page, err)
	page, err = e.svc.Contacts.List(e.ctx, storage.ListQuery{Filter: storage.And{storage.In("email", "ADA@EXAMPLE.COM", "nobody@example.com")}})
	one("In in upper case", page, err)
	page, err = e.svc.Contacts.Where(e.ctx, "email == 'Ada@Example.COM'", storage.ListQuery{})
	one("an expression", page, err)
	if n, err := e.svc.Contacts.Count(e.ctx, storage.Not{Filter: storage.Eq("email", "ADA@example.com")}); err != nil || n != 1 {
		t.Errorf("count of the others = %d (%v), want 1", n, err)
	}
	got, err := e.svc.Contacts.GetByEmail(e.ctx, "  Ada@Example.com")
	must(t, "GetByEmail", err)
	if got.ID != ada.ID {
		t.Errorf("GetByEmail = %s, want Ada", got.ID)
	}
	_, err = e.svc.Contacts.GetByEmail(e.ctx, "nobody@example.com")
	wantErr(t, "GetByEmail of no one", err, storage.ErrNotFound)

	// A taken email's conflict names the contact that holds it, also
	// inside a transaction the failed insert doomed (Postgres).
	for _, inTx := range []bool{false, true} {
		var err error
		create := func(ctx context.Context) error {
			_, err = e.svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "Again", Email: "Ada@Example.com"})
			return err
		}
		if inTx {
			_ = e.store.RunInTx(e.ctx, create)
		} else {
			_ = create(e.ctx)
		}
		var ce *storage.ConflictError
		if !errors.As(err, &ce) || ce.Field != "email" || ce.ExistingID != ada.ID {
			t.Errorf("taken email (in a transaction: %v): %v (%+v), want a conflict naming Ada", inTx, err, ce)
		}
	}
}
