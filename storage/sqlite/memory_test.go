package sqlite_test

import (
	"testing"

	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage/sqlite"
	"github.com/crmkit/crm/storage/storagetest"
)

// TestMemoryConformance runs the suite on ":memory:" stores, whose reads
// take turns with the writes on the one connection.
func TestMemoryConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		Open: func(t testing.TB) storagetest.Store {
			s, err := sqlite.Open(t.Context(), ":memory:")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		IsBusy: testdb.IsSQLiteBusy,
	})
}
