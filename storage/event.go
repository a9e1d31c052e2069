package storage

import (
	"context"
	"encoding/json"
	"time"
)

// Event is one entry of the change log. Every write appends one in the same
// transaction, so the log is at once the audit trail, the timeline's source,
// the outbox the workflow engine consumes and the change feed a host reads.
type Event struct {
	// Seq is the event's position in the store; it grows with every event.
	Seq int64 `json:"seq"`
	// ID is the event's UUIDv7; use it to make consumers idempotent.
	ID string `json:"id"`
	// WorkspaceID is the workspace of the subject.
	WorkspaceID string `json:"workspace_id"`
	// Type is "<record type>.<what happened>", such as "contact.created",
	// "contact.updated" or "contact.deleted".
	Type string `json:"type"`
	// Subject is the record the event is about.
	Subject Ref `json:"subject"`
	// Actor is who made the change (see WithActor).
	Actor string `json:"actor"`
	// OccurredAt is the time of the write, in UTC.
	OccurredAt time.Time `json:"occurred_at"`
	// Changes lists each field that changed, with its old and new values. A
	// created record lists its non-empty fields with no old value; a deleted
	// one its non-empty fields with no new value.
	Changes []Change `json:"changes,omitempty"`
	// Depth counts the workflow actions that led to the write: 0 for a
	// write of a person or a program, n+1 for a write made by a rule that
	// an event of depth n set off (see WithDepth). The workflow engine
	// stops chains of rules at a limit by it.
	Depth int `json:"depth,omitempty"`
}

// Change is one changed field of an Event. Values are JSON, as the field's Go
// value marshals; a missing value is absent (nil).
type Change struct {
	// Field is the field's name, such as "email" or "custom.tier".
	Field string `json:"field"`
	// Old is the value before the change, or nil.
	Old json.RawMessage `json:"old,omitempty"`
	// New is the value after the change, or nil.
	New json.RawMessage `json:"new,omitempty"`
}

// SnapshotPrefix starts the names of the changes that hold whole records
// rather than one field's values, such as "snapshot.loser", the record a
// merge removed (see contacts.Contacts.Merge). A snapshot holds every field
// of its record, so a reader whose role hides any field of the event's
// subject type does not see the snapshot changes of its events.
const SnapshotPrefix = "snapshot."

// Change returns the change of field, and whether the event has one.
func (e Event) Change(field string) (Change, bool) {
	for _, c := range e.Changes {
		if c.Field == field {
			return c, true
		}
	}
	return Change{}, false
}

// Feed is one read of the change feed.
type Feed struct {
	// Events are the events after the cursor that was read from, oldest first.
	Events []Event
	// Cursor is where the next read starts. It is set even when Events is
	// empty, so a consumer can store it and poll again.
	Cursor string
}

// FeedFilter selects events of the change feed: those of one of Types
// (such as "order.paid") and about a record of one of RecordTypes (such as
// "order"); an empty list keeps all.
type FeedFilter struct {
	Types       []string
	RecordTypes []string
	// AllWorkspaces reads the events of every workspace, in one order with
	// one cursor (each Event names its WorkspaceID): for a system reader
	// such as an ERP sync serving all tenants. It needs the system
	// principal (AsSystem, or no principal on a store that does not require
	// one), else ErrForbidden; under row-level security, where a statement
	// sees one workspace, it is ErrInvalid. Cursors of one workspace's
	// feed and of all workspaces' are not interchangeable.
	AllWorkspaces bool
}

// EventLog reads the change log of the context's workspace.
type EventLog interface {
	// ChangeFeed returns up to limit events committed after cursor ("" reads
	// from the start), oldest first. A reader never misses a committed event
	// and never sees a rolled-back one. A page of fewer than limit events
	// (the reader is at the end) has a cursor past every event the call
	// looked at, those the principal may not read included, so a reader of
	// few of the events does not read the same others again.
	ChangeFeed(ctx context.Context, cursor string, limit int) (Feed, error)
	// ChangeFeedOf is ChangeFeed of only the events f keeps, selected in
	// the store: an ERP sync that wants the orders' events reads no page
	// of the others. Its cursors are those of ChangeFeed.
	ChangeFeedOf(ctx context.Context, cursor string, limit int, f FeedFilter) (Feed, error)
	// History returns the events of one record, newest first.
	History(ctx context.Context, subjectID string, q PageQuery) (Page[Event], error)
	// Event returns the event with id, if the context's principal may read
	// its subject (as History), or ErrNotFound.
	Event(ctx context.Context, id string) (Event, error)
}

// LinkIndex answers from the store's index of links (Linked.Links), over
// every record of the context's workspace whoever may read it: for checks
// such as "nothing refers to a merged record any more", not for display.
type LinkIndex interface {
	// LinkedFrom returns up to limit records that link to ref.
	LinkedFrom(ctx context.Context, ref Ref, limit int) ([]Ref, error)
}

// Scrubber removes personal data from the change log: erasure under the
// GDPR reaches past events too.
type Scrubber interface {
	// ScrubEvents removes the changes (old and new values) of every event
	// of the given records in the context's workspace, keeping the events
	// themselves (type, subject, actor, time) as the audit trail of what
	// happened. Stores with a full-text index also compact it, so that no
	// deleted text lingers in its pages.
	ScrubEvents(ctx context.Context, subjectIDs ...string) error
	// Tombstone records hash (a keyed hash of an erased identifier) in the
	// context's workspace; Tombstoned reports whether it is recorded.
	Tombstone(ctx context.Context, hash string) error
	Tombstoned(ctx context.Context, hash string) (bool, error)
}
