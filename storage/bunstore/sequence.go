package bunstore

import (
	"context"
	"errors"

	"github.com/crmkit/crm/storage"
)

// NextNumber implements storage.Sequencer with one upsert on
// crm_sequences, in the caller's transaction.
func (s *Store) NextNumber(ctx context.Context, name string) (int64, error) {
	if txFrom(ctx, s) == nil {
		return 0, errors.New("bunstore: NextNumber needs a transaction (RunInTx), or its number could be lost")
	}
	if !storage.ValidKey(name) {
		return 0, storage.Invalid("sequence", "%q is not a sequence name", name)
	}
	return s.nextNumber(ctx, name)
}

// nextNumber moves the sequence name of the context's workspace on and
// returns its new value, in the context's transaction.
func (s *Store) nextNumber(ctx context.Context, name string) (int64, error) {
	var n int64
	_, err := s.queryRow(ctx, "sequence", s.d.rebind(`INSERT INTO crm_sequences (workspace_id, name, value) VALUES (?, ?, 1)
ON CONFLICT (workspace_id, name) DO UPDATE SET value = crm_sequences.value + 1 RETURNING value`), []any{storage.WorkspaceFrom(ctx), name}, &n)
	return n, err
}
