package bunstore

import (
	"context"
	"fmt"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/internal/cursor"
)

// ListSQL returns the statement and bind values that tbl.List(ctx, q)
// runs, for tests that read its query plan.
func ListSQL[T storage.Record](ctx context.Context, tbl storage.Table[T], q storage.ListQuery) (string, []any, error) {
	st, err := storage.Untyped(tbl).(*table).listSQL(ctx, q)
	if err != nil {
		return "", nil, err
	}
	return st.sql, st.args, nil
}

// ScopeReads returns how many times s has read principals' scope sets.
func ScopeReads(s *Store) int64 { return s.scopeReads.Load() }

// ListCursor returns the cursor tbl.List(ctx, q) would return for a page
// ending at the record whose sort keys (q's sorts, then the ID) are keys:
// for benchmarks that start deep in an order without paging there.
func ListCursor[T storage.Record](tbl storage.Table[T], q storage.ListQuery, keys ...any) string {
	t := storage.Untyped(tbl).(*table)
	return cursor.Encode(cursor.Fingerprint(t.rt, fmt.Sprintf("%#v", q.Filter), q.Sort, q.For), keys...)
}

// FeedCursor returns the change feed's cursor after the event at (txID,
// seq) of one workspace's feed.
func FeedCursor(txID, seq int64) string { return cursor.Encode("feed", txID, seq) }
