package storagetest

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/filterexpr"
)

// exprAtoms are the comparisons the differential test combines; they cover
// every operator, built-in and custom fields, missing values and dates.
var exprAtoms = []string{
	"first_name == 'Ada'", "first_name != 'Ada'", "first_name < 'Bob'", "first_name >= 'Cy'", "first_name == ''",
	"last_name contains 'ov'", "last_name startsWith 'Lo'", "last_name endsWith 'er'", "last_name startsWith ''",
	"email == nil", "email != nil", "email endsWith '.example'",
	"lifecycle in ['lead', 'customer']", "lifecycle not in ['lead']", "lifecycle == nil",
	"'a' in tags", "'b' in tags", "tags == nil",
	"custom.score > 3.5", "custom.score == 2", "custom.score != 2", "custom.score <= 1", "custom.score in [1, 2.5]",
	"custom.score == nil", "custom.tier == 'gold'", "custom.tier != 'gold'", "custom.tier == nil", "custom.tier in ['gold', 'x']",
	"custom.tier contains 'il'", "custom.tier startsWith ''",
	"custom.vip", "custom.vip == false", "custom.vip != true", "custom.vip == nil",
	"created_at > daysAgo(1)", "created_at < startOfYear()", "updated_at >= date('2020-01-01')", "version == 1",
	"true", "false",
	// The contact's account: built-in and custom fields, present, absent
	// and empty, and contacts without an account (or, for a principal, with
	// one it may not read).
	"account.industry == 'Software'", "account.industry != 'Software'", "account.industry == nil", "account.industry != nil",
	"account.industry startsWith 'So'", "account.industry in ['Retail', 'Software']", "account.name < 'M'",
	"account.employees > 10", "account.employees == 0", "'key' in account.tags", "account.tags == nil",
	"account.created_at > daysAgo(1)", "account.custom.size >= 50", "account.custom.size == nil", "account.custom.size in [10, 50]",
	"account.custom.region == 'eu'", "account.custom.region != 'eu'", "account.custom.region == nil", "account.custom.region in ['eu', 'us']",
	"account.custom.partner", "account.custom.partner == false", "account.custom.partner == nil",
}

func genExpr(rng *rand.Rand, depth int) string { return genFrom(rng, exprAtoms, depth) }

// genFrom returns a random expression of atoms, nested up to depth.
func genFrom(rng *rand.Rand, atoms []string, depth int) string {
	if depth == 0 || rng.IntN(3) == 0 {
		return atoms[rng.IntN(len(atoms))]
	}
	switch rng.IntN(4) {
	case 0:
		return "!(" + genFrom(rng, atoms, depth-1) + ")"
	case 1:
		return "(" + genFrom(rng, atoms, depth-1) + " && " + genFrom(rng, atoms, depth-1) + ")"
	case 2:
		return "(" + genFrom(rng, atoms, depth-1) + " or " + genFrom(rng, atoms, depth-1) + ")"
	}
	return "not (" + genFrom(rng, atoms, depth-1) + " || " + genFrom(rng, atoms, depth-1) + ")"
}

// testExprDifferential generates records and expressions and checks that
// the records the store's SQL returns for each expression are exactly
// those the in-memory evaluator accepts: as the system, and as a member
// who may read only some of the accounts (fields of an account it may not
// read are missing, in SQL as in memory).
func testExprDifferential(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.ctx
	for _, d := range []contacts.NewFieldDef{{Object: contacts.ObjectContact, Name: "score", Type: contacts.FieldNumber},
		{Object: contacts.ObjectContact, Name: "tier", Type: contacts.FieldText}, {Object: contacts.ObjectContact, Name: "vip", Type: contacts.FieldBool},
		{Object: contacts.ObjectAccount, Name: "size", Type: contacts.FieldNumber}, {Object: contacts.ObjectAccount, Name: "region", Type: contacts.FieldText},
		{Object: contacts.ObjectAccount, Name: "partner", Type: contacts.FieldBool}} {
		_, err := e.svc.Fields.Define(ctx, d)
		must(t, "define", err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }

	// A member who reads everything but only the accounts it owns.
	acc := access.NewService(e.store)
	_, err := acc.DefineRole(ctx, access.NewRole{Name: "contacts_reader", Permissions: storage.Permissions{
		storage.AnyType: {storage.ActionRead: storage.ScopeAll}, contacts.ObjectAccount: {storage.ActionRead: storage.ScopeOwn}}})
	must(t, "role", err)
	reader, err := acc.CreateMember(ctx, access.NewMember{Name: "Reader", Role: "contacts_reader"})
	must(t, "member", err)
	var accounts []string
	for i := range 12 {
		in := contacts.NewAccount{Name: pick("Acme", "Zenith", "Mole", "Bex") + fmt.Sprint(i), Industry: pick("Software", "Retail", "", "Solar"),
			Employees: []int64{0, 5, 11, 300}[rng.IntN(4)], Custom: map[string]any{}}
		if rng.IntN(2) == 0 {
			in.OwnerID = reader.ID
		}
		if rng.IntN(2) == 0 {
			in.Tags = []string{pick("key", "other")}
		}
		if rng.IntN(3) > 0 {
			in.Custom["size"] = []float64{10, 50, 51, 2}[rng.IntN(4)]
		}
		if rng.IntN(3) > 0 {
			in.Custom["region"] = pick("eu", "us", "")
		}
		if rng.IntN(3) > 0 {
			in.Custom["partner"] = rng.IntN(2) == 0
		}
		accounts = append(accounts, e.account(ctx, in).ID)
	}
	for i := range 80 {
		in := contacts.NewContact{FirstName: pick("Ada", "Bob", "Cy", "ada", "Zoë", ""), LastName: pick("Lovelace", "Hopper", "Overmyer", "Lo", "x"),
			Lifecycle: contacts.Lifecycle(pick("", "lead", "customer", "other")), Custom: map[string]any{}}
		if rng.IntN(2) == 0 {
			in.Email = fmt.Sprintf("p%d@%s", i, pick("a.example", "b.org"))
		}
		if in.FirstName == "" && in.Email == "" {
			in.LastName = "Named"
		}
		for _, tg := range []string{"a", "b"} {
			if rng.IntN(2) == 0 {
				in.Tags = append(in.Tags, tg)
			}
		}
		if rng.IntN(3) > 0 {
			in.Custom["score"] = []float64{1, 2, 2.5, 3.5, 4, -1}[rng.IntN(6)]
		}
		if rng.IntN(3) > 0 {
			in.Custom["tier"] = pick("gold", "silver", "")
		}
		if rng.IntN(3) > 0 {
			in.Custom["vip"] = rng.IntN(2) == 0
		}
		if n := rng.IntN(len(accounts) + 3); n < len(accounts) {
			in.AccountID = accounts[n]
		}
		e.contact(ctx, in)
	}
	asReader, err := acc.As(ctx, reader.ID)
	must(t, "as", err)
	cases, nonTrivial := exprRound(t, e, ctx, rng, 400)
	c2, n2 := exprRound(t, e, asReader, rng, 200)
	cases, nonTrivial = cases+c2, nonTrivial+n2
	if nonTrivial < 150 {
		t.Errorf("only %d of %d expressions split the records; the test is weak", nonTrivial, cases)
	}
	if !t.Failed() {
		t.Logf("%d expressions (200 as a member reading some accounts), %d splitting the records, 0 mismatches", cases, nonTrivial)
	}
}

// exprRound compares SQL and memory on n generated expressions as the
// principal of ctx, the in-memory records read as it (Contacts.ExprRecord).
func exprRound(t *testing.T, e *env, ctx context.Context, rng *rand.Rand, n int) (cases, nonTrivial int) {
	t.Helper()
	all, err := e.svc.Contacts.List(ctx, storage.ListQuery{PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
	must(t, "list", err)
	var recs []filterexpr.Record
	related := 0
	for _, c := range all.Items {
		rec, err := e.svc.Contacts.ExprRecord(ctx, c)
		must(t, "record", err)
		if rec["account"] != nil {
			related++
		}
		recs = append(recs, rec)
	}
	if related == 0 || related == len(recs) {
		t.Fatalf("%d of %d contacts have a readable account: the test is weak", related, len(recs))
	}
	schema, err := e.svc.Schema(ctx, contacts.ObjectContact)
	must(t, "schema", err)
	now := time.Now()
	mismatches := 0
	for range n {
		src := genExpr(rng, 3)
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
					only = append(only, fmt.Sprintf("%s %s/%s %q custom=%v account=%v (sql %v, memory %v)", c.FirstName, c.LastName, c.Lifecycle, c.Email, c.Custom, recs[i]["account"], got[c.ID], want[c.ID]))
				}
			}
			t.Errorf("%s: SQL and memory differ on %d records:\n  %s", src, len(only), strings.Join(only[:min(3, len(only))], "\n  "))
			if mismatches++; mismatches > 5 {
				t.FailNow()
			}
		}
		if len(want) > 0 && len(want) < len(all.Items) {
			nonTrivial++
		}
		cases++
	}
	return cases, nonTrivial
}

// testExprErrors checks that bad expressions are ErrInvalid with a
// position and a readable message, and that the limits hold.
func testExprErrors(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for src, want := range map[string]string{
		"lifecycel == 'lead'":      `line 1, column 1: unknown field "lifecycel"`,
		"first_name == 3":          `line 1, column 15: "3" is a number; the field is text`,
		"first_name ==":            "line 1",
		"len(tags) > 1":            "is not a field",
		"'x' in first_name":        "needs a text list",
		"custom.nope == 1":         `unknown field "custom.nope"`,
		"created_at > yesterday()": `unknown function "yesterday"`,
		"first_name":               "is text, not a condition",
		"account.nope == 'x'":      `unknown field "account.nope"`,
		"owner.name == 'x'":        `unknown field "owner.name"`,
		"account.industry > 3":     `"3" is a number; the field is text`,
		"account.custom.a.b == 1":  "is not a field",
		strings.Repeat("(", 50) + "true" + strings.Repeat(")", 50): "nests 50 deep",
		// A backslash in a raw string is no escape: the string ends at
		// the next backtick, and the nesting after it counts.
		"first_name == `\\` || " + strings.Repeat("(", 200) + "true" + strings.Repeat(")", 200): "nests 200 deep",
		strings.Repeat("x", filterexpr.MaxSource+1):                                             "more than the limit",
	} {
		_, err := e.svc.Contacts.Where(e.ctx, src, storage.ListQuery{})
		wantErr(t, src, err, storage.ErrInvalid)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%.40s: error %q lacks %q", src, err, want)
		}
	}
	deep := strings.Repeat("!", 10000) + "true"
	start := time.Now()
	_, err := filterexpr.Compile(deep, filterexpr.Schema{})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("10,000 nested nots: %v after %v", err, time.Since(start))
	}
	long := "first_name == 'a'" + strings.Repeat(" || first_name == 'a'", 50000)
	if _, err := filterexpr.Compile(long, filterexpr.Schema{"first_name": filterexpr.Text}); err == nil {
		t.Error("a 1 MB expression compiled")
	}
	_, err = e.svc.Contacts.Where(e.ctx, "lifecycle == 'customer' && 'vip' in tags && created_at > daysAgo(30)", storage.ListQuery{})
	must(t, "the documented example", err)
	_, err = e.svc.Accounts.Where(e.ctx, "name startsWith 'A' && employees >= 10", storage.ListQuery{})
	must(t, "an account expression", err)
}

// testExprRelatedAccess checks the rules of related fields: one hidden from
// the principal's role, or reached through a reference field hidden from
// it, is ErrForbidden in lists and counts alike; a relation or a path the
// record type does not have is ErrInvalid.
func testExprRelatedAccess(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.ctx
	_, err := e.svc.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectAccount, Name: "size", Type: contacts.FieldNumber})
	must(t, "define", err)
	a := e.account(ctx, contacts.NewAccount{Name: "Acme", Industry: "Software", Custom: map[string]any{"size": 5}})
	e.contact(ctx, contacts.NewContact{FirstName: "Ada", AccountID: a.ID})
	acc := access.NewService(e.store)
	readAll := storage.Permissions{storage.AnyType: {storage.ActionRead: storage.ScopeAll}}
	for _, tc := range []struct {
		role   string
		fields storage.FieldRules
		src    string
	}{
		{"no_industry", storage.FieldRules{contacts.ObjectAccount: {"industry": storage.FieldHidden}}, "account.industry == 'Software'"},
		{"no_account_customs", storage.FieldRules{contacts.ObjectAccount: {"custom": storage.FieldHidden}}, "account.custom.size > 1"},
		{"no_account_id", storage.FieldRules{contacts.ObjectContact: {"account_id": storage.FieldHidden}}, "account.name == 'Acme'"},
	} {
		_, err := acc.DefineRole(ctx, access.NewRole{Name: tc.role, Permissions: readAll, Fields: tc.fields})
		must(t, "role", err)
		m, err := acc.CreateMember(ctx, access.NewMember{Name: tc.role, Role: tc.role})
		must(t, "member", err)
		as, err := acc.As(ctx, m.ID)
		must(t, "as", err)
		_, err = e.svc.Contacts.Where(as, tc.src, storage.ListQuery{})
		wantErr(t, tc.role+" lists "+tc.src, err, storage.ErrForbidden)
		ex, err := filterexpr.Compile(tc.src, mustSchema(t, e, ctx))
		must(t, "compile", err)
		_, err = storage.TableOf[*contacts.Contact](e.store).Count(as, ex.Filter(time.Now()))
		wantErr(t, tc.role+" counts "+tc.src, err, storage.ErrForbidden)
		page, err := e.svc.Contacts.Where(as, "account.domain == nil", storage.ListQuery{})
		switch {
		case tc.role == "no_account_id":
			wantErr(t, tc.role+" lists by another field of the account", err, storage.ErrForbidden)
		case err != nil || len(page.Items) != 1:
			t.Errorf("%s lists by a visible field of the account: %d contacts, %v", tc.role, len(page.Items), err)
		}
	}
	page, err := e.svc.Contacts.Where(ctx, "account.industry == 'Software' && account.custom.size == 5", storage.ListQuery{})
	if err != nil || len(page.Items) != 1 {
		t.Errorf("the system lists by the account's fields: %d contacts, %v", len(page.Items), err)
	}
	for _, f := range []string{"owner.name", "account.parent.name", "account.nope"} {
		_, err := storage.TableOf[*contacts.Contact](e.store).Count(ctx, storage.Eq(f, "x"))
		wantErr(t, "count by "+f, err, storage.ErrInvalid)
	}
	_, err = storage.TableOf[*contacts.Account](e.store).Count(ctx, storage.Eq("account.name", "x"))
	wantErr(t, "an account filtered by a relation it does not have", err, storage.ErrInvalid)
}

func mustSchema(t *testing.T, e *env, ctx context.Context) filterexpr.Schema {
	t.Helper()
	s, err := e.svc.Schema(ctx, contacts.ObjectContact)
	must(t, "schema", err)
	return s
}

// testCustomRepeated checks filters that compare one custom field several
// times, which Postgres answers extracting the field once per row (see
// bunstore's sharedCustom): lists, counts and aggregates agree with the
// records counted by hand, missing and empty values included.
func testCustomRepeated(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.ctx
	for _, d := range []contacts.NewFieldDef{{Object: contacts.ObjectContact, Name: "tier", Type: contacts.FieldText},
		{Object: contacts.ObjectContact, Name: "note", Type: contacts.FieldText}} {
		_, err := e.svc.Fields.Define(ctx, d)
		must(t, "define", err)
	}
	for i, c := range []map[string]any{{"tier": "gold", "note": "big spender"}, {"tier": "silver", "note": "spends"}, {"tier": "bronze"},
		{"tier": ""}, {}, {"tier": "golden", "note": "new"}} {
		e.contact(ctx, contacts.NewContact{FirstName: fmt.Sprint("P", i), Custom: c})
	}
	tier := func(op storage.Op, v any) storage.Filter { return storage.Cmp{Field: "custom.tier", Op: op, Value: v} }
	note := func(op storage.Op, v any) storage.Filter { return storage.Cmp{Field: "custom.note", Op: op, Value: v} }
	for _, c := range []struct {
		what string
		f    storage.Filter
		want int64
	}{
		{"gold or silver", storage.Or{tier(storage.OpEq, "gold"), tier(storage.OpEq, "silver")}, 2},
		{"contains ol, not gold", storage.And{tier(storage.OpContains, "ol"), storage.Not{Filter: tier(storage.OpEq, "gold")}}, 1},
		{"empty or bronze", storage.Or{tier(storage.OpEmpty, nil), tier(storage.OpEq, "bronze")}, 3},
		{"starts with g, ends with n", storage.And{tier(storage.OpStartsWith, "g"), tier(storage.OpEndsWith, "n")}, 1},
		{"two fields twice each", storage.Or{storage.And{tier(storage.OpStartsWith, "gold"), note(storage.OpContains, "spend")},
			storage.And{tier(storage.OpEq, "silver"), note(storage.OpContains, "spend")}}, 2},
		{"not (gold or missing)", storage.Not{Filter: storage.Or{tier(storage.OpEq, "gold"), tier(storage.OpEmpty, nil)}}, 3},
	} {
		page, err := e.svc.Contacts.List(ctx, storage.ListQuery{Filter: c.f})
		must(t, c.what, err)
		n, err := e.svc.Contacts.Count(ctx, c.f)
		must(t, c.what, err)
		rows, err := e.store.(storage.Aggregator).Aggregate(ctx, contacts.ObjectContact, storage.AggregateQuery{Filter: c.f,
			Measures: []storage.Measure{{Op: storage.AggCount}}})
		must(t, c.what, err)
		var agg int64
		if len(rows) == 1 {
			agg = rows[0].Values[0].(int64)
		}
		if int64(len(page.Items)) != c.want || n != c.want || agg != c.want {
			t.Errorf("%s: list %d, count %d, aggregate %d; want %d", c.what, len(page.Items), n, agg, c.want)
		}
	}
}
