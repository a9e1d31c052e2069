package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
	"github.com/crmkit/crm/storage/queue"
	"github.com/crmkit/crm/workflow/send"
)

// cursorEvents is the name of the engine's cursor on the change log.
const cursorEvents = "events"

// dispatch reads one batch of committed events after the stored cursor of
// scope ws and, in the same transaction, matches each event to the rules
// and moves the cursor past the batch: an event is matched once, whatever
// happens to the process. Matching runs inline, with the runs' first
// database actions (see Config.DeferMatching); if anything of the batch
// fails, the transaction rolls back and the batch is dispatched again as
// one match job per event, each retried on its own.
func (e *Engine) dispatch(ctx context.Context, ws string) (int, error) {
	if e.cfg.DeferMatching {
		return e.dispatchBatch(ctx, ws, false)
	}
	n, err := e.dispatchBatch(ctx, ws, true)
	if err != nil && ctx.Err() == nil {
		e.cfg.Logger.Debug("workflow: inline matching failed; queueing match jobs", "err", err)
		return e.dispatchBatch(ctx, ws, false)
	}
	return n, err
}

func (e *Engine) dispatchBatch(ctx context.Context, ws string, inline bool) (int, error) {
	n := 0
	err := e.store.RunInTx(sysCtx(ctx, ws), func(ctx context.Context) error {
		cur, err := e.q.LockCursor(ctx, ws, cursorEvents)
		if err != nil {
			return err
		}
		start := ""
		if cur == "" && e.cfg.StartFrom != StartAtBeginning {
			// The log was never read (Init was not called): skip its
			// history (Config.StartFrom), and store where, so that no
			// later engine reads it either.
			if cur, err = e.q.TailCursor(ctx, ws, storage.Now()); err != nil {
				return err
			}
			start = cur
		}
		feed, err := e.q.EventsAfter(ctx, ws, cur, e.cfg.BatchSize)
		if err != nil {
			return err
		}
		if len(feed.Events) == 0 {
			if start != "" {
				return e.q.SetCursor(ctx, ws, cursorEvents, start)
			}
			return nil
		}
		now := e.now()
		var jobs []*queue.Job
		for i := range feed.Events {
			ev := &feed.Events[i]
			if ev.Subject.Type == ObjectRule || e.isConfig(ev.Subject.Type) {
				e.cache.forget(ev.WorkspaceID)
			}
			rs, err := e.ruleSet(ctx, ev.WorkspaceID)
			if err != nil {
				return err
			}
			if !rs.interested(ev) {
				continue
			}
			if inline {
				if err := e.match(sysCtx(ctx, ev.WorkspaceID), ev, rs, true); err != nil {
					return fmt.Errorf("event %s: %w", ev.ID, err)
				}
				continue
			}
			payload, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			jobs = append(jobs, e.newJob(ev.WorkspaceID, "match:"+ev.ID, JobMatch, "", 0, payload, now))
		}
		if len(jobs) > 0 {
			if _, err := e.q.Enqueue(ctx, jobs...); err != nil {
				return err
			}
		}
		n = len(feed.Events)
		return e.q.SetCursor(ctx, ws, cursorEvents, feed.Cursor)
	})
	return n, err
}

// Deliver queues the matching of one event, as the dispatcher does for
// every committed event: for events a host application receives from
// elsewhere, or to match an event again. Delivering an event more than
// once (even concurrently) runs its rules once. A member delivers events
// of the context's workspace only (ErrForbidden for another's); the
// system, any.
func (e *Engine) Deliver(ctx context.Context, ev storage.Event) error {
	if err := e.operator(ctx); err != nil {
		return err
	}
	if ev.ID == "" || ev.Subject.Type == "" || ev.Subject.ID == "" {
		return storage.Invalid("event", "needs an ID and a subject")
	}
	if ev.WorkspaceID == "" {
		ev.WorkspaceID = storage.WorkspaceFrom(ctx)
	}
	// A member operates its own workspace's engine: an event of another
	// workspace is only the system's to deliver.
	if p := storage.PrincipalFrom(ctx); p != nil && !p.IsSystem() && ev.WorkspaceID != storage.WorkspaceFrom(ctx) {
		return fmt.Errorf("%w: event %s is of workspace %q, not the context's %q", storage.ErrForbidden, ev.ID, ev.WorkspaceID, storage.WorkspaceFrom(ctx))
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = e.q.Enqueue(sysCtx(ctx, ev.WorkspaceID), e.newJob(ev.WorkspaceID, "match:"+ev.ID, JobMatch, "", 0, payload, e.now()))
	return err
}

func (e *Engine) newJob(ws, key string, kind queue.JobKind, runID string, step int, payload json.RawMessage, runAt time.Time) *queue.Job {
	return &queue.Job{ID: storage.NewID(), WorkspaceID: ws, Key: key, Kind: kind, State: queue.JobAvailable, RunID: runID, Step: step,
		Payload: payload, MaxAttempts: e.cfg.Retry.MaxAttempts, RunAt: runAt, CreatedAt: e.now()}
}

// work claims one batch of due jobs of scope ws and runs them one by one.
func (e *Engine) work(ctx context.Context, ws string) (int, error) {
	now := e.now()
	jobs, err := e.q.Claim(sysCtx(ctx, ws), queue.ClaimParams{Workspace: ws, Worker: e.cfg.WorkerID, Now: now,
		Until: now.Add(e.cfg.Lease), Limit: e.cfg.BatchSize})
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		e.progress.Add(1)
		if err := e.runJob(ctx, j); err != nil {
			errs = append(errs, fmt.Errorf("workflow: job %s (%s): %w", j.ID, j.Key, err))
		}
	}
	return len(jobs), errors.Join(errs...)
}

// runJob runs one claimed job. An error it returns is the store's, not the
// job's: a failing action is recorded on the job and its run.
func (e *Engine) runJob(ctx context.Context, j *queue.Job) error {
	ctx = sysCtx(ctx, j.WorkspaceID)
	var err error
	switch {
	case j.Attempt > j.MaxAttempts:
		// Taken over after its worker stopped, once too often: a job that
		// brings its worker down must not run for ever.
		var run *Run
		if j.RunID != "" {
			if run, err = e.run(ctx, j.RunID); err != nil {
				return err
			}
		}
		err = e.failJob(ctx, j, run, Permanent(fmt.Errorf("out of attempts: the workers running it stopped %d times", j.Attempt-1)))
	case j.Kind == JobMatch:
		err = e.runMatch(ctx, j)
	case j.Kind == JobStep:
		err = e.runStep(ctx, j)
	default:
		err = e.failJob(ctx, j, nil, Permanent(fmt.Errorf("unknown job kind %q", j.Kind)))
	}
	if errors.Is(err, errLeaseLost) {
		return nil
	}
	return err
}

// errLeaseLost means another worker took the job over; this one drops it.
var errLeaseLost = errors.New("workflow: lease lost")

// inJob runs fn in a transaction that first confirms j's lease (hold):
// what a step writes commits only while the job is still this worker's.
func (e *Engine) inJob(ctx context.Context, j *queue.Job, fn func(ctx context.Context) error) error {
	return e.store.RunInTx(ctx, func(ctx context.Context) error {
		if err := e.hold(ctx, j); err != nil {
			return err
		}
		return fn(ctx)
	})
}

// hold confirms the job's lease in the context's transaction.
func (e *Engine) hold(ctx context.Context, j *queue.Job) error {
	if err := e.q.Hold(ctx, j); err != nil {
		if errors.Is(err, storage.ErrStale) {
			return errLeaseLost
		}
		return err
	}
	return nil
}

// runMatch runs a match job: it matches the job's event in one
// transaction with the job's completion.
func (e *Engine) runMatch(ctx context.Context, j *queue.Job) error {
	var ev storage.Event
	if err := json.Unmarshal(j.Payload, &ev); err != nil {
		return e.failJob(ctx, j, nil, Permanent(fmt.Errorf("bad event: %w", err)))
	}
	rs, err := e.ruleSet(ctx, j.WorkspaceID)
	if err != nil {
		return e.failJob(ctx, j, nil, err)
	}
	err = e.inJob(ctx, j, func(ctx context.Context) error {
		if err := e.match(ctx, &ev, rs, false); err != nil {
			return err
		}
		j.State, j.FinishedAt = queue.JobSucceeded, e.now()
		return e.q.SetJob(ctx, j)
	})
	if err != nil && !errors.Is(err, errLeaseLost) {
		return e.failJob(ctx, j, nil, err)
	}
	return err
}

// match evaluates the rules that event ev triggers and starts a run of
// each that accepts its record (with inline, running its first database
// actions at once); it also ends the runs that an exit trigger of the
// event stops. It runs in the context's transaction.
func (e *Engine) match(ctx context.Context, ev *storage.Event, rs *ruleSet, inline bool) error {
	start, exits := rs.triggered(ev)
	if len(start)+len(exits) == 0 {
		return nil
	}
	var fields filterexpr.Record
	var links []storage.Ref
	rec, err := e.get(ctx, ev.Subject)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		rec, fields = nil, eventFields(ev)
	case err != nil:
		return err
	default:
		fields = fieldsOf(rec)
		if l, ok := rec.(storage.Linked); ok {
			links = l.Links()
		}
	}
	now := e.now()
	for _, c := range start {
		if c.cond != nil {
			ok, err := c.cond.Match(fields, now)
			if err != nil || !ok {
				continue
			}
		}
		key := "event:" + ev.ID + ":" + c.rule.ID
		if run := e.newRun(ctx, c.rule, ev.Subject, ev, key, ev.Depth+1, OnEvent); inline && run.State == RunRunning && c.rule.ActsAs == "" {
			// The run is stored once, when its inline steps are done.
			if err := e.runInline(ctx, run, rec); err != nil {
				return err
			}
			continue
		}
		if _, _, err := e.startRun(ctx, c.rule, ev.Subject, ev, key, ev.Depth+1, OnEvent, true); err != nil {
			return err
		}
	}
	for _, x := range exits {
		if x.i < len(x.c.exitOn) && x.c.exitOn[x.i] != nil {
			if ok, err := x.c.exitOn[x.i].Match(fields, now); err != nil || !ok {
				continue
			}
		}
		for _, ref := range append([]storage.Ref{ev.Subject}, links...) {
			if err := e.exitRuns(ctx, x.c.rule.ID, ref, "exit event "+ev.Type); err != nil {
				return err
			}
		}
	}
	return nil
}

// startRun starts a run of rule about subject, unless a run with key
// exists: it stores the run and, with queue, queues its first step (else
// the caller runs it, see runInline). A run deeper than
// Config.MaxDepth is stored as stopped and runs nothing.
func (e *Engine) startRun(ctx context.Context, rule *Rule, subject storage.Ref, ev *storage.Event, key string, depth int, trigger TriggerKind, queue bool) (*Run, bool, error) {
	run := e.newRun(ctx, rule, subject, ev, key, depth, trigger)
	ok, err := e.insertRun(ctx, run)
	if ok && run.State == RunRunning {
		e.progress.Add(1)
	}
	if err != nil || !ok || !queue || run.State != RunRunning {
		return run, ok, err
	}
	return run, true, e.queueStep(ctx, run, run.StartedAt)
}

// newRun returns a new run of rule, stopped when depth is past
// Config.MaxDepth. It stores nothing.
func (e *Engine) newRun(ctx context.Context, rule *Rule, subject storage.Ref, ev *storage.Event, key string, depth int, trigger TriggerKind) *Run {
	now := e.now()
	run := &Run{ID: storage.NewID(), WorkspaceID: storage.WorkspaceFrom(ctx), Key: key, RuleID: rule.ID, RuleVersion: rule.Version,
		Rule: *rule, Subject: subject, Trigger: trigger, Depth: depth, State: RunRunning, StartedAt: now}
	if ev != nil {
		run.EventID, run.Event = ev.ID, ev
	}
	if depth > e.cfg.MaxDepth {
		run.State, run.FinishedAt = RunStopped, now
		run.Error = fmt.Sprintf("stopped: the chain of rules is deeper than %d (Config.MaxDepth); the event that set it off was written by a rule at depth %d", e.cfg.MaxDepth, depth-1)
	}
	return run
}

// errRunExists means a run with the key of an inline run exists already:
// its event was matched before (a delivered match job). The batch falls
// back to match jobs, which skip such runs.
var errRunExists = errors.New("workflow: the run exists already")

// queueStep queues the job of the run's next step, due at.
func (e *Engine) queueStep(ctx context.Context, run *Run, at time.Time) error {
	_, err := e.q.Enqueue(ctx, e.newJob(run.WorkspaceID, run.Key+":"+strconv.Itoa(run.Step), JobStep, run.ID, run.Step, nil, at))
	return err
}

// runInline runs the steps of a new run, not stored yet, in the context's
// transaction, as long as they are built-in database actions: up to the
// end, a wait, an external action or one of the host's, whose step it
// queues as a job; then it stores the run. rec is the run's record as read
// for matching (nil when gone). An action's error, or a run of the same
// key stored already (errRunExists), is returned: the caller's
// transaction rolls back, and the work is done again through jobs, where
// failures are recorded and retried and runs are started once.
func (e *Engine) runInline(ctx context.Context, run *Run, rec storage.Record) error {
	actx, err := e.actor(ctx, run) // the system's: only such rules run inline
	if err != nil {
		return err
	}
	for run.Step < len(run.Rule.Actions) {
		act := run.Rule.Actions[run.Step]
		h, err := e.handler(act.Type)
		if err != nil {
			return err
		}
		if h.External || !h.builtin {
			// Outside effects, and the host's actions (which may have
			// effects a rolled-back batch cannot undo), run as jobs.
			break
		}
		if run.Step > 0 || rec == nil {
			if rec, err = e.subject(ctx, run); err != nil {
				return err
			}
		}
		started := time.Now()
		call := e.newCall(run, run.Step, rec)
		out, err := h.Run(actx, call)
		if err != nil {
			return err
		}
		e.recordStep(run, call, out, 1, time.Since(started))
		if call.waitUntil.After(call.Now) {
			run.State = RunWaiting
			if err := e.queueStep(ctx, run, call.waitUntil); err != nil {
				return err
			}
			return e.storeInline(ctx, run)
		}
	}
	if run.Step < len(run.Rule.Actions) {
		if err := e.queueStep(ctx, run, e.now()); err != nil {
			return err
		}
	}
	return e.storeInline(ctx, run)
}

// storeInline stores a run that ran inline.
func (e *Engine) storeInline(ctx context.Context, run *Run) error {
	ok, err := e.insertRun(ctx, run)
	switch {
	case err != nil:
		return err
	case !ok:
		return errRunExists
	}
	e.progress.Add(1)
	return nil
}

// subject reads the record of run: nil for a run without one, and also
// when it is gone but the run's event says what it was (a deleted record:
// newCall then takes its fields from the event).
func (e *Engine) subject(ctx context.Context, run *Run) (storage.Record, error) {
	if run.Subject.ID == "" {
		return nil, nil
	}
	rec, err := e.get(ctx, run.Subject)
	if errors.Is(err, storage.ErrNotFound) && run.Event != nil && run.Event.Subject == run.Subject {
		return nil, nil
	}
	return rec, err
}

// actor returns the context the actions of run use: for a rule without
// ActsAs the system's, its writes recorded as "workflow:<rule>"; else the
// member's (access.Service.As), whose rights bound what the actions read
// and write. A member gone or inactive fails the run for good.
func (e *Engine) actor(ctx context.Context, run *Run) (context.Context, error) {
	if run.Rule.ActsAs == "" || e.acc == nil {
		return storage.WithDepth(storage.AsSystemActor(ctx, "workflow:"+run.Rule.Name), run.Depth), nil
	}
	mctx, err := e.acc.As(ctx, run.Rule.ActsAs)
	if err != nil {
		return nil, Permanent(fmt.Errorf("the rule acts for member %s, who cannot act: %w", run.Rule.ActsAs, err))
	}
	return storage.WithDepth(mctx, run.Depth), nil
}

// subjectAs returns the record of run as actx reads it (see subject): for
// a rule acting for a member, a record that exists but that the member
// may not read fails the run for good.
func (e *Engine) subjectAs(ctx, actx context.Context, run *Run) (storage.Record, error) {
	if run.Rule.ActsAs == "" || run.Subject.ID == "" {
		return e.subject(ctx, run)
	}
	rec, err := e.get(actx, run.Subject)
	if !errors.Is(err, storage.ErrNotFound) {
		return rec, err
	}
	if _, serr := e.get(ctx, run.Subject); serr == nil {
		return nil, Permanent(fmt.Errorf("the rule acts for member %s, who may not read %s %s", run.Rule.ActsAs, run.Subject.Type, run.Subject.ID))
	}
	return nil, nil // gone
}

// newCall returns the call of step of run about rec; with rec nil and a
// run about a record, the fields come from the run's event (the record
// as it was when it was deleted).
func (e *Engine) newCall(run *Run, step int, rec storage.Record) *Call {
	act := run.Rule.Actions[step]
	call := &Call{Run: run, Step: step, Action: act, Params: act.Params, Subject: run.Subject, Event: run.Event,
		Key: run.ID + ":" + strconv.Itoa(step), Attempt: 1, Now: e.now(), e: e}
	switch {
	case rec != nil:
		call.Record, call.Fields = rec, fieldsOf(rec)
	case run.Subject.ID != "" && run.Event != nil:
		call.Fields = eventFields(run.Event)
	}
	return call
}

// recordStep records a step done in run, and ends the run after its last
// step.
func (e *Engine) recordStep(run *Run, call *Call, out any, attempt int, took time.Duration) {
	now := e.now()
	run.Steps = append(run.Steps, StepResult{Step: call.Step, Action: call.Action.Type, At: now, Duration: took, Attempt: attempt, Output: out})
	run.Step = call.Step + 1
	run.State = RunRunning
	if run.Step >= len(run.Rule.Actions) {
		run.State, run.FinishedAt = RunSucceeded, now
		run.Duration = now.Sub(run.StartedAt)
	}
}

// exitRuns ends the running and waiting runs of rule ruleID about
// subject, and cancels their pending jobs.
func (e *Engine) exitRuns(ctx context.Context, ruleID string, subject storage.Ref, why string) error {
	page, err := e.runs(ctx, RunQuery{RuleID: ruleID, SubjectID: subject.ID, Active: true, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
	if err != nil {
		return err
	}
	for _, r := range page.Items {
		if err := e.finishRun(ctx, r, RunExited, why); err != nil {
			return err
		}
		if err := e.q.CancelJobs(ctx, r.ID); err != nil {
			return err
		}
	}
	return nil
}

// finishRun ends run in state with a note.
func (e *Engine) finishRun(ctx context.Context, run *Run, state RunState, note string) error {
	now := e.now()
	run.State, run.Error, run.FinishedAt = state, note, now
	run.Duration = now.Sub(run.StartedAt)
	return e.updateRun(ctx, run)
}

// runStep runs the action a step job names.
func (e *Engine) runStep(ctx context.Context, j *queue.Job) error {
	run, err := e.run(ctx, j.RunID)
	if err != nil {
		return e.failJob(ctx, j, nil, err)
	}
	now := e.now()
	if run.State != RunRunning && run.State != RunWaiting || j.Step != run.Step || j.Step >= len(run.Rule.Actions) {
		// The run ended or moved on (an exit, a step already done): the
		// job has nothing left to do.
		return e.inJob(ctx, j, func(ctx context.Context) error {
			j.State, j.FinishedAt = queue.JobCancelled, now
			return e.q.SetJob(ctx, j)
		})
	}
	act := run.Rule.Actions[j.Step]
	h, err := e.handler(act.Type)
	if err != nil {
		return e.failJob(ctx, j, run, Permanent(err))
	}
	actx, err := e.actor(ctx, run)
	if err != nil {
		return e.failJob(ctx, j, run, err)
	}
	rec, err := e.subjectAs(ctx, actx, run)
	if err != nil {
		return e.failJob(ctx, j, run, err)
	}
	call := e.newCall(run, j.Step, rec)
	if rec == nil && run.Rule.ActsAs != "" {
		call.Fields = nil // the event of a gone record holds what the member may not see
	}
	call.Attempt = j.Attempt
	if j.Step == 0 && run.Rule.ActsAs != "" && run.Rule.Condition != "" && rec != nil {
		// The condition was matched on the whole record; the member's rule
		// goes on only if it holds on what the member sees, or it would
		// tell hidden values by its effects.
		c, err := e.compiledRule(ctx, &run.Rule)
		if err != nil {
			return e.failJob(ctx, j, run, Permanent(err))
		}
		if ok, err := c.cond.Match(call.Fields, now); err != nil || !ok {
			return e.inJob(ctx, j, func(ctx context.Context) error {
				j.State, j.FinishedAt = queue.JobSucceeded, now
				if err := e.finishRun(ctx, run, RunExited, "the condition does not hold on what member "+run.Rule.ActsAs+" sees"); err != nil {
					return err
				}
				return e.q.SetJob(ctx, j)
			})
		}
	}
	if run.Subject.ID != "" && j.Step > 0 && run.Rule.Actions[j.Step-1].Type == ActionWait && run.Rule.Exit.When != "" {
		c, err := e.compiledRule(ctx, &run.Rule)
		if err != nil {
			return e.failJob(ctx, j, run, Permanent(err))
		}
		if ok, err := c.exitWhen.Match(call.Fields, now); err == nil && ok {
			return e.inJob(ctx, j, func(ctx context.Context) error {
				j.State, j.FinishedAt = queue.JobSucceeded, now
				if err := e.finishRun(ctx, run, RunExited, "exit condition: "+run.Rule.Exit.When); err != nil {
					return err
				}
				return e.q.SetJob(ctx, j)
			})
		}
	}
	started := time.Now()
	if h.External {
		cctx, cancel := context.WithTimeout(actx, e.cfg.ActionTimeout)
		out, err := h.Run(cctx, call)
		cancel()
		if err != nil {
			return e.failJob(ctx, j, run, err)
		}
		return e.inJob(ctx, j, func(ctx context.Context) error {
			return e.advance(ctx, run, j, call, out, time.Since(started))
		})
	}
	err = e.inJob(actx, j, func(ctx context.Context) error {
		out, err := h.Run(ctx, call)
		if err != nil {
			return actionError{err}
		}
		return e.advance(ctx, run, j, call, out, time.Since(started))
	})
	var ae actionError
	switch {
	case err == nil, errors.Is(err, errLeaseLost):
		return err
	case errors.As(err, &ae):
		return e.failJob(ctx, j, run, ae.err)
	default:
		return e.failJob(ctx, j, run, err)
	}
}

// actionError marks an error of the action itself, inside the step's
// transaction.
type actionError struct{ err error }

func (a actionError) Error() string { return a.err.Error() }
func (a actionError) Unwrap() error { return a.err }

// advance records a step done, and queues the next one (at the time a
// Wait asked for) or ends the run.
func (e *Engine) advance(ctx context.Context, run *Run, j *queue.Job, call *Call, out any, took time.Duration) error {
	e.recordStep(run, call, out, j.Attempt, took)
	j.State, j.FinishedAt = queue.JobSucceeded, e.now()
	if run.State != RunSucceeded {
		at := e.now()
		if call.waitUntil.After(at) {
			at, run.State = call.waitUntil, RunWaiting
		}
		if err := e.queueStep(ctx, run, at); err != nil {
			return err
		}
	}
	if err := e.updateRun(ctx, run); err != nil {
		return err
	}
	return e.q.SetJob(ctx, j)
}

// failJob records a failed attempt of j: it runs again after the retry
// policy's delay, or, out of attempts or for a permanent error, it is kept
// as failed and so is its run (when it has one).
func (e *Engine) failJob(ctx context.Context, j *queue.Job, run *Run, cause error) error {
	now := e.now()
	msg := cause.Error()
	err := e.inJob(ctx, j, func(ctx context.Context) error {
		j.LastError = msg
		j.Errors = append(j.Errors, queue.AttemptError{Attempt: j.Attempt, At: now, Error: msg})
		if len(j.Errors) > 20 {
			j.Errors = j.Errors[len(j.Errors)-20:]
		}
		if send.IsPermanent(cause) || j.Attempt >= j.MaxAttempts {
			j.State, j.FinishedAt = queue.JobFailed, now
			if run != nil {
				if err := e.finishRun(ctx, run, RunFailed, fmt.Sprintf("step %d (%s): %s", j.Step, run.Rule.Actions[min(j.Step, len(run.Rule.Actions)-1)].Type, msg)); err != nil {
					return err
				}
			}
		} else {
			j.State = queue.JobAvailable
			j.RunAt = now.Add(e.cfg.Retry.Delay(j.Attempt, jitter()))
		}
		return e.q.SetJob(ctx, j)
	})
	if err != nil && !errors.Is(err, errLeaseLost) {
		return fmt.Errorf("record failure %q: %w", msg, err)
	}
	return err
}

// Permanent marks err as an error that no retry can mend, so that its job
// fails at once; nil stays nil. It is send.Permanent, here for the actions
// hosts register with Engine.Register, which may return it. Validation
// errors (ErrInvalid), ErrForbidden, ErrNotFound and ErrConflict fail at
// once without it (see send.IsPermanent).
func Permanent(err error) error { return send.Permanent(err) }

// isConfig reports whether records of typ are configuration
// (storage.AccessConfig), such as custom field definitions, whose change
// may change what compiled rules mean.
func (e *Engine) isConfig(typ string) bool {
	t, ok := e.store.Table(typ)
	return ok && t.Type().Options().Access == storage.AccessConfig
}

// handler returns the registered action typ.
func (e *Engine) handler(typ string) (Handler, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	h, ok := e.actions[typ]
	if !ok {
		return Handler{}, fmt.Errorf("workflow: unknown action %q", typ)
	}
	return h, nil
}

// get reads the record ref.
func (e *Engine) get(ctx context.Context, ref storage.Ref) (storage.Record, error) {
	obj, err := e.object(ref.Type)
	if err != nil {
		return nil, err
	}
	return obj.Get(ctx, ref.ID)
}

// operator checks that ctx may operate the engine (see the history, run
// jobs again, start runs by hand, deliver events): the system, a context
// without a principal, or a member whose role may change every workflow
// rule (admins). Runs hold records and events whole, and their actions
// run as the system, so other members may not.
func (e *Engine) operator(ctx context.Context) error {
	p := storage.PrincipalFrom(ctx)
	switch {
	case p == nil && e.strict:
		return fmt.Errorf("%w: the store requires a principal in every context: operate the engine as the system (storage.AsSystem) or as an admin", storage.ErrForbidden)
	case p == nil || p.IsSystem() || p.Scope(ObjectRule, storage.ActionUpdate) == storage.ScopeAll:
		return nil
	}
	return fmt.Errorf("%w: operating the workflow engine needs the right to change every workflow rule", storage.ErrForbidden)
}

// Retry runs a failed job again, from its first attempt; its run, if it
// failed with the job, is running again. Like Runs, Jobs, Trigger and
// Deliver, it is for operators (the system, or admins): ErrForbidden for
// other members.
func (e *Engine) Retry(ctx context.Context, jobID string) error {
	if err := e.operator(ctx); err != nil {
		return err
	}
	return e.store.RunInTx(storage.AsSystem(ctx), func(ctx context.Context) error {
		j, err := e.q.Job(ctx, jobID)
		if err != nil {
			return err
		}
		if j.State != queue.JobFailed {
			return fmt.Errorf("%w: job %s is %s, not failed", storage.ErrConflict, jobID, j.State)
		}
		if j.RunID != "" {
			run, err := e.run(ctx, j.RunID)
			if err != nil {
				return err
			}
			if run.State == RunFailed {
				run.State, run.Error, run.FinishedAt, run.Duration = RunRunning, "", time.Time{}, 0
				if err := e.updateRun(ctx, run); err != nil {
					return err
				}
			}
		}
		j.State, j.Attempt, j.RunAt, j.FinishedAt = queue.JobAvailable, 0, e.now(), time.Time{}
		return e.q.SetJob(ctx, j)
	})
}

// Runs returns one page of the run history (newest first) of the
// context's workspace, selected by q: a rule's runs, a record's, failed
// ones.
func (e *Engine) Runs(ctx context.Context, q RunQuery) (storage.Page[*Run], error) {
	if err := e.operator(ctx); err != nil {
		return storage.Page[*Run]{}, err
	}
	return e.runs(ctx, q)
}

// Jobs returns one page of the jobs of the context's workspace, newest
// first, selected by q: failed ones to look at and Retry.
func (e *Engine) Jobs(ctx context.Context, q queue.JobQuery) (storage.Page[*queue.Job], error) {
	if err := e.operator(ctx); err != nil {
		return storage.Page[*queue.Job]{}, err
	}
	return e.q.Jobs(ctx, q)
}
