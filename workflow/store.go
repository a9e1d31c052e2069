package workflow

import (
	"context"
	"encoding/json"
	"time"

	"github.com/crmkit/crm/storage"
)

// Store is what the engine needs from a storage adapter: the rules table
// on the generic path, sequences for round-robin assignment, and the
// engine's own queue (jobs, runs, cursors), which bypasses the change log:
// the engine's bookkeeping must not set rules off. *bunstore.Store
// implements it.
type Store interface {
	storage.Transactor
	storage.Sequencer
	Rules() storage.Table[*Rule]
	Queue
}

// Queue is the durable part of the engine: a cross-workspace read of the
// change log, named cursors, a jobs table with leases, and run history.
// Every write happens in the context's transaction when it has one.
//
// A ws argument names a workspace; "" means every workspace, which a store
// under row-level security refuses (list the workspaces in Config).
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

	// RuleWorkspaces lists the workspaces that have enabled stored rules,
	// for the scheduler of time triggers and cron schedules.
	RuleWorkspaces(ctx context.Context) ([]string, error)

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
	// UpdateRun stores the run's state, step, steps, error and times.
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
	// Now is the engine's clock; jobs with RunAt <= Now are due.
	Now time.Time
	// Until is when the lease ends.
	Until time.Time
	// Limit caps the jobs claimed.
	Limit int
}

// JobKind says what a job does.
type JobKind string

// The job kinds.
const (
	// JobMatch evaluates the rules an event may set off, and starts runs.
	JobMatch JobKind = "match"
	// JobStep runs one action of a run.
	JobStep JobKind = "step"
)

// JobState is where a job is in its life.
type JobState string

// The job states.
const (
	JobAvailable JobState = "available" // waiting for its RunAt
	JobRunning   JobState = "running"   // leased to a worker
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"    // out of attempts; Engine.Retry runs it again
	JobCancelled JobState = "cancelled" // its run exited
)

// Job is one unit of durable work: matching an event, or one step of a
// run. Its Key makes it idempotent: (event, rule, step).
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

// RunState is where a run of a rule is.
type RunState string

// The run states.
const (
	RunRunning   RunState = "running"   // steps are being run
	RunWaiting   RunState = "waiting"   // paused by a Wait until its next step is due
	RunSucceeded RunState = "succeeded" // every action ran
	RunFailed    RunState = "failed"    // a step failed for good
	RunExited    RunState = "exited"    // an exit condition ended it
	RunStopped   RunState = "stopped"   // the chain of rules was too deep; nothing ran
)

// Run is one execution of a rule for one record (or none, for schedules):
// the rule's history is its runs.
type Run struct {
	ID          string `json:"id"`
	WorkspaceID string `json:"workspace_id"`
	// Key makes starting a run idempotent, such as "event:<event>:<rule>".
	Key         string `json:"key"`
	RuleID      string `json:"rule_id"`
	RuleVersion int64  `json:"rule_version"`
	// Rule is the rule as it was when the run started. Once the run has
	// finished (succeeded, exited or stopped) only the rule's ID, version
	// and name are kept, and Event is nil (EventID stays).
	Rule    Rule        `json:"rule"`
	Subject storage.Ref `json:"subject,omitzero"`
	// EventID is the event that set the run off, if any, and Event the
	// event itself (templates read its old and new values).
	EventID string         `json:"event_id,omitempty"`
	Event   *storage.Event `json:"event,omitempty"`
	Trigger TriggerKind    `json:"trigger"`
	// Depth is the depth of the events the run's actions write.
	Depth int      `json:"depth"`
	State RunState `json:"state"`
	// Step is the index of the next action to run.
	Step int `json:"step"`
	// Steps records each action run so far.
	Steps      []StepResult  `json:"steps,omitempty"`
	Error      string        `json:"error,omitempty"`
	StartedAt  time.Time     `json:"started_at"`
	FinishedAt time.Time     `json:"finished_at,omitzero"`
	Duration   time.Duration `json:"duration"`
}

// StepResult is one action of a run as it ran.
type StepResult struct {
	Step     int           `json:"step"`
	Action   string        `json:"action"`
	At       time.Time     `json:"at"`
	Duration time.Duration `json:"duration"`
	Attempt  int           `json:"attempt"`
	// Output is what the action reports, such as the ID of a task it made.
	Output any `json:"output,omitempty"`
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
