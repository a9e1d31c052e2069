package storagetest

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/marketing"
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
	// Activities: 3 by rep A and 1 by rep B in January, one in December.
	for _, a := range []struct {
		owner string
		at    time.Time
	}{{a, day(2026, 1, 5)}, {a, day(2026, 1, 6)}, {a, day(2026, 1, 7)}, {b, day(2026, 1, 8)}, {b, day(2025, 12, 8)}} {
		_, err := app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindCall, Subject: "Call", OwnerID: a.owner, OccurredAt: a.at})
		must(t, "activity", err)
	}
	near("activities per rep", kpi(ctx, sales.KPIActivitiesPerRep)[0], 2, 4)
	// Orders: what customers spent net of refunds, per customer and
	// currency; a cancelled order does not count.
	cust := []*contacts.Contact{e.contact(ctx, contacts.NewContact{FirstName: "C1"}), e.contact(ctx, contacts.NewContact{FirstName: "C2"}),
		e.contact(ctx, contacts.NewContact{FirstName: "C3"})}
	for i, o := range []struct {
		c      int
		cur    string
		price  int64
		status string
	}{{0, "EUR", 1000, ""}, {0, "EUR", 500, ""}, {1, "EUR", 300, ""}, {2, "USD", 700, ""}, {1, "EUR", 999, sales.OrderCancelled}} {
		ord, _, err := app.Sales.Orders.Record(ctx, sales.NewOrder{ExternalID: name(i), ContactID: cust[o.c].ID, Currency: o.cur,
			OrderedAt: day(2026, 1, 10+i), Status: o.status, Lines: []sales.OrderLine{{Name: "Tea", Quantity: 1, UnitPrice: o.price}}})
		must(t, "order", err)
		if i == 1 {
			_, err = app.Sales.Orders.Refund(ctx, ord.ID, 200)
			must(t, "refund", err)
		}
	}
	clv := kpi(ctx, sales.KPICustomerValue)
	if len(clv) != 2 || clv[0].Group != "EUR" || clv[1].Group != "USD" {
		t.Fatalf("customer lifetime value = %+v, want EUR and USD", clv)
	}
	near("customer lifetime value in EUR", clv[0], (1000+500-200+300)/2.0, 2)
	near("customer lifetime value in USD", clv[1], 700, 1)

	// Forecast accuracy for February: a snapshot forecasts 500 won and
	// 1,000 committed; 1,800 is won by the end.
	feb := reporting.Params{From: day(2026, 2, 1).Truncate(24 * time.Hour), To: day(2026, 3, 1).Truncate(24 * time.Hour)}
	commit := sales.ForecastCommit
	f1, err := app.Sales.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Commit", Stage: "proposal", ForecastCategory: commit,
		ExpectedClose: day(2026, 2, 20), Amount: storage.Money{Amount: 1000, Currency: "EUR"}})
	must(t, "commit deal", err)
	deal(b, "EUR", 500, day(2026, 1, 20), "closed_won", day(2026, 2, 3))
	_, err = app.Sales.Forecasts.Take(ctx, "February", sales.ForecastQuery{Period: sales.Period{From: feb.From, To: feb.To}})
	must(t, "snapshot", err)
	if v, err := app.Reporting.KPI(ctx, sales.KPIForecastAccuracy, jan); err != nil || len(v) != 0 {
		t.Errorf("forecast accuracy of a period without a snapshot = %+v, %v; want none", v, err)
	}
	_, err = app.Sales.Opportunities.MoveStage(storage.WithWriteTime(ctx, day(2026, 2, 25)), f1.ID, "closed_won", sales.MoveOptions{})
	must(t, "win the committed deal", err)
	deal(a, "EUR", 300, day(2026, 2, 1), "closed_won", day(2026, 2, 26))
	acc, err := app.Reporting.KPI(ctx, sales.KPIForecastAccuracy, feb)
	must(t, "forecast accuracy", err)
	if len(acc) != 1 || acc[0].Group != "EUR" {
		t.Fatalf("forecast accuracy = %+v, want EUR", acc)
	}
	near("forecast accuracy", acc[0], 1800.0/1500, 3)

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

// testMarketingKPIs checks cost per lead and campaign ROI against their
// formulas on a hand-computed set: campaigns started in the period, in two
// currencies, their leads, one converted into a deal that was won; a
// campaign started before the period is left out.
func testMarketingKPIs(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	day := func(y int, mo time.Month, d int) time.Time { return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC) }
	campaign := func(title string, cost int64, cur string, start time.Time, leads int) []*sales.Lead {
		t.Helper()
		c, err := app.Marketing.Campaigns.Create(ctx, marketing.NewCampaign{Name: title, ActualCost: storage.Money{Amount: cost, Currency: cur}, Start: start})
		must(t, "campaign", err)
		var out []*sales.Lead
		for i := range leads {
			l, err := app.Sales.Leads.Capture(ctx, sales.NewLead{FirstName: title, LastName: name(i), Campaign: c.ID})
			must(t, "lead", err)
			out = append(out, l)
		}
		return out
	}
	eur := campaign("Fair", 1000, "EUR", day(2026, 1, 5), 4)
	campaign("Webinar", 500, "USD", day(2026, 1, 10), 2)
	campaign("Old", 9999, "EUR", day(2025, 12, 1), 1)
	conv, err := app.Sales.Leads.Convert(ctx, eur[0].ID, sales.ConvertOptions{CreateOpportunity: true,
		Opportunity: sales.NewOpportunity{Name: "Stand", Amount: storage.Money{Amount: 3000, Currency: "EUR"}}})
	must(t, "convert", err)
	_, err = app.Sales.Opportunities.Win(ctx, conv.Opportunity.ID)
	must(t, "win", err)
	jan := reporting.Params{From: day(2026, 1, 1), To: day(2026, 2, 1)}
	for _, c := range []struct {
		kpi  string
		want map[string]float64
	}{
		{marketing.KPICostPerLead, map[string]float64{"EUR": 250, "USD": 250}},
		{marketing.KPICampaignROI, map[string]float64{"EUR": 2, "USD": -1}},
	} {
		vals, err := app.Reporting.KPI(ctx, c.kpi, jan)
		must(t, c.kpi, err)
		if len(vals) != len(c.want) {
			t.Errorf("%s = %+v, want %v", c.kpi, vals, c.want)
			continue
		}
		for _, v := range vals {
			if w, ok := c.want[v.Group]; !ok || !v.Valid || math.Abs(v.Value-w) > 1e-9 {
				t.Errorf("%s in %s = %+v, want %v", c.kpi, v.Group, v, w)
			}
		}
	}
}
