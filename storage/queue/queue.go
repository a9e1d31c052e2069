// Package queue is the contract of the store's durable work queue, which
// the workflow engine runs on (and later modules' timers may): a read of
// the change log across workspaces with named cursors, jobs with leases
// and retries, and the history of multi-step runs. A store implements
// Queue (storage/bunstore: Store.Queue); the engine is its only user in
// this module. Every write happens in the context's transaction when it
// has one, so a job's effect and its bookkeeping commit together.
package queue

import (
	"context"
	"encoding/json"
	"time"

	"github.com/crmkit/crm/storage"
)

// Queue is the durable part of a job runner.
//
// A ws argument names a workspace; "" means every workspace, which a
// store under row-level security refuses (its statements see one
// workspace only).
type Queue interface {
	// EventsAfter returns up to limit events committed after cursor ("":
	// from the start), oldest first, of workspace ws or of all. Like
	// storage.EventLog.ChangeFeed, it never skips an event that commits
	// late, and never returns a rolled-back one.
	EventsAfter(ctx context.Context, ws, cursor string, limit int) (storage.Feed, error)
	// LockCursor returns the value of the cursor name of ws, "" when it was
	// never set, and locks it until the context's transaction ends, so
	// that processes sharing the database take turns.
	LockCursor(ctx context.Context, ws, name string) (string, error)
	// SetCursor stores the cursor's value.
	SetCursor(ctx context.Context, ws, name, value string) error
	// TailCursor returns the cursor of EventsAfter that comes after every
	// event of ws (or of all) that occurred before before and is committed,
	// and before those to come: where a reader that starts now but is to
	// skip the history before then begins. With no such event it is the
	// cursor before the first event ever (EventsAfter from it reads all).
	TailCursor(ctx context.Context, ws string, before time.Time) (string, error)

	// Workspaces lists, across every workspace, those with a record of
	// recordType that f matches (as the system sees them), in order: the
	// workspaces a scheduler must look at.
	Workspaces(ctx context.Context, recordType string, f storage.Filter) ([]string, error)

	// Enqueue inserts jobs; a job whose key is taken in its workspace is
	// skipped. It returns how many were inserted.
	Enqueue(ctx context.Context, jobs ...*Job) (int, error)
	// Claim leases up to p.Limit due jobs: available ones whose RunAt has
	// come, and running ones whose lease ran out (their worker died). Each
	// gets Attempt+1, LockedBy p.Worker and LockedUntil p.Until. Several
	// processes may claim at once (FOR UPDATE SKIP LOCKED on Postgres).
	Claim(ctx context.Context, p ClaimParams) ([]*Job, error)
	// Hold confirms, in the context's transaction, that job is still
	// leased to its worker at its attempt, and locks it until the
	// transaction ends; ErrStale when another worker took it over.
	Hold(ctx context.Context, job *Job) error
	// SetJob stores the job's State, Attempt, RunAt, LastError, Errors
	// and FinishedAt and clears its lease (in the context's transaction).
	SetJob(ctx context.Context, job *Job) error
	// Jobs lists jobs, newest first.
	Jobs(ctx context.Context, q JobQuery) (storage.Page[*Job], error)
	// Job returns one job of the context's workspace.
	Job(ctx context.Context, id string) (*Job, error)
	// CancelJobs marks the pending jobs of a run cancelled.
	CancelJobs(ctx context.Context, runID string) error

	// InsertRun stores a new run; false when a run with its key exists in
	// its workspace (nothing is written then).
	InsertRun(ctx context.Context, r *Run) (bool, error)
	// UpdateRun stores the run's State, Step, FinishedAt, Duration, Error
	// and Data.
	UpdateRun(ctx context.Context, r *Run) error
	// Run returns one run of the context's workspace.
	Run(ctx context.Context, id string) (*Run, error)
	// Runs lists runs, newest first.
	Runs(ctx context.Context, q RunQuery) (storage.Page[*Run], error)
}

// ClaimParams asks Queue.Claim for jobs.
type ClaimParams struct {
	// Workspace limits the claim to one workspace; "" claims from all.
	Workspace string
	// Worker names the claiming worker.
	Worker string
	// Now is the runner's clock; jobs with RunAt <= Now are due.
	Now time.Time
	// Until is when the lease ends.
	Until time.Time
	// Limit caps the jobs claimed.
	Limit int
}

// JobKind says what a job does; the runner defines the kinds.
type JobKind string

// JobState is where a job is in its life.
type JobState string

// The job states.
const (
	JobAvailable JobState = "available" // waiting for its RunAt
	JobRunning   JobState = "running"   // leased to a worker
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"    // out of attempts; the runner may run it again
	JobCancelled JobState = "cancelled" // its run ended
)

// Job is one unit of durable work. Its Key, unique in its workspace, makes
// enqueueing it idempotent.
type Job struct {
	ID          string          `json:"id"`
	WorkspaceID string          `json:"workspace_id"`
	Key         string          `json:"key"`
	Kind        JobKind         `json:"kind"`
	State       JobState        `json:"state"`
	RunID       string          `json:"run_id,omitempty"`
	Step        int             `json:"step"`
	Payload     json.RawMessage `json:"payload,omitempty"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	RunAt       time.Time       `json:"run_at"`
	LockedBy    string          `json:"locked_by,omitempty"`
	LockedUntil time.Time       `json:"locked_until,omitzero"`
	LastError   string          `json:"last_error,omitempty"`
	// Errors lists the error of every failed attempt, oldest first.
	Errors     []AttemptError `json:"errors,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	FinishedAt time.Time      `json:"finished_at,omitzero"`
}

// AttemptError is one failed attempt of a job.
type AttemptError struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Error   string    `json:"error"`
}

// JobQuery selects jobs.
type JobQuery struct {
	// State keeps jobs in this state; "" keeps all.
	State JobState
	// RunID keeps the jobs of one run.
	RunID string
	storage.PageQuery
}

// RunState is where a run is; the runner defines the states, and
// RunQuery.Active names those in which a run may still take a step.
type RunState string

// The run states a run may still take a step in.
const (
	RunRunning RunState = "running"
	RunWaiting RunState = "waiting"
)

// Run is the history of one multi-step execution, such as one run of a
// workflow rule for one record: what it runs (RuleID, RuleVersion), about
// what (Subject, EventID), where it is (State, Step) and Data, what the
// runner keeps beside, as JSON.
type Run struct {
	ID          string      `json:"id"`
	WorkspaceID string      `json:"workspace_id"`
	Key         string      `json:"key"`
	RuleID      string      `json:"rule_id"`
	RuleVersion int64       `json:"rule_version"`
	Subject     storage.Ref `json:"subject,omitzero"`
	EventID     string      `json:"event_id,omitempty"`
	Depth       int         `json:"depth"`
	State       RunState    `json:"state"`
	Step        int         `json:"step"`
	Error       string      `json:"error,omitempty"`
	StartedAt   time.Time   `json:"started_at"`
	FinishedAt  time.Time   `json:"finished_at,omitzero"`
	// Duration is stored to the microsecond.
	Duration time.Duration   `json:"duration"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// RunQuery selects runs.
type RunQuery struct {
	// RuleID keeps the runs of one rule.
	RuleID string
	// SubjectID keeps the runs about one record.
	SubjectID string
	// State keeps runs in this state; "" keeps all.
	State RunState
	// Active keeps the runs that may still take a step: running and
	// waiting ones.
	Active bool
	storage.PageQuery
}
