// Package merge is the plumbing of merges for module authors: a Mover
// moves the records of one type that refer to a merged-away record (the
// loser) to the survivor, and back when the merge is undone. Each module
// gives one per pair of its record type and a type that can be merged
// (contacts.Options.Movers), so that a merge moves what every module
// holds without the merging module importing it; NewRepointer and
// NewIDRepointer make one from a field getter and setter, NewFieldMover
// one for any registered type from a field name.
package merge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/crmkit/crm/storage"
	"reflect"
)

// Moved is one record a merge changed besides the two records merged: a
// record that referred to the loser and refers to the survivor since, or a
// record the merge removed because the survivor already had its
// counterpart (such as a consent to the same purpose). Undoing the merge
// puts it back from here.
type Moved struct {
	// Ref is the record.
	Ref storage.Ref `json:"ref"`
	// Target is the type of the merged records, such as "contact".
	Target string `json:"target"`
	// Before holds the record's reference fields before the merge, as JSON;
	// for a removed record, the whole record.
	Before json.RawMessage `json:"before"`
	// After holds the reference fields as the merge left them; empty for a
	// removed record.
	After json.RawMessage `json:"after,omitempty"`
	// Removed is set when the merge deleted the record.
	Removed bool `json:"removed,omitempty"`
}

// Mover moves the records of one type that refer to a record of another
// type (the loser of a merge) so that they refer to a third record (the
// survivor), and back. Each module gives one per pair of its record type
// and a type that can be merged (contacts.Options.Movers), so that a merge
// moves what every module holds without the merging module importing it.
type Mover interface {
	// Type is the record type moved, such as "task".
	Type() string
	// Target is the record type referred to, such as "contact".
	Target() string
	// Move makes every record that refers to from refer to to, through the
	// generic write path (one event each), and returns one Moved per record
	// changed. Records that referred to both end up referring to to once.
	Move(ctx context.Context, from, to string) ([]Moved, error)
	// Undo puts back one record Move changed: its reference fields must
	// still be as Move left them, else ErrConflict naming the record. A
	// record no longer there is ErrNotFound.
	Undo(ctx context.Context, m Moved) error
}

// Repointer is the Mover of a record type whose references are a value
// of type F (an ID, a list of IDs, a list of Refs…) that the record gives
// and takes. Build it with NewRepointer.
type Repointer[R any, T interface {
	*R
	storage.Record
}, F any] struct {
	tx      storage.Transactor
	tbl     storage.Table[T]
	target  string
	get     func(T) F
	set     func(T, F)
	replace func(f F, from, to string) F
	find    func(from, to string) storage.Filter
	clash   func(ctx context.Context, moving T, to string) (drop T, ok bool, err error)
}

// NewRepointer returns the Mover of tbl's records that refer to records
// of type target: get returns a record's references, set replaces them,
// and replace returns f with every reference to from made a reference to
// to (once). The records moved are those that link to from (LinkedTo);
// see Find for others.
func NewRepointer[R any, T interface {
	*R
	storage.Record
}, F any](tx storage.Transactor, tbl storage.Table[T], target string, get func(T) F, set func(T, F), replace func(f F, from, to string) F) *Repointer[R, T, F] {
	return &Repointer[R, T, F]{tx: tx, tbl: tbl, target: target, get: get, set: set, replace: replace}
}

// NewIDRepointer returns the Mover of tbl's records whose reference to
// a record of type target is the one ID field that field points at.
func NewIDRepointer[R any, T interface {
	*R
	storage.Record
}](tx storage.Transactor, tbl storage.Table[T], target string, field func(T) *string) *Repointer[R, T, string] {
	return NewRepointer(tx, tbl, target, func(r T) string { return *field(r) }, func(r T, id string) { *field(r) = id }, ReplaceID)
}

// Find makes the records moved those that find(from, to) selects, for
// references the link index does not hold (a contact's account). It
// returns r.
func (r *Repointer[R, T, F]) Find(find func(from, to string) storage.Filter) *Repointer[R, T, F] {
	r.find = find
	return r
}

// Clash sets a check run before a record moves: when the survivor already
// has a record the moving one would collide with (one consent per contact
// and purpose), it returns the one of the two to remove, and ok. A removed
// record is a Moved with Removed set, and Undo inserts it again. It
// returns r.
func (r *Repointer[R, T, F]) Clash(clash func(ctx context.Context, moving T, to string) (drop T, ok bool, err error)) *Repointer[R, T, F] {
	r.clash = clash
	return r
}

// Type implements Mover.
func (r *Repointer[R, T, F]) Type() string { return T(new(R)).RecordType() }

// Target implements Mover.
func (r *Repointer[R, T, F]) Target() string { return r.target }

// Move implements Mover.
func (r *Repointer[R, T, F]) Move(ctx context.Context, from, to string) ([]Moved, error) {
	var out []Moved
	err := r.tx.RunInTx(ctx, func(ctx context.Context) error {
		filter := storage.Filter(storage.LinkedTo{Type: r.target, ID: from})
		if r.find != nil {
			filter = r.find(from, to)
		}
		// The IDs first: the records change under the pages otherwise.
		var ids []string
		err := storage.Each(ctx, r.tbl, storage.ListQuery{Filter: filter, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}, func(rec T) error {
			ids = append(ids, rec.RecordMeta().ID)
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			m, err := r.move(ctx, id, from, to)
			if err != nil {
				return fmt.Errorf("%s %s: %w", r.Type(), id, err)
			}
			out = append(out, m...)
		}
		return nil
	})
	return out, err
}

func (r *Repointer[R, T, F]) move(ctx context.Context, id, from, to string) ([]Moved, error) {
	var out []Moved
	if r.clash != nil {
		rec, err := r.tbl.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		drop, ok, err := r.clash(ctx, rec, to)
		if err != nil {
			return nil, err
		}
		if ok {
			whole, err := json.Marshal(drop)
			if err != nil {
				return nil, err
			}
			if err := r.tbl.Delete(ctx, drop); err != nil {
				return nil, err
			}
			out = append(out, Moved{Ref: storage.Ref{Type: r.Type(), ID: drop.RecordMeta().ID}, Target: r.target, Before: whole, Removed: true})
			if drop.RecordMeta().ID == id {
				return out, nil
			}
		}
	}
	var m Moved
	_, err := storage.Modify(ctx, r.tx, r.tbl, id, 0, func(ctx context.Context, next T) error {
		before := r.get(next)
		after := r.replace(before, from, to)
		b, err := json.Marshal(before)
		if err != nil {
			return err
		}
		a, err := json.Marshal(after)
		if err != nil {
			return err
		}
		r.set(next, after)
		m = Moved{Ref: storage.Ref{Type: r.Type(), ID: id}, Target: r.target, Before: b, After: a}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(m.Before, m.After) {
		out = append(out, m)
	}
	return out, nil
}

// Undo implements Mover.
func (r *Repointer[R, T, F]) Undo(ctx context.Context, m Moved) error {
	if m.Removed {
		rec := T(new(R))
		if err := json.Unmarshal(m.Before, rec); err != nil {
			return fmt.Errorf("%s %s: the removed record does not decode: %w", m.Ref.Type, m.Ref.ID, err)
		}
		return r.tbl.Insert(ctx, rec, storage.Restoring())
	}
	_, err := storage.Modify(ctx, r.tx, r.tbl, m.Ref.ID, 0, func(ctx context.Context, next T) error {
		cur, err := json.Marshal(r.get(next))
		if err != nil {
			return err
		}
		if !EqualJSON(cur, m.After) {
			return fmt.Errorf("%w: %s %s refers to other records than the merge left it with", storage.ErrConflict, m.Ref.Type, m.Ref.ID)
		}
		var before F
		if err := json.Unmarshal(m.Before, &before); err != nil {
			return fmt.Errorf("%s %s: the references before the merge do not decode: %w", m.Ref.Type, m.Ref.ID, err)
		}
		r.set(next, before)
		return nil
	})
	return err
}

// EqualJSON reports whether a and b are the same JSON value, whatever
// their spacing and order of object keys (Postgres's jsonb keeps
// neither); two empty values are equal.
func EqualJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var av, bv any
	if json.Unmarshal(a, &av) != nil || json.Unmarshal(b, &bv) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(av, bv)
}

// ReplaceID returns to when id is from, else id: the replace function of a
// reference held in one ID field.
func ReplaceID(id, from, to string) string {
	if id == from {
		return to
	}
	return id
}

// ReplaceIDs returns ids with from replaced by to, each ID once, in order.
func ReplaceIDs(ids []string, from, to string) []string {
	if ids == nil {
		return nil
	}
	out := make([]string, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		id = ReplaceID(id, from, to)
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// ReplaceRefs returns refs with the references to the record of type typ
// and ID from made references to to, each reference once, in order.
func ReplaceRefs(refs []storage.Ref, typ, from, to string) []storage.Ref {
	if refs == nil {
		return nil
	}
	out := make([]storage.Ref, 0, len(refs))
	seen := map[storage.Ref]bool{}
	for _, r := range refs {
		if r.Type == typ && r.ID == from {
			r.ID = to
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// errNoMover is returned for a moved record whose type no mover handles.
var errNoMover = errors.New("no mover for the record type")

// UndoMoved puts back, newest first, the records of moved with the mover
// of each one's type and target. Records no longer there are skipped and
// returned; any other error stops it.
func UndoMoved(ctx context.Context, movers []Mover, moved []Moved) (gone []storage.Ref, err error) {
	for i := len(moved) - 1; i >= 0; i-- {
		m := moved[i]
		var mv Mover
		for _, c := range movers {
			if c.Type() == m.Ref.Type && c.Target() == m.Target {
				mv = c
			}
		}
		if mv == nil {
			return gone, fmt.Errorf("%w: %s %s: %w", storage.ErrConflict, m.Ref.Type, m.Ref.ID, errNoMover)
		}
		if err := mv.Undo(ctx, m); err != nil {
			if errors.Is(err, storage.ErrNotFound) && !m.Removed {
				gone = append(gone, m.Ref)
				continue
			}
			return gone, err
		}
	}
	return gone, nil
}

// fieldMover is the Mover of a registered record type whose reference to
// a record of type target is one text field, for any type (NewFieldMover).
type fieldMover struct {
	tx     storage.Transactor
	t      storage.RecordTable
	field  string
	target string
}

// NewFieldMover returns the Mover of t's records whose field holds the ID
// of a record of type target (a host type's "contact_id"): the records
// whose field is the loser's ID get the survivor's, through the generic
// path. crm.New gives one for every reference of a host module's types to
// contacts and accounts.
func NewFieldMover(tx storage.Transactor, t storage.RecordTable, field, target string) Mover {
	return &fieldMover{tx: tx, t: t, field: field, target: target}
}

// Type implements Mover.
func (m *fieldMover) Type() string { return m.t.Type().Name() }

// Target implements Mover.
func (m *fieldMover) Target() string { return m.target }

// errUnchanged ends a ModifyRecord whose record holds another reference
// than the one to replace: nothing is written.
var errUnchanged = errors.New("merge: the reference is not the one to replace")

// set changes the field of record id to value when it is want, in one
// transaction; it reports whether it did.
func (m *fieldMover) set(ctx context.Context, id, want, value string) (bool, error) {
	_, err := storage.ModifyRecord(ctx, m.tx, m.t, id, 0, func(_ context.Context, next storage.Record) error {
		cur, ok := storage.FieldValue(next, m.field)
		if s, isText := cur.(string); !ok || !isText {
			return fmt.Errorf("merge: %s has no text field %q", m.Type(), m.field)
		} else if s != want {
			return errUnchanged
		}
		return storage.SetFields(next, map[string]any{m.field: value})
	})
	if errors.Is(err, errUnchanged) {
		return false, nil
	}
	return err == nil, err
}

// Move implements Mover.
func (m *fieldMover) Move(ctx context.Context, from, to string) ([]Moved, error) {
	var out []Moved
	err := m.tx.RunInTx(ctx, func(ctx context.Context) error {
		// The IDs first: the records change under the pages otherwise.
		var ids []string
		err := storage.Each(ctx, m.t, storage.ListQuery{Filter: storage.Eq(m.field, from), PageQuery: storage.PageQuery{Limit: storage.MaxLimit}},
			func(r storage.Record) error { ids = append(ids, r.RecordMeta().ID); return nil })
		if err != nil {
			return err
		}
		for _, id := range ids {
			changed, err := m.set(ctx, id, from, to)
			if err != nil {
				return fmt.Errorf("%s %s: %w", m.Type(), id, err)
			}
			if changed {
				b, _ := json.Marshal(from)
				a, _ := json.Marshal(to)
				out = append(out, Moved{Ref: storage.Ref{Type: m.Type(), ID: id}, Target: m.target, Before: b, After: a})
			}
		}
		return nil
	})
	return out, err
}

// Undo implements Mover.
func (m *fieldMover) Undo(ctx context.Context, mv Moved) error {
	var before, after string
	if json.Unmarshal(mv.Before, &before) != nil || json.Unmarshal(mv.After, &after) != nil {
		return fmt.Errorf("%s %s: the moved reference does not decode", mv.Ref.Type, mv.Ref.ID)
	}
	changed, err := m.set(ctx, mv.Ref.ID, after, before)
	if err == nil && !changed {
		err = fmt.Errorf("%w: %s %s refers to other records than the merge left it with", storage.ErrConflict, mv.Ref.Type, mv.Ref.ID)
	}
	return err
}
