// Package sqlite opens the embedded SQLite store of crm on the pure-Go
// modernc.org/sqlite driver, so programs build with CGO_ENABLED=0.
//
// Every connection runs with WAL, foreign keys, synchronous=NORMAL and a busy
// timeout. Writes go through one connection, one transaction at a time
// (BEGIN IMMEDIATE), so concurrent writers in the process queue up instead of
// ever seeing SQLITE_BUSY; reads outside transactions use a pool of
// read-only connections that WAL lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Option configures Open.
type Option func(*config)

type config struct {
	requirePrincipal bool
	requireWorkspace bool
	migrate          bool
	modules          []storage.Module
	hooks            []bun.QueryHook
	queryTimeout     time.Duration
	readConns        int
	busyTimeout      int
}

// WithQueryTimeout bounds each list, count, aggregate and search (see
// bunstore.Options.QueryTimeout); a negative d sets no bound. Default:
// bunstore.DefaultQueryTimeout (60 s).
func WithQueryTimeout(d time.Duration) Option { return func(c *config) { c.queryTimeout = d } }

// WithPrincipalRequired makes every call whose context carries no principal
// fail with ErrForbidden (see bunstore.Options.RequirePrincipal): the
// setting for multi-user applications, where a forgotten
// storage.WithPrincipal must not mean "sees everything". Default: calls
// without a principal act as the system.
func WithPrincipalRequired() Option { return func(c *config) { c.requirePrincipal = true } }

// WithWorkspaceRequired makes every call whose context names no workspace
// fail with ErrInvalid (see bunstore.Options.RequireWorkspace): the
// setting for multi-tenant hosts, where a forgotten storage.WithWorkspace
// must not write to the default workspace.
func WithWorkspaceRequired() Option { return func(c *config) { c.requireWorkspace = true } }

// WithoutMigrations makes Open, and the store's Register (crm.New), skip
// the schema migrations: they only check that the schema is up to date
// (bunstore.Options.ManualMigrations). Call (*bunstore.Store).Migrate
// yourself. Default: Open migrates the store's own tables, and Register
// each module's.
func WithoutMigrations() Option { return func(c *config) { c.migrate = false } }

// WithQueryHook adds h to the hooks that see every statement the store
// runs (bunstore.Options.QueryHooks): a tracing hook such as bunotel's, or
// a logger such as bundebug's. Default: none.
func WithQueryHook(h bun.QueryHook) Option { return func(c *config) { c.hooks = append(c.hooks, h) } }

// WithModules registers mods with the store when it opens
// (bunstore.Store.Register), migrating their lines unless
// WithoutMigrations is given: for a program that prepares the database
// ahead of crm.New, such as SetupRowLevelSecurity with crm.Modules() and
// the host's own. crm.New registers the same modules again at no cost.
func WithModules(mods ...storage.Module) Option {
	return func(c *config) { c.modules = append(c.modules, mods...) }
}

// WithReadConns sets how many read-only connections serve reads outside
// transactions. Default: the number of CPUs, at least 2.
func WithReadConns(n int) Option { return func(c *config) { c.readConns = n } }

// WithBusyTimeout sets how long, in milliseconds, a connection waits for a
// lock held by another process before failing, and a write waits for the
// write connection while a transaction of the host holds it
// (bunstore.Options.WriterWait). Default: 10000.
func WithBusyTimeout(ms int) Option { return func(c *config) { c.busyTimeout = ms } }

// DSN returns the data source name for sql.Open("sqlite", …) of a pool
// the store can write through, for a host that opens its own pool and
// hands it to New: WAL journal, a busy timeout of busyTimeoutMs (10000 when
// 0), foreign keys on, temporary files in memory (the journals of the
// savepoints CRM calls take in a host's transaction), and transactions
// that take the write lock when they begin (_txlock=immediate), so that
// two writers never meet as SQLITE_BUSY half-way. Give the pool one connection
// (db.SetMaxOpenConns(1)): SQLite has one writer at a time.
func DSN(path string, busyTimeoutMs int) string {
	if busyTimeoutMs <= 0 {
		busyTimeoutMs = 10000
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMs))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}

// New returns the CRM store on a pool the host opened itself, after
// checking that the store can write through it without SQLITE_BUSY: the
// WAL journal, a busy timeout, and one connection at most; a pool that
// fails a check is refused with an error that says what to set (open it
// with DSN). It migrates as Open does; the store does not close db.
// Writes must go through this pool only; transactions on it are
// expected to begin immediately (_txlock=immediate, as DSN sets), which a
// pool cannot be asked.
func New(ctx context.Context, db *sql.DB, opts ...Option) (*bunstore.Store, error) {
	cfg := config{migrate: true, busyTimeout: 10000}
	for _, o := range opts {
		o(&cfg)
	}
	var problems []string
	if n := db.Stats().MaxOpenConnections; n != 1 {
		problems = append(problems, fmt.Sprintf("the pool may open %d connections, not 1 (db.SetMaxOpenConns(1)): SQLite has one writer", n))
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return nil, fmt.Errorf("sqlite: check the pool: %w", err)
	}
	if mode != "wal" && mode != "memory" {
		problems = append(problems, fmt.Sprintf("the journal mode is %s, not WAL (_pragma=journal_mode(WAL)): readers would block the writer", mode))
	}
	var busy int
	if err := db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
		return nil, fmt.Errorf("sqlite: check the pool: %w", err)
	}
	if busy <= 0 {
		problems = append(problems, "there is no busy timeout (_pragma=busy_timeout(10000)): a lock held by another process fails at once")
	}
	cfg.busyTimeout = busy // the pool's own, which WithBusyTimeout cannot change
	if len(problems) > 0 {
		return nil, fmt.Errorf("sqlite: the pool cannot serve the store (open it with sqlite.DSN): %s", strings.Join(problems, "; "))
	}
	store, err := bunstore.New(bun.NewDB(db, sqlitedialect.New()), bunstore.Options{RequirePrincipal: cfg.requirePrincipal,
		RequireWorkspace: cfg.requireWorkspace, ManualMigrations: !cfg.migrate, QueryHooks: cfg.hooks, QueryTimeout: cfg.queryTimeout, WriterWait: cfg.wait()})
	if err != nil {
		return nil, err
	}
	if err := cfg.ready(ctx, store); err != nil {
		return nil, err
	}
	return store, nil
}

// wait is the busy timeout as a duration.
func (cfg *config) wait() time.Duration { return time.Duration(cfg.busyTimeout) * time.Millisecond }

// ready migrates store (unless WithoutMigrations) and registers the
// modules of WithModules: the last steps of Open and New.
func (cfg *config) ready(ctx context.Context, store *bunstore.Store) error {
	if cfg.migrate {
		if err := store.Migrate(ctx); err != nil {
			return err
		}
	}
	if len(cfg.modules) > 0 {
		return store.Register(ctx, cfg.modules...)
	}
	return nil
}

// Open opens (creating it if needed) the SQLite database at path and returns
// the CRM store on it, migrated unless WithoutMigrations is given. The path
// ":memory:" opens a private in-memory database, for examples and tests;
// it lives on one connection and ends with Close.
func Open(ctx context.Context, path string, opts ...Option) (*bunstore.Store, error) {
	cfg := config{migrate: true, readConns: max(2, runtime.NumCPU()), busyTimeout: 10000}
	for _, o := range opts {
		o(&cfg)
	}
	if path == "" {
		return nil, fmt.Errorf("sqlite: empty path")
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: path %q must not hold '?'", path)
	}
	memory := path == ":memory:"
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	rq := q.Encode()
	// The write connection keeps temporary files in memory: the journal
	// of a savepoint (a CRM call in a host's transaction, an import's
	// batch) went to a file, costing a Create in a host's transaction
	// 1.8x the raw SQL instead of 1.3x. Readers keep their large sorts on
	// disk.
	q.Add("_pragma", "temp_store(MEMORY)")
	if !memory {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	q.Set("_txlock", "immediate")

	wsql, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	wsql.SetMaxOpenConns(1)
	wsql.SetMaxIdleConns(1)
	wsql.SetConnMaxLifetime(0)
	wsql.SetConnMaxIdleTime(0)
	if err := wsql.PingContext(ctx); err != nil {
		wsql.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	wdb := bun.NewDB(wsql, sqlitedialect.New())
	bopts := bunstore.Options{CloseDB: true, RequirePrincipal: cfg.requirePrincipal, RequireWorkspace: cfg.requireWorkspace, ManualMigrations: !cfg.migrate, QueryHooks: cfg.hooks, QueryTimeout: cfg.queryTimeout, WriterWait: cfg.wait()}
	if !memory {
		rsql, err := sql.Open("sqlite", path+"?"+rq+"&_pragma=query_only(1)")
		if err != nil {
			wsql.Close()
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		rsql.SetMaxOpenConns(cfg.readConns)
		rsql.SetMaxIdleConns(cfg.readConns)
		rsql.SetConnMaxIdleTime(0)
		bopts.ReadDB = bun.NewDB(rsql, sqlitedialect.New())
	}
	store, err := bunstore.New(wdb, bopts)
	if err != nil {
		wdb.Close()
		if bopts.ReadDB != nil {
			bopts.ReadDB.Close()
		}
		return nil, err
	}
	if err := cfg.ready(ctx, store); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}
