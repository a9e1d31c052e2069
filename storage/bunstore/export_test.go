package bunstore

import (
	"context"

	"github.com/crmkit/crm/storage"
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
