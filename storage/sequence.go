package storage

import "context"

// Sequencer hands out numbers without gaps: 1, 2, 3, … per workspace and
// sequence name, for quote and invoice numbers.
type Sequencer interface {
	// NextNumber returns the next number of the named sequence in the
	// context's workspace. It must run inside a transaction (RunInTx): the
	// number belongs to that transaction, and a rollback gives it back, so
	// committed numbers have no gaps. Concurrent transactions wait for each
	// other on the sequence.
	NextNumber(ctx context.Context, name string) (int64, error)
}
