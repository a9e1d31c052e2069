package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crm"
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

// TestNewOnHostPool hands the store pools a host opened itself: a plain
// sql.Open pool is refused with what to set; one opened with DSN and one
// connection takes 40 concurrent writers with no SQLITE_BUSY.
func TestNewOnHostPool(t *testing.T) {
	ctx := storage.WithWorkspace(t.Context(), "host")
	path := filepath.Join(t.TempDir(), "host.db")
	plain, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := sqlite.New(ctx, plain, sqlite.WithModules(crm.Modules()...)); err == nil ||
		!strings.Contains(err.Error(), "SetMaxOpenConns(1)") || !strings.Contains(err.Error(), "WAL") || !strings.Contains(err.Error(), "busy timeout") {
		t.Fatalf("a plain pool: %v, want it refused naming connections, WAL and the busy timeout", err)
	}
	db, err := sql.Open("sqlite", sqlite.DSN(path, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	store, err := sqlite.New(ctx, db, sqlite.WithModules(crm.Modules()...))
	if err != nil {
		t.Fatalf("a pool opened with DSN: %v", err)
	}
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: fmt.Sprint("W", i)}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("write through the host's pool: %v", err)
	}
	if n, err := app.Contacts.Count(ctx, nil); err != nil || n != 40 {
		t.Errorf("%d contacts (%v), want 40", n, err)
	}
}

// TestHostTxHoldsWriter checks that a CRM call made with the outer context
// while a transaction of the host holds SQLite's write connection fails
// within the busy timeout, naming the likely cause, instead of hanging;
// and that the same call made in the host's transaction (WithTx) works.
func TestHostTxHoldsWriter(t *testing.T) {
	ctx := storage.WithWorkspace(t.Context(), "host")
	path := filepath.Join(t.TempDir(), "held.db")
	db, err := sql.Open("sqlite", sqlite.DSN(path, 300))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	store, err := sqlite.New(ctx, db, sqlite.WithModules(crm.Modules()...))
	if err != nil {
		t.Fatal(err)
	}
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Before"})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for what, call := range map[string]func() error{
		"write": func() error {
			_, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Outside"})
			return err
		},
		"read": func() error { _, err := app.Contacts.Get(ctx, first.ID); return err },
	} {
		done := make(chan error, 1)
		go func() { done <- call() }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "WithTx") || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("a %s beside the host's open transaction: %v, want a timeout naming WithTx", what, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("a %s beside the host's open transaction still waits after 30s", what)
		}
	}
	c, err := app.Contacts.Create(store.WithTx(ctx, tx), contacts.NewContact{FirstName: "Inside"})
	if err != nil {
		t.Fatalf("the same write in the host's transaction: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Contacts.Get(ctx, c.ID); err != nil {
		t.Errorf("after the host's commit: %v", err)
	}
	if _, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "After"}); err != nil {
		t.Errorf("a write after the host's commit: %v", err)
	}
}
