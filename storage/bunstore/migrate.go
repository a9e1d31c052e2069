package bunstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/crmkit/crm/storage"
)

// Migrations run per line, river's idea: the store's own tables (line
// "core": the change log, links, search, sequences, tombstones, the queue,
// rollups) and each registered module (storage.Module.Migrations) have
// their own ordered migrations, recorded as (line, version) with a
// checksum of the file in crm_migrations. The core line runs first, then
// the modules' lines in registration order, each migration in its own
// transaction together with its row.

//go:embed migrations
var coreFS embed.FS

// coreLine is the name of the store's own migration line.
const coreLine = "core"

// migration is one versioned schema change of a line. Released
// migrations are never edited: a change is a new file.
type migration struct {
	line    string
	version int
	name    string
	sql     string
	sum     string // hex SHA-256 of sql
	legacy  int    // the version of the single-line migrations before lines (0: none)
}

func (m migration) String() string { return fmt.Sprintf("%s/%04d_%s", m.line, m.version, m.name) }

// legacyRE finds the "-- crm:legacy N" line of a migration that was part
// of migration N of the single migration line the store had before lines
// (crm_schema_migrations): an upgraded database has it applied already.
var legacyRE = regexp.MustCompile(`(?m)^-- crm:legacy (\d+)\s*$`)

// lineMigrations returns the migrations of line in fsys for dialect, in
// version order: files dialect/NNNN_name.sql numbered 1, 2, 3… A gap, a
// repeated number or a badly named file is an error naming it.
func lineMigrations(line string, fsys fs.FS, dialect string) ([]migration, error) {
	if fsys == nil {
		return nil, nil
	}
	entries, err := fs.ReadDir(fsys, dialect)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("bunstore: migration line %s has no %s directory", line, dialect)
	}
	if err != nil {
		return nil, fmt.Errorf("bunstore: migration line %s: %w", line, err)
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 || v < 1 || name == "" {
			return nil, fmt.Errorf("bunstore: migration %s/%s is not named NNNN_name.sql", line, e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dialect, e.Name()))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		m := migration{line: line, version: v, name: name, sql: string(b), sum: hex.EncodeToString(sum[:])}
		if sub := legacyRE.FindStringSubmatch(m.sql); sub != nil {
			m.legacy, _ = strconv.Atoi(sub[1])
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		switch {
		case m.version == i:
			return nil, fmt.Errorf("bunstore: migration line %s has two migrations %04d", line, m.version)
		case m.version != i+1:
			return nil, fmt.Errorf("bunstore: migration line %s: migration %04d is missing before %s (versions run 1, 2, 3… without gaps)", line, i+1, m)
		}
	}
	return out, nil
}

// allMigrations returns the migrations of every line the store runs: the
// core line, then each registered module's.
func (s *Store) allMigrations() ([][]migration, error) {
	core, err := fs.Sub(coreFS, "migrations")
	if err != nil {
		return nil, err
	}
	ms, err := lineMigrations(coreLine, core, s.d.name())
	if err != nil {
		return nil, err
	}
	out := [][]migration{ms}
	for _, mod := range s.Modules() {
		ms, err := lineMigrations(mod.Name, mod.Migrations, s.d.name())
		if err != nil {
			return nil, err
		}
		out = append(out, ms)
	}
	return out, nil
}

// migrateLockKey is the Postgres advisory lock that serialises migrations of
// several processes starting at once, combined with a hash of the schema
// (migrateLock) so that stores of different schemas migrate side by side.
const migrateLockKey = 0x63726d6d6967 // "crmmig"

// migrateLock is the key expression of the advisory lock: one per schema.
const migrateLock = "$1::bigint # hashtextextended(current_schema(), 0)"

// appliedMigration is a row of crm_migrations.
type appliedMigration struct {
	line    string
	version int
	sum     string
}

// Migrate brings the schema up to date: it applies the migrations of the
// core line and of every registered module's line that crm_migrations does
// not record yet, each in its own transaction. A database made before
// migration lines (crm_schema_migrations) is upgraded in place: the
// migrations that were part of those it applied are recorded, not run. A
// migration recorded with another checksum than its file's (edited after
// it was released), or a version recorded that the program does not have
// (a database newer than the program), is an error, and nothing is
// applied. On Postgres it holds an advisory lock of the schema meanwhile,
// so processes that start together migrate it once. It is safe to call
// again.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		return err
	}
	return s.loadUniqueIndexes(ctx)
}

// loadUniqueIndexes reads the unique indexes of the schema from the
// catalog, so that a conflict names its index's columns (uniqueIndexes).
func (s *Store) loadUniqueIndexes(ctx context.Context) error {
	q := `SELECT il.name, ii.name FROM sqlite_master m, pragma_index_list(m.name) il, pragma_index_info(il.name) ii
WHERE m.type = 'table' AND il."unique" = 1 ORDER BY il.name, ii.seqno`
	if s.d.name() == "postgres" {
		q = `SELECT i.relname, a.attname FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE x.indisunique AND n.nspname = current_schema()
ORDER BY i.relname, k.ord`
	}
	rows, err := s.db.DB.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("bunstore: read the unique indexes: %w", err)
	}
	defer rows.Close()
	cols := map[string][]string{}
	for rows.Next() {
		var index, col string
		if err := rows.Scan(&index, &col); err != nil {
			return fmt.Errorf("bunstore: read the unique indexes: %w", err)
		}
		if col != "workspace_id" {
			cols[index] = append(cols[index], col)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("bunstore: read the unique indexes: %w", err)
	}
	for index, c := range cols {
		s.uniq.m.Store(index, strings.Join(c, ","))
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	lines, err := s.allMigrations()
	if err != nil {
		return err
	}
	if applied, err := s.readApplied(ctx, s.db.DB); err == nil {
		pending, err := pendingMigrations(lines, applied)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			// Nothing to do, and nothing that needs the right to create
			// tables: a role that may only use them (row-level security)
			// opens too.
			return nil
		}
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
	create := `CREATE TABLE IF NOT EXISTS crm_migrations (
		line TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, checksum TEXT NOT NULL,
		applied_at ` + ts + ` NOT NULL, PRIMARY KEY (line, version))`
	if _, err := s.whooks.exec(ctx, conn, create); err != nil {
		return fmt.Errorf("bunstore: migrate: %w", err)
	}
	applied, err := s.readApplied(ctx, conn)
	if err != nil {
		return fmt.Errorf("bunstore: migrate: %w", err)
	}
	// The lines of which nothing is recorded: in a database made before
	// migration lines, the migrations that were part of the old ones it
	// applied are recorded now instead of run.
	seen := map[string]bool{}
	for _, a := range applied {
		seen[a.line] = true
	}
	var fresh [][]migration
	for _, ms := range lines {
		if len(ms) > 0 && !seen[ms[0].line] {
			fresh = append(fresh, ms)
		}
	}
	if len(fresh) > 0 {
		base, err := s.baseline(ctx, conn, fresh)
		if err != nil {
			return err
		}
		applied = append(applied, base...)
	}
	pending, err := pendingMigrations(lines, applied)
	if err != nil {
		return err
	}
	for _, m := range pending {
		if err := s.apply(ctx, conn, m, true); err != nil {
			return err
		}
	}
	return nil
}

// checkMigrated reports an error unless every migration of every line the
// store runs is applied: what Register does instead of migrating on a
// store with Options.ManualMigrations.
func (s *Store) checkMigrated(ctx context.Context) error {
	lines, err := s.allMigrations()
	if err != nil {
		return err
	}
	applied, err := s.readApplied(ctx, s.db.DB)
	if err != nil {
		return fmt.Errorf("bunstore: the schema is not migrated (%v): run Migrate", err)
	}
	pending, err := pendingMigrations(lines, applied)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return fmt.Errorf("bunstore: the schema lacks migration %s and %d more: run Migrate", pending[0], len(pending)-1)
	}
	return nil
}

// readApplied returns the rows of crm_migrations; an error when the table
// is missing.
func (s *Store) readApplied(ctx context.Context, q runner) ([]appliedMigration, error) {
	const sel = "SELECT line, version, checksum FROM crm_migrations"
	rows, err := s.whooks.query(ctx, q, sel)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []appliedMigration
	for rows.Next() {
		var a appliedMigration
		if err := rows.Scan(&a.line, &a.version, &a.sum); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// pendingMigrations returns the migrations of lines that applied lacks, in
// the order they run, after checking what applied records of them.
func pendingMigrations(lines [][]migration, applied []appliedMigration) ([]migration, error) {
	type key struct {
		line    string
		version int
	}
	got := make(map[key]string, len(applied))
	latest := map[string]int{}
	for _, a := range applied {
		got[key{a.line, a.version}] = a.sum
		latest[a.line] = max(latest[a.line], a.version)
	}
	var out []migration
	for _, ms := range lines {
		for _, m := range ms {
			sum, ok := got[key{m.line, m.version}]
			switch {
			case !ok:
				out = append(out, m)
			case sum != m.sum:
				return nil, fmt.Errorf("bunstore: migration %s was edited after it was applied (its checksum is %.12s…, the database recorded %.12s…): a released migration must not change; add a new one", m, m.sum, sum)
			}
		}
		if len(ms) > 0 && latest[ms[0].line] > len(ms) {
			return nil, fmt.Errorf("bunstore: the database has migration %04d of line %s, which this program does not know: the database is newer than the program", latest[ms[0].line], ms[0].line)
		}
	}
	return out, nil
}

// baseline records, in a database made before migration lines, the
// migrations of lines that were part of those its crm_schema_migrations
// holds, so that they do not run again. A database without that table has
// nothing to record.
func (s *Store) baseline(ctx context.Context, conn *sql.Conn, lines [][]migration) ([]appliedMigration, error) {
	rows, err := conn.QueryContext(ctx, "SELECT version FROM crm_schema_migrations")
	if err != nil {
		return nil, nil // a new database
	}
	legacy := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		legacy[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []appliedMigration
	for _, ms := range lines {
		for _, m := range ms {
			if m.legacy == 0 || !legacy[m.legacy] {
				continue
			}
			if err := s.apply(ctx, conn, m, false); err != nil {
				return nil, err
			}
			out = append(out, appliedMigration{line: m.line, version: m.version, sum: m.sum})
		}
	}
	return out, nil
}

// apply runs m (when run is set; else it only records it) and records it,
// in one transaction.
func (s *Store) apply(ctx context.Context, conn *sql.Conn, m migration, run bool) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck
	if run {
		if _, err := s.whooks.exec(ctx, tx, m.sql); err != nil {
			return fmt.Errorf("bunstore: migration %s: %w", m, err)
		}
	}
	if _, err := s.whooks.exec(ctx, tx, s.d.rebind("INSERT INTO crm_migrations (line, version, name, checksum, applied_at) VALUES (?, ?, ?, ?, ?)"),
		m.line, m.version, m.name, m.sum, s.d.timeArg(storage.Now())); err != nil {
		return fmt.Errorf("bunstore: migration %s: %w", m, err)
	}
	return tx.Commit()
}
