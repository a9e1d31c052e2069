package storagetest

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
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
}

func genExpr(rng *rand.Rand, depth int) string {
	if depth == 0 || rng.IntN(3) == 0 {
		return exprAtoms[rng.IntN(len(exprAtoms))]
	}
	switch rng.IntN(4) {
	case 0:
		return "!(" + genExpr(rng, depth-1) + ")"
	case 1:
		return "(" + genExpr(rng, depth-1) + " && " + genExpr(rng, depth-1) + ")"
	case 2:
		return "(" + genExpr(rng, depth-1) + " or " + genExpr(rng, depth-1) + ")"
	}
	return "not (" + genExpr(rng, depth-1) + " || " + genExpr(rng, depth-1) + ")"
}

// testExprDifferential generates records and expressions and checks that
// the records the store's SQL returns for each expression are exactly
// those the in-memory evaluator accepts.
func testExprDifferential(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.ctx
	for _, d := range []contacts.NewFieldDef{{Object: contacts.ObjectContact, Name: "score", Type: contacts.FieldNumber},
		{Object: contacts.ObjectContact, Name: "tier", Type: contacts.FieldText}, {Object: contacts.ObjectContact, Name: "vip", Type: contacts.FieldBool}} {
		_, err := e.svc.Fields.Define(ctx, d)
		must(t, "define", err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
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
		e.contact(ctx, in)
	}
	all, err := e.svc.Contacts.List(ctx, storage.ListQuery{PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
	must(t, "list", err)
	schema, err := e.svc.Schema(ctx, contacts.ObjectContact)
	must(t, "schema", err)
	now := time.Now()
	cases, nonTrivial := 0, 0
	for range 400 {
		src := genExpr(rng, 3)
		ex, err := filterexpr.Compile(src, schema)
		must(t, "compile "+src, err)
		want := map[string]bool{}
		for _, c := range all.Items {
			ok, err := ex.Match(filterexpr.RecordOf(c), now)
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
			for _, c := range all.Items {
				if got[c.ID] != want[c.ID] {
					only = append(only, fmt.Sprintf("%s %s/%s %q custom=%v (sql %v, memory %v)", c.FirstName, c.LastName, c.Lifecycle, c.Email, c.Custom, got[c.ID], want[c.ID]))
				}
			}
			t.Errorf("%s: SQL and memory differ on %d records:\n  %s", src, len(only), strings.Join(only[:min(3, len(only))], "\n  "))
			if cases++; t.Failed() && cases > 5 {
				return
			}
		}
		if len(want) > 0 && len(want) < len(all.Items) {
			nonTrivial++
		}
		cases++
	}
	if nonTrivial < 100 {
		t.Errorf("only %d of %d expressions split the records; the test is weak", nonTrivial, cases)
	}
	t.Logf("%d expressions over %d records, %d splitting them, 0 mismatches", cases, len(all.Items), nonTrivial)
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
		"account.industry == 'x'":  "related records",
		strings.Repeat("(", 50) + "true" + strings.Repeat(")", 50): "nests 50 deep",
		strings.Repeat("x", filterexpr.MaxSource+1):                "more than the limit",
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
