package storage

import (
	"context"
	"fmt"
	"io/fs"
	"reflect"
	"regexp"
	"sync"
)

// Module describes one module of the CRM to a store, in storage terms: the
// record types it keeps and the migrations that make their tables. Every
// domain package has one (contacts.Module, sales.Module, workflow.Module);
// a host application describes its own record types, its custom objects,
// the same way and gives the module to crm.New (crm.Config.Modules), which
// registers it with the store.
//
// A store runs each module's migrations as a line of its own (see
// Migrations) and serves each record type through the one generic path
// (TableOf): change events, search, links, access scopes, field rules and
// the expression filters come with it.
type Module struct {
	// Name names the module and its migration line: lower-case letters,
	// digits and _, starting with a letter, unique among a store's modules.
	Name string
	// Requires names the modules whose migrations run before this one's,
	// so that their tables exist when its migrations run.
	Requires []string
	// Migrations holds the line's migrations: one directory per dialect
	// ("sqlite", "postgres"), each with files NNNN_name.sql numbered from
	// 0001 without gaps. A store applies each file once, in its own
	// transaction, and records it as (line, version) with a checksum of its
	// text: a migration edited after it was applied, or a gap in the
	// numbers, is refused with an error naming the file. Nil: the module
	// has no tables of its own.
	Migrations fs.FS
	// Types are the module's record types, each made by Type.
	Types []RecordType
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Check reports what is wrong with the module's description: its name, a
// type without a table, two types of one name. The error is a
// *ValidationError.
func (m Module) Check() error {
	var v ValidationError
	if !nameRE.MatchString(m.Name) {
		v.Add("name", "%q is not a module name (lower-case letters, digits and _, starting with a letter)", m.Name)
	}
	seen := map[string]bool{}
	for i, t := range m.Types {
		f := fmt.Sprintf("types[%d]", i)
		switch {
		case t.goType == nil:
			v.Add(f, "is not made by storage.Type")
		case t.table == "":
			v.Add(f, "record type %q has no table", t.name)
		case seen[t.name]:
			v.Add(f, "record type %q is given twice", t.name)
		}
		seen[t.name] = true
	}
	return v.Err()
}

// RecordType describes one record type of a module: its Go type, its table
// and what the store does besides storing it (TypeOptions). Make one with
// Type.
type RecordType struct {
	name    string
	table   string
	goType  reflect.Type // a pointer to a struct
	options TypeOptions
}

// Type describes the record type T, a pointer to a struct that embeds Meta
// and maps its fields to columns with bun struct tags, stored in table (a
// name starting with "crm_" for the CRM's own modules; a host's tables may
// be named as it likes, but must not collide with them). T's RecordType
// names the type. Optional interfaces of T add behaviour: Searchable (the
// full-text index), Linked (the link index: timelines, merges, "related"),
// Referrer (filters on related records' fields), Preparer (fields derived
// before every write). With TypeOptions.Extends, the filters of another
// type compare fields of T's records.
//
// It panics when T is not a pointer to a struct, a programming error.
func Type[T Record](table string, opts TypeOptions) RecordType {
	t := reflect.TypeFor[T]()
	return RecordType{name: typeNameOf(t), table: table, goType: t, options: opts}
}

// Name returns the record type's name, such as "contact".
func (t RecordType) Name() string { return t.name }

// Table returns the name of the type's table.
func (t RecordType) Table() string { return t.table }

// GoType returns the record's Go type, a pointer to a struct.
func (t RecordType) GoType() reflect.Type { return t.goType }

// Options returns what the store does besides storing the records.
func (t RecordType) Options() TypeOptions { return t.options }

// HasField reports whether the type has the stored field name, such as
// "custom" for a type with custom fields.
func (t RecordType) HasField(name string) bool {
	_, ok := goNames(t.goType)[name]
	return ok
}

// New returns a new zero record of the type.
func (t RecordType) New() Record { return reflect.New(t.goType.Elem()).Interface().(Record) }

// TypeOptions say what a store does with a record type besides storing it.
// The zero value stores the records and nothing more.
type TypeOptions struct {
	// Access is how the built-in roles treat the type. Default: AccessOwned.
	Access AccessClass
	// AfterWrite runs in the transaction of every write of a record of the
	// type, after the row is written, with the stored record before and
	// after (prev is nil for a create, next nil for a delete): derived data
	// kept exact at every commit, such as the last activity of the
	// contacts an activity is about. An error fails the write.
	AfterWrite func(ctx context.Context, s HookStore, prev, next Record) error
	// Rollups are running totals of the records grouped by some of their
	// fields, kept exact at every commit (see Rollups).
	Rollups []Rollup
	// TimelineAt names the time field at which a record of the type shows
	// in the timelines of the records it links to (Linked), such as an
	// activity's "occurred_at". Empty: the records themselves are not
	// timeline entries.
	TimelineAt string
	// TimelineEvents makes the change events of a record of the type show
	// in the timelines of the records it links to, such as an order's in
	// its contact's and account's timelines.
	TimelineEvents bool
	// TimelineField names the field that holds the ID of the one record
	// in whose timeline a record of the type shows (with TimelineAt or
	// TimelineEvents), read through an index of the type's table that
	// leads with (workspace_id, field), instead of the records' Links:
	// for records in bulk that each name one record, such as a campaign
	// send's messages and their contact, where a link row per record and
	// its index entry were a tenth of the send. Empty: the timelines of
	// what the records link to.
	TimelineField string
	// Personal says where the type keeps personal data, for access
	// requests, erasure and anonymisation (see PersonalData).
	Personal PersonalData
	// Extends says that the records of the type extend those of another
	// type one to one, so that filters on that type compare their fields
	// under a name of their own: a retention module's customer_rfm
	// records extend contacts, and contacts are filtered by
	// "rfm.segment == 'at_risk'" (see Extension). The zero value extends
	// nothing.
	Extends Extension
}

// Extension says that the records of a type extend those of another
// type one to one: at most one per record of Type, found by Field, which
// holds the extended record's ID. Filters on Type then compare the
// extending record's fields as "<Name>.<field>" ("rfm.segment",
// "rfm.custom.note") as they compare those of a record Type refers to,
// and its module need not know the extending one: to Type the extension
// is the reference
//
//	Reference{Name: Name, Field: "id", Type: <the extending type>, Key: Field}
//
// which ReferencesOf lists. A store reads the extending record as the
// context's principal may read it (one it may not read is missing, its
// hidden fields are ErrForbidden in filters), as for every reference.
//
// The module that declares the extension keeps it one to one and its
// look-up cheap: its migrations create a unique index of the extending
// type's table on (workspace_id, <Field>), which serves the look-up of
// the extending record by the extended one's ID. A store refuses, at
// Register, an extension of a type it does not have, by a field that is
// not a text field of the extending type, or under a name that is empty,
// "custom", holds a "." or is already a field or reference name of Type.
type Extension struct {
	// Type is the record type extended: "contact".
	Type string
	// Name is how filters on Type name the extending record: "rfm".
	Name string
	// Field is the extending record's text field holding the extended
	// record's ID: "contact_id".
	Field string
}

// ReferencesOf returns every reference of recordType's records in s: the
// type's own (Referrer), in its order, then the extensions that the types
// of s declare on it (TypeOptions.Extends), in registration order, each as
// the Reference that Extension describes. It returns nil when s has no
// such type. It checks nothing: a store refuses bad references when their
// modules register.
func ReferencesOf(s Tables, recordType string) []Reference {
	t, ok := s.Table(recordType)
	if !ok {
		return nil
	}
	var out []Reference
	if r, ok := t.Type().New().(Referrer); ok {
		out = append(out, r.References()...)
	}
	for _, ty := range s.Types() {
		if e := ty.Options().Extends; e.Type == recordType {
			out = append(out, Reference{Name: e.Name, Field: "id", Type: ty.Name(), Key: e.Field})
		}
	}
	return out
}

// AccessClass is how the built-in roles (admin, manager, rep, read_only)
// treat a record type.
type AccessClass string

// The access classes.
const (
	// AccessOwned: records with an owner and a team (owner_id, team_id;
	// created_by stands for the owner of a type without one), read and
	// changed as each role's grant of "*" says: reps their team's and their
	// own, managers all and their team's, read_only reads all.
	AccessOwned AccessClass = ""
	// AccessConfig: configuration and catalogues (custom fields, pipelines,
	// products, rules): every role reads them, only admins change them.
	AccessConfig AccessClass = "config"
)

// Preparer is a record that derives some of its fields from others before
// every write (an opportunity's expected revenue from its amount and
// probability). The store calls Prepare before it compares and stores the
// record, whoever writes it.
type Preparer interface {
	Record
	// Prepare sets the record's derived fields.
	Prepare()
}

// Rollup is a running total of a record type: the count of the records,
// and the sums of some integer fields, grouped by up to three fields, kept
// by the store in the transaction of every write so that reading it costs
// one indexed read whatever the number of records (a pipeline's totals per
// stage and currency over a million deals).
type Rollup struct {
	// Name names the rollup among the type's.
	Name string
	// Keys are the fields grouped by (1 to 3): text fields, such as
	// "pipeline_id", "stage", "currency".
	Keys []string
	// Sums are the integer fields summed (0 to 3), such as "amount".
	Sums []string
}

// HookStore is what an AfterWrite hook may use, with the write's context
// (and so in its transaction): the generic path of every registered record
// type, and the fields the store keeps itself.
type HookStore interface {
	Tables
	// Advance sets field, a field the store keeps itself (struct tag
	// crm:"derived"), of the records ids of recordType to value where its
	// stored value is lower, without a change event.
	Advance(ctx context.Context, recordType string, ids []string, field string, value any) error
	// Add adds deltas to integer fields the store keeps itself (struct tag
	// crm:"derived"), by name, of the record id of recordType, in one
	// statement and without a change event: counters that concurrent
	// writers keep exact, such as an article's helpfulness votes.
	Add(ctx context.Context, recordType, id string, deltas map[string]int64) error
}

// RecordTable is the generic path of one registered record type, untyped:
// its records are Record values of the type's Go type. Code that knows the
// type uses TableOf, which gives a Table of it; code that serves every
// type (the workflow engine, an HTTP API, reports) uses this one.
type RecordTable interface {
	// Type returns the record type the table serves.
	Type() RecordType
	// Insert inserts recs as Table.Insert does each, with one multi-row
	// statement per table where the store can.
	Insert(ctx context.Context, recs []Record, opts ...WriteOption) error
	// Get returns the record with id, or ErrNotFound.
	Get(ctx context.Context, id string) (Record, error)
	// Update stores next[i] in place of prev[i] for every i, as
	// Table.Update does each.
	Update(ctx context.Context, prev, next []Record, opts ...WriteOption) error
	// Delete removes prev, as Table.Delete does.
	Delete(ctx context.Context, prev Record, opts ...WriteOption) error
	// List returns one page of the records q selects.
	List(ctx context.Context, q ListQuery) (Page[Record], error)
	// Count returns how many records f matches.
	Count(ctx context.Context, f Filter) (int64, error)
}

// Tables gives the generic path of every record type registered with a
// store.
type Tables interface {
	// Table returns the table of recordType, and false when no registered
	// module has the type.
	Table(recordType string) (RecordTable, bool)
	// Types returns the registered record types, in registration order.
	Types() []RecordType
}

// Registrar is a store that modules register with: their record types get
// the generic path and their migration lines are brought up to date.
// crm.New registers the built-in modules and the host's.
type Registrar interface {
	// Register adds mods, in order; a module registered already is
	// skipped.
	Register(ctx context.Context, mods ...Module) error
}

// TableOf returns the table of the record type T in s. When s has no such
// type (its module is not registered), every call of the table fails with
// an error that says so, wrapping ErrInvalid.
func TableOf[T Record](s Tables) Table[T] {
	t := reflect.TypeFor[T]()
	name := typeNameOf(t)
	rt, ok := s.Table(name)
	switch {
	case !ok:
		return missingTable[T]{fmt.Errorf("%w: record type %q is not registered with the store (its module is not: crm.New registers the built-in ones and Config.Modules)", ErrInvalid, name)}
	case rt.Type().GoType() != t:
		return missingTable[T]{fmt.Errorf("%w: record type %q is registered as %s, not %s", ErrInvalid, name, rt.Type().GoType(), t)}
	}
	return typedTable[T]{rt}
}

var typeNames sync.Map // reflect.Type → string

// typeNameOf returns the RecordType of a new zero value of t, a pointer to
// a struct that implements Record.
func typeNameOf(t reflect.Type) string {
	if n, ok := typeNames.Load(t); ok {
		return n.(string)
	}
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("storage: a record type must be a pointer to a struct, not %s", t))
	}
	n := reflect.New(t.Elem()).Interface().(Record).RecordType()
	typeNames.Store(t, n)
	return n
}

// TypeName returns the record type name of T, such as "contact" for
// *contacts.Contact.
func TypeName[T Record]() string { return typeNameOf(reflect.TypeFor[T]()) }

// typedTable is a RecordTable seen as a Table of its type.
type typedTable[T Record] struct{ t RecordTable }

var _ batchWriter[Record] = typedTable[Record]{}

func (tt typedTable[T]) Insert(ctx context.Context, rec T, opts ...WriteOption) error {
	return tt.t.Insert(ctx, []Record{rec}, opts...)
}

func (tt typedTable[T]) InsertMany(ctx context.Context, recs []T, opts ...WriteOption) error {
	return tt.t.Insert(ctx, records(recs), opts...)
}

func (tt typedTable[T]) Get(ctx context.Context, id string) (T, error) {
	r, err := tt.t.Get(ctx, id)
	if err != nil {
		var zero T
		return zero, err
	}
	return r.(T), nil
}

func (tt typedTable[T]) Update(ctx context.Context, prev, next T, opts ...WriteOption) error {
	return tt.t.Update(ctx, []Record{prev}, []Record{next}, opts...)
}

func (tt typedTable[T]) UpdateMany(ctx context.Context, prev, next []T, opts ...WriteOption) error {
	return tt.t.Update(ctx, records(prev), records(next), opts...)
}

func (tt typedTable[T]) Delete(ctx context.Context, prev T, opts ...WriteOption) error {
	return tt.t.Delete(ctx, prev, opts...)
}

func (tt typedTable[T]) List(ctx context.Context, q ListQuery) (Page[T], error) {
	p, err := tt.t.List(ctx, q)
	if err != nil {
		return Page[T]{}, err
	}
	out := Page[T]{Items: make([]T, len(p.Items)), Next: p.Next}
	for i, r := range p.Items {
		out.Items[i] = r.(T)
	}
	return out, nil
}

func (tt typedTable[T]) Count(ctx context.Context, f Filter) (int64, error) {
	return tt.t.Count(ctx, f)
}

// Untyped returns the RecordTable a Table made by TableOf serves, or nil.
func Untyped[T Record](t Table[T]) RecordTable {
	if tt, ok := t.(typedTable[T]); ok {
		return tt.t
	}
	return nil
}

func records[T Record](recs []T) []Record {
	out := make([]Record, len(recs))
	for i, r := range recs {
		out[i] = r
	}
	return out
}

// missingTable is the table of a record type no module registered: every
// call fails with err.
type missingTable[T Record] struct{ err error }

func (m missingTable[T]) Insert(context.Context, T, ...WriteOption) error { return m.err }
func (m missingTable[T]) Get(context.Context, string) (T, error) {
	var zero T
	return zero, m.err
}
func (m missingTable[T]) Update(context.Context, T, T, ...WriteOption) error { return m.err }
func (m missingTable[T]) Delete(context.Context, T, ...WriteOption) error    { return m.err }
func (m missingTable[T]) List(context.Context, ListQuery) (Page[T], error) {
	return Page[T]{}, m.err
}
func (m missingTable[T]) Count(context.Context, Filter) (int64, error) { return 0, m.err }

// MigrationDir returns the directory dir of fsys, the embedded files of a
// module, as its Migrations:
//
//	//go:embed migrations
//	var migrationFiles embed.FS
//	… Migrations: storage.MigrationDir(migrationFiles, "migrations") …
//
// It panics when dir is not a valid path, a programming error.
func MigrationDir(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(fmt.Sprintf("storage: MigrationDir(%q): %v", dir, err))
	}
	return sub
}
