package storagetest_test

import (
	"testing"

	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage/storagetest"
)

// An adapter runs the whole suite from one test function in its own
// _test.go file; Open gives every check a fresh, migrated store.
func ExampleRun() {
	conformance := func(t *testing.T) {
		storagetest.Run(t, storagetest.Harness{
			Open:   func(t testing.TB) storagetest.Store { return testdb.SQLite(t) },
			IsBusy: testdb.IsSQLiteBusy,
		})
	}
	_ = conformance // func TestConformance(t *testing.T) { … } in the adapter's tests
}
