package bunstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/crmkit/crm/storage"
)

//go:embed migrations
var migrationFS embed.FS

// migration is one embedded, versioned schema change. Released migrations
// are never edited: a change is a new file.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's migrations in version order. A file is
// named NNNN_name.sql.
func migrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("bunstore: migration file %s is not named NNNN_name.sql", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrateLockKey is the Postgres advisory lock that serialises migrations of
// several processes starting at once, combined with a hash of the schema
// (migrateLock) so that stores of different schemas migrate side by side.
const migrateLockKey = 0x63726d6d6967 // "crmmig"

// migrateLock is the key expression of the advisory lock: one per schema.
const migrateLock = "$1::bigint # hashtextextended(current_schema(), 0)"

// Migrate brings the schema up to date: it applies, each in its own
// transaction, the embedded migrations not yet recorded in
// crm_schema_migrations. On Postgres it holds an advisory lock of the schema
// meanwhile, so processes that start together migrate it once. It is safe to call again.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations(s.d.name())
	if err != nil {
		return err
	}
	if s.upToDate(ctx, ms) {
		// Nothing to do, and nothing that needs the right to create tables:
		// a role that may only use them (row-level security) opens too.
		return nil
	}
	if s.w != nil {
		// SQLite: hold the writer for the whole migration.
		if err := s.w.acquire(ctx); err != nil {
			return fmt.Errorf("bunstore: migrate: %w", err)
		}
		defer s.w.release()
	}
	conn, err := s.db.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("bunstore: migrate: %w", err)
	}
	defer conn.Close()
	if s.d.name() == "postgres" {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock("+migrateLock+")", migrateLockKey); err != nil {
			return fmt.Errorf("bunstore: migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock("+migrateLock+")", migrateLockKey) //nolint:errcheck
	}
	ts := "TEXT"
	if s.d.name() == "postgres" {
		ts = "TIMESTAMPTZ"
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS crm_schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at `+ts+` NOT NULL)`); err != nil {
		return fmt.Errorf("bunstore: migrate: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM crm_schema_migrations")
	if err != nil {
		return fmt.Errorf("bunstore: migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if err := s.apply(ctx, conn, m); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("bunstore: migration %04d_%s: %w", m.version, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO crm_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
		m.version, m.name, s.d.timeArg(storage.Now())); err != nil {
		return fmt.Errorf("bunstore: migration %04d_%s: %w", m.version, m.name, err)
	}
	return tx.Commit()
}

// upToDate reports whether every migration of ms is recorded as applied.
// Any error (no migrations table yet) means no.
func (s *Store) upToDate(ctx context.Context, ms []migration) bool {
	rows, err := s.db.DB.QueryContext(ctx, "SELECT version FROM crm_schema_migrations")
	if err != nil {
		return false
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if rows.Scan(&v) != nil {
			return false
		}
		applied[v] = true
	}
	if rows.Err() != nil {
		return false
	}
	for _, m := range ms {
		if !applied[m.version] {
			return false
		}
	}
	return true
}
