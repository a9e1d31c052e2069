package storage

import (
	"context"
	"fmt"
)

// batchWriter is the optional capability of a Table that InsertMany and
// UpdateMany use: writing many records with a few multi-row statements
// instead of one round of statements per record. The tables of TableOf
// have it (RecordTable writes many at once).
//
// Each record is written exactly as Insert or Update writes it: its Meta
// set, the access checks and field rules applied, its change event (unless
// WithoutEvent), search document and links stored, in the context's transaction or one of its
// own. A record that fails (a taken unique field, a stale version) fails
// the whole call and nothing of the call is written; which record failed
// is not known, so a caller that must know writes again one record at a
// time (under a savepoint when it is inside a transaction, see
// RunInSavepoint).
type batchWriter[T Record] interface {
	// InsertMany inserts recs, as Insert does each.
	InsertMany(ctx context.Context, recs []T, opts ...WriteOption) error
	// UpdateMany stores next[i] in place of prev[i] for every i, as Update
	// does each; prev and next have the same length.
	UpdateMany(ctx context.Context, prev, next []T, opts ...WriteOption) error
}

// InsertMany inserts recs into tbl in one transaction (the context's, or
// one of its own): with tbl's multi-row writes when it has them, else one Insert
// per record.
func InsertMany[T Record](ctx context.Context, tx Transactor, tbl Table[T], recs []T, opts ...WriteOption) error {
	if len(recs) == 0 {
		return nil
	}
	if bw, ok := tbl.(batchWriter[T]); ok {
		return bw.InsertMany(ctx, recs, opts...)
	}
	return tx.RunInTx(ctx, func(ctx context.Context) error {
		for _, rec := range recs {
			if err := tbl.Insert(ctx, rec, opts...); err != nil {
				return err
			}
		}
		return nil
	})
}

// UpdateMany stores next[i] in place of prev[i] in tbl, in one transaction:
// with tbl's multi-row writes when it has them, else one Update per pair.
func UpdateMany[T Record](ctx context.Context, tx Transactor, tbl Table[T], prev, next []T, opts ...WriteOption) error {
	if len(prev) != len(next) {
		return fmt.Errorf("storage: UpdateMany got %d records before and %d after", len(prev), len(next))
	}
	if len(prev) == 0 {
		return nil
	}
	if bw, ok := tbl.(batchWriter[T]); ok {
		return bw.UpdateMany(ctx, prev, next, opts...)
	}
	return tx.RunInTx(ctx, func(ctx context.Context) error {
		for i := range prev {
			if err := tbl.Update(ctx, prev[i], next[i], opts...); err != nil {
				return err
			}
		}
		return nil
	})
}

// Savepointer is an optional capability of a Transactor: undoing part of a
// transaction.
type Savepointer interface {
	// RunInSavepoint runs fn so that, when fn returns an error, its writes
	// and only they are undone: inside the context's transaction under a
	// savepoint (the transaction goes on), outside one in a transaction of
	// its own (as RunInTx).
	RunInSavepoint(ctx context.Context, fn func(ctx context.Context) error) error
}

// RunInSavepoint runs fn with tx's RunInSavepoint when tx is a Savepointer,
// else with RunInTx (where a failed fn inside a transaction may leave the
// whole transaction to be rolled back).
func RunInSavepoint(ctx context.Context, tx Transactor, fn func(ctx context.Context) error) error {
	if sp, ok := tx.(Savepointer); ok {
		return sp.RunInSavepoint(ctx, fn)
	}
	return tx.RunInTx(ctx, fn)
}
