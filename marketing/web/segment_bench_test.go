package web_test

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
)

// BenchmarkSegmentRecompute recomputes a dynamic segment ("VIP
// customers", a thirtieth of the workspace) over CRM_BENCH_CONTACTS
// contacts (default 100,000; the README's figures are for 1,000,000),
// beside the hand-written SQL of the same work: the two anti-joins that
// find the matching contacts not yet members and the members no longer
// matching. Each iteration runs both, in alternating order; the metrics
// are their medians and the ratio. The log has the first computation (every
// member entering) and a recompute after 1% of the members stopped
// matching.
func BenchmarkSegmentRecompute(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchRecompute(b, testdb.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchRecompute(b, testdb.Postgres(b)) })
}

func benchRecompute(b *testing.B, store *bunstore.Store) {
	ctx := storage.WithWorkspace(b.Context(), "bench")
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("CRM_BENCH_CONTACTS")); err == nil && v > 0 {
		n = v
	}
	start := time.Now()
	testdb.SeedContacts(b, ctx, store, n)
	b.Logf("%s: seeded %d contacts in %v", store.Dialect(), n, time.Since(start).Round(time.Millisecond))
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	seg, err := app.Marketing.Segments.Create(ctx, marketing.NewSegment{Name: "VIP customers", Where: "lifecycle == 'customer' && 'vip' in tags"})
	if err != nil {
		b.Fatal(err)
	}
	members, err := app.Marketing.Segments.Count(ctx, seg.ID)
	if err != nil || members != int64(n/30) {
		b.Fatalf("%d members (%v), want %d", members, err, n/30)
	}
	b.Logf("%s: first computation, %d members entering: %v", store.Dialect(), members, time.Since(start).Round(time.Millisecond))
	pg := store.Dialect() == "postgres"
	db := store.DB().DB
	if pg {
		if _, err := db.ExecContext(ctx, "ANALYZE crm_mkt_segment_members"); err != nil {
			b.Fatal(err)
		}
	}
	vip := "EXISTS (SELECT 1 FROM json_each(c.tags) WHERE json_each.value = 'vip')"
	if pg {
		vip = `c.tags @> '["vip"]'::jsonb`
	}
	enterSQL := "SELECT c.id FROM crm_contacts c WHERE c.workspace_id = 'bench' AND c.lifecycle = 'customer' AND " + vip +
		" AND NOT EXISTS (SELECT 1 FROM crm_mkt_segment_members m WHERE m.workspace_id = c.workspace_id AND m.segment_id = '" + seg.ID + "' AND m.contact_id = c.id)"
	leaveSQL := "SELECT m.id FROM crm_mkt_segment_members m WHERE m.workspace_id = 'bench' AND m.segment_id = '" + seg.ID + "'" +
		" AND NOT EXISTS (SELECT 1 FROM crm_contacts c WHERE c.workspace_id = m.workspace_id AND c.id = m.contact_id AND c.lifecycle = 'customer' AND " + vip + ")"
	raw := func() error {
		for _, q := range []string{enterSQL, leaveSQL} {
			rows, err := db.QueryContext(ctx, q)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return err
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	}
	crmRun := func() error {
		c, err := app.Marketing.Segments.Recompute(ctx, seg.ID)
		if err == nil && c != (marketing.Change{}) {
			b.Fatalf("a recompute with nothing changed: %+v", c)
		}
		return err
	}
	var crmT, rawT []time.Duration
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
	b.ReportMetric(0, "ns/op")

	// Churn: 1% of the members stop matching.
	q := "UPDATE crm_contacts SET lifecycle = 'lead' WHERE workspace_id = 'bench' AND id IN (SELECT contact_id FROM crm_mkt_segment_members WHERE segment_id = '" + seg.ID + "' ORDER BY contact_id LIMIT " + strconv.Itoa(int(members/100)) + ")"
	if _, err := db.ExecContext(ctx, q); err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	c, err := app.Marketing.Segments.Recompute(ctx, seg.ID)
	if err != nil || c.Left != int(members/100) {
		b.Fatalf("recompute after churn: %+v, %v", c, err)
	}
	b.Logf("%s: recompute with %d members leaving: %v", store.Dialect(), c.Left, time.Since(start).Round(time.Millisecond))
}
