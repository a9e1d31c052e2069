package storage

import "context"

// Transactor runs functions in a transaction.
type Transactor interface {
	// RunInTx runs fn in a transaction, committed when fn returns nil and
	// rolled back otherwise. Every store call made with the context fn gets
	// joins the transaction; a RunInTx inside it joins the same one.
	RunInTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// TxReporter is an optional capability of a Transactor: whether ctx is
// inside one of its transactions. A domain that would run store calls on
// several goroutines at once (a campaign send records one batch while it
// renders the next) does so only outside a transaction, whose calls must
// come one at a time.
type TxReporter interface {
	// InTx reports whether ctx carries a transaction of the store.
	InTx(ctx context.Context) bool
}

// InTx reports whether ctx is inside a transaction of tx; true when tx
// cannot tell (it is no TxReporter), the safe answer for a caller that
// would go concurrent only outside one.
func InTx(ctx context.Context, tx Transactor) bool {
	r, ok := tx.(TxReporter)
	return !ok || r.InTx(ctx)
}

// HostTransactor is an optional capability of a Transactor: a transaction
// for the host's own code, such as the function crm.CRM.RunInTx runs, in
// which each store call runs under a savepoint of its own, so that a call
// that fails has written nothing and leaves the transaction usable (on
// Postgres a failed statement would otherwise abort it).
type HostTransactor interface {
	// RunInHostTx is RunInTx, each store call fn makes undone alone when
	// it fails; fn's own error rolls everything back.
	RunInHostTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Locker is an optional capability of a Transactor: a lock on a name,
// taken in the context's transaction and held until it ends, so that
// transactions taking the same name run their locked parts one after the
// other. Names are per workspace. Upsert takes one on its key.
type Locker interface {
	// Lock waits for the lock on name in ctx's workspace and takes it; it
	// fails outside a transaction.
	Lock(ctx context.Context, name string) error
}

// Lock takes the lock on name in ctx's transaction when tx is a Locker;
// with a store that has no locks it does nothing.
func Lock(ctx context.Context, tx Transactor, name string) error {
	if l, ok := tx.(Locker); ok {
		return l.Lock(ctx, name)
	}
	return nil
}

// Table is the one generic CRUD path every record type goes through. An
// adapter implements it once; every write appends its change event in the
// same transaction, keeps the search index and the link index up to date,
// and is confined to the context's workspace.
type Table[T Record] interface {
	// Insert stores a new record. The store sets its Meta: a new ID unless
	// one is set, the context's workspace and actor, version 1, the times.
	// A taken unique field is a *ConflictError (ErrConflict).
	Insert(ctx context.Context, rec T, opts ...WriteOption) error
	// Get returns the record with id in the context's workspace, or ErrNotFound.
	Get(ctx context.Context, id string) (T, error)
	// Update stores next in place of prev. prev is the record as it was read:
	// the write succeeds only if the stored version is still prev's version,
	// else it is ErrStale. The event lists the fields that differ between
	// prev and next; when none differ, nothing is written. next's Meta is
	// updated.
	Update(ctx context.Context, prev, next T, opts ...WriteOption) error
	// Delete removes prev, if its stored version is still prev's (else ErrStale).
	Delete(ctx context.Context, prev T, opts ...WriteOption) error
	// List returns one page of the records the query selects.
	List(ctx context.Context, q ListQuery) (Page[T], error)
	// Count returns how many records the filter matches.
	Count(ctx context.Context, f Filter) (int64, error)
}

// WriteOptions adjust one write of a Table.
type WriteOptions struct {
	// EventType replaces the default event type ("<type>.created",
	// "<type>.updated", "<type>.deleted").
	EventType string
	// EventID is the event's ID instead of a new one, so that the caller
	// can name the event later (an undo names the merge it undoes). It must
	// be a new UUID (NewID).
	EventID string
	// Changes are appended to the changes the store lists in the event:
	// what a domain records besides the record's own fields, such as the
	// snapshot of a merged record (see SnapshotPrefix). With them, an
	// Update that changes no field still writes its event (and the
	// record's new version).
	Changes []Change
	// Restore makes Insert keep the record's CreatedAt and CreatedBy and
	// continue its version (the stored one is Version+1): the record is one
	// removed earlier coming back under its ID, such as the loser of an
	// undone merge.
	Restore bool
	// NoEvent makes an Insert write no change event for its records: for
	// rows in bulk that another event of the same transaction reports,
	// such as the messages of a batch of a campaign send, which the
	// email's batch event counts. Nothing that follows the change feed
	// sees them (workflow rules, segment and score upkeep, the records'
	// History); their links, search entries, rollups and AfterWrite hooks
	// are written as for any insert. Update and Delete refuse it: a
	// record's later changes are always in the feed.
	NoEvent bool
}

// WriteOption sets a field of WriteOptions.
type WriteOption func(*WriteOptions)

// WithEventType makes the write's change event of type t.
func WithEventType(t string) WriteOption {
	return func(o *WriteOptions) { o.EventType = t }
}

// WithEventID gives the write's change event the ID id (see
// WriteOptions.EventID).
func WithEventID(id string) WriteOption {
	return func(o *WriteOptions) { o.EventID = id }
}

// WithEventChanges appends changes to the write's change event (see
// WriteOptions.Changes).
func WithEventChanges(changes ...Change) WriteOption {
	return func(o *WriteOptions) { o.Changes = append(o.Changes, changes...) }
}

// Restoring makes an Insert bring back a removed record (see
// WriteOptions.Restore).
func Restoring() WriteOption {
	return func(o *WriteOptions) { o.Restore = true }
}

// WithoutEvent makes an Insert write no change event (see
// WriteOptions.NoEvent).
func WithoutEvent() WriteOption {
	return func(o *WriteOptions) { o.NoEvent = true }
}

// SearchQuery asks the full-text index.
type SearchQuery struct {
	// Text is what the user typed; each word matches as a prefix, and a hit
	// has every word (or, with Match MatchAny, at least one; with
	// MatchPhrase, all of them whole and in a row). At most 16 words.
	Text string
	// Types keeps hits of these record types; empty keeps all.
	Types []string
	// Limit caps the hits; 0 means 20.
	Limit int
	// Match says how many of the words a hit needs. Default: MatchAll.
	Match SearchMatch
}

// SearchMatch is how many of a search's words a hit needs.
type SearchMatch string

// The search matches.
const (
	// MatchAll: a hit has every word, as a prefix of one of its words
	// (what a user typing in a search box expects).
	MatchAll SearchMatch = ""
	// MatchAny: a hit has at least one of the words; a record with more of
	// them (and rarer ones) ranks first. For finding related records from
	// a text, such as the articles that may answer a case.
	MatchAny SearchMatch = "any"
	// MatchPhrase: a hit has the words together and in order, each whole
	// (not as a prefix): for an exact value such as an email address or a
	// phone number, whose common parts ("example", "com") would match
	// every record as words.
	MatchPhrase SearchMatch = "phrase"
)

// SearchHit is one record found by a search.
type SearchHit struct {
	// Ref is the record found.
	Ref Ref
	// Title is the record's search title, such as a person's name.
	Title string
	// Rank orders hits: lower is better.
	Rank float64
}

// Searcher queries the full-text index of the context's workspace.
type Searcher interface {
	// Search returns the best hits first.
	Search(ctx context.Context, q SearchQuery) ([]SearchHit, error)
}
