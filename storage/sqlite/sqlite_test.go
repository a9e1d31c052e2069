package sqlite_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"

	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		Open:       func(t testing.TB) storagetest.Store { return testdb.SQLite(t) },
		OpenStrict: func(t testing.TB) storagetest.Store { return testdb.SQLite(t, sqlite.WithPrincipalRequired()) },
		IsBusy:     testdb.IsSQLiteBusy,
	})
}

// TestPragmas checks the settings every connection gets, on the writer and
// on the readers.
func TestPragmas(t *testing.T) {
	store := testdb.SQLite(t)
	want := map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000", "synchronous": "1"}
	for name, db := range map[string]*sql.DB{"writer": store.DB().DB, "reader": store.ReadDB().DB} {
		for pragma, v := range want {
			var got string
			if err := db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("%s: PRAGMA %s: %v", name, pragma, err)
			}
			if got != v {
				t.Errorf("%s: PRAGMA %s = %s, want %s", name, pragma, got, v)
			}
		}
	}
	var qo string
	if err := store.ReadDB().DB.QueryRowContext(t.Context(), "PRAGMA query_only").Scan(&qo); err != nil || qo != "1" {
		t.Errorf("reader: query_only = %q (%v), want 1", qo, err)
	}
}

// TestReopen checks that data and migrations survive closing the file.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crm.db")
	ctx := storage.WithWorkspace(t.Context(), "w")
	for i := range 2 {
		store, err := sqlite.Open(ctx, path, sqlite.WithModules(contacts.Module()))
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		svc := contacts.NewService(store, contacts.Options{})
		if _, err := svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "Run", LastName: fmt.Sprint(i)}); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		n, err := svc.Contacts.Count(ctx, nil)
		if err != nil || n != int64(i+1) {
			t.Fatalf("open %d: %d contacts (%v), want %d", i, n, err, i+1)
		}
		store.Close()
	}
}

// TestWorkspaceRequired opens a store that requires a workspace in every
// context (WithWorkspaceRequired).
func TestWorkspaceRequired(t *testing.T) {
	storagetest.WorkspaceRequired(t, testdb.SQLite(t, sqlite.WithWorkspaceRequired()))
}
