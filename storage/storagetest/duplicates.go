package storagetest

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// ignoreMeta compares duplicate rules by their settings.
var ignoreMeta = cmpopts.IgnoreFields(contacts.DuplicateRules{}, "Meta")

// testDuplicateRulesStored checks a workspace's duplicate rules as a
// record: the defaults until one is saved, checks that name the field and
// write nothing, one record per workspace (also when first saves race),
// history, versions, workspaces and the rights of the built-in roles.
func testDuplicateRulesStored(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	ctx := e.sys
	cs := e.svc.Contacts
	_, err := e.svc.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "ext_id", Type: contacts.FieldText})
	must(t, "define ext_id", err)
	_, err = e.svc.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "vip", Type: contacts.FieldBool})
	must(t, "define vip", err)
	_, err = e.svc.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectAccount, Name: "erp_id", Type: contacts.FieldText})
	must(t, "define erp_id", err)

	r, err := cs.DuplicateRules(ctx)
	must(t, "rules before any save", err)
	if diff := cmp.Diff(contacts.DefaultDuplicateRules(), r); diff != "" || r.ID != "" {
		t.Errorf("rules of a workspace that saved none (-defaults +got):\n%s", diff)
	}
	if n := count(t, ctx, storage.TableOf[*contacts.DuplicateRules](e.store)); n != 0 {
		t.Fatalf("reading the defaults stored %d records", n)
	}

	// Bad rules are refused, each field named, and nothing is written.
	before := e.counts(ctx)
	for _, c := range []struct {
		name   string
		in     contacts.UpdateDuplicateRules
		fields []string
	}{
		{"threshold 0", contacts.UpdateDuplicateRules{Threshold: ptr(0.0)}, []string{"threshold"}},
		{"threshold above 1", contacts.UpdateDuplicateRules{Threshold: ptr(1.5)}, []string{"threshold"}},
		{"unknown scope", contacts.UpdateDuplicateRules{Scope: ptr(contacts.FuzzyScope("galaxy"))}, []string{"fuzzy_scope"}},
		{"undefined key field", contacts.UpdateDuplicateRules{KeyField: ptr("nope")}, []string{"key_field"}},
		{"bool key field", contacts.UpdateDuplicateRules{KeyField: ptr("vip")}, []string{"key_field"}},
		{"an account's field", contacts.UpdateDuplicateRules{KeyField: ptr("erp_id")}, []string{"key_field"}},
		{"all at once", contacts.UpdateDuplicateRules{Threshold: ptr(-1.0), Scope: ptr(contacts.FuzzyScope("")), KeyField: ptr("nope")},
			[]string{"threshold", "fuzzy_scope", "key_field"}},
	} {
		_, err := cs.SetDuplicateRules(ctx, c.in)
		wantErr(t, c.name, err, storage.ErrInvalid)
		wantFields(t, c.name, err, c.fields...)
	}
	if after := e.counts(ctx); after != before || count(t, ctx, storage.TableOf[*contacts.DuplicateRules](e.store)) != 0 {
		t.Errorf("refused rules wrote: %+v → %+v", before, after)
	}

	// The first save stores the defaults with the change; later ones update.
	_, err = cs.SetDuplicateRules(ctx, contacts.UpdateDuplicateRules{Version: 3, Email: ptr(false)})
	wantErr(t, "first save at a version", err, storage.ErrStale)
	r, err = cs.SetDuplicateRules(ctx, contacts.UpdateDuplicateRules{Email: ptr(false), KeyField: ptr("ext_id")})
	must(t, "first save", err)
	want := contacts.DefaultDuplicateRules()
	want.Email, want.KeyField = false, "ext_id"
	if diff := cmp.Diff(want, r, ignoreMeta); diff != "" || r.Version != 1 {
		t.Errorf("first save (-want +got):\n%s\nversion %d", diff, r.Version)
	}
	_, err = cs.SetDuplicateRules(ctx, contacts.UpdateDuplicateRules{Version: 7, Threshold: ptr(0.95)})
	wantErr(t, "stale save", err, storage.ErrStale)
	r, err = cs.SetDuplicateRules(ctx, contacts.UpdateDuplicateRules{Version: 1, Threshold: ptr(0.95), Scope: ptr(contacts.ScopeAccount)})
	must(t, "second save", err)
	want.Threshold, want.Scope = 0.95, contacts.ScopeAccount
	if diff := cmp.Diff(want, r, ignoreMeta); diff != "" || r.Version != 2 {
		t.Errorf("second save (-want +got):\n%s\nversion %d", diff, r.Version)
	}
	got, err := cs.DuplicateRules(ctx)
	must(t, "rules", err)
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("stored rules differ from the saved ones:\n%s", diff)
	}
	if n := count(t, ctx, storage.TableOf[*contacts.DuplicateRules](e.store)); n != 1 {
		t.Errorf("%d records of rules, want 1", n)
	}
	hist, err := e.store.History(ctx, r.ID, storage.PageQuery{})
	must(t, "history", err)
	var types []string
	for _, ev := range hist.Items {
		types = append(types, ev.Type)
	}
	if !slices.Equal(types, []string{"duplicate_rules.updated", "duplicate_rules.created"}) {
		t.Errorf("history of the rules = %v", types)
	}

	// Another workspace keeps the defaults.
	other, err := cs.DuplicateRules(e.in("ws-b"))
	must(t, "rules of another workspace", err)
	if diff := cmp.Diff(contacts.DefaultDuplicateRules(), other); diff != "" {
		t.Errorf("another workspace's rules (-defaults +got):\n%s", diff)
	}

	// Everyone reads them; only admins change them; a role that may not
	// read them gets ErrForbidden (and its checks still apply them).
	for _, m := range []*access.Member{e.repA, e.mgr} {
		got, err := cs.DuplicateRules(e.as(m))
		must(t, m.Name+" reads the rules", err)
		if got.ID != r.ID {
			t.Errorf("%s reads rules %q, want %q", m.Name, got.ID, r.ID)
		}
		_, err = cs.SetDuplicateRules(e.as(m), contacts.UpdateDuplicateRules{Phone: ptr(false)})
		wantErr(t, m.Name+" changes the rules", err, storage.ErrForbidden)
	}
	_, err = cs.SetDuplicateRules(e.as(e.admin), contacts.UpdateDuplicateRules{Scope: ptr(contacts.ScopeEither)})
	must(t, "admin changes the rules", err)
	blind, err := e.acc.DefineRole(ctx, access.NewRole{Name: "contacts_only", Permissions: storage.Permissions{
		contacts.ObjectContact: {storage.ActionRead: storage.ScopeAll, storage.ActionCreate: storage.ScopeAll}}})
	must(t, "role", err)
	bm, err := e.acc.CreateMember(ctx, access.NewMember{Name: "Blind", Role: blind.Name})
	must(t, "member", err)
	_, err = cs.DuplicateRules(e.as(bm))
	wantErr(t, "a role without read on the rules reads them", err, storage.ErrForbidden)
	e.contact(ctx, contacts.NewContact{FirstName: "Exty", Custom: map[string]any{"ext_id": "X-1"}})
	cands, err := cs.Duplicates(e.as(bm), contacts.NewContact{FirstName: "Other", Custom: map[string]any{"ext_id": "X-1"}})
	must(t, "check as a role that may not read the rules", err)
	if len(cands) != 1 || cands[0].Rule != "custom.ext_id" {
		t.Errorf("the workspace's key field did not apply to a member who may not read the rules: %+v", cands)
	}

	// First saves that race end as one record holding every change: the
	// one that loses the insert updates the winner's record. Updates that
	// race are ErrStale, retried, as any read-modify-write.
	race := e.in("ws-race")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, errs[i] = cs.SetDuplicateRules(race, contacts.UpdateDuplicateRules{Threshold: ptr(0.8 + float64(i)/100)})
				if !errors.Is(errs[i], storage.ErrStale) {
					return
				}
			}
		}()
	}
	wg.Wait()
	must(t, "racing first saves", errors.Join(errs...))
	if n := count(t, race, storage.TableOf[*contacts.DuplicateRules](e.store)); n != 1 {
		t.Fatalf("racing first saves stored %d records, want 1", n)
	}
	r, err = cs.DuplicateRules(race)
	must(t, "rules after the race", err)
	if r.Version != 8 {
		t.Errorf("after 8 saves the rules are at version %d, want 8", r.Version)
	}
}

// testDuplicateRulesApplied checks that the workspace's rules drive the
// scan, the check before a create and lead capture, and that a call's
// options override them.
func testDuplicateRulesApplied(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.ctx
	cs := e.svc.Contacts
	_, err := e.svc.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "ext_id", Type: contacts.FieldText})
	must(t, "define", err)
	acme := e.account(ctx, contacts.NewAccount{Name: "Acme"})
	mk := func(in contacts.NewContact) string { return e.contact(ctx, in).ID }
	// Jon and John: the same account, other domains. Bea and Beatrice-like
	// Bee: the same domain, no account. Ann and Anne: gmail, no account.
	jon := mk(contacts.NewContact{FirstName: "Jon", LastName: "Smith", AccountID: acme.ID, Email: "jon@one.example"})
	john := mk(contacts.NewContact{FirstName: "John", LastName: "Smith", AccountID: acme.ID, Email: "john@two.example"})
	bea := mk(contacts.NewContact{FirstName: "Beatrix", LastName: "Potter", Email: "bea@hill.example"})
	bee := mk(contacts.NewContact{FirstName: "Beatrice", LastName: "Potter", Email: "bee@hill.example"})
	mk(contacts.NewContact{FirstName: "Ann", LastName: "Lee", Email: "ann.lee@gmail.com"})
	mk(contacts.NewContact{FirstName: "Anne", LastName: "Lee", Email: "anne.lee@gmail.com"})
	p1 := mk(contacts.NewContact{FirstName: "Mail", Email: "shared@mail.example"})
	p2 := mk(contacts.NewContact{FirstName: "Other", Emails: []contacts.EmailAddress{{Address: "shared@mail.example"}}})
	t1 := mk(contacts.NewContact{FirstName: "Tel", Phones: []contacts.Phone{{Number: "+1 415 555 0111"}}})
	t2 := mk(contacts.NewContact{FirstName: "Phone", Phones: []contacts.Phone{{Number: "+14155550111"}}})
	x1 := mk(contacts.NewContact{FirstName: "Ext", Custom: map[string]any{"ext_id": "E-7"}})
	x2 := mk(contacts.NewContact{FirstName: "Different", Custom: map[string]any{"ext_id": "E-7"}})
	key := func(a, b string) [2]string { return [2]string{min(a, b), max(a, b)} }
	pairs := func(opts contacts.DuplicateOptions) map[[2]string]string {
		t.Helper()
		ps, err := e.svc.FindDuplicates(ctx, opts)
		must(t, "scan", err)
		out := map[[2]string]string{}
		for _, p := range ps {
			out[key(p.A, p.B)] = p.Rule
		}
		return out
	}
	set := func(in contacts.UpdateDuplicateRules) {
		t.Helper()
		_, err := cs.SetDuplicateRules(ctx, in)
		must(t, "set rules", err)
	}
	exact := map[[2]string]string{key(p1, p2): "email", key(t1, t2): "phone"}
	with := func(m map[[2]string]string, more map[[2]string]string) map[[2]string]string {
		out := map[[2]string]string{}
		for k, v := range m {
			out[k] = v
		}
		for k, v := range more {
			out[k] = v
		}
		return out
	}
	steps := []struct {
		name string
		set  *contacts.UpdateDuplicateRules
		opts contacts.DuplicateOptions
		want map[[2]string]string
	}{
		{"defaults: account or domain, no key field, never gmail.com", nil, contacts.DuplicateOptions{},
			with(exact, map[[2]string]string{key(jon, john): "name+company", key(bea, bee): "name+domain"})},
		{"a key field given for the call", nil, contacts.DuplicateOptions{KeyField: "ext_id"},
			with(exact, map[[2]string]string{key(jon, john): "name+company", key(bea, bee): "name+domain", key(x1, x2): "custom.ext_id"})},
		{"stored: the key field, within an account only", &contacts.UpdateDuplicateRules{KeyField: ptr("ext_id"), Scope: ptr(contacts.ScopeAccount)},
			contacts.DuplicateOptions{}, with(exact, map[[2]string]string{key(jon, john): "name+company", key(x1, x2): "custom.ext_id"})},
		{"within a domain only", &contacts.UpdateDuplicateRules{Scope: ptr(contacts.ScopeDomain)}, contacts.DuplicateOptions{},
			with(exact, map[[2]string]string{key(bea, bee): "name+domain", key(x1, x2): "custom.ext_id"})},
		{"a threshold the names miss", &contacts.UpdateDuplicateRules{Threshold: ptr(0.99)}, contacts.DuplicateOptions{},
			with(exact, map[[2]string]string{key(x1, x2): "custom.ext_id"})},
		{"a threshold given for the call", nil, contacts.DuplicateOptions{Threshold: 0.9},
			with(exact, map[[2]string]string{key(bea, bee): "name+domain", key(x1, x2): "custom.ext_id"})},
		{"no email, phone or fuzzy rule", &contacts.UpdateDuplicateRules{Email: ptr(false), Phone: ptr(false), Fuzzy: ptr(false)},
			contacts.DuplicateOptions{}, map[[2]string]string{key(x1, x2): "custom.ext_id"}},
		{"rules given for the call", nil, contacts.DuplicateOptions{Rules: contacts.DefaultDuplicateRules()},
			with(exact, map[[2]string]string{key(jon, john): "name+company", key(bea, bee): "name+domain"})},
	}
	for _, st := range steps {
		if st.set != nil {
			set(*st.set)
		}
		if diff := cmp.Diff(st.want, pairs(st.opts)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", st.name, diff)
		}
	}
	for _, bad := range []struct {
		opts  contacts.DuplicateOptions
		field string
	}{{contacts.DuplicateOptions{Threshold: 2}, "threshold"}, {contacts.DuplicateOptions{KeyField: "nope"}, "key_field"},
		{contacts.DuplicateOptions{Rules: &contacts.DuplicateRules{Scope: "galaxy", Threshold: 0.9}}, "fuzzy_scope"}} {
		_, err := e.svc.FindDuplicates(ctx, bad.opts)
		wantErr(t, "scan with bad options", err, storage.ErrInvalid)
		wantFields(t, "scan with bad options", err, bad.field)
	}

	// The check before a create follows the same rules.
	check := func(in contacts.NewContact) map[string]string {
		t.Helper()
		got, err := cs.Duplicates(ctx, in)
		must(t, "check", err)
		out := map[string]string{}
		for _, c := range got {
			out[c.ContactID] = c.Rule
		}
		return out
	}
	newJon := contacts.NewContact{FirstName: "Jonny", LastName: "Smith", AccountID: acme.ID, Email: "jonny@one.example"}
	newBea := contacts.NewContact{FirstName: "Beatrix", LastName: "Potter", Email: "beatrix@hill.example"}
	byMail := contacts.NewContact{FirstName: "Mail", Email: "SHARED@mail.example"}
	byPhone := contacts.NewContact{FirstName: "T", Phones: []contacts.Phone{{Number: "(415) 555-0111"}}}
	byExt := contacts.NewContact{FirstName: "E", Custom: map[string]any{"ext_id": "E-7"}}
	checks := []struct {
		name  string
		set   contacts.UpdateDuplicateRules
		in    contacts.NewContact
		wants map[string]string
	}{
		{"the exact rules off: no email match", contacts.UpdateDuplicateRules{}, byMail, map[string]string{}},
		{"the exact rules off: no phone match", contacts.UpdateDuplicateRules{}, byPhone, map[string]string{}},
		{"the key field", contacts.UpdateDuplicateRules{}, byExt, map[string]string{x1: "custom.ext_id", x2: "custom.ext_id"}},
		{"email on: the primary and the other addresses", contacts.UpdateDuplicateRules{Email: ptr(true)}, byMail,
			map[string]string{p1: "email", p2: "email"}},
		{"phone on", contacts.UpdateDuplicateRules{Phone: ptr(true)}, byPhone, map[string]string{t1: "phone", t2: "phone"}},
		{"fuzzy off", contacts.UpdateDuplicateRules{}, newJon, map[string]string{}},
		{"fuzzy within an account", contacts.UpdateDuplicateRules{Fuzzy: ptr(true), Threshold: ptr(0.85), Scope: ptr(contacts.ScopeAccount)},
			newJon, map[string]string{jon: "name+company", john: "name+company"}},
		{"within an account: not by domain", contacts.UpdateDuplicateRules{}, newBea, map[string]string{}},
		{"within a domain", contacts.UpdateDuplicateRules{Scope: ptr(contacts.ScopeDomain)}, newBea,
			map[string]string{bea: "name+domain", bee: "name+domain"}},
		{"within a domain: not by account", contacts.UpdateDuplicateRules{}, contacts.NewContact{FirstName: "Jonny", LastName: "Smith",
			AccountID: acme.ID}, map[string]string{}},
		{"either, the same person both ways", contacts.UpdateDuplicateRules{Scope: ptr(contacts.ScopeEither)}, newJon,
			map[string]string{jon: "name+company", john: "name+company"}},
		{"never by a free mail domain", contacts.UpdateDuplicateRules{}, contacts.NewContact{FirstName: "Annie", LastName: "Lee",
			Email: "annie.lee@gmail.com"}, map[string]string{}},
	}
	for _, c := range checks {
		set(c.set)
		if diff := cmp.Diff(c.wants, check(c.in)); diff != "" {
			t.Errorf("check %s (-want +got):\n%s", c.name, diff)
		}
	}

	// Lead capture asks the same check for the lead's email and phone.
	s := e.sales()
	solo := mk(contacts.NewContact{FirstName: "Solo", Email: "solo@solo.example"})
	set(contacts.UpdateDuplicateRules{Email: ptr(false)})
	_, err = s.Leads.Capture(ctx, sales.NewLead{FirstName: "Mail", Email: "shared@mail.example"})
	must(t, "capture a contact's email with the email rule off", err)
	set(contacts.UpdateDuplicateRules{Email: ptr(true)})
	_, err = s.Leads.Capture(ctx, sales.NewLead{FirstName: "Solo", Email: "solo@solo.example"})
	var de *sales.DuplicateError
	if !errors.As(err, &de) || !slices.ContainsFunc(de.Candidates, func(c sales.Candidate) bool { return c.Ref.ID == solo && c.Reason == "email" }) {
		t.Errorf("capture of a contact's email with the email rule on: %v, want a duplicate of %s by email", err, solo)
	}
}
