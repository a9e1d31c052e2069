package bunstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
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
// the same question over the same deals, crm and the baseline in turn in
// each iteration (medians and their ratio): a two-level group-by (deals
// and amount by owner and month of creation), the same in a time zone
// with daylight saving, and the win rate KPI.
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
	b.Logf("%s: seeded %d deals in %v", store.Dialect(), n, time.Since(start).Round(time.Millisecond))
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
	if pg {
		month = "date_trunc('month', created_at AT TIME ZONE 'UTC')"
		parisMonth = "date_trunc('month', created_at AT TIME ZONE 'Europe/Paris')"
	}
	rawGroups := func(bucket string) func() (int, error) {
		q := rebind("SELECT owner_id, " + bucket + ", COUNT(*), SUM(amount) FROM crm_opportunities WHERE workspace_id = ? GROUP BY 1, 2 ORDER BY 1, 2")
		return func() (int, error) { return rawRows(ctx, db, q, 4, "bench") }
	}
	crmGroups := func(q storage.AggregateQuery) func() (int, error) {
		return func() (int, error) {
			rows, err := store.Aggregate(ctx, sales.ObjectOpportunity, q)
			return len(rows), err
		}
	}
	winRate := func() (int, error) {
		for _, k := range sls.KPIs() {
			if k.Name == sales.KPIWinRate {
				v, err := k.Compute(ctx, time.Time{}, time.Time{})
				return len(v), err
			}
		}
		return 0, fmt.Errorf("no win rate")
	}
	zero := any("0001-01-02")
	if pg {
		zero = time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC)
	}
	rawWin := func() (int, error) {
		q := rebind("SELECT SUM(CASE WHEN pipeline_id = ? AND stage = ? THEN 1 ELSE 0 END), SUM(CASE WHEN pipeline_id = ? AND stage = ? THEN 1 ELSE 0 END) " +
			"FROM crm_opportunities WHERE workspace_id = ? AND closed_at > ?")
		return rawRows(ctx, db, q, 2, p.ID, won, p.ID, lost, "bench", zero)
	}
	cases := []struct {
		name     string
		crm, raw func() (int, error)
	}{
		{"TwoLevel/UTC", crmGroups(twoLevel(nil)), rawGroups(month)},
		{"WinRate", winRate, rawWin},
	}
	if pg {
		cases = append(cases, struct {
			name     string
			crm, raw func() (int, error)
		}{"TwoLevel/Paris", crmGroups(twoLevel(paris)), rawGroups(parisMonth)})
	} else {
		cases = append(cases, struct {
			name     string
			crm, raw func() (int, error)
		}{"TwoLevel/Paris-vs-UTC", crmGroups(twoLevel(paris)), rawGroups(month)})
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
			if a != r {
				b.Fatalf("crm returns %d rows, the raw SQL %d", a, r)
			}
			var crmT, rawT []time.Duration
			i := 0
			for b.Loop() {
				run := func(fn func() (int, error), into *[]time.Duration) {
					t0 := time.Now()
					if _, err := fn(); err != nil {
						b.Fatal(err)
					}
					*into = append(*into, time.Since(t0))
				}
				if i%2 == 0 {
					run(c.crm, &crmT)
					run(c.raw, &rawT)
				} else {
					run(c.raw, &rawT)
					run(c.crm, &crmT)
				}
				i++
			}
			med := func(d []time.Duration) float64 {
				d = slices.Clone(d)
				slices.Sort(d)
				return float64(d[len(d)/2]) / float64(time.Millisecond)
			}
			b.ReportMetric(med(crmT), "crm-ms")
			b.ReportMetric(med(rawT), "raw-ms")
			b.ReportMetric(med(crmT)/med(rawT), "crm/raw")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// rawRows runs q and reads its rows of cols values, returning how many.
func rawRows(ctx context.Context, db *sql.DB, q string, cols int, args ...any) (int, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	vals := make([]any, cols)
	ptrs := make([]any, cols)
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
