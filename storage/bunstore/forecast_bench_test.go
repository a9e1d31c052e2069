package bunstore_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
)

// benchOpps is how many opportunities the pipeline summary benchmark runs
// over: 1,000,000, or CRM_BENCH_OPPS.
func benchOpps(b *testing.B) int {
	if v := os.Getenv("CRM_BENCH_OPPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("CRM_BENCH_OPPS: %v", err)
		}
		return n
	}
	return 1_000_000
}

// BenchmarkPipelineSummary compares the pipeline summary (count, sum and
// weighted sum by stage and currency) with the raw SQL aggregate over the
// same rows, which scans the covering index of the pipeline's deals.
func BenchmarkPipelineSummary(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchSummary(b, testdb.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchSummary(b, testdb.Postgres(b)) })
}

func benchSummary(b *testing.B, store *bunstore.Store) {
	ctx := storage.WithActor(storage.WithWorkspace(b.Context(), "bench"), "u1")
	svc := sales.NewService(store, contacts.NewService(store, contacts.Options{}), sales.Options{})
	p, err := svc.Pipelines.Default(ctx)
	if err != nil {
		b.Fatal(err)
	}
	n := benchOpps(b)
	start := time.Now()
	seedOpps(b, ctx, store, p, n)
	b.Logf("%s: seeded %d opportunities in %v", store.Dialect(), n, time.Since(start).Round(time.Millisecond))

	want, err := svc.Forecasts.Summary(ctx, p.ID)
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, r := range want {
		total += r.Count
	}
	if total != int64(n) {
		b.Fatalf("summary counts %d deals, want %d", total, n)
	}
	b.Run("crm", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.Forecasts.Summary(ctx, p.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	q := "SELECT stage, currency, COUNT(*), SUM(amount), SUM(amount * probability / 100) FROM crm_opportunities WHERE workspace_id = ? AND pipeline_id = ? GROUP BY stage, currency"
	if store.Dialect() == "postgres" {
		q = strings.Replace(strings.Replace(q, "?", "$1", 1), "?", "$2", 1)
	}
	db := store.ReadDB().DB
	b.Run("raw-scan", func(b *testing.B) {
		for b.Loop() {
			rows, err := db.QueryContext(ctx, q, "bench", p.ID)
			if err != nil {
				b.Fatal(err)
			}
			var got int64
			for rows.Next() {
				var st, cur string
				var c, a, w int64
				if err := rows.Scan(&st, &cur, &c, &a, &w); err != nil {
					b.Fatal(err)
				}
				got += c
			}
			rows.Close()
			if got != int64(n) {
				b.Fatalf("raw scan counts %d", got)
			}
		}
	})
}

// seedOpps writes n opportunities of pipeline p with multi-row inserts in
// one transaction, then fills the rollup as migration 0005 does: the
// generic path would take minutes for a million rows.
func seedOpps(b *testing.B, ctx context.Context, store *bunstore.Store, p *sales.Pipeline, n int) {
	pg := store.Dialect() == "postgres"
	cols := []string{"id", "workspace_id", "version", "created_at", "created_by", "updated_at", "updated_by",
		"name", "amount", "currency", "pipeline_id", "stage", "probability", "forecast_category", "expected_close", "closed_at", "owner_id",
		"expected_revenue"}
	err := func() error {
		tx, err := store.DB().DB.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() //nolint:errcheck
		now := time.Now().UTC()
		ts := any(now.Format("2006-01-02T15:04:05.000000000Z"))
		zero := any("0001-01-01T00:00:00.000000000Z")
		if pg {
			ts, zero = now, time.Time{}
		}
		currencies := []string{"USD", "EUR", "GBP"}
		err = testdb.InsertRows(ctx, tx, pg, "crm_opportunities", cols, n, func(k int) []any {
			st := p.Stages[k%len(p.Stages)]
			amount := int64(1000 + k%997*100)
			return []any{storage.NewID(), "bench", 1, ts, "u1", ts, "u1",
				"Deal", amount, currencies[k%3], p.ID, st.Key, st.Probability, "pipeline", ts, zero, "u1", amount * int64(st.Probability) / 100}
		})
		if err != nil {
			return err
		}
		// The rollup that opportunity writes keep (sales' "pipeline"), as
		// the generic path would have left it.
		if _, err := tx.ExecContext(ctx, `DELETE FROM crm_rollups WHERE rollup = 'opportunity.pipeline'`); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO crm_rollups (workspace_id, rollup, k1, k2, k3, n, s1, s2)
			SELECT workspace_id, 'opportunity.pipeline', pipeline_id, stage, currency, COUNT(*), SUM(amount), SUM(expected_revenue)
			FROM crm_opportunities GROUP BY workspace_id, pipeline_id, stage, currency`)
		if err != nil {
			return err
		}
		return tx.Commit()
	}()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := store.DB().DB.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
}
