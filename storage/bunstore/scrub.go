package bunstore

import (
	"context"

	"github.com/crmkit/crm/storage"
)

// ScrubEvents implements storage.Scrubber, in the context's transaction
// (or a new one).
func (s *Store) ScrubEvents(ctx context.Context, subjectIDs ...string) error {
	if len(subjectIDs) == 0 {
		return nil
	}
	return s.write(ctx, "event", func(ctx context.Context) error {
		args := append([]any{storage.WorkspaceFrom(ctx)}, anys(subjectIDs)...)
		if _, err := s.exec(ctx, s.d.rebind("UPDATE crm_events SET changes = NULL WHERE workspace_id = ? AND subject_id IN ("+
			placeholders(len(subjectIDs))+")"), args...); err != nil {
			return err
		}
		if s.d.name() == "sqlite" {
			// FTS5 keeps the words of deleted documents in its segments
			// until they merge; optimize rewrites the index without them.
			_, err := s.exec(ctx, "INSERT INTO crm_search (crm_search) VALUES ('optimize')")
			return err
		}
		return nil
	})
}

// Tombstone implements storage.Scrubber.
func (s *Store) Tombstone(ctx context.Context, hash string) error {
	return s.write(ctx, "tombstone", func(ctx context.Context) error {
		_, err := s.exec(ctx, s.d.rebind("INSERT INTO crm_tombstones (workspace_id, hash, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
			storage.WorkspaceFrom(ctx), hash, s.d.timeArg(storage.Now()))
		return err
	})
}

// Tombstoned implements storage.Scrubber.
func (s *Store) Tombstoned(ctx context.Context, hash string) (bool, error) {
	return reading(ctx, s, func(ctx context.Context) (bool, error) {
		var one int
		return s.queryRow(ctx, "tombstone", s.d.rebind("SELECT 1 FROM crm_tombstones WHERE workspace_id = ? AND hash = ?"),
			[]any{storage.WorkspaceFrom(ctx), hash}, &one)
	})
}
