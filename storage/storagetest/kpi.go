package storagetest

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/crmkit/crm/reporting"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

// testSalesKPIs checks each sales KPI against its formula on a
// hand-computed data set, through reporting.Service.KPI, for a period
// (deals closed before it left out), and as a rep (its own deals only).
func testSalesKPIs(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	day := func(y int, mo time.Month, d int) time.Time { return time.Date(y, mo, d, 9, 0, 0, 0, time.UTC) }
	deal := func(owner, cur string, amount int64, created time.Time, close string, closed time.Time) {
		t.Helper()
		o, err := app.Sales.Opportunities.Create(storage.WithWriteTime(ctx, created), sales.NewOpportunity{Name: "Deal", OwnerID: owner,
			Amount: storage.Money{Amount: amount, Currency: cur}})
		must(t, "deal", err)
		if close != "" {
			_, err = app.Sales.Opportunities.MoveStage(storage.WithWriteTime(ctx, closed), o.ID, close, sales.MoveOptions{})
			must(t, "close", err)
		}
	}
	a, b := e.repA.ID, e.repB.ID
	deal(a, "EUR", 1000, day(2026, 1, 1), "closed_won", day(2026, 1, 11))
	deal(b, "EUR", 3000, day(2026, 1, 1), "closed_won", day(2026, 1, 21))
	deal(a, "EUR", 500, day(2026, 1, 5), "closed_lost", day(2026, 1, 15))
	deal(b, "USD", 700, day(2026, 1, 2), "closed_won", day(2026, 1, 5))
	deal(b, "USD", 200, day(2026, 1, 3), "", time.Time{})
	deal(a, "EUR", 400, day(2026, 1, 3), "", time.Time{})
	deal(b, "EUR", 600, day(2026, 1, 3), "", time.Time{})
	deal(a, "EUR", 10000, day(2025, 12, 1), "closed_won", day(2025, 12, 10)) // before the period
	for i := range 4 {
		l, err := app.Sales.Leads.Capture(storage.WithWriteTime(ctx, day(2026, 1, 10+i)), sales.NewLead{FirstName: "Lead", LastName: name(i)})
		must(t, "lead", err)
		if i == 0 {
			_, err = app.Sales.Leads.Convert(ctx, l.ID, sales.ConvertOptions{})
			must(t, "convert", err)
		}
	}
	jan := reporting.Params{From: day(2026, 1, 1).Truncate(24 * time.Hour), To: day(2026, 2, 1).Truncate(24 * time.Hour)}
	kpi := func(c context.Context, name string) []storage.KPIValue {
		t.Helper()
		v, err := app.Reporting.KPI(c, name, jan)
		must(t, name, err)
		return v
	}
	near := func(what string, got storage.KPIValue, want float64, n int64) {
		t.Helper()
		if !got.Valid || math.Abs(got.Value-want) > 1e-6*math.Max(1, math.Abs(want)) || got.Count != n {
			t.Errorf("%s = %+v, want %v of %d records", what, got, want, n)
		}
	}
	cycle := (10.0 + 20 + 3) / 3 * 86400
	near("win rate", kpi(ctx, sales.KPIWinRate)[0], 0.75, 4)
	sizes := kpi(ctx, sales.KPIAverageDealSize)
	if len(sizes) != 2 || sizes[0].Group != "EUR" || sizes[1].Group != "USD" {
		t.Fatalf("average deal size = %+v, want EUR and USD", sizes)
	}
	near("average deal size in EUR", sizes[0], 2000, 2)
	near("average deal size in USD", sizes[1], 700, 1)
	near("sales cycle", kpi(ctx, sales.KPISalesCycle)[0], cycle, 3)
	vel := kpi(ctx, sales.KPIPipelineVelocity)
	if len(vel) != 2 {
		t.Fatalf("pipeline velocity = %+v, want EUR and USD", vel)
	}
	near("pipeline velocity in EUR", vel[0], 2*2000*0.75/(cycle/86400), 2)
	near("pipeline velocity in USD", vel[1], 1*700*0.75/(cycle/86400), 1)
	near("lead conversion rate", kpi(ctx, sales.KPILeadConversionRate)[0], 0.25, 4)
	// Rep A's own deals: one won, one lost in January.
	near("rep A's win rate", kpi(e.as(e.repA), sales.KPIWinRate)[0], 0.5, 2)
	if _, err := app.Reporting.KPI(ctx, "happiness", jan); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("an unknown KPI: %v, want ErrInvalid", err)
	}
	names := map[string]bool{}
	for _, k := range app.Reporting.KPIs() {
		if k.Formula == "" || k.Title == "" || names[k.Name] {
			t.Errorf("KPI %+v: a title, a formula and a unique name are required", k)
		}
		names[k.Name] = true
	}
}
