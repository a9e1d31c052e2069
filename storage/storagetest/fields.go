package storagetest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// fieldEnv is an access environment with a role that hides a contact's
// email, phones and one custom field and an activity's body, and makes the
// lifecycle read-only; secret is a contact whose hidden values are known.
type fieldEnv struct {
	*accessEnv
	masked  context.Context // a member of that role
	secret  *contacts.Contact
	secrets []string // every hidden value, as it would appear in JSON
}

func newFieldEnv(t *testing.T, h Harness) *fieldEnv {
	e := &fieldEnv{accessEnv: newAccessEnv(t, h)}
	_, err := e.svc.Fields.Define(e.sys, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "salary", Type: contacts.FieldNumber})
	must(t, "define salary", err)
	_, err = e.svc.Fields.Define(e.sys, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "tier", Type: contacts.FieldText})
	must(t, "define tier", err)
	all := map[storage.Action]storage.Scope{storage.ActionRead: storage.ScopeAll, storage.ActionCreate: storage.ScopeAll,
		storage.ActionUpdate: storage.ScopeAll, storage.ActionDelete: storage.ScopeAll, storage.ActionExport: storage.ScopeAll}
	_, err = e.acc.DefineRole(e.sys, access.NewRole{Name: "masked", Permissions: storage.Permissions{storage.AnyType: all},
		Fields: storage.FieldRules{
			contacts.ObjectContact: {"email": storage.FieldHidden, "phones": storage.FieldHidden,
				"custom.salary": storage.FieldHidden, "lifecycle": storage.FieldReadOnly},
			contacts.ObjectActivity: {"body": storage.FieldHidden},
		}})
	must(t, "define role", err)
	m, err := e.acc.CreateMember(e.sys, access.NewMember{Name: "Masked", Role: "masked"})
	must(t, "member", err)
	e.masked = e.as(m)

	e.secret = e.contact(e.sys, contacts.NewContact{FirstName: "Zara", LastName: "Quill", Email: "zq-first@hidden.example",
		Phones: []contacts.Phone{{Number: "+1 415 555 0199"}}, Lifecycle: contacts.LifecycleCustomer,
		Custom: map[string]any{"salary": 987654, "tier": "gold"}})
	e.secret, err = e.svc.Contacts.Update(e.sys, e.secret.ID, contacts.UpdateContact{Email: ptr("zq-second@hidden.example"),
		Custom: map[string]any{"salary": 876543}})
	must(t, "update secret", err)
	_, err = e.svc.Activities.Log(e.sys, contacts.NewActivity{Kind: contacts.KindNote, Subject: "Pay review",
		Body: "BODYSECRET raise agreed", ContactIDs: []string{e.secret.ID}})
	must(t, "log activity", err)
	e.secrets = []string{"zq-first", "zq-second", "hidden.example", "14155550199", "987654", "876543", "BODYSECRET"}
	return e
}

// outputs returns, as one JSON text, everything the API shows ctx about the
// secret contact: get, list, count, search, timeline, history and the
// change feed.
func (e *fieldEnv) outputs(ctx context.Context) string {
	t := e.t
	t.Helper()
	var out []any
	c, err := e.svc.Contacts.Get(ctx, e.secret.ID)
	must(t, "get", err)
	out = append(out, c)
	page, err := e.svc.Contacts.List(ctx, storage.ListQuery{Filter: storage.Eq("last_name", "Quill")})
	must(t, "list", err)
	out = append(out, page)
	for _, q := range []string{"zara", "quill gold"} {
		hits, err := e.svc.Search(ctx, q, 10)
		must(t, "search", err)
		out = append(out, hits)
	}
	tl, err := e.svc.Contacts.Timeline(ctx, e.secret.ID, storage.PageQuery{})
	must(t, "timeline", err)
	out = append(out, tl)
	hist, err := e.store.History(ctx, e.secret.ID, storage.PageQuery{})
	must(t, "history", err)
	out = append(out, hist)
	e.sync()
	for cursor := ""; ; {
		f, err := e.store.ChangeFeed(ctx, cursor, 100)
		must(t, "feed", err)
		if len(f.Events) == 0 {
			break
		}
		out = append(out, f)
		cursor = f.Cursor
	}
	var exp strings.Builder
	for _, f := range []contacts.ExportFormat{contacts.ExportCSV, contacts.ExportJSON, contacts.ExportVCard} {
		must(t, "export "+string(f), e.svc.ExportContacts(ctx, &exp, contacts.ExportOptions{Format: f}))
	}
	b, err := json.Marshal(out)
	must(t, "marshal", err)
	return string(b) + exp.String()
}

// testFieldLeak checks that a hidden field's values appear nowhere in what
// a member of the role reads, while the system sees them all in the same
// outputs, and that searching for a hidden value finds nothing.
func testFieldLeak(t *testing.T, h Harness) {
	e := newFieldEnv(t, h)
	sys := e.outputs(e.sys)
	for _, s := range e.secrets {
		if !strings.Contains(sys, s) {
			t.Fatalf("the system's outputs lack %q: the leak check below would prove nothing", s)
		}
	}
	masked := e.outputs(e.masked)
	for _, s := range e.secrets {
		if strings.Contains(masked, s) {
			t.Errorf("hidden value %q appears in the masked member's outputs", s)
		}
	}
	for _, visible := range []string{"Zara", "Quill", "gold", "customer", "Pay review"} {
		if !strings.Contains(masked, visible) {
			t.Errorf("visible value %q is missing from the masked member's outputs", visible)
		}
	}

	c, err := e.svc.Contacts.Get(e.masked, e.secret.ID)
	must(t, "get", err)
	if c.Email != "" || c.Phones != nil || c.Custom["salary"] != nil || c.Custom["tier"] != "gold" || c.Lifecycle != contacts.LifecycleCustomer {
		t.Errorf("masked get = email %q phones %v custom %v lifecycle %q; want hidden ones blank, the rest kept", c.Email, c.Phones, c.Custom, c.Lifecycle)
	}

	// Searching for a hidden value finds nothing; the system finds it.
	for _, q := range []string{"zq", "hidden example", "14155550199", "zara zq"} {
		hits, err := e.store.Search(e.masked, storage.SearchQuery{Text: q})
		must(t, "search", err)
		if len(hits) != 0 {
			t.Errorf("masked search %q = %+v, want no hits", q, hits)
		}
		hits, err = e.store.Search(e.sys, storage.SearchQuery{Text: q})
		must(t, "search", err)
		if len(hits) != 1 {
			t.Errorf("system search %q = %d hits, want 1", q, len(hits))
		}
	}

	// Nor can a hidden value be probed by filtering or sorting on it.
	for _, f := range []storage.Filter{
		storage.Eq("email", "zq-second@hidden.example"),
		storage.Or{storage.Eq("first_name", "x"), storage.Not{Filter: storage.Cmp{Field: "custom.salary", Op: storage.OpGt, Value: 1}}},
		storage.Cmp{Field: "phones", Op: storage.OpEmpty},
		// Whether a record has any custom value tells who holds the
		// hidden salary.
		storage.Not{Filter: storage.Cmp{Field: "custom", Op: storage.OpEmpty}},
	} {
		_, err := e.svc.Contacts.Count(e.masked, f)
		wantErr(t, "count filtered on a hidden field", err, storage.ErrForbidden)
		_, err = e.svc.Contacts.List(e.masked, storage.ListQuery{Filter: f})
		wantErr(t, "list filtered on a hidden field", err, storage.ErrForbidden)
	}
	_, err = e.svc.Contacts.List(e.masked, storage.ListQuery{Sort: []storage.Sort{{Field: "email"}}})
	wantErr(t, "list sorted on a hidden field", err, storage.ErrForbidden)
	_, err = e.svc.Contacts.List(e.masked, storage.ListQuery{Filter: storage.Eq("custom.tier", "gold"), Sort: []storage.Sort{{Field: "lifecycle"}}})
	must(t, "filter on a visible custom field, sort on a read-only one", err)
}

// testFieldWrites checks writes under field rules: hidden and read-only
// fields cannot be set or changed, and an update keeps the hidden values
// the member never saw, in the row, the search index and the change log.
func testFieldWrites(t *testing.T, h Harness) {
	e := newFieldEnv(t, h)
	m, id := e.masked, e.secret.ID
	before, err := e.svc.Contacts.Get(e.sys, id)
	must(t, "get", err)

	for what, in := range map[string]contacts.UpdateContact{
		"a hidden field":        {Email: ptr("new@example.com")},
		"a hidden custom field": {Custom: map[string]any{"salary": 1}},
		"a read-only field":     {Lifecycle: ptr(contacts.LifecycleLead)},
		"hidden phones":         {Phones: &[]contacts.Phone{{Number: "+1 212 555 0100"}}, FirstName: ptr("Zed")},
	} {
		_, err := e.svc.Contacts.Update(m, id, in)
		wantErr(t, "update of "+what, err, storage.ErrForbidden)
	}
	if now, err := e.svc.Contacts.Get(e.sys, id); err != nil || now.Version != before.Version {
		t.Errorf("refused updates changed the contact: version %d → %d (%v)", before.Version, now.Version, err)
	}

	// An update of visible fields keeps the hidden ones.
	_, err = e.svc.Contacts.Update(m, id, contacts.UpdateContact{FirstName: ptr("Zora"), Custom: map[string]any{"tier": "platinum"}})
	must(t, "masked update of visible fields", err)
	after, err := e.svc.Contacts.Get(e.sys, id)
	must(t, "get", err)
	if after.FirstName != "Zora" || after.Email != before.Email || len(after.Phones) != 1 ||
		after.Custom["salary"] != before.Custom["salary"] || after.Custom["tier"] != "platinum" {
		t.Errorf("after a masked update: %q %q %v %v; want the hidden values kept", after.FirstName, after.Email, after.Phones, after.Custom)
	}
	if hits, err := e.store.Search(e.sys, storage.SearchQuery{Text: "zora zq"}); err != nil || len(hits) != 1 {
		t.Errorf("the search index lost the hidden email after a masked update: %d hits (%v)", len(hits), err)
	}
	hist, err := e.store.History(e.sys, id, storage.PageQuery{Limit: 1})
	must(t, "history", err)
	if ev := hist.Items[0]; len(ev.Changes) != 2 {
		t.Errorf("the masked update's event lists %+v, want first_name and custom.tier only", ev.Changes)
	}

	// Creating with a hidden or read-only value is refused; without, it works.
	_, err = e.svc.Contacts.Create(m, contacts.NewContact{FirstName: "New", Email: "new@example.com"})
	wantErr(t, "create with a hidden field", err, storage.ErrForbidden)
	_, err = e.svc.Contacts.Create(m, contacts.NewContact{FirstName: "New", Lifecycle: contacts.LifecycleLead})
	wantErr(t, "create with a read-only field", err, storage.ErrForbidden)
	_, err = e.svc.Contacts.Create(m, contacts.NewContact{FirstName: "New", Custom: map[string]any{"salary": 5}})
	wantErr(t, "create with a hidden custom field", err, storage.ErrForbidden)
	if n, err := e.svc.Contacts.Count(e.sys, storage.Eq("first_name", "New")); err != nil || n != 0 {
		t.Errorf("refused creates wrote %d contacts (%v)", n, err)
	}
	_, err = e.svc.Contacts.Create(m, contacts.NewContact{FirstName: "New", Custom: map[string]any{"tier": "basic"}})
	must(t, "create with visible fields", err)

	// A masked member's delete records the full values in the change log.
	must(t, "masked delete", e.svc.Contacts.Delete(m, id))
	hist, err = e.store.History(e.sys, id, storage.PageQuery{Limit: 1})
	must(t, "history", err)
	if ch, ok := hist.Items[0].Change("email"); !ok || !strings.Contains(string(ch.Old), "zq-second") {
		t.Errorf("the delete event lacks the hidden email: %+v", hist.Items[0].Changes)
	}
}

// testFieldRules checks the validation of field rules.
func testFieldRules(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	_, err := e.acc.DefineRole(e.sys, access.NewRole{Name: "bad_fields", Fields: storage.FieldRules{
		contacts.ObjectContact: {"emial": storage.FieldHidden, "id": storage.FieldHidden, "phones": "secret",
			"custom.": storage.FieldHidden, "custom.anything": storage.FieldReadOnly},
		"spaceship":     {"name": storage.FieldHidden},
		storage.AnyType: {"email": storage.FieldHidden},
	}})
	wantFields(t, "role with bad field rules", err, "fields.contact.emial", "fields.contact.id", "fields.contact.phones",
		"fields.contact.custom.", "fields.spaceship", "fields")
	r, err := e.acc.DefineRole(e.sys, access.NewRole{Name: "ok_fields"})
	must(t, "role", err)
	_, err = e.acc.UpdateRole(e.sys, r.Name, access.UpdateRole{Fields: &storage.FieldRules{contacts.ObjectAccount: {"domian": storage.FieldHidden}}})
	wantFields(t, "update with a bad field rule", err, "fields.account.domian")
	r, err = e.acc.UpdateRole(e.sys, r.Name, access.UpdateRole{Fields: &storage.FieldRules{contacts.ObjectAccount: {"domain": storage.FieldHidden}}})
	must(t, "update field rules", err)
	m, err := e.acc.CreateMember(e.sys, access.NewMember{Name: "OK", Role: r.Name})
	must(t, "member", err)
	p, err := e.acc.Principal(e.sys, m.ID)
	must(t, "principal", err)
	if p.FieldAccess(contacts.ObjectAccount, "domain") != storage.FieldHidden {
		t.Errorf("principal's field rules = %v, want account.domain hidden", p.Fields)
	}
}

// testSearchRankHidden checks that search rank tells nothing of hidden
// fields (issue 17 item 8): two contacts alike in every field a member
// sees come back in the same order whichever holds the query's words in a
// field hidden from it, while a name that matches twice still ranks first
// on what it shows.
func testSearchRankHidden(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	all := map[storage.Action]storage.Scope{storage.ActionRead: storage.ScopeAll, storage.ActionCreate: storage.ScopeAll,
		storage.ActionUpdate: storage.ScopeAll, storage.ActionDelete: storage.ScopeAll, storage.ActionExport: storage.ScopeAll}
	_, err := e.acc.DefineRole(e.sys, access.NewRole{Name: "no_titles", Permissions: storage.Permissions{storage.AnyType: all},
		Fields: storage.FieldRules{contacts.ObjectContact: {"job_title": storage.FieldHidden}}})
	must(t, "define role", err)
	m, err := e.acc.CreateMember(e.sys, access.NewMember{Name: "No titles", Role: "no_titles"})
	must(t, "member", err)
	plain := e.contact(e.sys, contacts.NewContact{FirstName: "Ada", LastName: "Lovelace"})
	rich := e.contact(e.sys, contacts.NewContact{FirstName: "Ada", LastName: "Lovelace", JobTitle: "Ada Ada Ada Ada"})
	twice := e.contact(e.sys, contacts.NewContact{FirstName: "Ada", LastName: "Ada"})
	order := func(ctx context.Context) []string {
		t.Helper()
		hits, err := e.store.(storage.Searcher).Search(ctx, storage.SearchQuery{Text: "ada", Types: []string{contacts.ObjectContact}})
		must(t, "search", err)
		var out []string
		for _, h := range hits {
			out = append(out, h.Ref.ID)
		}
		return out
	}
	masked, err := e.acc.As(e.sys, m.ID)
	must(t, "as", err)
	want := []string{twice.ID, plain.ID, rich.ID}
	if got := order(masked); !slices.Equal(got, want) {
		t.Errorf("the masked member's order = %v, want the double name first, then by creation %v", got, want)
	}
	// The hidden words move to the other contact: the member's order
	// stays (the index's rank tells the two apart, one way or the other).
	none, words := "", "Ada Ada Ada Ada"
	_, err = e.svc.Contacts.Update(e.sys, rich.ID, contacts.UpdateContact{JobTitle: &none})
	must(t, "update", err)
	_, err = e.svc.Contacts.Update(e.sys, plain.ID, contacts.UpdateContact{JobTitle: &words})
	must(t, "update", err)
	if got := order(masked); !slices.Equal(got, want) {
		t.Errorf("with the hidden words swapped, the masked member's order = %v, want %v", got, want)
	}
	if got := order(e.sys); len(got) != 3 {
		t.Errorf("the system finds %d contacts, want 3", len(got))
	}
}
