package bunstore_test

import (
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
)

// gadget is a record type of a module of this test's own.
type gadget struct {
	storage.Meta
	Name string `bun:"name,notnull"`
}

func (*gadget) RecordType() string { return "gadget" }

const gadgetTable = `CREATE TABLE gadgets (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, version INTEGER NOT NULL,
	created_at TEXT NOT NULL, created_by TEXT NOT NULL, updated_at TEXT NOT NULL, updated_by TEXT NOT NULL,
	name TEXT NOT NULL DEFAULT '');`

// gadgets is the test's module with the migration files files (names
// under "sqlite/").
func gadgets(files map[string]string) storage.Module {
	fsys := fstest.MapFS{}
	for name, sql := range files {
		fsys["sqlite/"+name] = &fstest.MapFile{Data: []byte(sql)}
	}
	return storage.Module{Name: "gadgets", Migrations: fsys,
		Types: []storage.RecordType{storage.Type[*gadget]("gadgets", storage.TypeOptions{Personal: storage.PersonalData{None: true}})}}
}

// TestMigrationLines registers a module with its own migration line on a
// file, then reopens the file with the line changed: a new migration runs,
// an edited one, a gap and a database newer than the program are each
// refused with an error naming the migration.
func TestMigrationLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crm.db")
	ctx := storage.WithWorkspace(t.Context(), "w")
	open := func(files map[string]string) error {
		t.Helper()
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Register(ctx, gadgets(files)); err != nil {
			return err
		}
		return storage.TableOf[*gadget](s).Insert(ctx, &gadget{Name: "g"})
	}
	v1 := map[string]string{"0001_gadgets.sql": gadgetTable}
	if err := open(v1); err != nil {
		t.Fatalf("first registration: %v", err)
	}
	if err := open(v1); err != nil {
		t.Fatalf("again: %v", err)
	}
	v2 := map[string]string{"0001_gadgets.sql": gadgetTable, "0002_colour.sql": "ALTER TABLE gadgets ADD COLUMN colour TEXT NOT NULL DEFAULT '';"}
	if err := open(v2); err != nil {
		t.Fatalf("a new migration: %v", err)
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"edited", map[string]string{"0001_gadgets.sql": gadgetTable + "\n-- changed", "0002_colour.sql": v2["0002_colour.sql"]},
			"migration gadgets/0001_gadgets was edited after it was applied"},
		{"gap", map[string]string{"0001_gadgets.sql": gadgetTable, "0002_colour.sql": v2["0002_colour.sql"], "0004_size.sql": "SELECT 1;"},
			"migration 0003 is missing"},
		{"newer", v1, "the database has migration 0002 of line gadgets, which this program does not know"},
		{"badly named", map[string]string{"1_gadgets.sql": gadgetTable}, "is not named NNNN_name.sql"},
	} {
		err := open(tc.files)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

// TestManualMigrations checks that a store opened without migrations
// migrates nothing when a module registers, but refuses a schema that
// lacks the module's migrations, until Migrate runs them.
func TestManualMigrations(t *testing.T) {
	ctx := storage.WithWorkspace(t.Context(), "w")
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "crm.db"), sqlite.WithoutMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mod := gadgets(map[string]string{"0001_gadgets.sql": gadgetTable})
	if err := s.Register(ctx, mod); err == nil || !strings.Contains(err.Error(), "run Migrate") {
		t.Fatalf("register on an unmigrated schema: %v, want refused", err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if err := s.Register(ctx, mod); err != nil {
		t.Fatalf("register after Migrate: %v", err)
	}
	if err := storage.TableOf[*gadget](s).Insert(ctx, &gadget{Name: "g"}); err != nil {
		t.Fatal(err)
	}
}
