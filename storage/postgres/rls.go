package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/crmkit/crm/storage/bunstore"
)

// Row-level security is a second wall between workspaces, kept by Postgres
// itself: even a query that forgets its workspace condition (a bug, a
// hand-written report on the application's connection) sees only the rows
// of the workspace the transaction names. Every table of the CRM gets the
// policy
//
//	workspace_id = current_setting('crm.workspace', true)
//
// for reads and writes, with row-level security enabled and forced. The
// application connects as a role that does not own the tables, is not a
// superuser and lacks BYPASSRLS, and the store names the workspace of each
// transaction in the transaction-local setting crm.workspace. A statement
// outside such a transaction sees no rows at all.
//
// Deploying it takes two roles: the owner, which runs SetupRowLevelSecurity
// (migrations, policies, grants) at each upgrade, and the application role,
// which opens the store with WithRowLevelSecurity.

// rlsPolicy is the name of the policy on every table.
const rlsPolicy = "crm_workspace"

// WithRowLevelSecurity makes the store work under the row-level security
// that SetupRowLevelSecurity installs: each transaction names its
// workspace first, and reads outside a transaction run in a short one of
// their own (a read costs two more round trips: BEGIN and COMMIT, plus one
// to set the workspace). Open fails unless every table of the CRM has the
// policy, enabled and forced, and the role it connects as is subject to it:
// neither a superuser, nor BYPASSRLS, nor the owner of the tables. It does
// not create the schema; with migrations on, it only checks that the schema
// is up to date, since the application role may not change it.
func WithRowLevelSecurity() Option { return func(c *config) { c.rls = true } }

// SetupRowLevelSecurity prepares the database at dsn for an application
// that connects as appRole with WithRowLevelSecurity. Connected as the
// owner of the CRM's tables, it migrates the schema (creating it if
// needed), puts the workspace policy on every table of the CRM, enables
// and forces row-level security on them, and grants appRole what the store
// needs: use of the schema, reading and writing rows, the sequences, and
// reading the migrations table. appRole must exist. Run it at every
// upgrade: tables added by new migrations get their policy then. The opts
// are those of Open: WithSchema, typically, and WithModules with
// crm.Modules() and the host's own, so that their tables exist and get
// the policy.
func SetupRowLevelSecurity(ctx context.Context, dsn, appRole string, opts ...Option) error {
	if appRole == "" {
		return errors.New("postgres: SetupRowLevelSecurity needs the application's role")
	}
	store, err := Open(ctx, dsn, append(opts[:len(opts):len(opts)], WithMaxConns(1))...)
	if err != nil {
		return err
	}
	defer store.Close()
	db := store.DB().DB
	tables, err := crmTables(ctx, db, typeTables(store))
	if err != nil {
		return err
	}
	var schema string
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	role := pgx.Identifier{appRole}.Sanitize()
	stmts := []string{
		"GRANT USAGE ON SCHEMA " + pgx.Identifier{schema}.Sanitize() + " TO " + role,
		"GRANT SELECT ON crm_migrations TO " + role,
		"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA " + pgx.Identifier{schema}.Sanitize() + " TO " + role,
	}
	cond := "workspace_id = current_setting('crm.workspace', true)"
	for _, t := range tables {
		stmts = append(stmts,
			"DROP POLICY IF EXISTS "+rlsPolicy+" ON "+t,
			"CREATE POLICY "+rlsPolicy+" ON "+t+" USING ("+cond+") WITH CHECK ("+cond+")",
			"ALTER TABLE "+t+" ENABLE ROW LEVEL SECURITY",
			"ALTER TABLE "+t+" FORCE ROW LEVEL SECURITY",
			"GRANT SELECT, INSERT, UPDATE, DELETE ON "+t+" TO "+role,
		)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("postgres: row-level security: %s: %w", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("postgres: row-level security: %w", err)
	}
	return nil
}

// typeTables returns the tables of the record types registered with s,
// a host module's among them (named as the host likes).
func typeTables(s *bunstore.Store) []string {
	var out []string
	for _, t := range s.Types() {
		out = append(out, t.Table())
	}
	return out
}

// crmTables returns the tables of the CRM in the current schema: those
// named crm_…, and those of registered record types (extra), that have a
// workspace_id column.
func crmTables(ctx context.Context, db *sql.DB, extra []string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'workspace_id' AND NOT a.attisdropped
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND (c.relname LIKE 'crm\_%' OR c.relname = ANY($1))
		ORDER BY c.relname`, extra)
	if err != nil {
		return nil, fmt.Errorf("postgres: list tables: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("postgres: no CRM tables in the current schema, or none this role may use; migrate first (with row-level security: run SetupRowLevelSecurity as the tables' owner)")
	}
	return out, nil
}

// checkRowLevelSecurity verifies that the connection's role is subject to
// the workspace policy on every table of the CRM.
func checkRowLevelSecurity(ctx context.Context, db *sql.DB, extra []string) error {
	var user string
	var bypass bool
	if err := db.QueryRowContext(ctx, `SELECT current_user, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&user, &bypass); err != nil {
		return fmt.Errorf("postgres: row-level security: %w", err)
	}
	if bypass {
		return fmt.Errorf("postgres: row-level security: role %s is a superuser or has BYPASSRLS, so no policy applies to it; connect as the application role", user)
	}
	tables, err := crmTables(ctx, db, extra)
	if err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, `SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
			pg_get_userbyid(c.relowner) = current_user,
			EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = $1)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relname = ANY($2)`, rlsPolicy, tables)
	if err != nil {
		return fmt.Errorf("postgres: row-level security: %w", err)
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var name string
		var enabled, forced, owner, policy bool
		if err := rows.Scan(&name, &enabled, &forced, &owner, &policy); err != nil {
			return err
		}
		switch {
		case owner:
			return fmt.Errorf("postgres: row-level security: role %s owns %s and could turn the policy off; connect as a role that does not own the tables", user, name)
		case !enabled || !forced || !policy:
			bad = append(bad, name)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("postgres: row-level security is not set up on %s; run SetupRowLevelSecurity as the tables' owner", strings.Join(bad, ", "))
	}
	return nil
}
