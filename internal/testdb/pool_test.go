package testdb

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
)

func TestMain(m *testing.M) { Main(m) }

func TestRetry(t *testing.T) {
	defer func(w time.Duration) { retryWait = w }(retryWait)
	retryWait = time.Millisecond
	for _, c := range []struct {
		name  string
		err   error
		calls int
	}{
		{"deadlock", &pgconn.PgError{Code: "40P01"}, retryAttempts},
		{"lock timeout", &pgconn.PgError{Code: "55P03"}, retryAttempts},
		{"other", &pgconn.PgError{Code: "42P01"}, 1},
		{"not postgres", errors.New("boom"), 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			err := retry(t.Context(), func(context.Context) error { calls++; return c.err })
			if !errors.Is(err, c.err) || calls != c.calls {
				t.Errorf("retry = %v after %d calls, want %v after %d", err, calls, c.err, c.calls)
			}
		})
	}
	calls := 0
	err := retry(t.Context(), func(context.Context) error {
		if calls++; calls < 3 {
			return &pgconn.PgError{Code: "40P01"}
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("retry = %v after %d calls, want success at the 3rd", err, calls)
	}
}

// use writes to store: contacts, activities, events, search documents,
// links, so that tables and the events' identity sequence move.
func use(t *testing.T, store *bunstore.Store) {
	t.Helper()
	svc := contacts.NewService(store, contacts.Options{})
	for _, ws := range []string{"ws-a", "ws-b"} {
		ctx := storage.WithActor(storage.WithWorkspace(t.Context(), ws), "test")
		c, err := svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@" + ws + ".example"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindNote, Subject: "Hi", ContactIDs: []string{c.ID}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPoolReuse checks that a schema given back after a test comes back to
// the next test exactly as a freshly prepared schema is (rows gone,
// sequences restarted, also after a rollback), and that a schema a test
// altered, one of other migrations, or a failed test's is dropped instead.
func TestPoolReuse(t *testing.T) {
	for _, k := range []kind{plain, rls} {
		t.Run(string(k), func(t *testing.T) {
			open := func(t *testing.T) (*bunstore.Store, string) {
				if k == rls {
					return PostgresRLS(t)
				}
				s := Postgres(t)
				var name string
				if err := s.DB().QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&name); err != nil {
					t.Fatal(err)
				}
				return s, name
			}
			p, err := getPool(PostgresDSN(t))
			if err != nil {
				t.Fatal(err)
			}
			var first string
			var prepared, used []string
			t.Run("first", func(t *testing.T) {
				store, name := open(t)
				first = name
				if prepared, err = state(t.Context(), p.admin, name); err != nil {
					t.Fatal(err)
				}
				use(t, store)
				if used, err = state(t.Context(), p.admin, name); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("rolled back", func(t *testing.T) {
				// Rows rolled back leave the tables empty and the events'
				// sequence moved: the reset must restart it too.
				store, name := open(t)
				if name != first {
					t.Fatalf("got schema %s, want %s again", name, first)
				}
				ctx := storage.WithActor(storage.WithWorkspace(t.Context(), "ws-a"), "test")
				rollback := errors.New("roll back")
				err := store.RunInTx(ctx, func(ctx context.Context) error {
					if _, err := contacts.NewService(store, contacts.Options{}).Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada"}); err != nil {
						return err
					}
					return rollback
				})
				if !errors.Is(err, rollback) {
					t.Fatalf("RunInTx = %v, want the rollback", err)
				}
				now, err := state(t.Context(), p.admin, name)
				if err != nil {
					t.Fatal(err)
				}
				if d := diff(used, now); !strings.HasPrefix(d, "lost rows ") {
					t.Errorf("after a rollback the state differs from the used one by %q, want no rows", d)
				}
				if d := diff(prepared, now); !strings.HasPrefix(d, "lost seq ") {
					t.Errorf("after a rollback the state differs from the fresh one by %q, want the sequence", d)
				}
			})
			t.Run("again", func(t *testing.T) {
				_, name := open(t)
				if name != first {
					t.Fatalf("got schema %s, want %s again", name, first)
				}
				// Compare with a schema prepared now.
				fresh := NewSchemaName()
				t.Cleanup(func() { DropSchema(t, PostgresDSN(t), fresh) })
				if err := prepare(t.Context(), PostgresDSN(t), k, fresh); err != nil {
					t.Fatal(err)
				}
				want, err := state(t.Context(), p.admin, fresh)
				if err != nil {
					t.Fatal(err)
				}
				got, err := state(t.Context(), p.admin, name)
				if err != nil {
					t.Fatal(err)
				}
				if d := diff(want, got); d != "" {
					t.Errorf("reused schema differs from a fresh one: %s", d)
				}
				if d := diff(want, used); d == "" {
					t.Errorf("state does not see the rows a test wrote")
				}
				if !slices.ContainsFunc(got, func(l string) bool {
					n, ok := strings.CutPrefix(l, "rows crm_migrations ")
					return ok && n != "0"
				}) {
					t.Errorf("state counts no migrations")
				}
				wfp, err := fingerprint(t.Context(), p.admin, fresh)
				if err != nil {
					t.Fatal(err)
				}
				if gfp, err := fingerprint(t.Context(), p.admin, name); err != nil || gfp != wfp {
					t.Errorf("fingerprint %s (%v), want %s", gfp, err, wfp)
				}
				// Alter it: it must not come back.
				if _, err := OpenRaw(t, name).ExecContext(t.Context(), "ALTER TABLE crm_teams ADD COLUMN extra INTEGER"); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("altered", func(t *testing.T) {
				_, name := open(t)
				if name == first {
					t.Fatalf("got the altered schema %s again", name)
				}
				if exists(t, first) {
					t.Errorf("altered schema %s not dropped", first)
				}
			})
			t.Run("other migrations", func(t *testing.T) {
				s, err := p.get(t.Context(), k)
				if err != nil {
					t.Fatal(err)
				}
				s.fp = "other"
				if why, err := p.put(t.Context(), s, false); err != nil || why == nil {
					t.Fatalf("put of a schema of other migrations: %v, %v", why, err)
				}
				if exists(t, s.name) {
					t.Errorf("schema %s of other migrations not dropped", s.name)
				}
			})
			t.Run("failed", func(t *testing.T) {
				s, err := p.get(t.Context(), k)
				if err != nil {
					t.Fatal(err)
				}
				if why, err := p.put(t.Context(), s, true); err != nil || why == nil {
					t.Fatalf("put after a failure: %v, %v", why, err)
				}
				if exists(t, s.name) {
					t.Errorf("failed test's schema %s not dropped", s.name)
				}
			})
		})
	}
}

// exists reports whether schema exists.
func exists(t *testing.T, schema string) bool {
	t.Helper()
	p, err := getPool(PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	var ok bool
	if err := p.admin.QueryRowContext(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}
