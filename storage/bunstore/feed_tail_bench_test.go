package bunstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage/bunstore"
)

// BenchmarkFeedTail reads the last 10,000 events of a change log of
// CRM_BENCH_CONTACTS events (default 100,000) in pages of 1,000 from a
// cursor, beside the hand-written keyset query of the same pages, in turn
// in each iteration.
func BenchmarkFeedTail(b *testing.B) {
	onBoth(b, func(b *testing.B, store *bunstore.Store, ctx context.Context) {
		db := store.Dialect()
		n := benchContactCount(b)
		testdb.SeedEvents(b, ctx, store, n)
		raw := store.ReadDB().DB
		pg := db == "postgres"
		rb := func(q string) string {
			if pg {
				return pgRebindIf(store, q)
			}
			return q
		}
		var tx, seq int64
		if err := raw.QueryRowContext(ctx, rb("SELECT tx_id, seq FROM crm_events WHERE workspace_id = ? ORDER BY tx_id, seq LIMIT 1 OFFSET ?"),
			"bench", n-10_000-1).Scan(&tx, &seq); err != nil {
			b.Fatal(err)
		}
		start := bunstore.FeedCursor(tx, seq)
		// The keyset each adapter's index serves: on SQLite every tx_id
		// is 0.
		after := "(tx_id, seq) > (?, ?)"
		if !pg {
			after = "tx_id = ? AND seq > ?"
		}
		page := rb("SELECT seq, tx_id, id, workspace_id, type, subject_type, subject_id, actor, occurred_at, changes, depth FROM crm_events " +
			"WHERE " + after + " AND workspace_id = ? ORDER BY tx_id, seq LIMIT 1000")
		testdb.Interleave(b, "ms", func() error {
			cur, got := start, 0
			for range 10 {
				f, err := store.ChangeFeed(ctx, cur, 1000)
				if err != nil {
					return err
				}
				got += len(f.Events)
				cur = f.Cursor
			}
			if got != 10_000 {
				return fmt.Errorf("%d events", got)
			}
			return nil
		}, func() error {
			t, s := tx, seq
			for range 10 {
				rows, err := raw.QueryContext(ctx, page, t, s, "bench")
				if err != nil {
					return err
				}
				for rows.Next() {
					var sq, tid, depth int64
					var id, ws, typ, st, sid, actor string
					var at, changes any
					if err := rows.Scan(&sq, &tid, &id, &ws, &typ, &st, &sid, &actor, &at, &changes, &depth); err != nil {
						rows.Close()
						return err
					}
					t, s = tid, sq
				}
				rows.Close()
			}
			return nil
		})
	})
}
