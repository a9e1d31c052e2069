package postgres_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/postgres"
	"github.com/crmkit/crm/storage/storagetest"
)

// TestConformanceRowLevelSecurity runs the whole conformance suite on a
// store that connects as an application role under row-level security.
func TestConformanceRowLevelSecurity(t *testing.T) {
	storagetest.Run(t, storagetest.Harness{
		Open: func(t testing.TB) storagetest.Store { s, _ := testdb.PostgresRLS(t); return s },
		OpenStrict: func(t testing.TB) storagetest.Store {
			s, _ := testdb.PostgresRLS(t, postgres.WithPrincipalRequired())
			return s
		},
		RowLevelSecurity: true,
		HoldTransactions: testdb.HoldTransactions,
	})
}

// count runs SELECT count(*) FROM table on run.
func count(t *testing.T, ctx context.Context, run interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, table string) int {
	t.Helper()
	var n int
	if err := run.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// TestRowLevelSecurity checks the second wall itself: on the application
// role's connection, a query without the workspace setting sees no rows of
// any table, a transaction that names a workspace sees only that one's rows
// and cannot write another's, and Open refuses roles the policy would not
// bind.
func TestRowLevelSecurity(t *testing.T) {
	store, schema := testdb.PostgresRLS(t)
	svc := contacts.NewService(store, contacts.Options{})
	for _, ws := range []string{"ws-a", "ws-b"} {
		ctx := storage.WithWorkspace(t.Context(), ws)
		c, err := svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", LastName: ws, Email: "ada@" + ws + ".example"})
		if err != nil {
			t.Fatalf("create in %s: %v", ws, err)
		}
		if _, err := svc.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindNote, Subject: "Hi", ContactIDs: []string{c.ID}}); err != nil {
			t.Fatalf("log in %s: %v", ws, err)
		}
		if n, err := svc.Contacts.Count(ctx, nil); err != nil || n != 1 {
			t.Fatalf("count in %s = %d (%v), want 1", ws, n, err)
		}
	}

	// The owner sees every row: the data is there.
	owner := testdb.OpenRaw(t, schema)
	tables := []string{"crm_contacts", "crm_activities", "crm_events", "crm_links", "crm_search"}
	for _, tb := range tables {
		if n := count(t, t.Context(), owner, tb); n < 2 {
			t.Fatalf("owner counts %d rows in %s, want at least 2", n, tb)
		}
	}

	// The application role's own connection, without a workspace: nothing.
	app := store.DB().DB
	ctx := t.Context()
	for _, tb := range tables {
		if n := count(t, ctx, app, tb); n != 0 {
			t.Errorf("unscoped query as the app role counts %d rows in %s, want 0", n, tb)
		}
	}
	if _, err := app.ExecContext(ctx, "UPDATE crm_contacts SET first_name = 'Hacked'"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, ctx, owner, "crm_contacts WHERE first_name = 'Hacked'"); n != 0 {
		t.Errorf("an unscoped update changed %d rows", n)
	}

	// A transaction naming ws-a sees ws-a's rows only, and cannot write ws-b's.
	tx, err := app.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT set_config('crm.workspace', 'ws-a', true)"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, ctx, tx, "crm_contacts"); n != 1 {
		t.Errorf("ws-a's transaction counts %d contacts, want 1", n)
	}
	if n := count(t, ctx, tx, "crm_contacts WHERE workspace_id = 'ws-b'"); n != 0 {
		t.Errorf("ws-a's transaction counts %d contacts of ws-b, want 0", n)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO crm_teams (id, workspace_id, version, created_at, created_by, updated_at, updated_by, name)
		VALUES ('t1', 'ws-b', 1, now(), 'x', now(), 'x', 'Intruders')`)
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("inserting a ws-b row in ws-a's transaction: %v, want a row-level security violation", err)
	}
	tx.Rollback()

	// Open refuses roles the policy does not bind, and a schema without it.
	dsn := testdb.PostgresDSN(t)
	if _, err := postgres.Open(ctx, dsn, postgres.WithSchema(schema), postgres.WithRowLevelSecurity()); err == nil ||
		!strings.Contains(err.Error(), "superuser") {
		t.Errorf("open as a superuser with row-level security: %v, want refused", err)
	}
	plain := testdb.Postgres(t) // a schema migrated without the policies
	var plainSchema string
	if err := plain.DB().QueryRowContext(ctx, "SELECT current_schema()").Scan(&plainSchema); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(ctx, testdb.WithUser(t, dsn, testdb.AppRole), postgres.WithSchema(plainSchema), postgres.WithRowLevelSecurity()); err == nil ||
		!strings.Contains(err.Error(), "SetupRowLevelSecurity") {
		t.Errorf("open a schema without the policies: %v, want refused", err)
	}

	appDSN := testdb.WithUser(t, dsn, testdb.AppRole)
	for _, c := range []struct{ alter, want string }{
		{"ALTER TABLE crm_teams NO FORCE ROW LEVEL SECURITY", "not set up on crm_teams"},
		{"ALTER TABLE crm_teams OWNER TO " + testdb.AppRole, "owns crm_teams"},
	} {
		if _, err := owner.ExecContext(ctx, c.alter); err != nil {
			t.Fatal(err)
		}
		if _, err := postgres.Open(ctx, appDSN, postgres.WithSchema(schema), postgres.WithRowLevelSecurity()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("open after %s: %v, want %q", c.alter, err, c.want)
		}
	}
}
