package bunstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/bunstore"
)

// benchDealCount is how many deals the report benchmark runs over:
// 100,000, or CRM_BENCH_DEALS (the README's figures are for 1,000,000).
func benchDealCount(b *testing.B) int {
	if v := os.Getenv("CRM_BENCH_DEALS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("CRM_BENCH_DEALS: %v", err)
		}
		return n
	}
	return 100_000
}

// BenchmarkReports compares reports and KPIs with the hand-written SQL of
// the same question over the same records, crm and the baseline in turn
// in each iteration (medians and their ratio): a two-level group-by (deals
// and amount by owner and month of creation), the same in a time zone with
// daylight saving, and every sales KPI over all time (forecast accuracy
// over this quarter). Deals, leads, activities and orders are each
// benchDealCount.
func BenchmarkReports(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchReports(b, testdb.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchReports(b, testdb.Postgres(b)) })
}

func benchReports(b *testing.B, store *bunstore.Store) {
	ctx := storage.WithWorkspace(b.Context(), "bench")
	people := contacts.NewService(store, contacts.Options{})
	sls := sales.NewService(store, people, sales.Options{})
	p, err := sls.Pipelines.Default(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var open []string
	var won, lost string
	for _, st := range p.Stages {
		switch st.Kind {
		case sales.StageOpen:
			open = append(open, st.Key)
		case sales.StageWon:
			won = st.Key
		case sales.StageLost:
			lost = st.Key
		}
	}
	acc := access.NewService(store)
	var owners []string
	for i := range 20 {
		m, err := acc.CreateMember(ctx, access.NewMember{Name: fmt.Sprint("Rep ", i), Role: access.RoleRep})
		if err != nil {
			b.Fatal(err)
		}
		owners = append(owners, m.ID)
	}
	n := benchDealCount(b)
	start := time.Now()
	testdb.SeedOpportunities(b, ctx, store, n, p.ID, open, won, lost, owners)
	// 50 campaigns with costs in EUR and USD, a third of the leads
	// credited to them, the converted leads naming won deals.
	mkt := marketing.NewService(store, people, sls, marketing.Options{})
	var campaigns []string
	for i := range 50 {
		c, err := mkt.Campaigns.Create(ctx, marketing.NewCampaign{Name: fmt.Sprint("Campaign ", i), Start: time.Now().AddDate(0, 0, -i*7),
			ActualCost: storage.Money{Amount: int64(100_000 + i*1000), Currency: []string{"EUR", "USD"}[i%2]}})
		if err != nil {
			b.Fatal(err)
		}
		campaigns = append(campaigns, c.ID)
	}
	var wonDeals []string
	if err := store.ReadDB().NewSelect().Table("crm_opportunities").Column("id").Where("workspace_id = ? AND stage = ?", "bench", won).
		Limit(int64(n/5)).Scan(ctx, &wonDeals); err != nil {
		b.Fatal(err)
	}
	testdb.SeedCampaignLeads(b, ctx, store, n, owners, campaigns, wonDeals)
	testdb.SeedActivities(b, ctx, store, n, owners)
	testdb.SeedOrders(b, ctx, store, n)
	b.Logf("%s: seeded %d deals, leads, activities and orders in %v", store.Dialect(), n, time.Since(start).Round(time.Millisecond))
	now := time.Now().UTC()
	quarter := sales.Quarter(now.Year(), (int(now.Month())-1)/3+1)
	if _, err := sls.Forecasts.Take(ctx, "This quarter", sales.ForecastQuery{Period: quarter}); err != nil {
		b.Fatal(err)
	}
	// A quota per rep for this quarter, in EUR.
	for _, o := range owners {
		if _, err := sls.Quotas.Create(ctx, sales.NewQuota{OwnerID: o, From: quarter.From, To: quarter.To,
			Target: storage.Money{Amount: 10_000_000, Currency: "EUR"}}); err != nil {
			b.Fatal(err)
		}
	}
	pg := store.Dialect() == "postgres"
	db := store.ReadDB().DB
	rebind := func(q string) string {
		if pg {
			return pgRebind(q)
		}
		return q
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	twoLevel := func(loc *time.Location) storage.AggregateQuery {
		return storage.AggregateQuery{GroupBy: []string{"owner_id"}, Groups: []storage.Group{{Field: "created_at", Bucket: storage.BucketMonth}},
			Location: loc, Measures: []storage.Measure{{Op: storage.AggCount}, {Op: storage.AggSum, Field: "amount"}}}
	}
	month := "substr(created_at, 1, 7)"
	parisMonth := "" // SQLite knows no zones: no hand-written baseline
	seconds := "((julianday(closed_at) - julianday(created_at)) * 86400.0)"
	if pg {
		month = "date_trunc('month', created_at AT TIME ZONE 'UTC')"
		parisMonth = "date_trunc('month', created_at AT TIME ZONE 'Europe/Paris')"
		seconds = "EXTRACT(EPOCH FROM (closed_at - created_at))"
	}
	zero := any("0001-01-02")
	zeroAt := any("0001-01-01T00:00:00.000000Z")
	if pg {
		zero = time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC)
		zeroAt = time.Time{}
	}
	// raw runs hand-written statements, each with its bind values, and
	// returns the rows of the last.
	raw := func(stmts ...any) func() (int, error) {
		return func() (int, error) {
			var rows int
			for i := 0; i < len(stmts); {
				q := rebind(stmts[i].(string))
				i++
				var args []any
				for i < len(stmts) {
					if _, ok := stmts[i].(string); ok && strings.HasPrefix(stmts[i].(string), "SELECT") {
						break
					}
					args = append(args, stmts[i])
					i++
				}
				var err error
				if rows, err = rawAny(ctx, db, q, args...); err != nil {
					return 0, err
				}
			}
			return rows, nil
		}
	}
	crmGroups := func(q storage.AggregateQuery) func() (int, error) {
		return func() (int, error) {
			rows, err := store.Aggregate(ctx, sales.ObjectOpportunity, q)
			return len(rows), err
		}
	}
	kpi := func(name string, from, to time.Time) func() (int, error) {
		return func() (int, error) {
			for _, k := range sls.KPIs() {
				if k.Name == name {
					v, err := k.Compute(ctx, from, to)
					return len(v), err
				}
			}
			return 0, fmt.Errorf("no KPI %s", name)
		}
	}
	all := func(name string) func() (int, error) { return kpi(name, time.Time{}, time.Time{}) }
	const deals = "FROM crm_opportunities WHERE workspace_id = ?"
	wonIs, lostIs := "(pipeline_id = ? AND stage = ?)", "(pipeline_id = ? AND stage = ?)"
	// The stays of deals, as one would write it by hand.
	stays := "SELECT o.pipeline_id, json_extract(e.value, '$.stage'), " +
		"AVG((julianday(json_extract(e.value, '$.left_at')) - julianday(json_extract(e.value, '$.entered_at'))) * 86400.0), COUNT(*) " +
		"FROM crm_opportunities o, json_each(o.stage_history) e WHERE o.workspace_id = ? AND json_extract(e.value, '$.left_at') IS NOT NULL GROUP BY 1, 2"
	reached := func(keys []string) string {
		return "SUM(CASE WHEN EXISTS (SELECT 1 FROM json_each(stage_history) WHERE json_extract(value, '$.stage') IN ('" + strings.Join(keys, "', '") + "')) THEN 1 ELSE 0 END)"
	}
	if pg {
		stays = "SELECT o.pipeline_id, e ->> 'stage', AVG(EXTRACT(EPOCH FROM (CAST(e ->> 'left_at' AS TIMESTAMPTZ) - CAST(e ->> 'entered_at' AS TIMESTAMPTZ)))), COUNT(*) " +
			"FROM crm_opportunities o CROSS JOIN LATERAL jsonb_array_elements(o.stage_history) e WHERE o.workspace_id = ? AND e ->> 'left_at' IS NOT NULL GROUP BY 1, 2"
		reached = func(keys []string) string {
			return "SUM(CASE WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(stage_history) e WHERE e ->> 'stage' IN ('" + strings.Join(keys, "', '") + "')) THEN 1 ELSE 0 END)"
		}
	}
	steps := append(slices.Clone(open), won)
	var funnel []string
	for i := range steps {
		funnel = append(funnel, reached(steps[i:]))
	}
	type benchCase struct {
		name     string
		crm, raw func() (int, error)
		shape    bool // both give the same number of rows
	}
	cases := []benchCase{
		{"TwoLevel/UTC", crmGroups(twoLevel(nil)), raw("SELECT owner_id, "+month+", COUNT(*), SUM(amount) "+deals+" GROUP BY 1, 2 ORDER BY 1, 2", "bench"), true},
		{"WinRate", all(sales.KPIWinRate), raw("SELECT SUM(CASE WHEN "+wonIs+" THEN 1 ELSE 0 END), SUM(CASE WHEN "+lostIs+" THEN 1 ELSE 0 END) "+deals+" AND closed_at > ?",
			p.ID, won, p.ID, lost, "bench", zero), true},
		{"AverageDealSize", all(sales.KPIAverageDealSize), raw("SELECT currency, COUNT(*), AVG(amount) "+deals+" AND pipeline_id = ? AND stage = ? AND closed_at > ? GROUP BY currency",
			"bench", p.ID, won, zero), true},
		{"SalesCycle", all(sales.KPISalesCycle), raw("SELECT COUNT(*), AVG("+seconds+") "+deals+" AND pipeline_id = ? AND stage = ? AND closed_at > ?",
			"bench", p.ID, won, zero), true},
		{"PipelineVelocity", all(sales.KPIPipelineVelocity), raw(
			"SELECT currency, SUM(CASE WHEN "+wonIs+" THEN 1 ELSE 0 END), SUM(CASE WHEN "+lostIs+" THEN 1 ELSE 0 END), AVG(CASE WHEN "+wonIs+" THEN amount END), AVG(CASE WHEN "+wonIs+" THEN "+seconds+" END) "+deals+" AND closed_at > ? GROUP BY currency",
			p.ID, won, p.ID, lost, p.ID, won, p.ID, won, "bench", zero,
			"SELECT currency, COUNT(*) "+deals+" AND closed_at = ? GROUP BY currency", "bench", zeroAt), true},
		{"ForecastAccuracy", kpi(sales.KPIForecastAccuracy, quarter.From, quarter.To), raw(
			"SELECT id, query, figures FROM crm_forecast_snapshots WHERE workspace_id = ? ORDER BY taken_at", "bench",
			"SELECT currency, SUM(CASE WHEN forecast_category = 'closed' THEN amount ELSE 0 END), SUM(CASE WHEN forecast_category = 'commit' THEN amount ELSE 0 END), COUNT(*) "+deals+
				" AND (forecast_category = 'closed' AND closed_at >= ? AND closed_at < ? OR forecast_category IN ('pipeline', 'best_case', 'commit') AND expected_close >= ? AND expected_close < ?) GROUP BY currency",
			"bench", timeArg(pg, quarter.From), timeArg(pg, quarter.To), timeArg(pg, quarter.From), timeArg(pg, quarter.To)), true},
		{"TimeInStage", all(sales.KPITimeInStage), raw(stays, "bench"), true},
		{"QuotaAttainment", kpi(sales.KPIQuotaAttainment, quarter.From, quarter.To), raw(
			"SELECT id, owner_id, team_id, period_from, period_to, target_amount, target_currency FROM crm_quotas WHERE workspace_id = ? AND period_from >= ? AND period_from < ?",
			"bench", timeArg(pg, quarter.From), timeArg(pg, quarter.To),
			"SELECT owner_id, team_id, currency, SUM(amount), COUNT(*) "+deals+" AND pipeline_id = ? AND stage = ? AND closed_at >= ? AND closed_at < ? GROUP BY 1, 2, 3",
			"bench", p.ID, won, timeArg(pg, quarter.From), timeArg(pg, quarter.To)), false},
		{"StageConversion", all(sales.KPIStageConversion), raw("SELECT "+strings.Join(funnel, ", ")+" "+deals+" AND pipeline_id = ?", "bench", p.ID), false},
		{"LeadConversionRate", all(sales.KPILeadConversionRate), raw("SELECT COUNT(*), SUM(CASE WHEN status = 'converted' THEN 1 ELSE 0 END) FROM crm_leads WHERE workspace_id = ?", "bench"), true},
		{"ActivitiesPerRep", all(sales.KPIActivitiesPerRep), raw("SELECT COUNT(*), COUNT(DISTINCT owner_id) FROM crm_activities WHERE workspace_id = ? AND owner_id <> ''", "bench"), true},
		{"CustomerLifetimeValue", all(sales.KPICustomerValue), raw("SELECT currency, SUM(total), SUM(refunded), COUNT(DISTINCT contact_id) FROM crm_orders WHERE workspace_id = ? "+
			"AND contact_id <> '' AND status NOT IN ('cancelled', 'refunded') GROUP BY currency", "bench"), true},
	}
	mktKPI := func(name string) func() (int, error) {
		return func() (int, error) {
			for _, k := range mkt.KPIs() {
				if k.Name == name {
					v, err := k.Compute(ctx, time.Time{}, time.Time{})
					return len(v), err
				}
			}
			return 0, fmt.Errorf("no KPI %s", name)
		}
	}
	costs := "SELECT cost_currency, SUM(cost_amount), COUNT(*) FROM crm_mkt_campaigns WHERE workspace_id = ? AND cost_amount > 0 GROUP BY 1"
	ofCampaigns := "campaign IN (SELECT id FROM crm_mkt_campaigns WHERE workspace_id = ? AND cost_currency = ?)"
	leadsOf := "SELECT COUNT(*) FROM crm_leads WHERE workspace_id = ? AND " + ofCampaigns
	wonOf := "SELECT SUM(amount), COUNT(*) " + deals + " AND forecast_category = 'closed' AND closed_at > ? AND currency = ? AND id IN " +
		"(SELECT opportunity_id FROM crm_leads WHERE workspace_id = ? AND " + ofCampaigns + ")"
	cases = append(cases,
		benchCase{"CostPerLead", mktKPI(marketing.KPICostPerLead), raw(costs, "bench", leadsOf, "bench", "bench", "EUR", leadsOf, "bench", "bench", "USD"), false},
		benchCase{"CampaignROI", mktKPI(marketing.KPICampaignROI), raw(costs, "bench",
			wonOf, "bench", zero, "EUR", "bench", "bench", "EUR", wonOf, "bench", zero, "USD", "bench", "bench", "USD"), false})
	if pg {
		cases = append(cases, benchCase{"TwoLevel/Paris", crmGroups(twoLevel(paris)),
			raw("SELECT owner_id, "+parisMonth+", COUNT(*), SUM(amount) "+deals+" GROUP BY 1, 2 ORDER BY 1, 2", "bench"), true})
	} else {
		cases = append(cases, benchCase{"TwoLevel/Paris-vs-UTC", crmGroups(twoLevel(paris)),
			raw("SELECT owner_id, "+month+", COUNT(*), SUM(amount) "+deals+" GROUP BY 1, 2 ORDER BY 1, 2", "bench"), true})
	}
	// CRM_BENCH_REPORTS keeps the cases whose names hold one of its
	// comma-separated words.
	if f := os.Getenv("CRM_BENCH_REPORTS"); f != "" {
		words := strings.Split(f, ",")
		cases = slices.DeleteFunc(cases, func(c benchCase) bool {
			return !slices.ContainsFunc(words, func(w string) bool { return strings.Contains(c.name, w) })
		})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			a, err := c.crm()
			if err != nil {
				b.Fatal(err)
			}
			r, err := c.raw()
			if err != nil {
				b.Fatal(err)
			}
			if c.shape && a != r {
				b.Fatalf("crm returns %d rows, the raw SQL %d", a, r)
			}
			testdb.Interleave(b, "ms", func() error { _, err := c.crm(); return err }, func() error { _, err := c.raw(); return err })
		})
	}
}

// timeArg is t as a bind value of the dialect: SQLite's stored text.
func timeArg(pg bool, t time.Time) any {
	if pg {
		return t
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// rawAny runs q and reads its rows, returning how many.
func rawAny(ctx context.Context, db *sql.DB, q string, args ...any) (int, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, err
		}
		n++
	}
	return n, rows.Err()
}
