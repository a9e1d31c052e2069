package testdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/crmkit/crm/storage/postgres"
)

// The pool. Migrating a new schema takes a second or more, most of a
// trivial test's time, so in a test binary whose TestMain calls Main,
// Postgres and PostgresRLS take their schema from a pool of migrated ones:
// made on demand, given back when the test ends, emptied there by one
// TRUNCATE … RESTART IDENTITY of the tables the test wrote to, and dropped
// when the binary ends. A schema is put back only if, emptied, it looks
// exactly as it did freshly prepared (state): same tables, columns,
// indexes, constraints, policies, grants, owners, sequence positions and
// row counts; else it is dropped, as is the schema of a failed test. The
// pool holds only schemas this binary made, named PoolPrefix…, and cleans
// them up as the DSN's user, the owner. (An owner that is not a superuser
// cannot see the rows of tables that force row-level security; schemas of
// PostgresRLS are then dropped after each test, never reused.)

// PoolPrefix begins the names of the pool's schemas. A binary that was
// killed leaves its schemas behind; none of them is in use once no test
// binary of crm runs, and they may then be dropped by hand.
const PoolPrefix = "crmtest_pool_"

// kind is a way of preparing a schema.
type kind string

const (
	plain kind = "plain" // migrated
	rls   kind = "rls"   // migrated, with SetupRowLevelSecurity for AppRole
)

// prepare makes schema, new, what tests of kind k expect: migrated and,
// for rls, with the row-level security policies and grants for AppRole. It
// is the one place that knows how a schema is migrated.
func prepare(ctx context.Context, dsn string, k kind, schema string) error {
	mods := postgres.WithModules(Modules()...)
	if k == rls {
		return postgres.SetupRowLevelSecurity(ctx, dsn, AppRole, postgres.WithSchema(schema), mods)
	}
	store, err := postgres.Open(ctx, dsn, postgres.WithSchema(schema), postgres.WithMaxConns(2), mods)
	if err != nil {
		return err
	}
	return store.Close()
}

// fingerprint identifies the migrations applied to schema: a hash of the
// rows of its crm_migrations (line, version, checksum). The pool hands a test of kind k only
// schemas with the fingerprint of the first schema this binary prepared
// for k. Change it with the migration step.
func fingerprint(ctx context.Context, db *sql.DB, schema string) (string, error) {
	rows, err := db.QueryContext(ctx, "SELECT line, version, checksum FROM "+pgx.Identifier{schema, "crm_migrations"}.Sanitize()+" ORDER BY line, version")
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	defer rows.Close()
	h := sha256.New()
	for rows.Next() {
		var line, sum string
		var v int
		if err := rows.Scan(&line, &v, &sum); err != nil {
			return "", fmt.Errorf("fingerprint: %w", err)
		}
		fmt.Fprintf(h, "%s %d %s\n", line, v, sum)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// stateQuery lists, one line each, what makes a schema ($1) what it is:
// its relations with their owners, row-level security flags and grants,
// columns, constraints, indexes, policies, triggers, functions, types,
// sequence positions and the number of rows of each table. Names are
// written without the schema, so that two schemas prepared alike list the
// same lines. Planner statistics are left out: any ANALYZE on the server,
// not only ours, may add them to a table with rows at any time, so they do
// not tell a fresh schema from a used one (a test that looks at plans runs
// ANALYZE first).
const stateQuery = `WITH ns AS (SELECT oid, nspname, nspowner, nspacl FROM pg_namespace WHERE nspname = $1::text),
rel AS (SELECT c.* FROM pg_class c, ns WHERE c.relnamespace = ns.oid),
items(item) AS (
	SELECT format('schema owner=%s acl=%s', pg_get_userbyid(nspowner), nspacl) FROM ns
	UNION ALL
	SELECT format('rel %s kind=%s persistence=%s owner=%s rls=%s,%s acl=%s', relname, relkind, relpersistence,
		pg_get_userbyid(relowner), relrowsecurity, relforcerowsecurity, relacl) FROM rel
	UNION ALL
	SELECT format('col %s.%s %s notnull=%s identity=%s generated=%s collation=%s default=%s acl=%s', c.relname, a.attname,
		format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attgenerated, co.collname,
		pg_get_expr(d.adbin, d.adrelid), a.attacl)
	FROM rel c JOIN pg_attribute a ON a.attrelid = c.oid
	LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	LEFT JOIN pg_collation co ON co.oid = a.attcollation
	WHERE a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT format('con %s.%s %s', c.relname, k.conname, pg_get_constraintdef(k.oid))
	FROM pg_constraint k JOIN ns ON k.connamespace = ns.oid LEFT JOIN pg_class c ON c.oid = k.conrelid
	UNION ALL
	SELECT format('idx %s', pg_get_indexdef(i.indexrelid)) FROM pg_index i JOIN rel c ON c.oid = i.indrelid
	UNION ALL
	SELECT format('pol %s.%s cmd=%s permissive=%s roles=%s using=%s check=%s', c.relname, p.polname, p.polcmd, p.polpermissive,
		p.polroles::regrole[], pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
	FROM pg_policy p JOIN rel c ON c.oid = p.polrelid
	UNION ALL
	SELECT format('trg %s enabled=%s', pg_get_triggerdef(g.oid), g.tgenabled) FROM pg_trigger g JOIN rel c ON c.oid = g.tgrelid WHERE NOT g.tgisinternal
	UNION ALL
	SELECT format('fn %s(%s) %s owner=%s acl=%s', p.proname, pg_get_function_identity_arguments(p.oid), md5(p.prosrc),
		pg_get_userbyid(p.proowner), p.proacl) FROM pg_proc p JOIN ns ON p.pronamespace = ns.oid
	UNION ALL
	SELECT format('type %s %s owner=%s', t.typname, t.typtype, pg_get_userbyid(t.typowner)) FROM pg_type t JOIN ns ON t.typnamespace = ns.oid
	UNION ALL
	SELECT format('seq %s last=%s', sequencename, last_value) FROM pg_sequences WHERE schemaname = $1::text
	UNION ALL
	SELECT format('rows %s %s', relname, (xpath('/row/n/text()',
		query_to_xml(format('SELECT count(*) AS n FROM %I.%I', $1::text, relname), false, true, '')))[1]) FROM rel WHERE relkind IN ('r', 'p')
)
SELECT coalesce(string_agg(replace(item, $1::text || '.', ''), E'\n' ORDER BY item), '') FROM items`

// state returns the lines of stateQuery for schema.
func state(ctx context.Context, db *sql.DB, schema string) ([]string, error) {
	var s string
	if err := db.QueryRowContext(ctx, stateQuery, schema).Scan(&s); err != nil {
		return nil, fmt.Errorf("state of %s: %w", schema, err)
	}
	return strings.Split(s, "\n"), nil
}

// diff describes the first line (in order) that is in one of a and b
// only, or returns "" when they hold the same lines.
func diff(a, b []string) string {
	count := map[string]int{}
	for _, l := range a {
		count[l]++
	}
	for _, l := range b {
		count[l]--
	}
	for _, l := range a {
		if count[l] > 0 {
			return "lost " + l
		}
	}
	for _, l := range b {
		if count[l] < 0 {
			return "gained " + l
		}
	}
	return ""
}

// pooled is a schema of the pool.
type pooled struct {
	name      string
	kind      kind
	fp        string              // fingerprint when prepared
	fresh     []string            // state when prepared
	dirty     string              // the query that lists its tables to empty
	referrers map[string][]string // the tables of the schema with a foreign key to each
	noReuse   error               // why it cannot be reused, if so
}

// schemaPool is the pool of one test binary.
type schemaPool struct {
	dsn   string
	admin *sql.DB // as the DSN's user, the schemas' owner

	mu   sync.Mutex
	fps  map[kind]string    // the fingerprint of the first schema prepared for each kind
	free map[kind][]*pooled // schemas ready for a test
	all  map[string]bool    // names of the schemas made and not dropped
}

var (
	poolOn  atomic.Bool // set by Main
	poolMu  sync.Mutex
	thePool *schemaPool
)

// Main runs the tests of m with a pool of migrated schemas for Postgres
// and PostgresRLS, drops the pool's schemas at the end, and exits. A
// package whose tests use those helpers calls it from its TestMain:
//
//	func TestMain(m *testing.M) { testdb.Main(m) }
//
// Without it every test gets a new schema, migrated for it alone.
func Main(m *testing.M) {
	poolOn.Store(true)
	code := m.Run()
	if err := closePool(); err != nil {
		fmt.Fprintf(os.Stderr, "testdb: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// getPool returns the binary's pool, nil when Main is not in use.
func getPool(dsn string) (*schemaPool, error) {
	if !poolOn.Load() {
		return nil, nil
	}
	poolMu.Lock()
	defer poolMu.Unlock()
	if thePool == nil {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("pool: %w", err)
		}
		cfg.RuntimeParams["lock_timeout"] = "10s"
		// A row that row-level security would hide from the owner (not a
		// superuser, on a table that forces it) is an error, not a row
		// left behind.
		cfg.RuntimeParams["row_security"] = "off"
		db := stdlib.OpenDB(*cfg)
		db.SetMaxIdleConns(2)
		thePool = &schemaPool{dsn: dsn, admin: db, fps: map[kind]string{}, free: map[kind][]*pooled{}, all: map[string]bool{}}
	}
	return thePool, nil
}

// closePool drops the schemas of the pool, all given back by now.
func closePool() error {
	poolMu.Lock()
	p := thePool
	thePool = nil
	poolMu.Unlock()
	if p == nil {
		return nil
	}
	defer p.admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	for name := range p.all {
		errs = append(errs, dropSchema(ctx, p.admin, name))
	}
	return errors.Join(errs...)
}

// schema returns the name of a schema prepared as k for t, given back (or
// dropped) when t ends. Register the closing of stores on it with
// t.Cleanup after calling schema, so that they close first.
func schema(t testing.TB, k kind) string {
	t.Helper()
	dsn := PostgresDSN(t)
	if k == rls {
		ensureRole(t, dsn, AppRole)
	}
	p, err := getPool(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if p == nil {
		name := NewSchemaName()
		t.Cleanup(func() { DropSchema(t, dsn, name) })
		if err := prepare(t.Context(), dsn, k, name); err != nil {
			t.Fatalf("prepare schema: %v", err)
		}
		return name
	}
	s, err := p.get(t.Context(), k)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		why, err := p.put(ctx, s, t.Failed())
		if err != nil {
			t.Error(err)
		} else if why != nil {
			t.Logf("testdb: schema %s dropped, not reused: %v", s.name, why)
		}
	})
	return s.name
}

// get takes a schema of kind k from the pool, or prepares a new one.
func (p *schemaPool) get(ctx context.Context, k kind) (*pooled, error) {
	p.mu.Lock()
	if n := len(p.free[k]); n > 0 {
		s := p.free[k][n-1]
		p.free[k] = p.free[k][:n-1]
		p.mu.Unlock()
		return s, nil
	}
	p.mu.Unlock()
	s, err := p.create(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("pool: %w", err)
	}
	return s, nil
}

// create prepares a new schema of kind k for the pool.
func (p *schemaPool) create(ctx context.Context, k kind) (*pooled, error) {
	s := &pooled{name: PoolPrefix + randomHex(), kind: k}
	p.mu.Lock()
	p.all[s.name] = true
	p.mu.Unlock()
	if err := prepare(ctx, p.dsn, k, s.name); err != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		return nil, errors.Join(fmt.Errorf("prepare schema: %w", err), p.drop(dctx, s))
	}
	// What follows serves reuse only: should it fail, the test still
	// gets its schema, dropped afterwards.
	s.noReuse = func() error {
		var err error
		if s.fp, err = fingerprint(ctx, p.admin, s.name); err != nil {
			return err
		}
		if s.fresh, err = state(ctx, p.admin, s.name); err != nil {
			return err
		}
		s.dirty, s.referrers, err = tables(ctx, p.admin, s.name)
		return err
	}()
	p.mu.Lock()
	if p.fps[k] == "" && s.noReuse == nil {
		p.fps[k] = s.fp
	}
	p.mu.Unlock()
	return s, nil
}

// tables returns the query that lists the tables of schema a test may have
// changed: those, but crm_migrations, that have a row or whose
// sequence (an identity column's) has moved. It also returns, for each
// table, the tables with a foreign key to it, which TRUNCATE must empty
// along with it.
func tables(ctx context.Context, db *sql.DB, schema string) (dirty string, referrers map[string][]string, err error) {
	rows, err := db.QueryContext(ctx, `SELECT c.relname, coalesce(array_to_string(array(
			SELECT r.relname FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid
			WHERE k.contype = 'f' AND k.confrelid = c.oid AND r.relnamespace = n.oid AND r.oid <> c.oid ORDER BY r.relname), ' '), '')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1::text AND c.relkind IN ('r', 'p') AND c.relname <> 'crm_migrations' ORDER BY c.relname`, schema)
	if err != nil {
		return "", nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var qs []string
	referrers = map[string][]string{}
	for rows.Next() {
		var t, refs string
		if err := rows.Scan(&t, &refs); err != nil {
			return "", nil, fmt.Errorf("list tables: %w", err)
		}
		qs = append(qs, fmt.Sprintf("SELECT %s::text WHERE EXISTS (SELECT FROM %s)", quote(t), pgx.Identifier{schema, t}.Sanitize()))
		referrers[t] = strings.Fields(refs)
	}
	if err := rows.Err(); err != nil {
		return "", nil, fmt.Errorf("list tables: %w", err)
	}
	if len(qs) == 0 {
		return "", nil, fmt.Errorf("list tables: no tables in %s", schema)
	}
	qs = append(qs, `SELECT t.relname::text FROM pg_sequences q
		JOIN pg_class c ON c.relname = q.sequencename AND c.relnamespace = `+quote(schema)+`::regnamespace
		JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
		JOIN pg_class t ON t.oid = d.refobjid
		WHERE q.schemaname = `+quote(schema)+` AND q.last_value IS NOT NULL`)
	return strings.Join(qs, "\nUNION ALL "), referrers, nil
}

// quote returns s as an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// empty empties the tables of s that a test changed, and their referrers,
// with one TRUNCATE … RESTART IDENTITY.
func (p *schemaPool) empty(ctx context.Context, s *pooled) error {
	rows, err := p.admin.QueryContext(ctx, s.dirty)
	if err != nil {
		return fmt.Errorf("list changed tables: %w", err)
	}
	var todo []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fmt.Errorf("list changed tables: %w", err)
		}
		todo = append(todo, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list changed tables: %w", err)
	}
	seen := map[string]bool{}
	var names []string
	for len(todo) > 0 {
		t := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if seen[t] {
			continue
		}
		seen[t] = true
		names = append(names, pgx.Identifier{s.name, t}.Sanitize())
		todo = append(todo, s.referrers[t]...)
	}
	if len(names) == 0 {
		return nil
	}
	q := "TRUNCATE " + strings.Join(names, ", ") + " RESTART IDENTITY"
	if err := retry(ctx, func(ctx context.Context) error {
		_, err := p.admin.ExecContext(ctx, q)
		return err
	}); err != nil {
		return fmt.Errorf("truncate: %w", err)
	}
	return nil
}

// put gives s back to the pool after a test, emptied, or drops it when the
// test failed or s cannot be made as it was prepared; why says then why
// (not an error of the test, which may have altered the schema).
func (p *schemaPool) put(ctx context.Context, s *pooled, failed bool) (why, err error) {
	why = errors.New("the test failed")
	if !failed {
		if why = p.reset(ctx, s); why == nil {
			p.mu.Lock()
			p.free[s.kind] = append(p.free[s.kind], s)
			p.mu.Unlock()
			return nil, nil
		}
	}
	return why, p.drop(ctx, s)
}

// reset empties s and checks that it is as it was prepared.
func (p *schemaPool) reset(ctx context.Context, s *pooled) error {
	if s.noReuse != nil {
		return s.noReuse
	}
	if s.fp != p.fingerprint(s.kind) {
		return errors.New("prepared by other migrations")
	}
	if err := p.empty(ctx, s); err != nil {
		return err
	}
	now, err := state(ctx, p.admin, s.name)
	if err != nil {
		return err
	}
	if d := diff(s.fresh, now); d != "" {
		return fmt.Errorf("differs from its fresh state: %s", d)
	}
	fp, err := fingerprint(ctx, p.admin, s.name)
	if err != nil {
		return err
	}
	if fp != s.fp {
		return errors.New("its crm_migrations changed")
	}
	return nil
}

// fingerprint returns the fingerprint of the binary's schemas of kind k.
func (p *schemaPool) fingerprint(k kind) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fps[k]
}

// drop drops s for good.
func (p *schemaPool) drop(ctx context.Context, s *pooled) error {
	if err := dropSchema(ctx, p.admin, s.name); err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.all, s.name)
	p.mu.Unlock()
	return nil
}

// dropSchema drops schema and everything in it, trying again on deadlock
// and lock timeout.
func dropSchema(ctx context.Context, db *sql.DB, schema string) error {
	err := retry(ctx, func(ctx context.Context) error {
		_, err := db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		return err
	})
	if err != nil {
		return fmt.Errorf("drop schema %s: %w", schema, err)
	}
	return nil
}

// retryAttempts bounds the tries of retry, and retryWait is its first
// wait (a variable for tests).
const retryAttempts = 6

var retryWait = 50 * time.Millisecond

// retry runs f until it succeeds, fails other than by a deadlock (40P01)
// or a lock timeout (55P03), or has failed retryAttempts times, waiting
// about 50 ms, 100 ms, 200 ms … between tries.
func retry(ctx context.Context, f func(context.Context) error) error {
	wait := retryWait
	for i := 1; ; i++ {
		err := f(ctx)
		var pe *pgconn.PgError
		if err == nil || i == retryAttempts || !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "55P03") {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait + rand.N(wait/2)):
		}
		wait *= 2
	}
}
