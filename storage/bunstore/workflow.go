package bunstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow"
)

// The workflow engine's queue (workflow.Queue): jobs, runs and cursors in
// tables of their own, written with plain SQL and never through the
// generic path, so that the engine's bookkeeping writes no change events
// (which would set rules off) and costs one statement per change.

// Rules returns the workflow rules table.
func (s *Store) Rules() storage.Table[*workflow.Rule] { return s.rules }

// scopeWS refuses ws "" ("every workspace") under row-level security,
// where a statement sees one workspace only.
func (s *Store) scopeWS(ws string) error {
	if ws == "" && s.rls {
		return fmt.Errorf("%w: workflow: with row-level security the engine serves the workspaces listed in its Config", storage.ErrInvalid)
	}
	return nil
}

// EventsAfter implements workflow.Queue.
func (s *Store) EventsAfter(ctx context.Context, ws, cursor string, limit int) (storage.Feed, error) {
	if err := s.scopeWS(ws); err != nil {
		return storage.Feed{}, err
	}
	return reading(ctx, s, func(ctx context.Context) (storage.Feed, error) { return s.feed(ctx, ws, cursor, limit, false) })
}

// LockCursor implements workflow.Queue.
func (s *Store) LockCursor(ctx context.Context, ws, name string) (string, error) {
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

// SetCursor implements workflow.Queue.
func (s *Store) SetCursor(ctx context.Context, ws, name, value string) error {
	if err := s.scopeWS(ws); err != nil {
		return err
	}
	return s.write(ctx, "cursor", func(ctx context.Context) error {
		_, err := s.exec(ctx, s.d.rebind(`INSERT INTO crm_workflow_cursors (workspace_id, name, value) VALUES (?, ?, ?)
ON CONFLICT (workspace_id, name) DO UPDATE SET value = excluded.value`), ws, name, value)
		return err
	})
}

// RuleWorkspaces implements workflow.Queue.
func (s *Store) RuleWorkspaces(ctx context.Context) ([]string, error) {
	if err := s.scopeWS(""); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, s.d.rebind(`SELECT DISTINCT workspace_id FROM crm_workflow_rules WHERE enabled = ?`), true)
	if err != nil {
		return nil, s.d.translate(err, workflow.ObjectRule)
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
	return out, s.d.translate(rows.Err(), workflow.ObjectRule)
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

// optTime is the bind value of a time that may be unset (NULL).
func (s *Store) optTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.d.timeArg(t)
}

// Enqueue implements workflow.Queue.
func (s *Store) Enqueue(ctx context.Context, jobs ...*workflow.Job) (int, error) {
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
func scanJob(rows interface{ Scan(...any) error }) (*workflow.Job, error) {
	j := &workflow.Job{}
	var payload, errs sql.NullString
	var runAt, until, created, finished any
	var kind, state string
	if err := rows.Scan(&j.ID, &j.WorkspaceID, &j.Key, &kind, &state, &j.RunID, &j.Step, &payload, &j.Attempt, &j.MaxAttempts,
		&runAt, &j.LockedBy, &until, &j.LastError, &errs, &created, &finished); err != nil {
		return nil, err
	}
	j.Kind, j.State = workflow.JobKind(kind), workflow.JobState(state)
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
func (s *Store) queryJobs(ctx context.Context, q string, args ...any) ([]*workflow.Job, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, s.d.translate(err, "job")
	}
	defer rows.Close()
	var out []*workflow.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, s.d.translate(rows.Err(), "job")
}

// Claim implements workflow.Queue.
func (s *Store) Claim(ctx context.Context, p workflow.ClaimParams) ([]*workflow.Job, error) {
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
	var out []*workflow.Job
	err := s.write(ctx, "job", func(ctx context.Context) error {
		var err error
		out, err = s.queryJobs(ctx, s.d.rebind(b.sb.String()), b.args...)
		return err
	})
	return out, err
}

// Hold implements workflow.Queue.
func (s *Store) Hold(ctx context.Context, j *workflow.Job) error {
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

// SetJob implements workflow.Queue.
func (s *Store) SetJob(ctx context.Context, j *workflow.Job) error {
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

// CancelJobs implements workflow.Queue.
func (s *Store) CancelJobs(ctx context.Context, runID string) error {
	return s.write(ctx, "job", func(ctx context.Context) error {
		_, err := s.exec(ctx, s.d.rebind(`UPDATE crm_jobs SET state = 'cancelled', finished_at = ?, locked_by = '', locked_until = NULL
WHERE workspace_id = ? AND run_id = ? AND state IN ('available', 'running')`),
			s.d.timeArg(storage.Now()), storage.WorkspaceFrom(ctx), runID)
		return err
	})
}

// Job implements workflow.Queue.
func (s *Store) Job(ctx context.Context, id string) (*workflow.Job, error) {
	return oneByID(ctx, s, "job", "SELECT "+jobCols+" FROM crm_jobs", id, s.queryJobs)
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

// Jobs implements workflow.Queue: newest first, by ID (UUIDv7).
func (s *Store) Jobs(ctx context.Context, q workflow.JobQuery) (storage.Page[*workflow.Job], error) {
	return reading(ctx, s, func(ctx context.Context) (storage.Page[*workflow.Job], error) {
		var b sqlBuilder
		b.add("SELECT "+jobCols+" FROM crm_jobs WHERE workspace_id = ?", storage.WorkspaceFrom(ctx))
		if q.State != "" {
			b.add(" AND state = ?", string(q.State))
		}
		if q.RunID != "" {
			b.add(" AND run_id = ?", q.RunID)
		}
		return newestFirst(ctx, s, &b, q.PageQuery, storage.Fingerprint("jobs", string(q.State), q.RunID), s.queryJobs,
			func(j *workflow.Job) string { return j.ID })
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
		page.Next = storage.EncodeCursor(fp, id(items[limit-1]))
	}
	page.Items = items
	return page, nil
}

// pageAfter adds the keyset condition of a page ordered by id DESC.
func pageAfter(b *sqlBuilder, pq storage.PageQuery, fp string) error {
	if pq.Cursor == "" {
		return nil
	}
	keys, err := storage.DecodeCursor(pq.Cursor, fp, 1)
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

// runData is the JSON column of a run: what is not queried by. The rule
// and the event are kept while the run may still take a step (running,
// waiting, failed: Retry goes on with them); a finished run keeps the
// rule's name, next to its ID and version in columns.
type runData struct {
	RuleName string                `json:"rule_name"`
	Rule     *workflow.Rule        `json:"rule,omitempty"`
	Trigger  workflow.TriggerKind  `json:"trigger"`
	Steps    []workflow.StepResult `json:"steps,omitempty"`
	Event    *storage.Event        `json:"event,omitempty"`
}

// dataOf returns the JSON column of r.
func dataOf(r *workflow.Run) (any, error) {
	d := runData{RuleName: r.Rule.Name, Trigger: r.Trigger, Steps: r.Steps}
	switch r.State {
	case workflow.RunSucceeded, workflow.RunExited, workflow.RunStopped:
	default:
		d.Rule, d.Event = &r.Rule, r.Event
	}
	return jsonArg(d, false)
}

// InsertRun implements workflow.Queue.
func (s *Store) InsertRun(ctx context.Context, r *workflow.Run) (bool, error) {
	data, err := dataOf(r)
	if err != nil {
		return false, err
	}
	inserted := false
	err = s.write(ctx, "run", func(ctx context.Context) error {
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

// UpdateRun implements workflow.Queue.
func (s *Store) UpdateRun(ctx context.Context, r *workflow.Run) error {
	data, err := dataOf(r)
	if err != nil {
		return err
	}
	return s.write(ctx, "run", func(ctx context.Context) error {
		_, err := s.exec(ctx, s.d.rebind(`UPDATE crm_workflow_runs SET state = ?, step = ?, finished_at = ?, duration_us = ?, error = ?, data = ?
WHERE workspace_id = ? AND id = ?`),
			string(r.State), r.Step, s.optTime(r.FinishedAt), r.Duration.Microseconds(), r.Error, data, r.WorkspaceID, r.ID)
		return err
	})
}

// queryRuns runs a query returning runCols rows.
func (s *Store) queryRuns(ctx context.Context, q string, args ...any) ([]*workflow.Run, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, s.d.translate(err, "run")
	}
	defer rows.Close()
	var out []*workflow.Run
	for rows.Next() {
		r := &workflow.Run{}
		var state string
		var started, finished any
		var dur int64
		var data sql.NullString
		if err := rows.Scan(&r.ID, &r.WorkspaceID, &r.Key, &r.RuleID, &r.RuleVersion, &r.Subject.Type, &r.Subject.ID, &r.EventID,
			&state, &r.Step, &r.Depth, &started, &finished, &dur, &r.Error, &data); err != nil {
			return nil, err
		}
		r.State, r.Duration = workflow.RunState(state), time.Duration(dur)*time.Microsecond
		if r.StartedAt, err = parseTime(started); err != nil {
			return nil, err
		}
		if finished != nil {
			if r.FinishedAt, err = parseTime(finished); err != nil {
				return nil, err
			}
		}
		if data.Valid {
			var d runData
			if err := json.Unmarshal([]byte(data.String), &d); err != nil {
				return nil, fmt.Errorf("bunstore: run %s: %w", r.ID, err)
			}
			r.Trigger, r.Steps, r.Event = d.Trigger, d.Steps, d.Event
			if d.Rule != nil {
				r.Rule = *d.Rule
			} else {
				r.Rule.ID, r.Rule.Version, r.Rule.Name = r.RuleID, r.RuleVersion, d.RuleName
			}
		}
		out = append(out, r)
	}
	return out, s.d.translate(rows.Err(), "run")
}

// Run implements workflow.Queue.
func (s *Store) Run(ctx context.Context, id string) (*workflow.Run, error) {
	return oneByID(ctx, s, "workflow run", "SELECT "+runCols+" FROM crm_workflow_runs", id, s.queryRuns)
}

// Runs implements workflow.Queue: newest first, by ID (UUIDv7).
func (s *Store) Runs(ctx context.Context, q workflow.RunQuery) (storage.Page[*workflow.Run], error) {
	return reading(ctx, s, func(ctx context.Context) (storage.Page[*workflow.Run], error) {
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
			b.add(" AND state IN (?, ?)", string(workflow.RunRunning), string(workflow.RunWaiting))
		}
		return newestFirst(ctx, s, &b, q.PageQuery, storage.Fingerprint("runs", q.RuleID, q.SubjectID, string(q.State), q.Active), s.queryRuns,
			func(r *workflow.Run) string { return r.ID })
	})
}
