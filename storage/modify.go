package storage

import (
	"context"
	"errors"
	"fmt"
)

// Modify is the read-modify-write every service update goes through. In one
// transaction it reads the record id, checks that its version is version
// (when version is not 0), applies apply to a shallow copy, and stores the
// copy with tbl.Update, which fails with ErrStale if another writer got
// there first. apply gets the transaction's context: every store call it
// makes must use that one, not an outer context, or it runs outside the
// transaction (and on Postgres may wait for a pooled connection forever).
//
// apply must replace slices and maps it changes rather than change them in
// place, since the copy shares them with the record read. An error from
// apply aborts the update and nothing is written.
//
// With version 0 ("whatever is stored") a write that meets a newer version
// (ErrStale: another writer committed in between) reads the record again
// and applies apply to it, up to staleRetries times: concurrent AddTags on
// one record keep every tag. apply may so run more than once.
func Modify[R any, T interface {
	*R
	Record
}](ctx context.Context, tx Transactor, tbl Table[T], id string, version int64, apply func(ctx context.Context, next T) error, opts ...WriteOption) (T, error) {
	for attempt := 0; ; attempt++ {
		out, err := modifyOnce(ctx, tx, tbl, id, version, apply, opts...)
		if version != 0 || attempt >= staleRetries || !errors.Is(err, ErrStale) || ctx.Err() != nil {
			return out, err
		}
	}
}

// staleRetries bounds Modify's reads again after ErrStale.
const staleRetries = 100

func modifyOnce[R any, T interface {
	*R
	Record
}](ctx context.Context, tx Transactor, tbl Table[T], id string, version int64, apply func(ctx context.Context, next T) error, opts ...WriteOption) (T, error) {
	var out T
	err := tx.RunInTx(ctx, func(ctx context.Context) error {
		prev, err := tbl.Get(ctx, id)
		if err != nil {
			return err
		}
		if version != 0 && prev.RecordMeta().Version != version {
			return fmt.Errorf("%w: %s %s is at version %d, not %d", ErrStale,
				prev.RecordType(), id, prev.RecordMeta().Version, version)
		}
		cp := *prev
		next := T(&cp)
		if err := apply(ctx, next); err != nil {
			return err
		}
		if err := tbl.Update(ctx, prev, next, opts...); err != nil {
			return err
		}
		out = next
		return nil
	})
	return out, err
}

// ModifyRecord is Modify for code that serves every record type: in one
// transaction it reads the record id of t twice, the record as stored and
// a copy to change (so apply may change its maps and slices in place),
// checks the version when version is not 0 (else ErrStale), applies apply
// and stores the copy with t.Update. An error of apply aborts the update
// and nothing is written. It returns the record as stored.
func ModifyRecord(ctx context.Context, tx Transactor, t RecordTable, id string, version int64, apply func(ctx context.Context, next Record) error, opts ...WriteOption) (Record, error) {
	var out Record
	err := tx.RunInTx(ctx, func(ctx context.Context) error {
		prev, err := t.Get(ctx, id)
		if err != nil {
			return err
		}
		if version != 0 && prev.RecordMeta().Version != version {
			return fmt.Errorf("%w: %s %s is at version %d, not %d", ErrStale, prev.RecordType(), id, prev.RecordMeta().Version, version)
		}
		next, err := t.Get(ctx, id)
		if err != nil {
			return err
		}
		if err := apply(ctx, next); err != nil {
			return err
		}
		if err := t.Update(ctx, []Record{prev}, []Record{next}, opts...); err != nil {
			return err
		}
		out = next
		return nil
	})
	return out, err
}

// FirstOrCreate returns the first record of tbl that f selects, or, when
// there is none, the one create writes, and whether create wrote it: the
// get-or-create of a record a workspace holds once (its default pipeline,
// its standard price book, its duplicate rules). A unique index must make
// a second such record a conflict: when two callers create at once, one
// wins, and the other, getting ErrConflict from create, reads the winner's.
// create runs under a savepoint (RunInSavepoint), so that the conflict
// undoes only its own writes and a transaction the caller is in goes on.
func FirstOrCreate[T Record](ctx context.Context, tx Transactor, tbl Table[T], f Filter, create func(ctx context.Context) (T, error)) (T, bool, error) {
	var zero T
	for attempt := 0; ; attempt++ {
		page, err := tbl.List(ctx, ListQuery{Filter: f, PageQuery: PageQuery{Limit: 1}})
		if err != nil {
			return zero, false, err
		}
		if len(page.Items) > 0 {
			return page.Items[0], false, nil
		}
		var rec T
		err = RunInSavepoint(ctx, tx, func(ctx context.Context) error {
			var err error
			rec, err = create(ctx)
			return err
		})
		if errors.Is(err, ErrConflict) && attempt == 0 {
			continue
		}
		if err != nil {
			return zero, false, err
		}
		return rec, true, nil
	}
}

// Upsert writes the record of tbl whose field equals value, the
// create-or-update a host's sync runs ("this customer, by email or by our
// ID"). In one transaction, under a lock on the key (Lock, so that
// concurrent upserts of one key run one after the other and never both
// create), it reads the records with that value: with none, create writes
// a new one and created is true; with one, update writes the change of it
// and returns the new state; with more than one, it fails with a
// *ConflictError for field, since the key names no single record. A create
// that meets the unique index of field taken by a record written without
// the lock (ConflictError.ExistingID) updates that record instead. create
// runs under a savepoint, so the conflict leaves the transaction usable.
//
// field is a filterable field of tbl's type (a column, "custom.<name>");
// value is compared as Eq does, so it must already be normalised as stored
// values are.
func Upsert[T Record](ctx context.Context, tx Transactor, tbl Table[T], field string, value any,
	create func(ctx context.Context) (T, error), update func(ctx context.Context, prev T) (T, error)) (out T, created bool, err error) {
	var zero T
	recType := zero.RecordType()
	err = tx.RunInTx(ctx, func(ctx context.Context) error {
		if err := Lock(ctx, tx, fmt.Sprintf("upsert:%s:%s=%v", recType, field, value)); err != nil {
			return err
		}
		page, err := tbl.List(ctx, ListQuery{Filter: Eq(field, value), PageQuery: PageQuery{Limit: 2}})
		if err != nil {
			return err
		}
		switch len(page.Items) {
		case 0:
		case 1:
			out, err = update(ctx, page.Items[0])
			return err
		default:
			return &ConflictError{RecordType: recType, Field: field, Err: fmt.Errorf("more than one %s has %s %v", recType, field, value)}
		}
		err = RunInSavepoint(ctx, tx, func(ctx context.Context) error {
			var err error
			out, err = create(ctx)
			return err
		})
		var ce *ConflictError
		if !errors.As(err, &ce) || ce.Field != field || ce.ExistingID == "" {
			created = err == nil
			return err
		}
		prev, gerr := tbl.Get(ctx, ce.ExistingID)
		if gerr != nil {
			return errors.Join(err, gerr)
		}
		out, err = update(ctx, prev)
		return err
	})
	if err != nil {
		return zero, false, err
	}
	return out, created, nil
}

// Remove deletes the record id in a transaction, after checking that its
// version is version (when version is not 0). check, when not nil, may veto
// the delete with an error; nothing is written then.
func Remove[T Record](ctx context.Context, tx Transactor, tbl Table[T], id string, version int64, check func(ctx context.Context, prev T) error, opts ...WriteOption) error {
	return tx.RunInTx(ctx, func(ctx context.Context) error {
		prev, err := tbl.Get(ctx, id)
		if err != nil {
			return err
		}
		if version != 0 && prev.RecordMeta().Version != version {
			return fmt.Errorf("%w: %s %s is at version %d, not %d", ErrStale,
				prev.RecordType(), id, prev.RecordMeta().Version, version)
		}
		if check != nil {
			if err := check(ctx, prev); err != nil {
				return err
			}
		}
		return tbl.Delete(ctx, prev, opts...)
	})
}

// Lister lists one page of records at a time: a Table, or a RecordTable
// (T Record).
type Lister[T any] interface {
	List(ctx context.Context, q ListQuery) (Page[T], error)
}

// Each calls fn with every record of tbl (a Table or a RecordTable) that
// q selects, a page of q.Limit (default DefaultLimit) at a time, following
// the cursor; fn's error stops it. Memory holds one page, whatever the
// count.
func Each[T any](ctx context.Context, tbl Lister[T], q ListQuery, fn func(T) error) error {
	for {
		page, err := tbl.List(ctx, q)
		if err != nil {
			return err
		}
		for _, rec := range page.Items {
			if err := fn(rec); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
	}
}

// All returns every record of tbl (a Table or a RecordTable) that f
// selects, read a page of MaxLimit at a time: for sets known to be small
// (a contact's subscriptions, a workspace's segments).
func All[T any](ctx context.Context, tbl Lister[T], f Filter) ([]T, error) {
	var out []T
	err := Each(ctx, tbl, ListQuery{Filter: f, PageQuery: PageQuery{Limit: MaxLimit}}, func(r T) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// First returns the first record of tbl (a Table or a RecordTable) that f
// selects, in ID order: the one record of a key unique per workspace
// (a contact's score, a workspace's settings). None is ErrNotFound.
func First[T any](ctx context.Context, tbl Lister[T], f Filter) (T, error) {
	var zero T
	page, err := tbl.List(ctx, ListQuery{Filter: f, PageQuery: PageQuery{Limit: 1}})
	if err != nil {
		return zero, err
	}
	if len(page.Items) == 0 {
		return zero, fmt.Errorf("%w: no record matches", ErrNotFound)
	}
	return page.Items[0], nil
}
