package bunstore_test

import (
	"testing"

	"github.com/crmkit/crm/internal/testdb"
)

// TestMain gives the package's Postgres tests the pool of migrated schemas.
func TestMain(m *testing.M) { testdb.Main(m) }
