package storage

import "time"

// Meta is the metadata every stored record embeds. The store fills it in:
// callers never set it, except Version, which an update compares with the
// stored one (optimistic locking).
type Meta struct {
	// ID is the record's UUIDv7 (see NewID).
	ID string `bun:"id,pk" json:"id"`
	// WorkspaceID is the tenant the record belongs to, taken from the context
	// of the call that created it.
	WorkspaceID string `bun:"workspace_id,notnull" json:"workspace_id"`
	// Version starts at 1 and grows by one with every update.
	Version int64 `bun:"version,notnull" json:"version"`
	// CreatedAt is when the record was created, in UTC with microsecond precision.
	CreatedAt time.Time `bun:"created_at,notnull" json:"created_at"`
	// CreatedBy is the actor that created the record.
	CreatedBy string `bun:"created_by,notnull" json:"created_by"`
	// UpdatedAt is when the record last changed, in UTC with microsecond precision.
	UpdatedAt time.Time `bun:"updated_at,notnull" json:"updated_at"`
	// UpdatedBy is the actor of the last change.
	UpdatedBy string `bun:"updated_by,notnull" json:"updated_by"`
}

// RecordMeta returns m itself; embedding Meta gives a type this method, which
// the Record interface asks for.
func (m *Meta) RecordMeta() *Meta { return m }

// Record is what every stored record type is: a struct that embeds Meta and
// names its type.
type Record interface {
	// RecordMeta returns a pointer to the record's embedded Meta.
	RecordMeta() *Meta
	// RecordType returns the record's type name, such as "contact". It is the
	// prefix of the record's change events ("contact.created").
	RecordType() string
}

// Searchable is a Record that is kept in the full-text search index.
type Searchable interface {
	Record
	// SearchTitle returns the short text shown for a search hit, such as a
	// person's full name.
	SearchTitle() string
	// SearchText returns every word the record should be found by.
	SearchText() string
}

// Ref names one record of any type.
type Ref struct {
	// Type is the record type, such as "contact".
	Type string `json:"type"`
	// ID is the record's ID.
	ID string `json:"id"`
}

// Linked is a Record that points at other records (an activity at its contacts
// and account, later a task at whatever it is about). The store keeps those
// links in an index so that the records pointed at can find it, for example
// for a contact's timeline.
type Linked interface {
	Record
	// Links returns the records this one points at.
	Links() []Ref
}

// Reference is a record that records of one type refer to by a field
// holding its ID, such as a contact's account. Filters compare its fields
// as "<Name>.<field>" ("account.industry", "account.custom.tier").
type Reference struct {
	// Name is how filters name the related record: "account".
	Name string
	// Field is the referring record's field that holds the related
	// record's ID: "account_id".
	Field string
	// Type is the related record's type: "account".
	Type string
	// Key is the related record's text field matched against Field:
	// "id" when empty, the related record's ID. Another field turns the
	// reference around, as an Extension does (Field "id", Key
	// "contact_id": the record whose contact_id is this one's ID). At most
	// one related record may hold a value of Key (a unique index), and an
	// index of the related type's table that leads with (workspace_id,
	// Key) serves the look-up; an empty Field then refers to no record.
	Key string
}

// KeyField returns the related record's field matched against Field: Key,
// or "id" when Key is empty.
func (r Reference) KeyField() string {
	if r.Key == "" {
		return "id"
	}
	return r.Key
}

// Referrer is a Record type whose filters may compare fields of the
// records it refers to. A store reads the related record as the context's
// principal may read it: one it may not read, like none, is a missing
// value. Other modules' types may add references to a type by extending it
// (TypeOptions.Extends); ReferencesOf lists both kinds.
type Referrer interface {
	Record
	// References returns the records this type refers to, by name.
	References() []Reference
}

// Now returns the current time as the store keeps it: UTC, truncated to the
// microsecond so that it survives a round trip through SQLite and Postgres
// unchanged.
func Now() time.Time { return Truncate(time.Now()) }

// Truncate returns t in UTC truncated to the microsecond, the precision the
// store keeps.
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
