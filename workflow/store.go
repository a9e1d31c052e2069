package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/queue"
)

// Store is what the engine needs from a storage adapter: the generic path
// of every registered record type (the rules table among them: see
// Module), sequences for round-robin assignment, and the durable queue
// (jobs, runs, cursors), which bypasses the change log: the engine's
// bookkeeping must not set rules off. *bunstore.Store implements it.
type Store interface {
	storage.Transactor
	storage.Sequencer
	storage.Tables
	// Queue returns the store's durable queue.
	Queue() queue.Queue
}

// The kinds of the engine's jobs.
const (
	// JobMatch evaluates the rules an event may set off, and starts runs.
	JobMatch queue.JobKind = "match"
	// JobStep runs one action of a run.
	JobStep queue.JobKind = "step"
)

// RunState is where a run of a rule is.
type RunState = queue.RunState

// The run states.
const (
	RunRunning                  = queue.RunRunning // steps are being run
	RunWaiting                  = queue.RunWaiting // paused by a Wait until its next step is due
	RunSucceeded queue.RunState = "succeeded"      // every action ran
	RunFailed    queue.RunState = "failed"         // a step failed for good
	RunExited    queue.RunState = "exited"         // an exit condition ended it
	RunStopped   queue.RunState = "stopped"        // the chain of rules was too deep; nothing ran
)

// RunQuery selects runs (Engine.Runs).
type RunQuery = queue.RunQuery

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

// runData is what the queue keeps of a run beside its columns (Run.Data).
// The rule and the event are kept while the run may still take a step
// (running, waiting, failed: Retry goes on with them); a finished run
// keeps the rule's name, next to its ID and version.
type runData struct {
	RuleName string         `json:"rule_name"`
	Rule     *Rule          `json:"rule,omitempty"`
	Trigger  TriggerKind    `json:"trigger"`
	Steps    []StepResult   `json:"steps,omitempty"`
	Event    *storage.Event `json:"event,omitempty"`
}

// stored returns r as the queue keeps it.
func (r *Run) stored() (*queue.Run, error) {
	d := runData{RuleName: r.Rule.Name, Trigger: r.Trigger, Steps: r.Steps}
	switch r.State {
	case RunSucceeded, RunExited, RunStopped:
	default:
		d.Rule, d.Event = &r.Rule, r.Event
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("workflow: run %s: %w", r.ID, err)
	}
	return &queue.Run{ID: r.ID, WorkspaceID: r.WorkspaceID, Key: r.Key, RuleID: r.RuleID, RuleVersion: r.RuleVersion,
		Subject: r.Subject, EventID: r.EventID, Depth: r.Depth, State: r.State, Step: r.Step, Error: r.Error,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Duration: r.Duration, Data: b}, nil
}

// runOf returns the run the queue keeps as q.
func runOf(q *queue.Run) (*Run, error) {
	r := &Run{ID: q.ID, WorkspaceID: q.WorkspaceID, Key: q.Key, RuleID: q.RuleID, RuleVersion: q.RuleVersion,
		Subject: q.Subject, EventID: q.EventID, Depth: q.Depth, State: q.State, Step: q.Step, Error: q.Error,
		StartedAt: q.StartedAt, FinishedAt: q.FinishedAt, Duration: q.Duration}
	if len(q.Data) == 0 {
		return r, nil
	}
	var d runData
	if err := json.Unmarshal(q.Data, &d); err != nil {
		return nil, fmt.Errorf("workflow: run %s: %w", q.ID, err)
	}
	r.Trigger, r.Steps, r.Event = d.Trigger, d.Steps, d.Event
	if d.Rule != nil {
		r.Rule = *d.Rule
	} else {
		r.Rule.ID, r.Rule.Version, r.Rule.Name = r.RuleID, r.RuleVersion, d.RuleName
	}
	return r, nil
}

// insertRun stores a new run (queue.Queue.InsertRun).
func (e *Engine) insertRun(ctx context.Context, r *Run) (bool, error) {
	q, err := r.stored()
	if err != nil {
		return false, err
	}
	return e.q.InsertRun(ctx, q)
}

// updateRun stores a run's progress (queue.Queue.UpdateRun).
func (e *Engine) updateRun(ctx context.Context, r *Run) error {
	q, err := r.stored()
	if err != nil {
		return err
	}
	return e.q.UpdateRun(ctx, q)
}

// run reads one run of the context's workspace.
func (e *Engine) run(ctx context.Context, id string) (*Run, error) {
	q, err := e.q.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	return runOf(q)
}

// runs reads one page of runs.
func (e *Engine) runs(ctx context.Context, q RunQuery) (storage.Page[*Run], error) {
	p, err := e.q.Runs(ctx, q)
	if err != nil {
		return storage.Page[*Run]{}, err
	}
	out := storage.Page[*Run]{Items: make([]*Run, len(p.Items)), Next: p.Next}
	for i, qr := range p.Items {
		if out.Items[i], err = runOf(qr); err != nil {
			return storage.Page[*Run]{}, err
		}
	}
	return out, nil
}
