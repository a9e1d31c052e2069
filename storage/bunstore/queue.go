package bunstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/internal/cursor"
	"github.com/crmkit/crm/storage/queue"
)

// The durable queue (queue.Queue) the workflow engine runs on: jobs, runs
// and cursors in tables of their own, written with plain SQL and never
// through the generic path, so that the bookkeeping writes no change
// events (which would set rules off) and costs one statement per change.

// Queue returns the store's durable work queue.
func (s *Store) Queue() queue.Queue { return jobQueue{s} }

// jobQueue implements queue.Queue on a Store.
type jobQueue struct{ s *Store }

// scopeWS refuses ws "" ("every workspace") under row-level security,
// where a statement sees one workspace only.
func (s *Store) scopeWS(ws string) error {
	if ws == "" && s.rls {
		return fmt.Errorf("%w: workflow: with row-level security the engine serves the workspaces listed in its Config", storage.ErrInvalid)
	}
	return nil
}

// EventsAfter implements queue.Queue.
func (jq jobQueue) EventsAfter(ctx context.Context, ws, cursor string, limit int) (storage.Feed, error) {
	s := jq.s
	if err := s.scopeWS(ws); err != nil {
		return storage.Feed{}, err
	}
	return reading(ctx, s, func(ctx context.Context) (storage.Feed, error) { return s.feed(ctx, ws, cursor, limit, false) })
}

// TailCursor implements queue.Queue: the last event below the feed's
// horizon that occurred before before, read backwards along the feed's
// order, so that only the events since before are read.
func (jq jobQueue) TailCursor(ctx context.Context, ws string, before time.Time) (string, error) {
	s := jq.s
	if err := s.scopeWS(ws); err != nil {
		return "", err
	}
	return reading(ctx, s, func(ctx context.Context) (string, error) {
		var b sqlBuilder
		b.add("SELECT tx_id, seq FROM crm_events WHERE occurred_at < ?", s.d.timeArg(storage.Truncate(before)))
		if ws != "" {
			b.add(" AND workspace_id = ?", ws)
		}
		if s.d.feedClock() {
			h, err := s.feedHorizon(ctx)
			if err != nil {
				return "", err
			}
			b.add(" AND tx_id < ?", h)
		}
		b.add(" ORDER BY tx_id DESC, seq DESC LIMIT 1")
		var tx, seq int64
		found, err := s.queryRow(ctx, "event", s.d.rebind(b.sb.String()), b.args, &tx, &seq)
		if err != nil {
			return "", err
		}
		if !found {
			return cursor.Encode("feed", int64(0), int64(0)), nil
		}
		return cursor.Encode("feed", tx, seq), nil
	})
}

// LockCursor implements queue.Queue.
func (jq jobQueue) LockCursor(ctx context.Context, ws, name string) (string, error) {
	s := jq.s
	if err := s.scopeWS(ws); err != nil {
		return "", err
	}
	if txFrom(ctx, s) == nil {
		return "", errors.New("bunstore: LockCursor needs a transaction")
	}
	// The row is there but the first time: one locking read, and a write
	// only to create it (processes racing to do so meet ON CONFLICT).
	sel := s.d.rebind(`SELECT value FROM crm_workflow_cursors WHERE workspace_id = ? AND name = ?` + s.d.lockRows(false))
	var v string
	found, err := s.queryRow(ctx, "cursor", sel, []any{ws, name}, &v)
	if err != nil || found {
		return v, err
	}
	if _, err := s.exec(ctx, s.d.rebind(`INSERT INTO crm_workflow_cursors (workspace_id, name, value) VALUES (?, ?, '') ON CONFLICT DO NOTHING`), ws, name); err != nil {
		return "", s.d.translate(err, "cursor")
	}
	_, err = s.queryRow(ctx, "cursor", sel, []any{ws, name}, &v)
	return v, err
}

// SetCursor implements queue.Queue.
func (jq jobQueue) SetCursor(ctx context.Context, ws, name, value string) error {
	s := jq.s
	if err := s.scopeWS(ws); err != nil {
		return err
	}
	return s.write(ctx, "cursor", func(ctx context.Context) error {
		_, err := s.exec(ctx, s.d.rebind(`INSERT INTO crm_workflow_cursors (workspace_id, name, value) VALUES (?, ?, ?)
ON CONFLICT (workspace_id, name) DO UPDATE SET value = excluded.value`), ws, name, value)
		return err
	})
}

// Workspaces implements queue.Queue: one SELECT DISTINCT over the type's
// table, across workspaces, as the system.
func (jq jobQueue) Workspaces(ctx context.Context, recordType string, f storage.Filter) ([]string, error) {
	s := jq.s
	if err := s.scopeWS(""); err != nil {
		return nil, err
	}
	c := s.codec(recordType)
	if c == nil {
		return nil, storage.Invalid("record_type", "%q is not a registered record type", recordType)
	}
	var b sqlBuilder
	b.add("SELECT DISTINCT t.workspace_id FROM " + c.table + " t WHERE ")
	if err := s.where(c, f, &b); err != nil {
		return nil, err
	}
	b.add(" ORDER BY t.workspace_id")
	rows, err := s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
	if err != nil {
		return nil, s.d.translate(err, recordType)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var ws string
		if err := rows.Scan(&ws); err != nil {
			return nil, err
		}
		out = append(out, ws)
	}
	return out, s.d.translate(rows.Err(), recordType)
}

const jobCols = "id, workspace_id, key, kind, state, run_id, step, payload, attempt, max_attempts, run_at, locked_by, locked_until, last_error, errors, created_at, finished_at"

// jsonArg returns v as JSON text, or nil for an empty value.
func jsonArg(v any, empty bool) (any, error) {
	if empty {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// jsonText is the bind value of a JSON column: its text, or NULL.
func jsonText(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// optTime is the bind value of a time that may be unset (NULL).
func (s *Store) optTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.d.timeArg(t)
}

// Enqueue implements queue.Queue.
func (jq jobQueue) Enqueue(ctx context.Context, jobs ...*queue.Job) (int, error) {
	s := jq.s
	n := 0
	err := s.write(ctx, "job", func(ctx context.Context) error {
		q := s.d.rebind(`INSERT INTO crm_jobs (id, workspace_id, key, kind, state, run_id, step, payload, attempt, max_attempts, run_at, last_error, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, '', ?) ON CONFLICT (workspace_id, key) DO NOTHING`)
		for _, j := range jobs {
			var payload any
			if len(j.Payload) > 0 {
				payload = string(j.Payload)
			}
			res, err := s.exec(ctx, q, j.ID, j.WorkspaceID, j.Key, string(j.Kind), string(j.State), j.RunID, j.Step, payload,
				j.MaxAttempts, s.d.timeArg(j.RunAt), s.d.timeArg(j.CreatedAt))
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k > 0 {
				n++
			}
		}
		return nil
	})
	return n, err
}

// scanJob reads one row of jobCols.
func scanJob(rows interface{ Scan(...any) error }) (*queue.Job, error) {
	j := &queue.Job{}
	var payload, errs sql.NullString
	var runAt, until, created, finished any
	var kind, state string
	if err := rows.Scan(&j.ID, &j.WorkspaceID, &j.Key, &kind, &state, &j.RunID, &j.Step, &payload, &j.Attempt, &j.MaxAttempts,
		&runAt, &j.LockedBy, &until, &j.LastError, &errs, &created, &finished); err != nil {
		return nil, err
	}
	j.Kind, j.State = queue.JobKind(kind), queue.JobState(state)
	if payload.Valid && payload.String != "" {
		j.Payload = json.RawMessage(payload.String)
	}
	if errs.Valid && errs.String != "" {
		if err := json.Unmarshal([]byte(errs.String), &j.Errors); err != nil {
			return nil, fmt.Errorf("bunstore: job %s: errors: %w", j.ID, err)
		}
	}
	var err error
	for _, t := range []struct {
		dst *time.Time
		src any
	}{{&j.RunAt, runAt}, {&j.LockedUntil, until}, {&j.CreatedAt, created}, {&j.FinishedAt, finished}} {
		if t.src == nil {
			continue
		}
		if *t.dst, err = parseTime(t.src); err != nil {
			return nil, err
		}
	}
	return j, nil
}

// queryJobs runs a query returning jobCols rows.
func (jq jobQueue) queryJobs(ctx context.Context, q string, args ...any) ([]*queue.Job, error) {
	s := jq.s
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, s.d.translate(err, "job")
	}
	defer rows.Close()
	var out []*queue.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, s.d.translate(rows.Err(), "job")
}

// Claim implements queue.Queue.
func (jq jobQueue) Claim(ctx context.Context, p queue.ClaimParams) ([]*queue.Job, error) {
	s := jq.s
	if err := s.scopeWS(p.Workspace); err != nil {
		return nil, err
	}
	if p.Limit <= 0 {
		p.Limit = 100
	}
	var b sqlBuilder
	b.add(`UPDATE crm_jobs SET state = 'running', attempt = attempt + 1, locked_by = ?, locked_until = ?
WHERE id IN (SELECT id FROM crm_jobs WHERE ((state = 'available' AND run_at <= ?) OR (state = 'running' AND locked_until < ?))`,
		p.Worker, s.d.timeArg(p.Until), s.d.timeArg(p.Now), s.d.timeArg(p.Now))
	if p.Workspace != "" {
		b.add(" AND workspace_id = ?", p.Workspace)
	}
	b.add(" ORDER BY run_at LIMIT ?"+s.d.lockRows(true)+") RETURNING "+jobCols, p.Limit)
	var out []*queue.Job
	err := s.write(ctx, "job", func(ctx context.Context) error {
		var err error
		out, err = jq.queryJobs(ctx, s.d.rebind(b.sb.String()), b.args...)
		return err
	})
	return out, err
}

// Hold implements queue.Queue.
func (jq jobQueue) Hold(ctx context.Context, j *queue.Job) error {
	s := jq.s
	if txFrom(ctx, s) == nil {
		return errors.New("bunstore: Hold needs a transaction")
	}
	var one int
	found, err := s.queryRow(ctx, "job", s.d.rebind(`SELECT 1 FROM crm_jobs WHERE workspace_id = ? AND id = ? AND state = 'running' AND locked_by = ? AND attempt = ?`+s.d.lockRows(false)),
		[]any{j.WorkspaceID, j.ID, j.LockedBy, j.Attempt}, &one)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: job %s is no longer leased to %s at attempt %d", storage.ErrStale, j.ID, j.LockedBy, j.Attempt)
	}
	return nil
}

// SetJob implements queue.Queue.
func (jq jobQueue) SetJob(ctx context.Context, j *queue.Job) error {
	s := jq.s
	errs, err := jsonArg(j.Errors, len(j.Errors) == 0)
	if err != nil {
		return err
	}
	return s.write(ctx, "job", func(ctx context.Context) error {
		_, err := s.exec(ctx, s.d.rebind(`UPDATE crm_jobs SET state = ?, attempt = ?, run_at = ?, last_error = ?, errors = ?, finished_at = ?,
locked_by = '', locked_until = NULL WHERE workspace_id = ? AND id = ?`),
			string(j.State), j.Attempt, s.d.timeArg(j.RunAt), j.LastError, errs, s.optTime(j.FinishedAt), j.WorkspaceID, j.ID)
		return err
	})
}

// CancelJobs implements queue.Queue.
func (jq jobQueue) CancelJobs(ctx context.Context, runID string) error {
	s := jq.s
	return s.write(ctx, "job", func(ctx context.Context) error {
		_, err := s.exec(ctx, s.d.rebind(`UPDATE crm_jobs SET state = 'cancelled', finished_at = ?, locked_by = '', locked_until = NULL
WHERE workspace_id = ? AND run_id = ? AND state IN ('available', 'running')`),
			s.d.timeArg(storage.Now()), storage.WorkspaceFrom(ctx), runID)
		return err
	})
}

// Job implements queue.Queue.
func (jq jobQueue) Job(ctx context.Context, id string) (*queue.Job, error) {
	s := jq.s
	return oneByID(ctx, s, "job", "SELECT "+jobCols+" FROM crm_jobs", id, jq.queryJobs)
}

// oneByID reads the row id of the context's workspace with scan, or is
// ErrNotFound naming what.
func oneByID[T any](ctx context.Context, s *Store, what, selectFrom, id string, scan func(ctx context.Context, q string, args ...any) ([]T, error)) (T, error) {
	return reading(ctx, s, func(ctx context.Context) (T, error) {
		var zero T
		items, err := scan(ctx, s.d.rebind(selectFrom+" WHERE workspace_id = ? AND id = ?"), storage.WorkspaceFrom(ctx), id)
		if err != nil {
			return zero, err
		}
		if len(items) == 0 {
			return zero, fmt.Errorf("%w: %s %s", storage.ErrNotFound, what, id)
		}
		return items[0], nil
	})
}

// Jobs implements queue.Queue: newest first, by ID (UUIDv7).
func (jq jobQueue) Jobs(ctx context.Context, q queue.JobQuery) (storage.Page[*queue.Job], error) {
	s := jq.s
	return reading(ctx, s, func(ctx context.Context) (storage.Page[*queue.Job], error) {
		var b sqlBuilder
		b.add("SELECT "+jobCols+" FROM crm_jobs WHERE workspace_id = ?", storage.WorkspaceFrom(ctx))
		if q.State != "" {
			b.add(" AND state = ?", string(q.State))
		}
		if q.RunID != "" {
			b.add(" AND run_id = ?", q.RunID)
		}
		return newestFirst(ctx, s, &b, q.PageQuery, cursor.Fingerprint("jobs", string(q.State), q.RunID), jq.queryJobs,
			func(j *queue.Job) string { return j.ID })
	})
}

// newestFirst reads the page pq of the rows b selects ("SELECT … WHERE …"),
// newest first by ID, with scan; fp is the query's fingerprint for its
// cursors.
func newestFirst[T any](ctx context.Context, s *Store, b *sqlBuilder, pq storage.PageQuery, fp string,
	scan func(ctx context.Context, q string, args ...any) ([]T, error), id func(T) string) (storage.Page[T], error) {
	var page storage.Page[T]
	if err := pageAfter(b, pq, fp); err != nil {
		return page, err
	}
	limit := pq.PageSize()
	b.add(" ORDER BY id DESC LIMIT ?", limit+1)
	items, err := scan(ctx, s.d.rebind(b.sb.String()), b.args...)
	if err != nil {
		return page, err
	}
	if len(items) > limit {
		items = items[:limit]
		page.Next = cursor.Encode(fp, id(items[limit-1]))
	}
	page.Items = items
	return page, nil
}

// pageAfter adds the keyset condition of a page ordered by id DESC.
func pageAfter(b *sqlBuilder, pq storage.PageQuery, fp string) error {
	if pq.Cursor == "" {
		return nil
	}
	keys, err := cursor.Decode(pq.Cursor, fp, 1)
	if err != nil {
		return err
	}
	var id string
	if json.Unmarshal(keys[0], &id) != nil {
		return storage.Invalid("cursor", "is malformed")
	}
	b.add(" AND id < ?", id)
	return nil
}

const runCols = "id, workspace_id, key, rule_id, rule_version, subject_type, subject_id, event_id, state, step, depth, started_at, finished_at, duration_us, error, data"

// InsertRun implements queue.Queue.
func (jq jobQueue) InsertRun(ctx context.Context, r *queue.Run) (bool, error) {
	s := jq.s
	data := jsonText(r.Data)
	inserted := false
	err := s.write(ctx, "run", func(ctx context.Context) error {
		res, err := s.exec(ctx, s.d.rebind(`INSERT INTO crm_workflow_runs (`+runCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (workspace_id, key) DO NOTHING`),
			r.ID, r.WorkspaceID, r.Key, r.RuleID, r.RuleVersion, r.Subject.Type, r.Subject.ID, r.EventID, string(r.State), r.Step, r.Depth,
			s.d.timeArg(r.StartedAt), s.optTime(r.FinishedAt), r.Duration.Microseconds(), r.Error, data)
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		inserted = k > 0
		return err
	})
	return inserted, err
}

// UpdateRun implements queue.Queue.
func (jq jobQueue) UpdateRun(ctx context.Context, r *queue.Run) error {
	s := jq.s
	data := jsonText(r.Data)
	return s.write(ctx, "run", func(ctx context.Context) error {
		_, err := s.exec(ctx, s.d.rebind(`UPDATE crm_workflow_runs SET state = ?, step = ?, finished_at = ?, duration_us = ?, error = ?, data = ?
WHERE workspace_id = ? AND id = ?`),
			string(r.State), r.Step, s.optTime(r.FinishedAt), r.Duration.Microseconds(), r.Error, data, r.WorkspaceID, r.ID)
		return err
	})
}

// queryRuns runs a query returning runCols rows.
func (jq jobQueue) queryRuns(ctx context.Context, q string, args ...any) ([]*queue.Run, error) {
	s := jq.s
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, s.d.translate(err, "run")
	}
	defer rows.Close()
	var out []*queue.Run
	for rows.Next() {
		r := &queue.Run{}
		var state string
		var started, finished any
		var dur int64
		var data sql.NullString
		if err := rows.Scan(&r.ID, &r.WorkspaceID, &r.Key, &r.RuleID, &r.RuleVersion, &r.Subject.Type, &r.Subject.ID, &r.EventID,
			&state, &r.Step, &r.Depth, &started, &finished, &dur, &r.Error, &data); err != nil {
			return nil, err
		}
		r.State, r.Duration = queue.RunState(state), time.Duration(dur)*time.Microsecond
		if r.StartedAt, err = parseTime(started); err != nil {
			return nil, err
		}
		if finished != nil {
			if r.FinishedAt, err = parseTime(finished); err != nil {
				return nil, err
			}
		}
		if data.Valid && data.String != "" {
			r.Data = json.RawMessage(data.String)
		}
		out = append(out, r)
	}
	return out, s.d.translate(rows.Err(), "run")
}

// Run implements queue.Queue.
func (jq jobQueue) Run(ctx context.Context, id string) (*queue.Run, error) {
	s := jq.s
	return oneByID(ctx, s, "workflow run", "SELECT "+runCols+" FROM crm_workflow_runs", id, jq.queryRuns)
}

// Runs implements queue.Queue: newest first, by ID (UUIDv7).
func (jq jobQueue) Runs(ctx context.Context, q queue.RunQuery) (storage.Page[*queue.Run], error) {
	s := jq.s
	return reading(ctx, s, func(ctx context.Context) (storage.Page[*queue.Run], error) {
		var b sqlBuilder
		b.add("SELECT "+runCols+" FROM crm_workflow_runs WHERE workspace_id = ?", storage.WorkspaceFrom(ctx))
		if q.RuleID != "" {
			b.add(" AND rule_id = ?", q.RuleID)
		}
		if q.SubjectID != "" {
			b.add(" AND subject_id = ?", q.SubjectID)
		}
		if q.State != "" {
			b.add(" AND state = ?", string(q.State))
		}
		if q.Active {
			b.add(" AND state IN (?, ?)", string(queue.RunRunning), string(queue.RunWaiting))
		}
		return newestFirst(ctx, s, &b, q.PageQuery, cursor.Fingerprint("runs", q.RuleID, q.SubjectID, string(q.State), q.Active), jq.queryRuns,
			func(r *queue.Run) string { return r.ID })
	})
}
