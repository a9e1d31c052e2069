package bunstore_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
	"github.com/crmkit/crm/storage/sqlite"
)

// gizmo is a record type of this test's own that extends contacts.
type gizmo struct {
	storage.Meta
	ContactID string `bun:"contact_id,notnull"`
	Colour    string `bun:"colour,notnull"`
	Size      int64  `bun:"size,notnull"`
}

func (*gizmo) RecordType() string { return "gizmo" }

// widget is another record type of this test's own.
type widget struct {
	storage.Meta
	ContactID string `bun:"contact_id,notnull"`
}

func (*widget) RecordType() string { return "widget" }

const gizmoTable = `CREATE TABLE gizmos (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, version INTEGER NOT NULL,
	created_at TEXT NOT NULL, created_by TEXT NOT NULL, updated_at TEXT NOT NULL, updated_by TEXT NOT NULL,
	contact_id TEXT NOT NULL DEFAULT '', colour TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX gizmos_ws_contact ON gizmos (workspace_id, contact_id);
CREATE TABLE widgets (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, version INTEGER NOT NULL,
	created_at TEXT NOT NULL, created_by TEXT NOT NULL, updated_at TEXT NOT NULL, updated_by TEXT NOT NULL,
	contact_id TEXT NOT NULL DEFAULT '');
CREATE UNIQUE INDEX widgets_ws_contact ON widgets (workspace_id, contact_id);`

// gizmos is the test's module, its gizmos extending contacts as ext, with
// more types (whose tables its migration makes: widgets).
func gizmos(ext storage.Extension, more ...storage.RecordType) storage.Module {
	return storage.Module{Name: "gizmos", Requires: []string{"contacts"},
		Migrations: fstest.MapFS{"sqlite/0001_gizmos.sql": &fstest.MapFile{Data: []byte(gizmoTable)}},
		Types: append([]storage.RecordType{storage.Type[*gizmo]("gizmos", storage.TypeOptions{Extends: ext,
			Personal: storage.PersonalData{None: true}})}, more...)}
}

// TestExtensionLate registers a type extending contacts after the
// contacts module: the contacts service and the contact table, made
// before, filter and group contacts by the extending record's fields.
func TestExtensionLate(t *testing.T) {
	ctx := storage.WithWorkspace(t.Context(), "w")
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "crm.db"), sqlite.WithModules(contacts.Module()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	people := contacts.NewService(s, contacts.Options{})
	tbl := storage.TableOf[*contacts.Contact](s)
	ada, err := people.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := people.Contacts.Create(ctx, contacts.NewContact{FirstName: "Bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Count(ctx, storage.Eq("gizmo.colour", "red")); err == nil {
		t.Fatal("a filter by an extension no module declares yet succeeded")
	}
	if err := s.Register(ctx, gizmos(storage.Extension{Type: "contact", Name: "gizmo", Field: "contact_id"})); err != nil {
		t.Fatalf("register the extension: %v", err)
	}
	if err := storage.TableOf[*gizmo](s).Insert(ctx, &gizmo{ContactID: ada.ID, Colour: "red", Size: 3}); err != nil {
		t.Fatal(err)
	}
	if n, err := tbl.Count(ctx, storage.Eq("gizmo.colour", "red")); err != nil || n != 1 {
		t.Errorf("the earlier contact table counts %d contacts with a red gizmo (%v), want 1", n, err)
	}
	page, err := people.Contacts.Where(ctx, "gizmo.size > 2", storage.ListQuery{})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != ada.ID {
		t.Errorf("the earlier contacts service lists %d contacts with a big gizmo (%v), want Ada", len(page.Items), err)
	}
	if page, err = people.Contacts.Where(ctx, "gizmo.id == nil", storage.ListQuery{}); err != nil || len(page.Items) != 1 || page.Items[0].FirstName != "Bob" {
		t.Errorf("contacts without a gizmo: %d (%v), want Bob", len(page.Items), err)
	}
	rows, err := s.Aggregate(ctx, contacts.ObjectContact, storage.AggregateQuery{GroupBy: []string{"gizmo.colour"},
		Measures: []storage.Measure{{Op: storage.AggCount}}})
	if err != nil || len(rows) != 2 || rows[0].Group[0] != "red" || rows[1].Group[0] != nil {
		t.Errorf("contacts by their gizmo's colour = %+v (%v), want red and none", rows, err)
	}
	rec, err := people.Contacts.ExprRecord(ctx, ada)
	if g, _ := rec["gizmo"].(filterexpr.Record); err != nil || g["colour"] != "red" {
		t.Errorf("Ada's expression record lacks her gizmo: %v (%v)", rec["gizmo"], err)
	}
	refs := storage.ReferencesOf(s, contacts.ObjectContact)
	want := []storage.Reference{{Name: "account", Field: "account_id", Type: contacts.ObjectAccount},
		{Name: "gizmo", Field: "id", Type: "gizmo", Key: "contact_id"}}
	if !slices.Equal(refs, want) {
		t.Errorf("ReferencesOf(contact) = %+v, want %+v", refs, want)
	}
}

// TestExtensionRefused checks that Register refuses bad extensions, and
// registers nothing of the call.
func TestExtensionRefused(t *testing.T) {
	ctx := storage.WithWorkspace(t.Context(), "w")
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "crm.db"), sqlite.WithModules(contacts.Module()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := len(s.Types())
	widgetAs := func(name string) storage.RecordType {
		return storage.Type[*widget]("widgets", storage.TypeOptions{Extends: storage.Extension{Type: "contact", Name: name, Field: "contact_id"}})
	}
	for _, tc := range []struct {
		name string
		mod  storage.Module
		want string
	}{
		{"of an unknown type", gizmos(storage.Extension{Type: "spaceship", Name: "gizmo", Field: "contact_id"}), `extends "spaceship", not a record type`},
		{"by a number", gizmos(storage.Extension{Type: "contact", Name: "gizmo", Field: "size"}), `by "size", not a text field`},
		{"by no field", gizmos(storage.Extension{Type: "contact", Name: "gizmo", Field: "nope"}), `by "nope", not a text field`},
		{"without a name", gizmos(storage.Extension{Type: "contact", Field: "contact_id"}), "needs a record type, a name and a field"},
		{"without a type", gizmos(storage.Extension{Name: "gizmo", Field: "contact_id"}), "needs a record type, a name and a field"},
		{"of itself", gizmos(storage.Extension{Type: "gizmo", Name: "gizmo", Field: "contact_id"}), "extends itself"},
		{"named custom", gizmos(storage.Extension{Type: "contact", Name: "custom", Field: "contact_id"}), `"custom" cannot name a relation`},
		{"named with a dot", gizmos(storage.Extension{Type: "contact", Name: "giz.mo", Field: "contact_id"}), `"giz.mo" cannot name a relation`},
		{"named as a field", gizmos(storage.Extension{Type: "contact", Name: "email", Field: "contact_id"}), `"email" cannot name a relation`},
		{"named as a reference", gizmos(storage.Extension{Type: "contact", Name: "account", Field: "contact_id"}), `two references named "account"`},
		{"named twice", gizmos(storage.Extension{Type: "contact", Name: "gizmo", Field: "contact_id"}, widgetAs("gizmo")), `two references named "gizmo"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Register(ctx, tc.mod)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Register = %v, want an error with %q", err, tc.want)
			}
			if n := len(s.Types()); n != before {
				t.Errorf("a refused registration left %d types, had %d", n, before)
			}
		})
	}
	// Two extensions of one type under their own names are fine.
	if err := s.Register(ctx, gizmos(storage.Extension{Type: "contact", Name: "gizmo", Field: "contact_id"}, widgetAs("widget"))); err != nil {
		t.Fatalf("two extensions of contacts: %v", err)
	}
}
