// Package testdb opens the databases tests run on: a fresh SQLite file, or a
// schema of its own in the Postgres database named by CRM_TEST_POSTGRES,
// taken from a pool of migrated schemas when TestMain calls Main.
//
// Postgres tests take the DSN in CRM_TEST_POSTGRES; unset, they try
// DefaultPostgresDSN. When no server answers they are skipped with a loud
// message, or fail when CRM_TEST_POSTGRES_REQUIRED=1 (as in CI).
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/internal/testobjects"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
	"github.com/crmkit/crm/storage/postgres"
	"github.com/crmkit/crm/storage/sqlite"
)

// DefaultPostgresDSN is tried when CRM_TEST_POSTGRES is unset.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// SQLite returns a migrated store on a new SQLite file in t's temporary
// directory, with the built-in modules registered (crm.Modules), closed
// when t ends.
func SQLite(t testing.TB, opts ...sqlite.Option) *bunstore.Store {
	t.Helper()
	opts = append([]sqlite.Option{sqlite.WithModules(Modules()...)}, opts...)
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "crm.db"), opts...)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// IsSQLiteBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED, in any
// of their extended forms.
func IsSQLiteBusy(err error) bool {
	var se *sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED:
			return true
		}
	}
	return false
}

var (
	pgOnce sync.Once
	pgDSN  string
	pgErr  error
)

// PostgresDSN returns the DSN of the test server, or skips t (fails it when
// CRM_TEST_POSTGRES_REQUIRED=1) when no server answers.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() {
		pgDSN = os.Getenv("CRM_TEST_POSTGRES")
		if pgDSN == "" {
			pgDSN = DefaultPostgresDSN
		}
		pgErr = ping(pgDSN)
	})
	if pgErr != nil {
		msg := fmt.Sprintf("\n\n*** POSTGRES TESTS NOT RUN: no server at %s: %v\n*** Set CRM_TEST_POSTGRES to a DSN; CRM_TEST_POSTGRES_REQUIRED=1 makes this a failure.\n\n", pgDSN, pgErr)
		if os.Getenv("CRM_TEST_POSTGRES_REQUIRED") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return pgDSN
}

func ping(dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// NewSchemaName returns a fresh schema name for one test.
func NewSchemaName() string {
	return "crmtest_" + randomHex()
}

// randomHex returns 12 random hex digits.
func randomHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Postgres returns a migrated, empty store in a schema of the test server
// of its own until t ends: one of the pool's (see Main), or else a new
// schema, dropped when t ends. It skips or fails t as PostgresDSN does.
func Postgres(t testing.TB, opts ...postgres.Option) *bunstore.Store {
	t.Helper()
	name := schema(t, plain)
	opts = append([]postgres.Option{postgres.WithMaxConns(8), postgres.WithModules(Modules()...)}, opts...)
	store, err := postgres.Open(t.Context(), PostgresDSN(t), append(opts, postgres.WithSchema(name))...)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { store.Close() }) // before the schema's cleanup
	return store
}

// DropSchema drops schema and everything in it, trying again a few times
// on deadlock and lock timeout.
func DropSchema(t testing.TB, dsn, schema string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Errorf("drop schema: %v", err)
		return
	}
	cfg.RuntimeParams["lock_timeout"] = "10s"
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dropSchema(ctx, db, schema); err != nil {
		t.Error(err)
	}
}

// OpenRaw opens a plain database/sql handle on the test server with
// search_path set to schema, for baselines that bypass the library.
func OpenRaw(t testing.TB, schema string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	return db
}

// AppRole is the role tests connect as under row-level security: it can log
// in, and owns nothing.
const AppRole = "crm_test_app"

var roleOnce sync.Once

// PostgresRLS returns an empty store in a schema of the test server of its
// own until t ends, set up for row-level security
// (postgres.SetupRowLevelSecurity, run as the DSN's user) and opened as
// AppRole with postgres.WithRowLevelSecurity, so that Postgres itself keeps
// workspaces apart. The schema is one of the pool's (see Main), or else a
// new one, dropped when t ends. It also returns the schema's name.
func PostgresRLS(t testing.TB, opts ...postgres.Option) (*bunstore.Store, string) {
	t.Helper()
	name := schema(t, rls)
	opts = append([]postgres.Option{postgres.WithMaxConns(8), postgres.WithSchema(name), postgres.WithRowLevelSecurity(),
		postgres.WithModules(Modules()...)}, opts...)
	store, err := postgres.Open(t.Context(), WithUser(t, PostgresDSN(t), AppRole), opts...)
	if err != nil {
		t.Fatalf("open postgres as %s: %v", AppRole, err)
	}
	t.Cleanup(func() { store.Close() }) // before the schema's cleanup
	return store, name
}

// ensureRole creates the login role name once per test binary, if missing.
func ensureRole(t testing.TB, dsn, name string) {
	t.Helper()
	var err error
	roleOnce.Do(func() {
		cfg, perr := pgx.ParseConfig(dsn)
		if perr != nil {
			err = perr
			return
		}
		db := stdlib.OpenDB(*cfg)
		defer db.Close()
		_, err = db.ExecContext(t.Context(), "CREATE ROLE "+pgx.Identifier{name}.Sanitize()+" LOGIN")
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "42710" || pe.Code == "23505") { // duplicate_object; a concurrent creation
			err = nil
		}
	})
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
}

// WithUser returns dsn with its user replaced by user.
func WithUser(t testing.TB, dsn, user string) string {
	t.Helper()
	if !strings.Contains(dsn, "://") {
		return dsn + " user=" + user
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse DSN: %v", err)
	}
	u.User = url.User(user)
	return u.String()
}

// Modules are the modules the test databases are prepared with: the
// built-in ones (crm.Modules) and the tests' host module
// (internal/testobjects), so that a store under row-level security has
// the host module's tables too.
func Modules() []storage.Module {
	return append(crm.Modules(), testobjects.Module())
}

// OtherDatabase is the database of the server that HoldTransactions holds a
// transaction open in, created when missing and never dropped (.ci/run
// creates it too).
const OtherDatabase = "crm_test_other"

// HoldTransactions opens two transactions that take a transaction ID and
// stay open until the returned function is called: one in the test
// database that touches no CRM table, one in OtherDatabase. They stand for
// a host's report query or a pg_dump: nothing of the CRM may wait for them.
func HoldTransactions(t testing.TB) (release func()) {
	t.Helper()
	dsn := PostgresDSN(t)
	ctx := t.Context()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+OtherDatabase); err != nil {
		var pe *pgconn.PgError
		// Made already, or by another test at the same moment.
		if !errors.As(err, &pe) || (pe.Code != "42P04" && pe.Code != "23505") {
			t.Fatalf("create database %s: %v", OtherDatabase, err)
		}
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	other := *u
	other.Path = "/" + OtherDatabase
	var txs []*sql.Tx
	var dbs []*sql.DB
	for _, d := range []string{dsn, other.String()} {
		db, err := sql.Open("pgx", d)
		if err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatalf("hold a transaction: %v", err)
		}
		if _, err := tx.ExecContext(ctx, "SELECT pg_current_xact_id()"); err != nil {
			t.Fatalf("hold a transaction: %v", err)
		}
		txs = append(txs, tx)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			for _, tx := range txs {
				_ = tx.Rollback()
			}
			for _, db := range dbs {
				_ = db.Close()
			}
		})
	}
	t.Cleanup(release)
	return release
}
