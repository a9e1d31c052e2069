package retention_test

import (
	"database/sql"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// BenchmarkRFMRefresh recomputes the RFM of CRM_BENCH_CUSTOMERS customers
// (default 20,000; the README's figures are for 1,000,000), four orders
// each, with nothing bought since the last refresh, beside hand-written
// SQL doing the same work: the currency look-up, the two grouped
// aggregates (orders, won deals) and the quintile cut points sorted in Go
// (crm/raw). Each iteration runs both, in alternating order, and then
// Rescore, which also compares every stored record, beside the same
// aggregates and a read of the stored records' inputs (rescore/raw). The
// log has the seeding, the query plans and the first refresh (every record
// created).
func BenchmarkRFMRefresh(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchRFM(b, testdb.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchRFM(b, testdb.Postgres(b)) })
}

func benchRFM(b *testing.B, store *bunstore.Store) {
	ctx := storage.WithWorkspace(b.Context(), "bench")
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("CRM_BENCH_CUSTOMERS")); err == nil && v > 0 {
		n = v
	}
	start := time.Now()
	testdb.SeedOrders(b, ctx, store, 4*n)
	b.Logf("%s: seeded %d orders of %d customers in %v", store.Dialect(), 4*n, n, time.Since(start).Round(time.Millisecond))
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	res, err := app.Retention.RFM.Refresh(ctx)
	if err != nil || res.Created < n*8/10 {
		b.Fatalf("first refresh: %+v, %v; want most of %d created", res, err, n)
	}
	n = res.Created // the others' orders were all cancelled
	b.Logf("%s: first refresh, %d records created: %v", store.Dialect(), res.Created, time.Since(start).Round(time.Millisecond))
	pg := store.Dialect() == "postgres"
	// The hand-written side holds one connection, as a program's pool
	// keeps its connections open.
	db, err := store.ReadDB().DB.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if pg {
		if _, err := db.ExecContext(ctx, "ANALYZE crm_ret_rfm"); err != nil {
			b.Fatal(err)
		}
	}
	const currencySQL = "SELECT currency, COUNT(*) FROM crm_orders WHERE workspace_id = 'bench' AND contact_id <> ''" +
		" AND status NOT IN ('cancelled', 'refunded') GROUP BY currency ORDER BY 2 DESC, 1 LIMIT 1"
	ordersSQL := "SELECT contact_id, COUNT(*), SUM(CASE WHEN currency = 'USD' THEN total END), SUM(CASE WHEN currency = 'USD' THEN refunded END)," +
		" MIN(ordered_at), MAX(ordered_at) FROM crm_orders WHERE workspace_id = 'bench' AND contact_id <> ''" +
		" AND status NOT IN ('cancelled', 'refunded') GROUP BY contact_id ORDER BY contact_id"
	dealsSQL := "SELECT contact_id, COUNT(*), SUM(CASE WHEN currency = 'USD' THEN amount END), MIN(closed_at), MAX(closed_at)" +
		" FROM crm_opportunities WHERE workspace_id = 'bench' AND contact_id <> '' AND forecast_category = 'closed'" +
		" GROUP BY contact_id ORDER BY contact_id"
	const storedSQL = "SELECT id, version, contact_id, orders, spent, currency, first_at, last_at, r, f, m, interval_days, own_interval FROM crm_ret_rfm WHERE workspace_id = 'bench' ORDER BY contact_id"
	scan := func(q string, cols int, each func(vals []any)) error {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		vals := make([]any, cols)
		ptrs := make([]any, cols)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			each(vals)
		}
		return rows.Err()
	}
	aggregates := func() (int, error) {
		var cur string
		if err := db.QueryRowContext(ctx, currencySQL).Scan(&cur, new(int64)); err != nil && err != sql.ErrNoRows {
			return 0, err
		}
		var count, spent []int64
		var last []string
		err := scan(ordersSQL, 6, func(v []any) {
			count = append(count, toInt(v[1]))
			spent = append(spent, toInt(v[2])-toInt(v[3]))
			last = append(last, toText(v[5]))
		})
		if err == nil {
			err = scan(dealsSQL, 5, func([]any) {})
		}
		slices.Sort(count)
		slices.Sort(spent)
		slices.Sort(last)
		return len(count), err
	}
	raw := func() error {
		got, err := aggregates()
		if err == nil && got != n {
			b.Fatalf("raw: %d customers; want %d", got, n)
		}
		return err
	}
	rawAll := func() error {
		got, err := aggregates()
		if err != nil {
			return err
		}
		stored := 0
		err = scan(storedSQL, 13, func([]any) { stored++ })
		if err == nil && (got != n || stored != n) {
			b.Fatalf("raw: %d customers, %d stored; want %d", got, stored, n)
		}
		return err
	}
	crmRun := func() error {
		res, err := app.Retention.RFM.Refresh(ctx)
		if err == nil && (res.Created+res.Updated+res.Deleted != 0 || res.Customers != n) {
			b.Fatalf("a refresh with nothing bought: %+v", res)
		}
		return err
	}
	for _, q := range []string{currencySQL, ordersSQL, dealsSQL, storedSQL} {
		t0 := time.Now()
		if err := scan(q, map[string]int{currencySQL: 2, ordersSQL: 6, dealsSQL: 5, storedSQL: 13}[q], func([]any) {}); err != nil {
			b.Fatal(err)
		}
		plan := ""
		if pg {
			_ = scan("EXPLAIN "+q, 1, func(v []any) { plan += toText(v[0]) + "; " })
		} else {
			_ = scan("EXPLAIN QUERY PLAN "+q, 4, func(v []any) { plan += toText(v[3]) + "; " })
		}
		b.Logf("%s: %v %s", q[:40], time.Since(t0).Round(time.Millisecond), plan)
	}
	rescore := func() error {
		res, err := app.Retention.RFM.Rescore(ctx)
		if err == nil && (res.Created+res.Updated+res.Deleted != 0 || res.Customers != n) {
			b.Fatalf("a rescore with nothing bought: %+v", res)
		}
		return err
	}
	var crmT, rawT, allT, rawAllT []time.Duration
	timed := func(run func() error, into *[]time.Duration) {
		t0 := time.Now()
		if err := run(); err != nil {
			b.Fatal(err)
		}
		*into = append(*into, time.Since(t0))
	}
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			timed(crmRun, &crmT)
			timed(raw, &rawT)
		} else {
			timed(raw, &rawT)
			timed(crmRun, &crmT)
		}
		timed(rescore, &allT)
		timed(rawAll, &rawAllT)
		i++
	}
	med := func(d []time.Duration) time.Duration {
		d = slices.Clone(d)
		slices.Sort(d)
		return d[len(d)/2]
	}
	b.ReportMetric(float64(med(crmT).Microseconds())/1000, "crm-ms")
	b.ReportMetric(float64(med(rawT).Microseconds())/1000, "raw-ms")
	b.ReportMetric(float64(med(crmT))/float64(med(rawT)), "crm/raw")
	b.ReportMetric(float64(med(allT))/float64(med(rawAllT)), "rescore/raw")
	b.ReportMetric(0, "ns/op")
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case []byte:
		n, _ := strconv.ParseInt(string(x), 10, 64)
		return n
	}
	return 0
}

func toText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case []byte:
		return string(x)
	}
	return ""
}
