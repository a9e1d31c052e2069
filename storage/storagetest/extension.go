package storagetest

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testobjects"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/filterexpr"
)

// extensionAtoms are the comparisons of the extension's differential
// test: every kind of field of a driver profile (text, number, bool,
// custom), present, absent and empty, and contacts without a profile.
var extensionAtoms = []string{
	"driver.license_class == 'C'", "driver.license_class != 'C'", "driver.license_class == nil", "driver.license_class != nil",
	"driver.license_class in ['B', 'C']", "driver.license_class startsWith 'C'", "driver.license_class < 'C'",
	"driver.points > 3", "driver.points == 0", "driver.points <= 1", "driver.points in [1, 5]",
	"driver.certified", "driver.certified == false", "driver.id == nil", "driver.id != nil",
	"driver.custom.region == 'eu'", "driver.custom.region != 'eu'", "driver.custom.region == nil", "driver.custom.score >= 2",
	"driver.custom.score == nil", "driver.created_at > daysAgo(1)",
	"first_name == 'Ada'", "email == nil", "lifecycle == 'customer'",
}

// testExprExtension checks the fields of a record that extends contacts
// from another module (internal/testobjects' driver profiles,
// storage.TypeOptions.Extends "driver"): the contacts service, made
// before that module registers, filters, counts and groups by them in SQL
// as the in-memory evaluation of its ExprRecord does, as the system and as
// a member who reads only its own profiles (one it may not read is
// missing); a field of the profile hidden from a member, or the field by
// which a profile names its contact, is ErrForbidden; a field or relation
// the types do not have is ErrInvalid.
func testExprExtension(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.ctx
	sys := storage.AsSystem(ctx)
	// e.svc and its contact table were made before the extending module
	// registers (on a store that has it already, this registers nothing).
	must(t, "register the fleet module", e.store.Register(sys, testobjects.Module()))
	profiles := storage.TableOf[*testobjects.DriverProfile](e.store)
	for _, d := range []contacts.NewFieldDef{{Object: testobjects.ObjectDriverProfile, Name: "region", Type: contacts.FieldText},
		{Object: testobjects.ObjectDriverProfile, Name: "score", Type: contacts.FieldNumber}} {
		_, err := e.svc.Fields.Define(ctx, d)
		must(t, "define", err)
	}
	acc := access.NewService(e.store)
	_, err := acc.DefineRole(ctx, access.NewRole{Name: "own_profiles", Permissions: storage.Permissions{
		storage.AnyType: {storage.ActionRead: storage.ScopeAll}, testobjects.ObjectDriverProfile: {storage.ActionRead: storage.ScopeOwn}}})
	must(t, "role", err)
	reader, err := acc.CreateMember(ctx, access.NewMember{Name: "Reader", Role: "own_profiles"})
	must(t, "member", err)
	asReader, err := acc.As(ctx, reader.ID)
	must(t, "as", err)

	// Four fixed contacts: Ada's profile has every field, Bob's few, Cy
	// has none, Dee's profile is empty and the reader's.
	ada := e.contact(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@fleet.example", Lifecycle: contacts.LifecycleCustomer})
	bob := e.contact(ctx, contacts.NewContact{FirstName: "Bob"})
	cy := e.contact(ctx, contacts.NewContact{FirstName: "Cy"})
	dee := e.contact(ctx, contacts.NewContact{FirstName: "Dee"})
	for _, p := range []*testobjects.DriverProfile{
		{ContactID: ada.ID, LicenseClass: "C", Points: 5, Certified: true, Custom: map[string]any{"region": "eu", "score": 3}},
		{ContactID: bob.ID, LicenseClass: "B", Points: 1},
		{ContactID: dee.ID, OwnerID: reader.ID},
	} {
		must(t, "profile", profiles.Insert(ctx, p))
	}
	err = profiles.Insert(ctx, &testobjects.DriverProfile{ContactID: ada.ID, LicenseClass: "D"})
	wantErr(t, "a second profile of a contact", err, storage.ErrConflict)

	names := func(ctx context.Context, src string) []string {
		t.Helper()
		page, err := e.svc.Contacts.Where(ctx, src, storage.ListQuery{Sort: []storage.Sort{{Field: "first_name"}}})
		must(t, "where "+src, err)
		var out []string
		for _, c := range page.Items {
			out = append(out, c.FirstName)
		}
		f, err := e.svc.Filter(ctx, contacts.ObjectContact, src)
		must(t, "filter "+src, err)
		n, err := storage.TableOf[*contacts.Contact](e.store).Count(ctx, f)
		must(t, "count "+src, err)
		if n != int64(len(out)) {
			t.Errorf("%s: count %d, list %d", src, n, len(out))
		}
		return out
	}
	for _, tc := range []struct {
		ctx  context.Context
		who  string
		src  string
		want []string
	}{
		{ctx, "system", "driver.license_class == 'C'", []string{"Ada"}},
		{ctx, "system", "driver.points >= 1", []string{"Ada", "Bob"}},
		{ctx, "system", "driver.certified && driver.custom.region == 'eu'", []string{"Ada"}},
		{ctx, "system", "driver.custom.score > 2", []string{"Ada"}},
		{ctx, "system", "driver.id == nil", []string{"Cy"}},
		{ctx, "system", "driver.license_class == nil", []string{"Cy", "Dee"}},
		{ctx, "system", "!(driver.points > 3)", []string{"Bob", "Cy", "Dee"}},
		{ctx, "system", "not (driver.custom.region == 'eu')", []string{"Bob", "Cy", "Dee"}},
		{ctx, "system", "driver.custom.region == nil", []string{"Bob", "Cy", "Dee"}},
		{ctx, "system", "driver.points > 0 && lifecycle == 'customer'", []string{"Ada"}},
		{asReader, "reader", "driver.id == nil", []string{"Ada", "Bob", "Cy"}},
		{asReader, "reader", "driver.id != nil", []string{"Dee"}},
		{asReader, "reader", "driver.license_class == 'C'", nil},
		{asReader, "reader", "!(driver.license_class == 'C')", []string{"Ada", "Bob", "Cy", "Dee"}},
	} {
		if got := names(tc.ctx, tc.src); !slices.Equal(got, tc.want) {
			t.Errorf("%s: where %s = %v, want %v", tc.who, tc.src, got, tc.want)
		}
	}

	// Grouped by a field of the profile, and by a custom one.
	agg := e.store.(storage.Aggregator)
	groups := func(ctx context.Context, field string) map[any]int64 {
		t.Helper()
		rows, err := agg.Aggregate(ctx, contacts.ObjectContact, storage.AggregateQuery{GroupBy: []string{field},
			Measures: []storage.Measure{{Op: storage.AggCount}}})
		must(t, "group by "+field, err)
		out := map[any]int64{}
		for _, r := range rows {
			out[r.Group[0]] = r.Values[0].(int64)
		}
		return out
	}
	for _, tc := range []struct {
		ctx   context.Context
		who   string
		field string
		want  map[any]int64
	}{
		{ctx, "system", "driver.license_class", map[any]int64{"C": 1, "B": 1, "": 1, nil: 1}},
		{ctx, "system", "driver.custom.region", map[any]int64{"eu": 1, nil: 3}},
		{asReader, "reader", "driver.license_class", map[any]int64{"": 1, nil: 3}},
	} {
		if got := groups(tc.ctx, tc.field); !maps.Equal(got, tc.want) {
			t.Errorf("%s: contacts by %s = %v, want %v", tc.who, tc.field, got, tc.want)
		}
	}

	// The in-memory record holds the profile as the principal reads it.
	for _, tc := range []struct {
		ctx  context.Context
		who  string
		c    *contacts.Contact
		want string // the profile's license class, "-" for none
	}{
		{ctx, "system", ada, "C"}, {ctx, "system", cy, "-"}, {ctx, "system", dee, ""},
		{asReader, "reader", ada, "-"}, {asReader, "reader", dee, ""},
	} {
		rec, err := e.svc.Contacts.ExprRecord(tc.ctx, tc.c)
		must(t, "record", err)
		got := "-"
		if p, ok := rec["driver"].(filterexpr.Record); ok {
			got, _ = p["license_class"].(string)
		}
		if got != tc.want {
			t.Errorf("%s: %s's record has the profile %q, want %q", tc.who, tc.c.FirstName, got, tc.want)
		}
	}

	// Hidden fields: of the profile, and the one naming its contact.
	readAll := storage.Permissions{storage.AnyType: {storage.ActionRead: storage.ScopeAll}}
	for _, tc := range []struct {
		role   string
		fields storage.FieldRules
		src    string
		field  string // a group that is refused too
	}{
		{"no_points", storage.FieldRules{testobjects.ObjectDriverProfile: {"points": storage.FieldHidden}}, "driver.points > 1", "driver.points"},
		{"no_profile_customs", storage.FieldRules{testobjects.ObjectDriverProfile: {"custom": storage.FieldHidden}}, "driver.custom.score > 1", "driver.custom.region"},
		{"no_profile_contact", storage.FieldRules{testobjects.ObjectDriverProfile: {"contact_id": storage.FieldHidden}}, "driver.license_class == 'C'", "driver.license_class"},
	} {
		_, err := acc.DefineRole(ctx, access.NewRole{Name: tc.role, Permissions: readAll, Fields: tc.fields})
		must(t, "role", err)
		m, err := acc.CreateMember(ctx, access.NewMember{Name: tc.role, Role: tc.role})
		must(t, "member", err)
		as, err := acc.As(ctx, m.ID)
		must(t, "as", err)
		_, err = e.svc.Contacts.Where(as, tc.src, storage.ListQuery{})
		wantErr(t, tc.role+" lists "+tc.src, err, storage.ErrForbidden)
		f, err := e.svc.Filter(ctx, contacts.ObjectContact, tc.src)
		must(t, "filter", err)
		_, err = storage.TableOf[*contacts.Contact](e.store).Count(as, f)
		wantErr(t, tc.role+" counts "+tc.src, err, storage.ErrForbidden)
		_, err = agg.Aggregate(as, contacts.ObjectContact, storage.AggregateQuery{GroupBy: []string{tc.field},
			Measures: []storage.Measure{{Op: storage.AggCount}}})
		wantErr(t, tc.role+" groups by "+tc.field, err, storage.ErrForbidden)
		page, err := e.svc.Contacts.Where(as, "driver.certified", storage.ListQuery{})
		switch {
		case tc.role == "no_profile_contact":
			wantErr(t, tc.role+" lists by another field of the profile", err, storage.ErrForbidden)
		case err != nil || len(page.Items) != 1:
			t.Errorf("%s lists by a visible field of the profile: %d contacts, %v", tc.role, len(page.Items), err)
		}
	}

	// Names the types do not have.
	contactsTbl := storage.TableOf[*contacts.Contact](e.store)
	for _, f := range []string{"driver.nope", "driver.contact.first_name", "drivers.points"} {
		_, err := contactsTbl.Count(ctx, storage.Eq(f, "x"))
		wantErr(t, "count by "+f, err, storage.ErrInvalid)
	}
	_, err = storage.TableOf[*contacts.Account](e.store).Count(ctx, storage.Eq("driver.license_class", "C"))
	wantErr(t, "accounts filtered by contacts' extension", err, storage.ErrInvalid)
	_, err = e.svc.Accounts.Where(ctx, "driver.points > 1", storage.ListQuery{})
	wantErr(t, "an account expression with contacts' extension", err, storage.ErrInvalid)
	schema, err := e.svc.Schema(ctx, contacts.ObjectContact)
	must(t, "schema", err)
	for _, f := range []string{"driver.license_class", "driver.points", "driver.custom.region", "account.industry"} {
		if _, ok := schema[f]; !ok {
			t.Errorf("the contact schema lacks %s", f)
		}
	}

	// SQL and memory agree on generated contacts and expressions.
	rng := rand.New(rand.NewPCG(3, 5))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	for i := range 30 {
		c := e.contact(ctx, contacts.NewContact{FirstName: pick("Ada", "Eve", "Fay"), LastName: fmt.Sprint("Gen", i)})
		if rng.IntN(3) == 0 {
			continue
		}
		p := &testobjects.DriverProfile{ContactID: c.ID, LicenseClass: pick("B", "C", "CE", ""), Points: int64(rng.IntN(7)),
			Certified: rng.IntN(2) == 0, Custom: map[string]any{}}
		if rng.IntN(2) == 0 {
			p.OwnerID = reader.ID
		}
		if rng.IntN(3) > 0 {
			p.Custom["region"] = pick("eu", "us", "")
		}
		if rng.IntN(3) > 0 {
			p.Custom["score"] = []float64{0, 1.5, 2, 4}[rng.IntN(4)]
		}
		must(t, "profile", profiles.Insert(ctx, p))
	}
	cases, nonTrivial := extensionRound(t, e, ctx, rng, 150)
	c2, n2 := extensionRound(t, e, asReader, rng, 100)
	if cases, nonTrivial = cases+c2, nonTrivial+n2; nonTrivial < 100 {
		t.Errorf("only %d of %d expressions split the contacts; the test is weak", nonTrivial, cases)
	}
	if !t.Failed() {
		t.Logf("%d expressions on the extension (100 as a member reading its own profiles), %d splitting the contacts, 0 mismatches", cases, nonTrivial)
	}
}

// extensionRound compares SQL and memory on n expressions of
// extensionAtoms as the principal of ctx (see exprRound).
func extensionRound(t *testing.T, e *env, ctx context.Context, rng *rand.Rand, n int) (cases, nonTrivial int) {
	t.Helper()
	all, err := e.svc.Contacts.List(ctx, storage.ListQuery{PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
	must(t, "list", err)
	recs := make([]filterexpr.Record, len(all.Items))
	with := 0
	for i, c := range all.Items {
		if recs[i], err = e.svc.Contacts.ExprRecord(ctx, c); err != nil {
			t.Fatalf("record: %v", err)
		}
		if recs[i]["driver"] != nil {
			with++
		}
	}
	if with == 0 || with == len(recs) {
		t.Fatalf("%d of %d contacts have a readable profile: the test is weak", with, len(recs))
	}
	schema, err := e.svc.Schema(ctx, contacts.ObjectContact)
	must(t, "schema", err)
	now := time.Now()
	for range n {
		src := genFrom(rng, extensionAtoms, 3)
		ex, err := filterexpr.Compile(src, schema)
		must(t, "compile "+src, err)
		want := map[string]bool{}
		for i, c := range all.Items {
			ok, err := ex.Match(recs[i], now)
			must(t, "match "+src, err)
			if ok {
				want[c.ID] = true
			}
		}
		page, err := e.svc.Contacts.Where(ctx, src, storage.ListQuery{PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
		must(t, "where "+src, err)
		got := map[string]bool{}
		for _, c := range page.Items {
			got[c.ID] = true
		}
		if !maps.Equal(got, want) {
			var only []string
			for i, c := range all.Items {
				if got[c.ID] != want[c.ID] {
					only = append(only, fmt.Sprintf("%s %s driver=%v (sql %v, memory %v)", c.FirstName, c.LastName, recs[i]["driver"], got[c.ID], want[c.ID]))
				}
			}
			t.Fatalf("%s: SQL and memory differ on %d contacts:\n  %s", src, len(only), strings.Join(only[:min(3, len(only))], "\n  "))
		}
		if len(want) > 0 && len(want) < len(all.Items) {
			nonTrivial++
		}
		cases++
	}
	return cases, nonTrivial
}
