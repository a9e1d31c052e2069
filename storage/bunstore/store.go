package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/workflow"
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
	// RowLevelSecurity makes every statement run in a transaction that first
	// names the context's workspace in the transaction-local setting
	// crm.workspace, which the row-level security policies of Postgres
	// compare each row with (see storage/postgres.WithRowLevelSecurity).
	// Reads outside a transaction get a short one of their own. Default:
	// false.
	RowLevelSecurity bool
}

// Store implements the Store of every domain package on one bun database.
// It is safe for concurrent use.
type Store struct {
	db, rdb          *bun.DB
	d                dialect
	closeDB          bool
	requirePrincipal bool
	rls              bool // Options.RowLevelSecurity

	w      *writer   // SQLite's single writer; nil on Postgres
	rstmts stmtCache // prepared reads on rdb (SQLite)

	contacts   *table[*contacts.Contact]
	accounts   *table[*contacts.Account]
	activities *table[*contacts.Activity]
	fieldDefs  *table[*contacts.FieldDef]
	consents   *table[*contacts.Consent]
	dupRules   *table[*contacts.DuplicateRules]
	members    *table[*access.Member]
	teams      *table[*access.Team]
	roles      *table[*access.Role]
	shares     *table[*access.Share]
	leads      *table[*sales.Lead]
	pipelines  *table[*sales.Pipeline]
	opps       *table[*sales.Opportunity]
	snapshots  *table[*sales.Snapshot]
	products   *table[*sales.Product]
	books      *table[*sales.PriceBook]
	prices     *table[*sales.PriceEntry]
	quotes     *table[*sales.Quote]
	invoices   *table[*sales.Invoice]
	tasks      *table[*sales.Task]
	projects   *table[*sales.Project]
	orders     *table[*sales.Order]
	rules      *table[*workflow.Rule]
	codecs     map[string]*codec // by record type
	codecOrder []string          // the record types, in a fixed order

	scopes    scopeCache // principals' scope sets between principal contexts (scopecache.go)
	memberSQL string     // ReadMember's statement
	// scopeReads counts the reads of principals' scope sets, for tests.
	scopeReads atomic.Int64

	rowsCache sync.Map     // rowsKey → multi-row statement text (rowsSQL)
	rowsCount atomic.Int64 // statements built by rowsSQL, to bound the cache
}

// New returns a Store on db, which must use bun's sqlitedialect or pgdialect.
// It does not migrate: call Migrate, or use storage/sqlite or
// storage/postgres, whose Open does.
func New(db *bun.DB, opts Options) (*Store, error) {
	s := &Store{db: db, rdb: db, closeDB: opts.CloseDB, requirePrincipal: opts.RequirePrincipal, rls: opts.RowLevelSecurity}
	if opts.ReadDB != nil {
		s.rdb = opts.ReadDB
	}
	switch db.Dialect().Name() {
	case bundialect.SQLite:
		s.d = sqliteDialect{}
	case bundialect.PG:
		s.d = postgresDialect{}
	default:
		return nil, fmt.Errorf("bunstore: unsupported dialect %s", db.Dialect().Name())
	}
	s.rstmts.db = s.rdb.DB
	if s.d.prepare() {
		s.w = newWriter(db.DB)
	}
	s.codecs = map[string]*codec{}
	var err error
	if s.contacts, err = newTable[*contacts.Contact](s, "crm_contacts"); err != nil {
		return nil, err
	}
	if s.accounts, err = newTable[*contacts.Account](s, "crm_accounts"); err != nil {
		return nil, err
	}
	if s.activities, err = newTable[*contacts.Activity](s, "crm_activities"); err != nil {
		return nil, err
	}
	s.activities.c.after = func(ctx context.Context, _, next reflect.Value) error {
		if !next.IsValid() {
			return nil
		}
		return s.touchActivity(ctx, next.Interface().(*contacts.Activity))
	}
	if s.fieldDefs, err = newTable[*contacts.FieldDef](s, "crm_field_defs"); err != nil {
		return nil, err
	}
	if s.consents, err = newTable[*contacts.Consent](s, "crm_consents"); err != nil {
		return nil, err
	}
	if s.dupRules, err = newTable[*contacts.DuplicateRules](s, "crm_duplicate_rules"); err != nil {
		return nil, err
	}
	if s.members, err = newTable[*access.Member](s, "crm_members"); err != nil {
		return nil, err
	}
	if s.teams, err = newTable[*access.Team](s, "crm_teams"); err != nil {
		return nil, err
	}
	if s.roles, err = newTable[*access.Role](s, "crm_roles"); err != nil {
		return nil, err
	}
	if s.shares, err = newTable[*access.Share](s, "crm_shares"); err != nil {
		return nil, err
	}
	s.members.c.after = s.teamsChanged
	s.shares.c.after = func(ctx context.Context, _, _ reflect.Value) error { return s.scopesChanged(ctx) }
	s.memberSQL = s.d.rebind(memberQuery(s.members.c))
	if s.leads, err = newTable[*sales.Lead](s, "crm_leads"); err != nil {
		return nil, err
	}
	if s.pipelines, err = newTable[*sales.Pipeline](s, "crm_pipelines"); err != nil {
		return nil, err
	}
	if s.opps, err = newTable[*sales.Opportunity](s, "crm_opportunities"); err != nil {
		return nil, err
	}
	s.opps.c.after = func(ctx context.Context, prev, next reflect.Value) error {
		var p, n *sales.Opportunity
		if prev.IsValid() {
			p = prev.Interface().(*sales.Opportunity)
		}
		if next.IsValid() {
			n = next.Interface().(*sales.Opportunity)
		}
		return s.rollOpp(ctx, p, n)
	}
	if s.snapshots, err = newTable[*sales.Snapshot](s, "crm_forecast_snapshots"); err != nil {
		return nil, err
	}
	if s.products, err = newTable[*sales.Product](s, "crm_products"); err != nil {
		return nil, err
	}
	if s.books, err = newTable[*sales.PriceBook](s, "crm_price_books"); err != nil {
		return nil, err
	}
	if s.prices, err = newTable[*sales.PriceEntry](s, "crm_price_entries"); err != nil {
		return nil, err
	}
	if s.quotes, err = newTable[*sales.Quote](s, "crm_quotes"); err != nil {
		return nil, err
	}
	if s.invoices, err = newTable[*sales.Invoice](s, "crm_invoices"); err != nil {
		return nil, err
	}
	if s.tasks, err = newTable[*sales.Task](s, "crm_tasks"); err != nil {
		return nil, err
	}
	if s.projects, err = newTable[*sales.Project](s, "crm_projects"); err != nil {
		return nil, err
	}
	if s.orders, err = newTable[*sales.Order](s, "crm_orders"); err != nil {
		return nil, err
	}
	if s.rules, err = newTable[*workflow.Rule](s, "crm_workflow_rules"); err != nil {
		return nil, err
	}
	if err := s.checkRefs(); err != nil {
		return nil, err
	}
	return s, nil
}

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

// Contacts returns the contacts table.
func (s *Store) Contacts() storage.Table[*contacts.Contact] { return s.contacts }

// Accounts returns the accounts table.
func (s *Store) Accounts() storage.Table[*contacts.Account] { return s.accounts }

// Activities returns the activities table.
func (s *Store) Activities() storage.Table[*contacts.Activity] { return s.activities }

// FieldDefs returns the custom field definitions table.
func (s *Store) FieldDefs() storage.Table[*contacts.FieldDef] { return s.fieldDefs }

// Consents returns the consents table.
func (s *Store) Consents() storage.Table[*contacts.Consent] { return s.consents }

// DuplicateRules returns the table of the workspaces' duplicate rules.
func (s *Store) DuplicateRules() storage.Table[*contacts.DuplicateRules] { return s.dupRules }

// Members returns the members table.
func (s *Store) Members() storage.Table[*access.Member] { return s.members }

// Teams returns the teams table.
func (s *Store) Teams() storage.Table[*access.Team] { return s.teams }

// Roles returns the custom roles table.
func (s *Store) Roles() storage.Table[*access.Role] { return s.roles }

// Shares returns the shares table.
func (s *Store) Shares() storage.Table[*access.Share] { return s.shares }

// Leads returns the leads table.
func (s *Store) Leads() storage.Table[*sales.Lead] { return s.leads }

// Pipelines returns the pipelines table.
func (s *Store) Pipelines() storage.Table[*sales.Pipeline] { return s.pipelines }

// Opportunities returns the opportunities table.
func (s *Store) Opportunities() storage.Table[*sales.Opportunity] { return s.opps }

// Products returns the products table.
func (s *Store) Products() storage.Table[*sales.Product] { return s.products }

// PriceBooks returns the price books table.
func (s *Store) PriceBooks() storage.Table[*sales.PriceBook] { return s.books }

// PriceEntries returns the prices table.
func (s *Store) PriceEntries() storage.Table[*sales.PriceEntry] { return s.prices }

// Quotes returns the quotes table.
func (s *Store) Quotes() storage.Table[*sales.Quote] { return s.quotes }

// Invoices returns the invoices table.
func (s *Store) Invoices() storage.Table[*sales.Invoice] { return s.invoices }

// Tasks returns the tasks table.
func (s *Store) Tasks() storage.Table[*sales.Task] { return s.tasks }

// Projects returns the projects table.
func (s *Store) Projects() storage.Table[*sales.Project] { return s.projects }

// Orders returns the orders table.
func (s *Store) Orders() storage.Table[*sales.Order] { return s.orders }

// Snapshots returns the forecast snapshots table.
func (s *Store) Snapshots() storage.Table[*sales.Snapshot] { return s.snapshots }

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
// there is one, else on the read database.
func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if tx := txFrom(ctx, s); tx != nil {
		if err := s.setWorkspace(ctx, tx); err != nil {
			return nil, err
		}
		if st := tx.stmt(ctx, q); st != nil {
			return st.QueryContext(ctx, args...)
		}
		return tx.run.QueryContext(ctx, q, args...)
	}
	if s.rls {
		return nil, errors.New("bunstore: a read outside a transaction, with row-level security on (see reading)")
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

// exec runs a statement that returns no rows in the context's transaction,
// which every write has (see write).
func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	tx := txFrom(ctx, s)
	if tx == nil {
		return nil, errors.New("bunstore: write outside a transaction")
	}
	if err := s.setWorkspace(ctx, tx); err != nil {
		return nil, err
	}
	tx.wrote.Store(true)
	if st := tx.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.run.ExecContext(ctx, q, args...)
}

// stmt returns the prepared statement of q bound to the transaction, or nil
// where it is not prepared (Postgres, a host transaction, a query met for
// the first time). On the write pool's single connection the statement is
// already prepared, so binding it to the transaction prepares nothing.
func (tx *txState) stmt(ctx context.Context, q string) *sql.Stmt {
	if tx.w == nil || tx.tx == nil {
		return nil
	}
	st := tx.w.stmt(q)
	if st == nil {
		return nil
	}
	return tx.tx.StmtContext(ctx, st)
}

// recordType returns the record type name of T.
func recordType[T storage.Record]() string {
	var zero T
	return reflect.New(reflect.TypeOf(zero).Elem()).Interface().(T).RecordType()
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
	if _, err := tx.run.ExecContext(ctx, s.d.rebind("SELECT set_config('crm.workspace', ?, true)"), ws); err != nil {
		return fmt.Errorf("bunstore: set the workspace: %w", s.d.translate(err, ""))
	}
	tx.ws = ws
	return nil
}

// reading runs fn, a read, in a transaction of its own where row-level
// security is on and ctx carries none, so that the workspace can be set
// first; else it just calls fn.
func reading[R any](ctx context.Context, s *Store, fn func(ctx context.Context) (R, error)) (R, error) {
	if !s.rls || txFrom(ctx, s) != nil {
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
