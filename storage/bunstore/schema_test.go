package bunstore_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
	"github.com/crmkit/crm/storage/postgres"
	"github.com/crmkit/crm/storage/sqlite"
)

// column is one column of a table as a schema test compares it.
type column struct {
	Name    string
	Type    string
	NotNull bool
	Default string
}

// index is one index of a table.
type index struct {
	Name    string
	Unique  bool
	Columns string // the indexed columns or expressions, in order
	Where   string // the predicate of a partial index
}

// table is a table's columns, in order, and indexes, by name.
type table struct {
	Columns []column
	Indexes []index
}

// sqliteSchema reads the CRM tables of a SQLite database.
func sqliteSchema(t *testing.T, db *sql.DB) map[string]table {
	t.Helper()
	ctx := t.Context()
	out := map[string]table{}
	names := queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'crm\_%' ESCAPE '\' ORDER BY name`)
	for _, name := range names {
		var tb table
		// A primary key column is not null, though SQLite reports it
		// nullable.
		rows, err := db.QueryContext(ctx, `SELECT name, type, "notnull" OR pk > 0, COALESCE(dflt_value, '') FROM pragma_table_info(?)`, name)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c column
			if err := rows.Scan(&c.Name, &c.Type, &c.NotNull, &c.Default); err != nil {
				t.Fatal(err)
			}
			tb.Columns = append(tb.Columns, c)
		}
		rows.Close()
		rows, err = db.QueryContext(ctx, `SELECT il.name, il."unique", il.origin, COALESCE(m.sql, '') FROM pragma_index_list(?) il
			LEFT JOIN sqlite_master m ON m.type = 'index' AND m.name = il.name`, name)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var ix index
			var origin, def string
			if err := rows.Scan(&ix.Name, &ix.Unique, &origin, &def); err != nil {
				t.Fatal(err)
			}
			if origin == "pk" {
				continue // the primary key's index, added below
			}
			if _, where, ok := strings.Cut(def, " WHERE "); ok {
				ix.Where = strings.TrimSpace(where)
			}
			tb.Indexes = append(tb.Indexes, ix)
		}
		rows.Close()
		for i := range tb.Indexes {
			ix := &tb.Indexes[i]
			cols := queryStrings(t, db, `SELECT COALESCE(name, '<expr>') FROM pragma_index_info(?) ORDER BY seqno`, ix.Name)
			ix.Columns = strings.Join(cols, ", ")
			if strings.HasPrefix(ix.Name, "sqlite_autoindex_") {
				// A unique constraint's index: named by its columns, as
				// on Postgres.
				ix.Name = "(unique " + ix.Columns + ")"
			}
		}
		if hasPK(t, db, name) {
			tb.Indexes = append(tb.Indexes, index{Name: "(primary key)", Unique: true})
		}
		sort.Slice(tb.Indexes, func(i, j int) bool { return tb.Indexes[i].Name < tb.Indexes[j].Name })
		out[name] = tb
	}
	return out
}

// postgresSchema reads the CRM tables of the current schema of a Postgres
// database.
func postgresSchema(t *testing.T, db *sql.DB) map[string]table {
	t.Helper()
	ctx := t.Context()
	out := map[string]table{}
	names := queryStrings(t, db, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()
		AND table_name LIKE 'crm\_%' ORDER BY table_name`)
	for _, name := range names {
		var tb table
		rows, err := db.QueryContext(ctx, `SELECT column_name, data_type, is_nullable = 'NO', COALESCE(column_default, '')
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, name)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c column
			if err := rows.Scan(&c.Name, &c.Type, &c.NotNull, &c.Default); err != nil {
				t.Fatal(err)
			}
			tb.Columns = append(tb.Columns, c)
		}
		rows.Close()
		rows, err = db.QueryContext(ctx, `SELECT i.relname, x.indisunique, x.indisprimary,
				EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.contype = 'u'),
				(SELECT string_agg(pg_get_indexdef(x.indexrelid, k, true), ', ' ORDER BY k) FROM generate_series(1, x.indnkeyatts) k),
				COALESCE(pg_get_expr(x.indpred, x.indrelid, true), '')
			FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class r ON r.oid = x.indrelid
			WHERE r.relname = $1 AND r.relnamespace = current_schema()::regnamespace ORDER BY i.relname`, name)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var ix index
			var primary, constraint bool
			if err := rows.Scan(&ix.Name, &ix.Unique, &primary, &constraint, &ix.Columns, &ix.Where); err != nil {
				t.Fatal(err)
			}
			switch {
			case primary:
				ix.Name, ix.Columns = "(primary key)", ""
			case constraint:
				ix.Name = "(unique " + ix.Columns + ")"
			}
			tb.Indexes = append(tb.Indexes, ix)
		}
		rows.Close()
		sort.Slice(tb.Indexes, func(i, j int) bool { return tb.Indexes[i].Name < tb.Indexes[j].Name })
		out[name] = tb
	}
	return out
}

// hasPK reports whether the SQLite table name has a primary key (whose
// index SQLite lists only when it is not the rowid).
func hasPK(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	return len(queryStrings(t, db, `SELECT name FROM pragma_table_info(?) WHERE pk > 0`, name)) > 0
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// bookkeeping are the tables that record migrations, which differ between
// a database made before migration lines and a new one.
var bookkeeping = []string{"crm_migrations", "crm_schema_migrations"}

func withoutBookkeeping(s map[string]table) map[string]table {
	for _, b := range bookkeeping {
		delete(s, b)
	}
	return s
}

// legacyStore is a database built by the single migration line the store
// had before migration lines (testdata/legacy, the files of the released
// versions 0001–0016), up to and with migration upTo, holding the data
// legacySeed writes.
type legacyStore struct {
	dialect string
	raw     *sql.DB                             // the database, without the library
	open    func(t *testing.T) *bunstore.Store  // opens the store on it, as a program of today does
	fresh   func(t *testing.T) map[string]table // the schema of a new database of the same dialect
	schema  func(t *testing.T, db *sql.DB) map[string]table
	arg     func(time.Time) any // a time as the dialect stores it
}

// applyLegacy runs the legacy migrations up to upTo on raw, as the old
// runner did: each with its row in crm_schema_migrations.
func applyLegacy(t *testing.T, raw *sql.DB, dialect string, upTo int, timeType string, param func(int) string, now any) {
	t.Helper()
	ctx := t.Context()
	if _, err := raw.ExecContext(ctx, `CREATE TABLE crm_schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at `+timeType+` NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "legacy", dialect)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		var v int
		var name string
		if _, err := fmt.Sscanf(e.Name(), "%04d_%s", &v, &name); err != nil || v > upTo {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, string(b)); err != nil {
			t.Fatalf("legacy %s: %v", e.Name(), err)
		}
		if _, err := raw.ExecContext(ctx, "INSERT INTO crm_schema_migrations (version, name, applied_at) VALUES ("+param(1)+", "+param(2)+", "+param(3)+")",
			v, strings.TrimSuffix(name, ".sql"), now); err != nil {
			t.Fatal(err)
		}
	}
}

// The records legacySeed writes.
const (
	legacyWS      = "ws-up"
	legacyAccount = "019ad1e0-0000-7000-8000-000000000001"
	legacyContact = "019ad1e0-0000-7000-8000-000000000002"
	legacyPipe    = "019ad1e0-0000-7000-8000-000000000003"
	legacyDeal    = "019ad1e0-0000-7000-8000-000000000004"
)

// legacySeed writes an account, a contact with a custom field, a pipeline
// and a deal with its pipeline rollup row into a legacy database at
// version 16, with plain SQL, as the released code stored them.
func legacySeed(t *testing.T, ls legacyStore, param func(int) string) {
	t.Helper()
	now := ls.arg(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	closeAt := ls.arg(time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC))
	meta := "id, workspace_id, version, created_at, created_by, updated_at, updated_by"
	ps := func(n int) string {
		var out []string
		for i := 1; i <= n; i++ {
			out = append(out, param(i))
		}
		return strings.Join(out, ", ")
	}
	for _, st := range []struct {
		q    string
		args []any
	}{
		{"INSERT INTO crm_accounts (" + meta + ", name, domain) VALUES (" + ps(9) + ")",
			[]any{legacyAccount, legacyWS, 1, now, "old", now, "old", "Acme", "acme.example"}},
		{"INSERT INTO crm_contacts (" + meta + ", first_name, last_name, email, account_id, custom) VALUES (" + ps(12) + ")",
			[]any{legacyContact, legacyWS, 1, now, "old", now, "old", "Ada", "Lovelace", "ada@acme.example", legacyAccount, `{"tier":"gold"}`}},
		{"INSERT INTO crm_pipelines (" + meta + ", name, is_default, stages) VALUES (" + ps(10) + ")",
			[]any{legacyPipe, legacyWS, 1, now, "old", now, "old", "Sales", true,
				`[{"key":"open","name":"Open","probability":25,"kind":"open"},{"key":"won","name":"Won","probability":100,"kind":"won"},{"key":"lost","name":"Lost","probability":0,"kind":"lost"}]`}},
		{"INSERT INTO crm_opportunities (" + meta + ", name, account_id, contact_id, amount, currency, pipeline_id, stage, probability, forecast_category, expected_close, closed_at, stage_history) VALUES (" + ps(19) + ")",
			[]any{legacyDeal, legacyWS, 1, now, "old", now, "old", "Big deal", legacyAccount, legacyContact, int64(10001), "EUR", legacyPipe, "open", 25, "pipeline", closeAt, ls.arg(time.Time{}),
				`[{"stage":"open","entered_at":"2026-06-01T09:00:00Z"}]`}},
		{"INSERT INTO crm_pipeline_rollups (workspace_id, pipeline_id, stage, currency, deals, amount, weighted) VALUES (" + ps(7) + ")",
			[]any{legacyWS, legacyPipe, "open", "EUR", 1, int64(10001), int64(2500)}},
	} {
		if _, err := ls.raw.ExecContext(t.Context(), st.q, st.args...); err != nil {
			t.Fatalf("%s: %v", st.q, err)
		}
	}
}

// legacyStores returns, per dialect, a database at legacy version upTo;
// with seed (upTo 16 only) it holds legacySeed's records.
func legacyStores(t *testing.T, upTo int, seed bool) []legacyStore {
	t.Helper()
	var out []legacyStore

	// SQLite: a file.
	path := filepath.Join(t.TempDir(), "legacy.db")
	raw, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	t.Cleanup(func() { raw.Close() })
	sq := func(int) string { return "?" }
	lite := legacyStore{dialect: "sqlite", raw: raw, schema: sqliteSchema,
		arg: func(tm time.Time) any { return tm.UTC().Format("2006-01-02T15:04:05.000000Z") },
		open: func(t *testing.T) *bunstore.Store {
			raw.Close() // the store takes the file over
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		fresh: func(t *testing.T) map[string]table {
			s := testdb.SQLite(t)
			return sqliteSchema(t, s.ReadDB().DB)
		}}
	applyLegacy(t, raw, "sqlite", upTo, "TEXT", sq, lite.arg(time.Now()))
	if seed {
		legacySeed(t, lite, sq)
	}
	out = append(out, lite)

	// Postgres: a schema of the test server.
	dsn := testdb.PostgresDSN(t)
	schema := testdb.NewSchemaName()
	t.Cleanup(func() { testdb.DropSchema(t, dsn, schema) })
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin := stdlib.OpenDB(*cfg)
	defer admin.Close()
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	praw := testdb.OpenRaw(t, schema)
	pq := func(i int) string { return fmt.Sprintf("$%d", i) }
	pg := legacyStore{dialect: "postgres", raw: praw, schema: postgresSchema,
		arg: func(tm time.Time) any { return tm.UTC() },
		open: func(t *testing.T) *bunstore.Store {
			s, err := postgres.Open(t.Context(), dsn, postgres.WithSchema(schema), postgres.WithMaxConns(4))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		fresh: func(t *testing.T) map[string]table {
			return postgresSchema(t, testdb.Postgres(t).DB().DB)
		}}
	applyLegacy(t, praw, "postgres", upTo, "TIMESTAMPTZ", pq, time.Now())
	if seed {
		legacySeed(t, pg, pq)
	}
	out = append(out, pg)
	return out
}

// TestUpgradeFromLegacy opens a database made by the released single
// migration line (built here from its files, testdata/legacy) with today's
// store and crm.New: the migrations it had are recorded instead of run, the
// new ones run, its records are all there (the deal's expected revenue
// backfilled, the pipeline summary carried over into the rollups), and its
// schema is a new database's.
func TestUpgradeFromLegacy(t *testing.T) {
	for _, ls := range legacyStores(t, 16, true) {
		t.Run(ls.dialect, func(t *testing.T) {
			store := ls.open(t)
			ctx := storage.WithActor(storage.WithWorkspace(t.Context(), legacyWS), "tester")
			app, err := crm.New(ctx, store, crm.Config{})
			if err != nil {
				t.Fatal(err)
			}
			c, err := app.Contacts.Get(ctx, legacyContact)
			if err != nil {
				t.Fatal(err)
			}
			if c.FirstName != "Ada" || c.Email != "ada@acme.example" || c.AccountID != legacyAccount || c.Custom["tier"] != "gold" {
				t.Errorf("contact after the upgrade = %+v", c)
			}
			o, err := app.Sales.Opportunities.Get(ctx, legacyDeal)
			if err != nil {
				t.Fatal(err)
			}
			if o.ExpectedRevenue != 2500 || o.Amount.Amount != 10001 {
				t.Errorf("deal after the upgrade = %+v, want expected revenue 2500", o)
			}
			sum, err := app.Sales.Forecasts.Summary(ctx, legacyPipe)
			if err != nil {
				t.Fatal(err)
			}
			want := []sales.StageTotal{{Stage: "open", Currency: "EUR", Count: 1, Amount: 10001, Weighted: 2500}}
			if diff := cmp.Diff(want, sum); diff != "" {
				t.Errorf("pipeline summary carried over (-want +got):\n%s", diff)
			}
			// The rollup goes on from there.
			if _, err := app.Sales.Opportunities.Create(ctx, sales.NewOpportunity{Name: "More", PipelineID: legacyPipe,
				Amount: storage.Money{Amount: 400, Currency: "EUR"}, ExpectedClose: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
				t.Fatal(err)
			}
			sum, err = app.Sales.Forecasts.Summary(ctx, legacyPipe)
			if err != nil {
				t.Fatal(err)
			}
			if len(sum) != 1 || sum[0].Count != 2 || sum[0].Amount != 10401 || sum[0].Weighted != 2600 {
				t.Errorf("pipeline summary after a new deal = %+v", sum)
			}
			if _, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "New", Email: "new@acme.example"}); err != nil {
				t.Fatal(err)
			}
			got := withoutBookkeeping(ls.schema(t, store.DB().DB))
			if diff := cmp.Diff(withoutBookkeeping(ls.fresh(t)), got); diff != "" {
				t.Errorf("schema after the upgrade differs from a new database's (-new +upgraded):\n%s", diff)
			}
		})
	}
}

// TestUpgradeFromLegacyPartway upgrades databases left at earlier legacy
// versions: the rest of their migrations run from the lines, and the
// schema ends up a new database's.
func TestUpgradeFromLegacyPartway(t *testing.T) {
	for _, upTo := range []int{4, 11} {
		for _, ls := range legacyStores(t, upTo, false) {
			t.Run(fmt.Sprintf("%s/%04d", ls.dialect, upTo), func(t *testing.T) {
				store := ls.open(t)
				if _, err := crm.New(t.Context(), store, crm.Config{}); err != nil {
					t.Fatal(err)
				}
				got := withoutBookkeeping(ls.schema(t, store.DB().DB))
				if diff := cmp.Diff(withoutBookkeeping(ls.fresh(t)), got); diff != "" {
					t.Errorf("schema after the upgrade from %04d differs from a new database's (-new +upgraded):\n%s", upTo, diff)
				}
			})
		}
	}
}

// intendedDifferences are the differences between the SQLite and the
// Postgres schema that are meant: full-text search (an FTS5 virtual table
// and its shadow tables on SQLite, a tsvector column with a GIN index on
// Postgres) and the columns each dialect's search table has.
var intendedDifferences = map[string]string{
	"crm_search":         "SQLite: FTS5 virtual table; Postgres: a table with a tsvector column and a GIN index",
	"crm_search_config":  "SQLite FTS5 shadow table",
	"crm_search_data":    "SQLite FTS5 shadow table",
	"crm_search_docsize": "SQLite FTS5 shadow table",
	"crm_search_idx":     "SQLite FTS5 shadow table",
	"crm_search_docs":    "SQLite only: the documents the FTS5 table indexes, kept by triggers",
}

// TestSchemaParity migrates both dialects and compares their tables: the
// same tables, columns, nullability and indexes (names, uniqueness, columns
// and predicates), but for intendedDifferences. Types and defaults are the
// dialects' own and are not compared.
func TestSchemaParity(t *testing.T) {
	lite := sqliteSchema(t, testdb.SQLite(t).ReadDB().DB)
	pg := postgresSchema(t, testdb.Postgres(t).DB().DB)
	shape := func(s map[string]table) map[string]table {
		out := map[string]table{}
		for name, tb := range s {
			if _, ok := intendedDifferences[name]; ok {
				continue
			}
			var cp table
			for _, c := range tb.Columns {
				cp.Columns = append(cp.Columns, column{Name: c.Name, NotNull: c.NotNull})
			}
			for _, ix := range tb.Indexes {
				ix.Where = normaliseWhere(ix.Where)
				cp.Indexes = append(cp.Indexes, ix)
			}
			out[name] = cp
		}
		return out
	}
	for name := range intendedDifferences {
		_, inLite := lite[name]
		_, inPG := pg[name]
		if !inLite && !inPG {
			t.Errorf("intended difference %s is in neither schema: drop it from the list", name)
		}
	}
	if diff := cmp.Diff(shape(lite), shape(pg)); diff != "" {
		t.Errorf("SQLite and Postgres schemas differ (-sqlite +postgres):\n%s", diff)
	}
}

// normaliseWhere writes an index predicate the same way for both
// dialects: no parentheses, casts or quotes, and booleans as SQLite keeps
// them (1 for true).
func normaliseWhere(w string) string {
	w = strings.NewReplacer("(", "", ")", "", "::text", "", `"`, "", "= true", "= 1", "= false", "= 0").Replace(w)
	return strings.Join(strings.Fields(w), " ")
}
