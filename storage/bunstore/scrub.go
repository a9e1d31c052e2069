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
		ws := storage.WorkspaceFrom(ctx)
		in := "(" + placeholders(len(subjectIDs)) + ")"
		args := append([]any{ws}, anys(subjectIDs)...)
		// The workflow engine's copies go first, found through the
		// events they were made for: the jobs that match an event carry
		// it whole, and the runs about a subject keep it in their data.
		// A run still going is ended (exited), its jobs cancelled; the
		// run's history stays, without the data or the errors, which
		// may quote it.
		ids := anys(subjectIDs)
		twice := append(append([]any{ws}, ids...), args...) // ws, ids, ws, ids
		for _, u := range []struct {
			q    string
			args []any
		}{
			{`UPDATE crm_jobs SET payload = NULL, last_error = '', errors = NULL,
 state = CASE WHEN state IN ('available', 'running') THEN 'cancelled' ELSE state END
 WHERE workspace_id = ? AND kind = 'match' AND key IN (SELECT 'match:' || e.id FROM crm_events e WHERE e.workspace_id = ? AND e.subject_id IN ` + in + `)`,
				append([]any{ws}, args...)},
			{`UPDATE crm_jobs SET payload = NULL, last_error = '', errors = NULL,
 state = CASE WHEN state IN ('available', 'running') THEN 'cancelled' ELSE state END
 WHERE workspace_id = ? AND run_id IN (SELECT r.id FROM crm_workflow_runs r WHERE r.workspace_id = ? AND r.subject_id IN ` + in + `)`,
				append([]any{ws}, args...)},
			{`UPDATE crm_workflow_runs SET data = NULL, error = '',
 state = CASE WHEN state IN ('running', 'waiting') THEN 'exited' ELSE state END
 WHERE workspace_id = ? AND (subject_id IN ` + in + ` OR event_id IN (SELECT e.id FROM crm_events e WHERE e.workspace_id = ? AND e.subject_id IN ` + in + `))`,
				twice},
		} {
			if _, err := s.exec(ctx, s.d.rebind(u.q), u.args...); err != nil {
				return err
			}
		}
		if _, err := s.exec(ctx, s.d.rebind("UPDATE crm_events SET changes = NULL WHERE workspace_id = ? AND subject_id IN "+in), args...); err != nil {
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
