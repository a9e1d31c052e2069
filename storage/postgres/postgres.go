// Package postgres opens the Postgres store of crm, the scale-out path: many
// application processes share one database through a connection pool (pgx).
// Full-text search uses a tsvector column with a GIN index; migrations hold
// an advisory lock, so processes that start together are safe.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// Option configures Open.
type Option func(*config)

type config struct {
	requirePrincipal bool
	requireWorkspace bool
	rls              bool
	migrate          bool
	modules          []storage.Module
	hooks            []bun.QueryHook
	queryTimeout     time.Duration
	maxConns         int
	schema           string
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

// WithMaxConns sets the pool's maximum number of open connections.
// Default: 20.
func WithMaxConns(n int) Option { return func(c *config) { c.maxConns = n } }

// WithSchema keeps the CRM's tables in the Postgres schema name, created if
// missing, by setting the search_path of every connection. Default: the
// DSN's search_path (usually public).
func WithSchema(name string) Option { return func(c *config) { c.schema = name } }

var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects to the Postgres database at dsn (a URL or key=value string,
// as pgx reads it) and returns the CRM store on it, migrated unless
// WithoutMigrations is given.
func Open(ctx context.Context, dsn string, opts ...Option) (*bunstore.Store, error) {
	cfg := config{migrate: true, maxConns: 20}
	for _, o := range opts {
		o(&cfg)
	}
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if cfg.schema != "" {
		if !schemaRE.MatchString(cfg.schema) {
			return nil, fmt.Errorf("postgres: schema name %q must be lower-case letters, digits and underscores", cfg.schema)
		}
		pc.RuntimeParams["search_path"] = cfg.schema
	}
	sqldb := stdlib.OpenDB(*pc)
	sqldb.SetMaxOpenConns(cfg.maxConns)
	sqldb.SetMaxIdleConns(cfg.maxConns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if cfg.schema != "" && !cfg.rls {
		// Processes starting together may race to create the schema; the
		// loser's duplicate error means the schema is there.
		if _, err := sqldb.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+cfg.schema); err != nil && !isDuplicate(err) {
			sqldb.Close()
			return nil, fmt.Errorf("postgres: create schema: %w", err)
		}
	}
	db := bun.NewDB(sqldb, pgdialect.New())
	store, err := bunstore.New(db, bunstore.Options{CloseDB: true, RequirePrincipal: cfg.requirePrincipal, RequireWorkspace: cfg.requireWorkspace, RowLevelSecurity: cfg.rls,
		ManualMigrations: !cfg.migrate, QueryHooks: cfg.hooks, QueryTimeout: cfg.queryTimeout})
	if err != nil {
		db.Close()
		return nil, err
	}
	if cfg.rls {
		if err := checkRowLevelSecurity(ctx, sqldb, nil); err != nil {
			store.Close()
			return nil, err
		}
	}
	if cfg.migrate {
		if err := store.Migrate(ctx); err != nil {
			store.Close()
			return nil, err
		}
	}
	if len(cfg.modules) > 0 {
		if err := store.Register(ctx, cfg.modules...); err != nil {
			store.Close()
			return nil, err
		}
	}
	if cfg.rls && len(cfg.modules) > 0 {
		// Again with the modules' tables, whatever their names.
		if err := checkRowLevelSecurity(ctx, sqldb, typeTables(store)); err != nil {
			store.Close()
			return nil, err
		}
	}
	return store, nil
}

// isDuplicate reports whether err is Postgres's unique_violation or
// duplicate_schema, which a concurrent CREATE SCHEMA IF NOT EXISTS can raise.
func isDuplicate(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P06")
}
