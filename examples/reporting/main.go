// Command reporting shows the CRM's reports on an embedded SQLite
// database: a year of deals and orders of a small sales team, a report of
// won revenue by rep and quarter, the sales KPIs, the pipeline's funnel,
// the customers' retention by cohort, a dashboard drawn to one SVG and a
// report exported as CSV.
//
//	go run ./examples/reporting
package main

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/reporting"
	"github.com/crmkit/crm/reporting/chart"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/sqlite"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "crm-reporting-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "crm.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	// The reports' months are cut in the team's zone; "now" is fixed so
	// that the dashboard's ranges are the same on every run.
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return err
	}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, paris)
	app, err := crm.New(ctx, store, crm.Config{Reporting: reporting.Options{Location: paris, WeekStart: time.Monday,
		Now: func() time.Time { return now }}})
	if err != nil {
		return err
	}
	ctx = crm.WithActor(crm.WithWorkspace(ctx, "acme"), "loader")
	if err := seed(ctx, app, now); err != nil {
		return err
	}

	// A report: won revenue and win rate by rep and quarter of close.
	byRep, err := app.Reporting.Reports.Create(ctx, reporting.Report{
		Name: "Won revenue by rep and quarter", Object: sales.ObjectOpportunity, DateField: "closed_at",
		GroupBy: []reporting.Grouping{{Field: "owner_id"}, {Field: "closed_at", Bucket: storage.BucketQuarter}},
		Measures: []reporting.Measure{
			{Name: "closed", Op: storage.AggCount},
			{Name: "won", Op: storage.AggCount, Where: "stage == 'closed_won'"},
			{Name: "won_revenue", Op: storage.AggSum, Field: "amount", Where: "stage == 'closed_won'"},
			{Name: "win_rate", Op: storage.AggRatio, Of: [2]string{"won", "closed"}},
		},
		Sort: []reporting.Order{{By: "owner_id"}, {By: "closed_at"}},
	})
	if err != nil {
		return err
	}
	res, err := app.Reporting.Reports.RunSaved(ctx, byRep.ID, reporting.Params{From: time.Date(2026, 1, 1, 0, 0, 0, 0, paris),
		To: time.Date(2027, 1, 1, 0, 0, 0, 0, paris)})
	if err != nil {
		return err
	}
	fmt.Println("Won revenue by rep and quarter of 2026 (one SQL statement)")
	fmt.Printf("  %-8s %-8s %6s %4s %14s %6s\n", "rep", "quarter", "closed", "won", "won revenue", "rate")
	for _, r := range res.Rows {
		q := r.Values[1].(time.Time)
		fmt.Printf("  %-8s %d Q%d  %6d %4d %14s %5.0f%%\n", r.Labels[0], q.Year(), (int(q.Month())-1)/3+1, r.Values[2], r.Values[3],
			storage.Money{Amount: r.Values[4].(int64), Currency: "EUR"}, 100*r.Values[5].(float64))
	}

	// The sales KPIs for the year.
	fmt.Println("\nKPIs of 2026")
	year := reporting.Params{From: time.Date(2026, 1, 1, 0, 0, 0, 0, paris), To: time.Date(2027, 1, 1, 0, 0, 0, 0, paris)}
	for _, k := range app.Reporting.KPIs() {
		vals, err := app.Reporting.KPI(ctx, k.Name, year)
		if err != nil {
			return err
		}
		var parts []string
		for _, v := range vals {
			if !v.Valid {
				continue
			}
			var part string
			switch k.Unit {
			case storage.UnitRatio:
				part = fmt.Sprintf("%.1f%%", 100*v.Value)
			case storage.UnitSeconds:
				part = fmt.Sprintf("%.1f days", v.Value/86400)
			case storage.UnitMoney:
				part = storage.Money{Amount: int64(v.Value), Currency: v.Group}.String()
			case storage.UnitMoneyPerDay:
				part = storage.Money{Amount: int64(v.Value), Currency: v.Group}.String() + "/day"
			}
			if v.Label != "" { // a value per stage or per quota: on its own line
				part = fmt.Sprintf("\n    %-22s %s", v.Label, part)
			}
			parts = append(parts, part)
		}
		if len(parts) > 0 && strings.HasPrefix(parts[0], "\n") {
			fmt.Printf("  %-22s (%s)%s\n", k.Title, k.Formula, strings.Join(parts, ""))
			continue
		}
		fmt.Printf("  %-22s %-24s (%s)\n", k.Title, strings.Join(parts, ", "), k.Formula)
	}

	// The funnel of the default pipeline.
	steps, err := app.Sales.Opportunities.Funnel(ctx, "", time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	fmt.Println("\nFunnel (deals that reached each stage)")
	for _, s := range steps {
		fmt.Printf("  %-14s %4d  %5.1f%% of the previous, %5.1f%% of all\n", s.Name, s.Count, 100*s.Conversion, 100*s.FromFirst)
	}

	// Retention of customers by the month of their first order.
	cohorts, err := app.Sales.Orders.Cohorts(ctx, time.Date(2026, 7, 1, 0, 0, 0, 0, paris), time.Date(2026, 12, 1, 0, 0, 0, 0, paris), paris)
	if err != nil {
		return err
	}
	fmt.Println("\nRetention by first-order month (share ordering again, months after)")
	for _, c := range cohorts {
		var cells []string
		for _, r := range c.Retained[1:] {
			cells = append(cells, fmt.Sprintf("%3.0f%%", 100*r))
		}
		fmt.Printf("  %s  %3d customers  %s\n", c.Start.Format("Jan 2006"), c.Customers, strings.Join(cells, " "))
	}

	// A dashboard, drawn to one SVG.
	byMonth := &reporting.Report{Name: "Deals created by month", Object: sales.ObjectOpportunity,
		GroupBy: []reporting.Grouping{{Field: "created_at", Bucket: storage.BucketMonth}}, Measures: []reporting.Measure{{Name: "deals", Op: storage.AggCount}}}
	byStage := &reporting.Report{Name: "Deals by stage", Object: sales.ObjectOpportunity,
		GroupBy: []reporting.Grouping{{Field: "stage"}}, Measures: []reporting.Measure{{Name: "deals", Op: storage.AggCount}}}
	wonByRep := &reporting.Report{Name: "Won deals by rep", Object: sales.ObjectOpportunity, DateField: "closed_at", Where: "stage == 'closed_won'",
		GroupBy: []reporting.Grouping{{Field: "owner_id"}}, Measures: []reporting.Measure{{Name: "won", Op: storage.AggCount}}}
	dash, err := app.Reporting.Dashboards.Create(ctx, reporting.Dashboard{Name: "Sales 2026", Widgets: []reporting.Widget{
		{Title: "Win rate this quarter", Kind: chart.Number, KPI: sales.KPIWinRate, Range: reporting.ThisQuarter},
		{Title: "Sales cycle this year", Kind: chart.Number, KPI: sales.KPISalesCycle, Range: reporting.ThisYear},
		{Title: "Deals created by month", Kind: chart.Line, Report: byMonth, Range: reporting.Last12Months},
		{Title: "Won deals by rep", Kind: chart.Bar, Report: wonByRep, Range: reporting.ThisYear},
		{Title: "Deals by stage", Kind: chart.Pie, Report: byStage},
		{Title: "Won revenue by rep and quarter", Kind: chart.Table, ReportID: byRep.ID, Range: reporting.ThisYear},
	}})
	if err != nil {
		return err
	}
	panels, err := app.Reporting.Dashboards.Render(ctx, dash.ID)
	if err != nil {
		return err
	}
	svg := filepath.Join(os.TempDir(), "crm-reporting-dashboard.svg")
	if err := os.WriteFile(svg, reporting.SVG(dash.Name, panels), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nDashboard %q: %d widgets written to %s\n", dash.Name, len(panels), svg)
	for _, p := range panels {
		if p.Err != "" {
			fmt.Printf("  %s: %s\n", p.Widget.Title, p.Err)
		}
	}

	// The report as CSV, as a spreadsheet would open it.
	fmt.Println("\nThe first lines of the report as CSV")
	var b strings.Builder
	if err := reporting.WriteCSV(&b, res); err != nil {
		return err
	}
	for i, line := range strings.Split(b.String(), "\n") {
		if i == 4 {
			break
		}
		fmt.Println("  " + line)
	}
	return nil
}

// seed makes a year of a team's work, stamped at the times it happened:
// four reps, a hundred deals moving through the pipeline, orders of forty
// customers.
func seed(ctx context.Context, app *crm.CRM, now time.Time) error {
	rng := rand.New(rand.NewPCG(7, 11))
	var reps []string
	for _, name := range []string{"Ada", "Grace", "Alan", "Edsger"} {
		m, err := app.Access.CreateMember(ctx, access.NewMember{Name: name, Role: access.RoleRep})
		if err != nil {
			return err
		}
		reps = append(reps, m.ID)
		// Each rep's target: EUR 100,000 won in 2026.
		year := sales.Period{From: time.Date(2026, 1, 1, 0, 0, 0, 0, now.Location()), To: time.Date(2027, 1, 1, 0, 0, 0, 0, now.Location())}
		if _, err := app.Sales.Quotas.Create(ctx, sales.NewQuota{OwnerID: m.ID, From: year.From, To: year.To,
			Target: storage.Money{Amount: 100_000_00, Currency: "EUR"}}); err != nil {
			return err
		}
	}
	start := now.AddDate(-1, 0, 0)
	path := []string{"prospecting", "qualification", "proposal", "negotiation"}
	for i := range 100 {
		created := start.Add(time.Duration(rng.Int64N(int64(330 * 24 * time.Hour))))
		d, err := app.Sales.Opportunities.Create(storage.WithWriteTime(ctx, created), sales.NewOpportunity{
			Name: fmt.Sprint("Deal ", i+1), OwnerID: reps[rng.IntN(len(reps))],
			Amount: storage.Money{Amount: int64(500+rng.IntN(20000)) * 100, Currency: "EUR"}})
		if err != nil {
			return err
		}
		at := created
		steps := 1 + rng.IntN(len(path))
		for _, st := range path[1:steps] {
			at = at.Add(time.Duration(2+rng.IntN(10)) * 24 * time.Hour)
			if _, err := app.Sales.Opportunities.MoveStage(storage.WithWriteTime(ctx, at), d.ID, st, sales.MoveOptions{}); err != nil {
				return err
			}
		}
		at = at.Add(time.Duration(3+rng.IntN(20)) * 24 * time.Hour)
		if rng.IntN(3) > 0 && at.Before(now) {
			end := "closed_won"
			if rng.IntN(5) < 2 {
				end = "closed_lost"
			}
			if _, err := app.Sales.Opportunities.MoveStage(storage.WithWriteTime(ctx, at), d.ID, end, sales.MoveOptions{}); err != nil {
				return err
			}
		}
	}
	for i := range 40 {
		c, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Customer", LastName: fmt.Sprint(i + 1)})
		if err != nil {
			return err
		}
		first := now.AddDate(0, -6, 0).Add(time.Duration(rng.Int64N(int64(150 * 24 * time.Hour))))
		for k, at := 0, first; at.Before(now) && k < 6; k, at = k+1, at.AddDate(0, 0, 20+rng.IntN(40)) {
			_, _, err := app.Sales.Orders.Record(ctx, sales.NewOrder{ExternalID: fmt.Sprintf("o-%d-%d", i, k), ContactID: c.ID, Currency: "EUR",
				OrderedAt: at, Lines: []sales.OrderLine{{Name: "Tea", Quantity: float64(1 + rng.IntN(3)), UnitPrice: 1250}}})
			if err != nil {
				return err
			}
		}
	}
	return nil
}
