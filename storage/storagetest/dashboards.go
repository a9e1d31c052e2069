package storagetest

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/reporting"
	"github.com/crmkit/crm/reporting/chart"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/workflow"
)

// testDashboards saves a dashboard of every widget kind (a KPI number, a
// report's number with its change against the previous period, bar, line,
// pie, funnel, table), renders it at a fixed moment, and checks each
// panel's figures and SVG; a widget the member may not see fails alone.
func testDashboards(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	wf := workflow.Config{}
	if h.RowLevelSecurity {
		wf.Workspaces = []string{storage.WorkspaceFrom(e.sys)}
	}
	app, err := crm.New(e.sys, e.store, crm.Config{Workflow: wf, Reporting: reporting.Options{Now: func() time.Time { return now }}})
	must(t, "crm.New", err)
	ctx := e.sys
	at := func(mo time.Month, d int) time.Time { return time.Date(2026, mo, d, 9, 0, 0, 0, time.UTC) }
	for _, d := range []struct {
		owner, stage string
		amount       int64
		created      time.Time
	}{
		{e.repA.ID, "closed_won", 1000, at(2, 10)},
		{e.repA.ID, "proposal", 3000, at(3, 5)},
		{e.repB.ID, "closed_won", 2000, at(3, 15)},
		{e.repB.ID, "prospecting", 500, at(3, 16)},
	} {
		_, err := app.Sales.Opportunities.Create(storage.WithWriteTime(ctx, d.created), sales.NewOpportunity{Name: "Deal", OwnerID: d.owner,
			Stage: d.stage, Amount: storage.Money{Amount: d.amount, Currency: "EUR"}})
		must(t, "deal", err)
	}
	byOwner, err := app.Reporting.Reports.Create(ctx, reporting.Report{Name: "Amount by rep", Object: sales.ObjectOpportunity,
		GroupBy: []reporting.Grouping{{Field: "owner_id"}}, Measures: []reporting.Measure{{Name: "amount", Op: storage.AggSum, Field: "amount"}}})
	must(t, "report", err)
	total := &reporting.Report{Name: "Total", Object: sales.ObjectOpportunity, Measures: []reporting.Measure{{Name: "amount", Op: storage.AggSum, Field: "amount"}}}
	byMonth := &reporting.Report{Name: "By month", Object: sales.ObjectOpportunity, GroupBy: []reporting.Grouping{{Field: "created_at", Bucket: storage.BucketMonth}},
		Measures: []reporting.Measure{{Name: "deals", Op: storage.AggCount}}}
	byStage := &reporting.Report{Name: "By stage", Object: sales.ObjectOpportunity, GroupBy: []reporting.Grouping{{Field: "stage"}},
		Measures: []reporting.Measure{{Name: "deals", Op: storage.AggCount}}, Sort: []reporting.Order{{By: "deals", Desc: true}}}
	d, err := app.Reporting.Dashboards.Create(ctx, reporting.Dashboard{Name: "Sales", Widgets: []reporting.Widget{
		{Title: "Win rate", Kind: chart.Number, KPI: sales.KPIWinRate},
		{Title: "Pipeline this month", Kind: chart.Number, Report: total, Range: reporting.ThisMonth},
		{Title: "Amount by rep", Kind: chart.Bar, ReportID: byOwner.ID},
		{Title: "Deals by month", Kind: chart.Line, Report: byMonth, Range: reporting.Last12Months},
		{Title: "Deals by stage", Kind: chart.Pie, Report: byStage},
		{Title: "Stage funnel", Kind: chart.Funnel, Report: byStage},
		{Title: "Reps", Kind: chart.Table, ReportID: byOwner.ID},
	}})
	must(t, "dashboard", err)
	panels, err := app.Reporting.Dashboards.Render(ctx, d.ID)
	must(t, "render", err)
	if len(panels) != 7 {
		t.Fatalf("%d panels, want 7", len(panels))
	}
	wants := [][]string{
		{"100.0 %"},          // both closed deals won
		{"5500", "+450.0 %"}, // March 5,500 against February's 1,000
		{"Rep A: 4000", "Rep B: 2500"},
		{"Feb 2026: 1", "Mar 2026: 3"},
		{"Closed won: 2"},
		{"Closed won: 2", "Proposal: 1", "Prospecting: 1"},
		{"owner_id Rep A, amount 4000"},
	}
	for i, p := range panels {
		if p.Err != "" {
			t.Errorf("panel %q: %s", p.Widget.Title, p.Err)
			continue
		}
		var root struct {
			Title string `xml:"title"`
			Desc  string `xml:"desc"`
		}
		if err := xml.Unmarshal(p.SVG, &root); err != nil {
			t.Errorf("panel %q: the SVG does not parse: %v", p.Widget.Title, err)
			continue
		}
		if root.Title != p.Widget.Title {
			t.Errorf("panel %d: title %q, want %q", i, root.Title, p.Widget.Title)
		}
		for _, w := range wants[i] {
			if !strings.Contains(root.Desc, w) {
				t.Errorf("panel %q: description %q lacks %q", p.Widget.Title, root.Desc, w)
			}
		}
	}
	if p := panels[1]; !p.From.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) || !p.To.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("this month = [%v, %v)", p.From, p.To)
	}

	// A member from whom amounts are hidden: the amount widgets fail, the
	// counts render.
	all := map[storage.Action]storage.Scope{storage.ActionRead: storage.ScopeAll}
	_, err = e.acc.DefineRole(ctx, access.NewRole{Name: "no_amounts", Permissions: storage.Permissions{storage.AnyType: all},
		Fields: storage.FieldRules{sales.ObjectOpportunity: {"amount": storage.FieldHidden}}})
	must(t, "role", err)
	m, err := e.acc.CreateMember(ctx, access.NewMember{Name: "No amounts", Role: "no_amounts"})
	must(t, "member", err)
	panels, err = app.Reporting.Dashboards.Render(e.as(m), d.ID)
	must(t, "render as a member", err)
	for i, p := range panels {
		failed := p.Err != ""
		if want := i == 1 || i == 2 || i == 6; failed != want || len(p.SVG) == 0 {
			t.Errorf("panel %q as a member without amounts: error %q", p.Widget.Title, p.Err)
		}
	}

	// Bad widgets name their problem.
	_, err = app.Reporting.Dashboards.Create(ctx, reporting.Dashboard{Name: "Bad", Widgets: []reporting.Widget{
		{Title: "x", Kind: "gauge", KPI: sales.KPIWinRate},
		{Title: "y", Kind: chart.Bar},
		{Title: "z", Kind: chart.Bar, KPI: "happiness", Range: "forever"},
		{Title: "r", Kind: chart.Bar, Report: &reporting.Report{Object: sales.ObjectOpportunity}},
	}})
	wantFields(t, "bad widgets", err, "widgets[0].kind", "widgets[1]", "widgets[2].kind", "widgets[2].kpi", "widgets[2].range",
		"widgets[3].report.name", "widgets[3].report.measures")
}
