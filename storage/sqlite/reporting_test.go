package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/uptrace/bun"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/reporting"
	"github.com/crmkit/crm/reporting/chart"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/sqlite"
)

// counter is a bun.QueryHook that counts statements.
type counter struct{ n atomic.Int64 }

func (c *counter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }
func (c *counter) AfterQuery(context.Context, *bun.QueryEvent)                        { c.n.Add(1) }

// TestDashboardQueries renders a dashboard of 6 widgets over 4 reps and
// over 40, and checks that it runs as many statements either way: one
// round of queries, none per row (no N+1).
func TestDashboardQueries(t *testing.T) {
	statements := func(reps int) int64 {
		ctx := storage.WithWorkspace(t.Context(), "dash")
		c := &counter{}
		store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "d.db"), sqlite.WithQueryHook(c))
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		app, err := crm.New(ctx, store, crm.Config{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range reps {
			m, err := app.Access.CreateMember(ctx, access.NewMember{Name: fmt.Sprint("Rep ", i), Role: access.RoleRep})
			if err != nil {
				t.Fatal(err)
			}
			for j := range 3 {
				acc, err := app.Accounts.Create(ctx, contactsAccount(i, j))
				if err != nil {
					t.Fatal(err)
				}
				_, err = app.Sales.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Deal", OwnerID: m.ID, AccountID: acc.ID,
					Stage: []string{"proposal", "closed_won", "closed_lost"}[j], Amount: storage.Money{Amount: int64(100 * (i + j)), Currency: "EUR"}})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		by := func(field string) *reporting.Report {
			return &reporting.Report{Name: "By " + field, Object: sales.ObjectOpportunity, GroupBy: []reporting.Grouping{{Field: field}},
				Measures: []reporting.Measure{{Name: "amount", Op: storage.AggSum, Field: "amount"}}}
		}
		d := reporting.Dashboard{Name: "Sales", Widgets: []reporting.Widget{
			{Title: "Win rate", Kind: chart.Number, KPI: sales.KPIWinRate},
			{Title: "By rep", Kind: chart.Bar, Report: by("owner_id")},
			{Title: "By account", Kind: chart.Table, Report: by("account_id")},
			{Title: "By stage", Kind: chart.Pie, Report: by("stage")},
			{Title: "By month", Kind: chart.Line, Report: &reporting.Report{Name: "By month", Object: sales.ObjectOpportunity,
				GroupBy: []reporting.Grouping{{Field: "created_at", Bucket: storage.BucketMonth}}, Measures: []reporting.Measure{{Name: "n", Op: storage.AggCount}}}},
			{Title: "Funnel", Kind: chart.Funnel, Report: by("stage")},
		}}
		before := c.n.Load()
		panels, err := app.Reporting.Dashboards.RenderDashboard(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range panels {
			if p.Err != "" {
				t.Fatalf("panel %s: %s", p.Widget.Title, p.Err)
			}
		}
		return c.n.Load() - before
	}
	few, many := statements(4), statements(40)
	if few != many {
		t.Errorf("a dashboard of 6 widgets ran %d statements over 4 reps and %d over 40: some run per row", few, many)
	}
	// One statement per widget (6), the pipelines (the KPI's won and lost
	// stages), one per labelled type (members, accounts), and the custom
	// field definitions the reports' expressions compile against.
	if few > 16 {
		t.Errorf("a dashboard of 6 widgets ran %d statements, want at most 16", few)
	}
	t.Logf("a dashboard of 6 widgets: %d statements over 4 reps and over 40", few)
}

func contactsAccount(i, j int) contacts.NewAccount {
	return contacts.NewAccount{Name: fmt.Sprintf("Account %d-%d", i, j)}
}
