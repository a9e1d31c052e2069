package storagetest

import (
	"math"
	"testing"
	"time"

	"github.com/crmkit/crm/reporting"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

// testQuotaAttainment checks quotas (validation, a member's and a team's)
// and the quota attainment KPI against its formula on a hand-computed data
// set, as the system and as a rep.
func testQuotaAttainment(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	day := func(mo time.Month, d int) time.Time { return time.Date(2026, mo, d, 9, 0, 0, 0, time.UTC) }
	deal := func(owner, team, cur string, amount int64, close string, closed time.Time) {
		t.Helper()
		o, err := app.Sales.Opportunities.Create(storage.WithWriteTime(ctx, day(1, 1)), sales.NewOpportunity{Name: "Deal", OwnerID: owner, TeamID: team,
			Amount: storage.Money{Amount: amount, Currency: cur}})
		must(t, "deal", err)
		_, err = app.Sales.Opportunities.MoveStage(storage.WithWriteTime(ctx, closed), o.ID, close, sales.MoveOptions{})
		must(t, "close", err)
	}
	a, b, x, y := e.repA.ID, e.repB.ID, e.teamX.ID, e.teamY.ID
	deal(a, x, "EUR", 1000, "closed_won", day(1, 11))
	deal(a, x, "EUR", 2000, "closed_won", day(1, 20))
	deal(a, x, "USD", 700, "closed_won", day(1, 5))   // another currency
	deal(a, x, "EUR", 3000, "closed_won", day(2, 3))  // after the period
	deal(a, x, "EUR", 9000, "closed_lost", day(1, 9)) // lost
	deal(b, y, "EUR", 4000, "closed_won", day(1, 15))

	jan := sales.Month(2026, time.January)
	eur := func(n int64) storage.Money { return storage.Money{Amount: n, Currency: "EUR"} }
	for _, in := range []sales.NewQuota{
		{OwnerID: a, TeamID: x, From: jan.From, To: jan.To, Target: eur(5000)},
		{TeamID: x, From: jan.From, To: jan.To, Target: eur(10000)},
		{OwnerID: b, From: jan.From, To: jan.To, Target: eur(2000)},
	} {
		_, err := app.Sales.Quotas.Create(ctx, in)
		must(t, "quota", err)
	}
	_, err := app.Sales.Quotas.Create(ctx, sales.NewQuota{From: jan.To, To: jan.From, Target: storage.Money{Amount: -1, Currency: "EUR"}})
	wantFields(t, "a bad quota", err, "owner_id", "to", "target.amount")
	_, err = app.Sales.Quotas.Create(ctx, sales.NewQuota{OwnerID: "01a23bd8-07ed-73a7-9720-4bbd606299ac", From: jan.From, To: jan.To, Target: eur(1)})
	wantFields(t, "a quota for no one", err, "owner_id")

	params := reporting.Params{From: jan.From, To: jan.To}
	got, err := app.Reporting.KPI(ctx, sales.KPIQuotaAttainment, params)
	must(t, "quota attainment", err)
	want := []struct {
		label string
		value float64
		n     int64
	}{{"Rep A", 0.6, 2}, {"X", 0.3, 2}, {"Rep B", 2, 1}}
	if len(got) != len(want) {
		t.Fatalf("quota attainment = %+v, want %d quotas", got, len(want))
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			if g.Label == w.label {
				found = true
				if !g.Valid || math.Abs(g.Value-w.value) > 1e-9 || g.Count != w.n || g.Group == "" {
					t.Errorf("quota of %s = %+v, want %v of %d deals", w.label, g, w.value, w.n)
				}
			}
		}
		if !found {
			t.Errorf("no quota labelled %q in %+v", w.label, got)
		}
	}
	// Quotas starting after the period are left out.
	feb, err := app.Reporting.KPI(ctx, sales.KPIQuotaAttainment, reporting.Params{From: jan.To, To: jan.To.AddDate(0, 1, 0)})
	must(t, "February", err)
	if len(feb) != 0 {
		t.Errorf("quota attainment in February = %+v, want none", feb)
	}
	// A rep reads its own quota, measured over its own deals.
	mine, err := app.Reporting.KPI(e.as(e.repA), sales.KPIQuotaAttainment, params)
	must(t, "as rep A", err)
	ok := false
	for _, g := range mine {
		if g.Label == "Rep A" {
			ok = math.Abs(g.Value-0.6) < 1e-9 && g.Count == 2
		}
	}
	if !ok {
		t.Errorf("rep A's quota attainment = %+v, want 0.6 of 2 deals", mine)
	}
}
