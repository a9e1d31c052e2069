package postgres_test

import (
	"testing"

	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		Open: func(t testing.TB) storagetest.Store { return testdb.Postgres(t) },
	})
}
