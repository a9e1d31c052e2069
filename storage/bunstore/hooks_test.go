package bunstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
	"github.com/crmkit/crm/storage/postgres"
	"github.com/crmkit/crm/storage/sqlite"
)

// recorder is a bun.QueryHook that keeps every statement it sees, and
// checks that the context BeforeQuery returns reaches AfterQuery.
type recorder struct {
	mu      sync.Mutex
	queries []string
	args    int // statements seen with bind values
	lost    int // AfterQuery calls without BeforeQuery's context value
}

type hookKey struct{}

func (r *recorder) BeforeQuery(ctx context.Context, ev *bun.QueryEvent) context.Context {
	return context.WithValue(ctx, hookKey{}, ev.Query)
}

func (r *recorder) AfterQuery(ctx context.Context, ev *bun.QueryEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Value(hookKey{}) != ev.Query {
		r.lost++
	}
	r.queries = append(r.queries, ev.Query)
	if len(ev.QueryArgs) > 0 {
		r.args++
	}
}

// seen returns how many recorded statements hold each of parts.
func (r *recorder) seen(parts ...string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.queries {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(q, p)
		}
		if all {
			n++
		}
	}
	return n
}

// TestQueryHooks checks that a bun.QueryHook sees the CRM's statements
// (its writes, the change log, its reads in and outside transactions, the
// migrations), with their bind values and the context of BeforeQuery in
// AfterQuery, whether the hook is on the *bun.DB the host gives
// bunstore.New or given as an option of sqlite.Open and postgres.Open.
func TestQueryHooks(t *testing.T) {
	work := func(t *testing.T, store *bunstore.Store) {
		t.Helper()
		ctx := storage.WithWorkspace(t.Context(), "hooks")
		app, err := crm.New(ctx, store, crm.Config{})
		must(t, err)
		c, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Hook", Email: "hook@example.com"})
		must(t, err)
		_, err = app.Contacts.Get(ctx, c.ID)
		must(t, err)
		_, err = app.Contacts.List(ctx, storage.ListQuery{Filter: storage.Eq("email", "hook@example.com")})
		must(t, err)
	}
	check := func(t *testing.T, r *recorder, migrations bool) {
		t.Helper()
		for _, parts := range [][]string{
			{"INSERT INTO crm_contacts"},
			{"INTO crm_events"},
			{"FROM crm_contacts", "t.id = "},
		} {
			if r.seen(parts...) == 0 {
				t.Errorf("no statement with %q reached the hook", parts)
			}
		}
		if migrations && r.seen("CREATE TABLE crm_contacts") == 0 {
			t.Error("the migrations did not reach the hook")
		}
		if r.args == 0 || r.lost > 0 {
			t.Errorf("statements with bind values: %d; AfterQuery without BeforeQuery's context: %d", r.args, r.lost)
		}
	}
	t.Run("sqlite option", func(t *testing.T) {
		r := &recorder{}
		store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "crm.db"), sqlite.WithQueryHook(r))
		must(t, err)
		defer store.Close()
		work(t, store)
		check(t, r, true)
	})
	t.Run("host bun.DB", func(t *testing.T) {
		r := &recorder{}
		sqldb, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "crm.db")+"?_pragma=busy_timeout(10000)&_txlock=immediate")
		must(t, err)
		sqldb.SetMaxOpenConns(1)
		db := bun.NewDB(sqldb, sqlitedialect.New()).WithQueryHook(r)
		store, err := bunstore.New(db, bunstore.Options{CloseDB: true})
		must(t, err)
		defer store.Close()
		must(t, store.Migrate(t.Context()))
		work(t, store)
		check(t, r, true)
	})
	t.Run("postgres option", func(t *testing.T) {
		r := &recorder{}
		work(t, testdb.Postgres(t, postgres.WithQueryHook(r)))
		check(t, r, false) // a pooled schema is migrated already
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
