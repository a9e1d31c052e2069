package storagetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// testWorkspaceIsolation calls every store method from workspace B with the
// IDs of workspace A: each is ErrNotFound (or finds nothing), and A's rows
// and events are unchanged afterwards.
func testWorkspaceIsolation(t *testing.T, h Harness) {
	e := newEnv(t, h)
	a := e.in("ws-a")
	b := e.in("ws-b")

	def, err := e.svc.Fields.Define(a, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "tier", Type: contacts.FieldText})
	must(t, "define", err)
	parent := e.account(a, contacts.NewAccount{Name: "Umbrella Holding", Domain: "umbrella.example"})
	acct := e.account(a, contacts.NewAccount{Name: "Umbrella Corp", ParentID: parent.ID})
	c := e.contact(a, contacts.NewContact{FirstName: "Albert", LastName: "Wesker", Email: "wesker@umbrella.example",
		AccountID: acct.ID, Tags: []string{"secret"}, Custom: map[string]any{"tier": "gold"}})
	act, err := e.svc.Activities.Log(a, contacts.NewActivity{Kind: contacts.KindNote, Subject: "Umbrella plans", ContactIDs: []string{c.ID}})
	must(t, "log", err)

	snapshot := func() any {
		t.Helper()
		gc, err := e.svc.Contacts.Get(a, c.ID)
		must(t, "get contact in A", err)
		ga, err := e.svc.Accounts.Get(a, acct.ID)
		must(t, "get account in A", err)
		gp, err := e.svc.Accounts.Get(a, parent.ID)
		must(t, "get parent in A", err)
		gt, err := e.svc.Activities.Get(a, act.ID)
		must(t, "get activity in A", err)
		gd, err := e.svc.Fields.Get(a, def.ID)
		must(t, "get field in A", err)
		return []any{gc, ga, gp, gt, gd, e.events(a)}
	}
	before := snapshot()

	notFound := map[string]func(ctx context.Context) error{
		"Contacts.Get": func(ctx context.Context) error { _, err := e.svc.Contacts.Get(ctx, c.ID); return err },
		"Contacts.Update": func(ctx context.Context) error {
			_, err := e.svc.Contacts.Update(ctx, c.ID, contacts.UpdateContact{FirstName: ptr("Hacked")})
			return err
		},
		"Contacts.Update with version": func(ctx context.Context) error {
			_, err := e.svc.Contacts.Update(ctx, c.ID, contacts.UpdateContact{Version: c.Version, FirstName: ptr("Hacked")})
			return err
		},
		"Contacts.Delete":     func(ctx context.Context) error { return e.svc.Contacts.Delete(ctx, c.ID) },
		"Contacts.AddTags":    func(ctx context.Context) error { _, err := e.svc.Contacts.AddTags(ctx, c.ID, "pwned"); return err },
		"Contacts.RemoveTags": func(ctx context.Context) error { _, err := e.svc.Contacts.RemoveTags(ctx, c.ID, "secret"); return err },
		"Contacts.Timeline": func(ctx context.Context) error {
			_, err := e.svc.Contacts.Timeline(ctx, c.ID, storage.PageQuery{})
			return err
		},
		"Accounts.Get": func(ctx context.Context) error { _, err := e.svc.Accounts.Get(ctx, acct.ID); return err },
		"Accounts.Update": func(ctx context.Context) error {
			_, err := e.svc.Accounts.Update(ctx, acct.ID, contacts.UpdateAccount{Name: ptr("Hacked")})
			return err
		},
		"Accounts.Delete": func(ctx context.Context) error { return e.svc.Accounts.Delete(ctx, parent.ID) },
		"Accounts.Children": func(ctx context.Context) error {
			_, err := e.svc.Accounts.Children(ctx, parent.ID, storage.PageQuery{})
			return err
		},
		"Accounts.Contacts": func(ctx context.Context) error {
			_, err := e.svc.Accounts.Contacts(ctx, acct.ID, storage.PageQuery{})
			return err
		},
		"Accounts.Timeline": func(ctx context.Context) error {
			_, err := e.svc.Accounts.Timeline(ctx, acct.ID, storage.PageQuery{})
			return err
		},
		"Activities.Get": func(ctx context.Context) error { _, err := e.svc.Activities.Get(ctx, act.ID); return err },
		"Activities.Update": func(ctx context.Context) error {
			_, err := e.svc.Activities.Update(ctx, act.ID, contacts.UpdateActivity{Subject: ptr("Hacked")})
			return err
		},
		"Activities.Delete": func(ctx context.Context) error { return e.svc.Activities.Delete(ctx, act.ID) },
		"Fields.Get":        func(ctx context.Context) error { _, err := e.svc.Fields.Get(ctx, def.ID); return err },
		"Fields.Update": func(ctx context.Context) error {
			_, err := e.svc.Fields.Update(ctx, def.ID, contacts.UpdateFieldDef{Label: ptr("Hacked")})
			return err
		},
		"Fields.Delete": func(ctx context.Context) error { return e.svc.Fields.Delete(ctx, def.ID) },
		"Table.Update": func(ctx context.Context) error {
			forged := *c
			forged.FirstName = "Hacked"
			return e.store.Contacts().Update(ctx, c, &forged)
		},
		"Table.Delete": func(ctx context.Context) error { return e.store.Contacts().Delete(ctx, c) },
	}
	for name, call := range notFound {
		wantErr(t, name+" from another workspace", call(b), storage.ErrNotFound)
	}

	// References across workspaces are refused as unknown records.
	_, err = e.svc.Contacts.Create(b, contacts.NewContact{FirstName: "Spy", AccountID: acct.ID})
	wantFields(t, "contact in B on A's account", err, "account_id")
	_, err = e.svc.Accounts.Create(b, contacts.NewAccount{Name: "Spy Corp", ParentID: acct.ID})
	wantFields(t, "account in B under A's account", err, "parent_id")
	_, err = e.svc.Activities.Log(b, contacts.NewActivity{Kind: contacts.KindNote, Subject: "spy", ContactIDs: []string{c.ID}})
	wantFields(t, "activity in B on A's contact", err, "contact_ids[0]")
	_, err = e.svc.Contacts.Create(b, contacts.NewContact{FirstName: "Spy", Custom: map[string]any{"tier": "gold"}})
	wantFields(t, "contact in B with A's custom field", err, "custom.tier")

	// Reads that find nothing.
	empty := map[string]func(ctx context.Context) int{
		"Contacts.List": func(ctx context.Context) int {
			p, err := e.svc.Contacts.List(ctx, storage.ListQuery{})
			must(t, "list", err)
			return len(p.Items)
		},
		"Contacts.Count": func(ctx context.Context) int {
			n, err := e.svc.Contacts.Count(ctx, nil)
			must(t, "count", err)
			return int(n)
		},
		"Accounts.List": func(ctx context.Context) int {
			p, err := e.svc.Accounts.List(ctx, storage.ListQuery{})
			must(t, "list", err)
			return len(p.Items)
		},
		"Activities.List": func(ctx context.Context) int {
			p, err := e.svc.Activities.List(ctx, storage.ListQuery{})
			must(t, "list", err)
			return len(p.Items)
		},
		"Fields.List": func(ctx context.Context) int {
			l, err := e.svc.Fields.List(ctx, contacts.ObjectContact)
			must(t, "list", err)
			return len(l)
		},
		"Search": func(ctx context.Context) int {
			r, err := e.svc.Search(ctx, "umbrella", 0)
			must(t, "search", err)
			return len(r)
		},
		"History": func(ctx context.Context) int {
			p, err := e.store.History(ctx, c.ID, storage.PageQuery{})
			must(t, "history", err)
			return len(p.Items)
		},
		"ChangeFeed": func(ctx context.Context) int { return len(e.events(ctx)) },
		"Filtered list": func(ctx context.Context) int {
			p, err := e.svc.Contacts.List(ctx, storage.ListQuery{Filter: storage.Eq("email", c.Email)})
			must(t, "list", err)
			return len(p.Items)
		},
	}
	for name, call := range empty {
		if n := call(a); n == 0 {
			t.Fatalf("%s in workspace A found nothing; the check is void", name)
		}
		if n := call(b); n != 0 {
			t.Fatalf("%s in workspace B found %d of A's records", name, n)
		}
	}

	if diff := cmp.Diff(before, snapshot()); diff != "" {
		t.Fatalf("calls from workspace B changed workspace A (-before +after):\n%s", diff)
	}
	if n := e.counts(b); n.Events != 0 {
		t.Fatalf("refused calls wrote %d events in workspace B", n.Events)
	}
}
