package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/uptrace/bun"
	bundialect "github.com/uptrace/bun/dialect"
)

// Options configure a Store. The zero value works.
type Options struct {
	// ReadDB, when set, serves the reads made outside a transaction, and the
	// *bun.DB given to New serves writes only. storage/sqlite uses it to keep
	// one writer connection beside a pool of readers. Default: nil (one DB
	// for both).
	ReadDB *bun.DB
	// CloseDB makes Close close the databases. Default: false (the caller
	// owns them).
	CloseDB bool
	// RequirePrincipal makes every call whose context carries no principal
	// (storage.WithPrincipal, storage.AsSystem) fail with ErrForbidden.
	// Default: false, and such calls act as the system, so that an
	// application with a single user needs no setup.
	RequirePrincipal bool
	// RequireWorkspace makes every call whose context names no workspace
	// (storage.WithWorkspace) fail with ErrInvalid naming "workspace",
	// unless it acts as the system (storage.AsSystem): for multi-tenant
	// hosts, where a forgotten workspace must not write to "default".
	// Default: false, and such calls work in storage.DefaultWorkspace.
	RequireWorkspace bool
	// RowLevelSecurity makes every statement run in a transaction that first
	// names the context's workspace in the transaction-local setting
	// crm.workspace, which the row-level security policies of Postgres
	// compare each row with (see storage/postgres.WithRowLevelSecurity).
	// Reads outside a transaction get a short one of their own. Default:
	// false.
	RowLevelSecurity bool
	// ManualMigrations makes Register migrate nothing: it only checks
	// that the schema is up to date, and fails when it is not. The
	// program runs Migrate itself. Default: false (Register migrates the
	// lines of the modules it registers).
	ManualMigrations bool
	// QueryHooks see every statement the store runs, after the hooks of
	// the *bun.DB given to New, which see them too (see hooks.go): a
	// tracing or logging hook for the CRM's statements alone. Default:
	// none.
	QueryHooks []bun.QueryHook
	// WriterWait bounds how long a write waits, on SQLite, for the write
	// connection when something outside the store holds it, such as a
	// transaction the host began on the same pool and still has open; the
	// write then fails with an error naming that cause. Writes of the store
	// queue behind each other without this bound. Default: 10 s
	// (storage/sqlite passes its busy timeout).
	WriterWait time.Duration
	// QueryTimeout bounds each list, count, aggregate and search: the calls
	// whose filters and expressions come from users, where one costly
	// expression could hold a connection for minutes. Past it the call
	// fails with an error wrapping context.DeadlineExceeded that names
	// this option; the caller's own earlier deadline still applies.
	// Default: 60 s; negative: no bound.
	QueryTimeout time.Duration
}

// Store implements the Store of every domain package on one bun database.
// It is safe for concurrent use.
type Store struct {
	db, rdb          *bun.DB
	d                dialect
	closeDB          bool
	requirePrincipal bool
	requireWorkspace bool
	rls              bool // Options.RowLevelSecurity
	manual           bool // Options.ManualMigrations
	queryTimeout     time.Duration

	whooks hookSet   // the query hooks of writes (and of reads in a transaction)
	rhooks hookSet   // the query hooks of reads outside a transaction
	w      *writer   // SQLite's single writer; nil on Postgres
	rstmts stmtCache // prepared reads on rdb (SQLite)

	reg     atomic.Pointer[registry] // the registered modules and their tables (module.go)
	regMu   sync.Mutex               // serialises Register
	members *table                   // the access module's tables, which scopes read
	shares  *table

	scopes    scopeCache // principals' scope sets between principal contexts (scopecache.go)
	memberSQL string     // ReadMember's statement
	// scopeReads counts the reads of principals' scope sets, for tests.
	scopeReads atomic.Int64

	uniq      uniqueIndexes // the fields of the schema's unique indexes (loadUniqueIndexes)
	rowsCache sync.Map      // rowsKey → multi-row statement text (rowsSQL)
	rowsCount atomic.Int64  // statements built by rowsSQL, to bound the cache
}

// New returns a Store on db, which must use bun's sqlitedialect or pgdialect.
// It does not migrate: call Migrate, or use storage/sqlite or
// storage/postgres, whose Open does. A SQLite pool must be one the store
// can write through without SQLITE_BUSY (WAL, a busy timeout, immediate
// transactions, one connection): open it with sqlite.DSN and hand it to
// sqlite.New, which checks it and refuses one that would fail.
func New(db *bun.DB, opts Options) (*Store, error) {
	s := &Store{db: db, rdb: db, closeDB: opts.CloseDB, requirePrincipal: opts.RequirePrincipal, requireWorkspace: opts.RequireWorkspace, rls: opts.RowLevelSecurity,
		manual: opts.ManualMigrations, queryTimeout: opts.QueryTimeout}
	if s.queryTimeout == 0 {
		s.queryTimeout = DefaultQueryTimeout
	}
	if opts.ReadDB != nil {
		s.rdb = opts.ReadDB
	}
	switch db.Dialect().Name() {
	case bundialect.SQLite:
		s.d = sqliteDialect{u: &s.uniq}
	case bundialect.PG:
		s.d = postgresDialect{u: &s.uniq}
	default:
		return nil, fmt.Errorf("bunstore: unsupported dialect %s", db.Dialect().Name())
	}
	s.rstmts.db = s.rdb.DB
	s.whooks = newHookSet(s.db, opts.QueryHooks)
	s.rhooks = newHookSet(s.rdb, opts.QueryHooks)
	if s.d.prepare() {
		wait := opts.WriterWait
		if wait <= 0 {
			wait = 10 * time.Second
		}
		s.w = newWriter(db.DB, wait)
	}
	s.reg.Store(&registry{tables: map[string]*table{}, mods: map[string]storage.Module{}})
	if err := s.register(access.Module()); err != nil {
		return nil, err
	}
	s.members, _ = s.table(access.ObjectMember)
	s.shares, _ = s.table(access.ObjectShare)
	s.members.c.after = append(s.members.c.after, s.teamsChanged)
	s.shares.c.after = append(s.shares.c.after, func(ctx context.Context, _, _ reflect.Value) error { return s.scopesChanged(ctx) })
	s.memberSQL = s.d.rebind(memberQuery(s.members.c))
	return s, nil
}

// RequiresPrincipal reports whether the store refuses calls whose context
// carries no principal (Options.RequirePrincipal): the workflow engine
// then refuses to be operated with a bare context too.
func (s *Store) RequiresPrincipal() bool { return s.requirePrincipal }

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name() }

// ReadDB returns the database reads outside transactions go to: the
// Options.ReadDB given to New, or else the one DB.
func (s *Store) ReadDB() *bun.DB { return s.rdb }

// DB returns the database writes go to.
func (s *Store) DB() *bun.DB { return s.db }

// Close releases the prepared statements and, when Options.CloseDB was set,
// closes the databases.
func (s *Store) Close() error {
	if s.w != nil {
		s.w.close()
	}
	s.rstmts.close()
	if !s.closeDB {
		return nil
	}
	err := s.db.Close()
	if s.rdb != s.db {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// maxCachedStmts bounds a stmtCache: list queries vary with the shape of
// their filters, and past this many a query runs unprepared.
const maxCachedStmts = 512

// stmtCache keeps one prepared statement per query text on one *sql.DB.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	if len(c.m) >= maxCachedStmts {
		return nil, nil // full: the caller runs the query unprepared
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// query runs a statement that returns rows: in the context's transaction if
// there is one, else on the read database, between the query hooks.
func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if err := s.needWorkspace(ctx); err != nil {
		return nil, err
	}
	tx := txFrom(ctx, s)
	h := &s.rhooks
	if tx != nil {
		if err := s.setWorkspace(ctx, tx); err != nil {
			return nil, err
		}
		h = &s.whooks
	} else if s.rls {
		return nil, errors.New("bunstore: a read outside a transaction, with row-level security on (see reading)")
	}
	ctx, ev := h.before(ctx, q, args)
	rows, err := s.queryOn(ctx, tx, q, args)
	h.after(ctx, ev, nil, err)
	return rows, err
}

// queryOn runs q in tx, or outside a transaction on the read database,
// prepared where it can be.
func (s *Store) queryOn(ctx context.Context, tx *txState, q string, args []any) (*sql.Rows, error) {
	if tx != nil {
		if st := tx.stmt(ctx, q); st != nil {
			return st.QueryContext(ctx, args...)
		}
		return tx.run.QueryContext(ctx, q, args...)
	}
	if s.d.prepare() {
		st, err := s.rstmts.get(ctx, q)
		if err != nil {
			return nil, err
		}
		if st != nil {
			return st.QueryContext(ctx, args...)
		}
	}
	return s.rdb.DB.QueryContext(ctx, q, args...)
}

// needWorkspace refuses a call whose context names no workspace on a store
// that requires one (Options.RequireWorkspace), but the system's.
func (s *Store) needWorkspace(ctx context.Context) error {
	if !s.requireWorkspace || storage.HasWorkspace(ctx) {
		return nil
	}
	if p := storage.PrincipalFrom(ctx); p != nil && p.IsSystem() {
		return nil
	}
	return storage.Invalid("workspace", "the context names none (storage.WithWorkspace), and the store requires one")
}

// exec runs a statement that returns no rows in the context's transaction,
// which every write has (see write), between the query hooks.
func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := s.needWorkspace(ctx); err != nil {
		return nil, err
	}
	tx := txFrom(ctx, s)
	if tx == nil {
		return nil, errors.New("bunstore: write outside a transaction")
	}
	if err := s.setWorkspace(ctx, tx); err != nil {
		return nil, err
	}
	tx.wrote.Store(true)
	ctx, ev := s.whooks.before(ctx, q, args)
	var res sql.Result
	var err error
	if st := tx.stmt(ctx, q); st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = tx.run.ExecContext(ctx, q, args...)
	}
	s.whooks.after(ctx, ev, res, err)
	return res, err
}

// stmt returns the prepared statement of q bound to the transaction, or nil
// where it is not prepared (Postgres, a host transaction, a query met for
// the first time). On the write pool's single connection the statement is
// already prepared, so binding it to the transaction prepares nothing.
func (tx *txState) stmt(ctx context.Context, q string) *sql.Stmt {
	if tx.w == nil || tx.prep == nil {
		return nil
	}
	st := tx.w.stmt(q)
	if st == nil {
		return nil
	}
	return tx.prep.StmtContext(ctx, st)
}

// setWorkspace names the context's workspace in the transaction's
// crm.workspace setting, where row-level security is on and the
// transaction does not name it yet.
func (s *Store) setWorkspace(ctx context.Context, tx *txState) error {
	if !s.rls {
		return nil
	}
	ws := storage.WorkspaceFrom(ctx)
	if tx.ws == ws {
		return nil
	}
	if _, err := s.whooks.exec(ctx, tx.run, s.d.rebind("SELECT set_config('crm.workspace', ?, true)"), ws); err != nil {
		return fmt.Errorf("bunstore: set the workspace: %w", s.d.translate(err, ""))
	}
	tx.ws = ws
	return nil
}

// DefaultQueryTimeout is Options.QueryTimeout's default.
const DefaultQueryTimeout = 60 * time.Second

// bounded runs the read fn under the store's query timeout (see
// Options.QueryTimeout), as reading does.
func bounded[R any](ctx context.Context, s *Store, fn func(ctx context.Context) (R, error)) (R, error) {
	if s.queryTimeout < 0 {
		return reading(ctx, s, fn)
	}
	bctx, cancel := context.WithTimeout(ctx, s.queryTimeout)
	defer cancel()
	out, err := reading(bctx, s, fn)
	if err != nil && bctx.Err() != nil && ctx.Err() == nil {
		var zero R
		return zero, fmt.Errorf("bunstore: the query ran past the store's query timeout of %v (bunstore.Options.QueryTimeout): %w",
			s.queryTimeout, context.DeadlineExceeded)
	}
	return out, err
}

// reading runs fn, a read, in a transaction of its own where row-level
// security is on and ctx carries none, so that the workspace can be set
// first, and on SQLite with one pool for reads and writes (a host's pool,
// sqlite.New), so that waiting for its one connection, which a host's
// transaction may hold, is bounded (see writer.conn); else it just calls
// fn.
func reading[R any](ctx context.Context, s *Store, fn func(ctx context.Context) (R, error)) (R, error) {
	if !(s.rls || s.w != nil && s.rdb == s.db) || txFrom(ctx, s) != nil {
		return fn(ctx)
	}
	var out R
	err := s.RunInTx(ctx, func(ctx context.Context) error {
		var err error
		out, err = fn(ctx)
		return err
	})
	return out, err
}

// queryRow runs a query expected to return at most one row and scans it
// into dest; found reports whether there was a row. Driver errors are
// translated for recType.
func (s *Store) queryRow(ctx context.Context, recType, q string, args []any, dest ...any) (found bool, err error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return false, s.d.translate(err, recType)
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return false, err
		}
		found = true
	}
	return found, s.d.translate(rows.Err(), recType)
}
