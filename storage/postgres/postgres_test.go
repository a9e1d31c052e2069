package postgres_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
	"github.com/crmkit/crm/storage/postgres"
	"github.com/crmkit/crm/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		Open:             func(t testing.TB) storagetest.Store { return testdb.Postgres(t) },
		OpenStrict:       func(t testing.TB) storagetest.Store { return testdb.Postgres(t, postgres.WithPrincipalRequired()) },
		HoldTransactions: testdb.HoldTransactions,
	})
}

// TestConcurrentOpen starts several processes' worth of Open on one new
// schema at once: the advisory lock lets exactly one of them apply each
// migration, and all of them get a working store.
func TestConcurrentOpen(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	schema := testdb.NewSchemaName()
	t.Cleanup(func() { testdb.DropSchema(t, dsn, schema) })

	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	stores := make([]*bunstore.Store, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(t.Context(), dsn, postgres.WithSchema(schema), postgres.WithMaxConns(2),
				postgres.WithModules(crm.Modules()...))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}

	raw := testdb.OpenRaw(t, schema)
	rows, err := raw.QueryContext(t.Context(), "SELECT line || '/' || version, count(*) FROM crm_migrations GROUP BY line, version ORDER BY line, version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	versions := 0
	for rows.Next() {
		var v string
		var c int
		if err := rows.Scan(&v, &c); err != nil {
			t.Fatal(err)
		}
		if c != 1 {
			t.Errorf("migration %s applied %d times", v, c)
		}
		versions++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if versions == 0 {
		t.Fatal("no migrations recorded")
	}

	// Every store works.
	ctx := storage.WithActor(storage.WithWorkspace(t.Context(), "ws-open"), "test")
	for i, s := range stores {
		svc := contacts.NewService(s, contacts.Options{})
		if _, err := svc.Contacts.Create(ctx, contacts.NewContact{FirstName: fmt.Sprint("Ada", i)}); err != nil {
			t.Errorf("store %d: create: %v", i, err)
		}
	}
}

// TestWorkspaceRequired opens a store that requires a workspace in every
// context (WithWorkspaceRequired).
func TestWorkspaceRequired(t *testing.T) {
	storagetest.WorkspaceRequired(t, testdb.Postgres(t, postgres.WithWorkspaceRequired()))
}
