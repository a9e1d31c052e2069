package workflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/filterexpr"
	"github.com/crmkit/crm/storage/queue"
	"github.com/crmkit/crm/workflow/send"
)

// Config configures an Engine. The zero value works; each field's doc
// gives its default.
type Config struct {
	// Mailer sends the mail of SendEmail actions (see package
	// workflow/send; package workflow/smtp has an SMTP implementation).
	// Default: nil, and SendEmail fails for good.
	Mailer send.Mailer
	// Webhooks delivers CallWebhook actions (see package workflow/send;
	// package workflow/webhook has an HTTP implementation). Default: nil,
	// and CallWebhook fails for good.
	Webhooks send.WebhookSender
	// Workspaces, when set, are the workspaces the engine serves, each
	// with its own cursor; required on a store with row-level security.
	// Default: every workspace, through one cursor.
	Workspaces []string
	// MaxDepth stops chains of rules: a run set off by an event that
	// itself comes from a depth-MaxDepth action is recorded as stopped
	// and runs nothing. Default: 5.
	MaxDepth int
	// Retry is the policy of failed jobs.
	Retry RetryPolicy
	// Lease is how long a worker holds a job before another may take it
	// over (a worker that died). Default: 2 minutes. External actions
	// (webhooks, mail) must finish within it.
	Lease time.Duration
	// Workers is how many jobs run at once in Start. Default: 4.
	Workers int
	// BatchSize is how many events or jobs one round reads. Default: 100.
	// On SQLite the dispatcher's transaction holds the single writer for
	// a batch of events and the first database actions of their runs
	// (about 20 ms for 100 create-task runs), which other writers wait for.
	BatchSize int
	// DeferMatching makes the dispatcher queue a match job per event
	// instead of matching events (and running the first database actions
	// of their runs) in the transaction that moves its cursor: matching is
	// then spread over the workers, of several processes on Postgres, at
	// the cost of more writes. Default: false.
	DeferMatching bool
	// PollInterval is how long Start waits when there is nothing to do.
	// Default: 250ms.
	PollInterval time.Duration
	// ScheduleInterval is how often Start looks at time triggers and cron
	// schedules. Default: 30s.
	ScheduleInterval time.Duration
	// ActionTimeout bounds one external action. Default: 30s.
	ActionTimeout time.Duration
	// StartFrom says where the engine begins on a database whose change
	// log no engine read yet (no stored cursor): StartAtEnd, the default,
	// at the end of the log as Init (which crm.New calls) or else its first
	// read finds it, so that rules defined now do not act on a history
	// imported before; StartAtBeginning replays the whole log. Once the
	// cursor is stored, every engine goes on from it.
	StartFrom StartFrom
	// Now is the engine's clock. Default: storage.Now.
	Now func() time.Time
	// WorkerID names this process's worker in job leases. Default: host
	// name, process ID and a random suffix.
	WorkerID string
	// Logger receives the engine's diagnostics. Default: slog.Default().
	Logger *slog.Logger
	// Schema returns the fields that expressions over records of
	// recordType may name: the record's own fields and the workspace's
	// custom fields. crm.New gives the contacts module's
	// (contacts.Service.Schema). Default: the record struct's fields
	// (filterexpr.SchemaOf), without custom fields.
	Schema func(ctx context.Context, recordType string) (filterexpr.Schema, error)
	// Writers create and change records through their modules' own rules
	// (storage.RecordWriters): update_field, tags, owner assignment and
	// create_task go through them. crm.New gives those of its modules. A
	// record type without one is written through the generic path alone.
	Writers []storage.RecordWriter
}

// RetryPolicy says when a failed job runs again: after Base, doubling
// with each attempt up to Max, each delay moved by up to ±Jitter of itself
// at random; after MaxAttempts attempts the job is kept as failed.
type RetryPolicy struct {
	// MaxAttempts is how many times a job runs at most. Default: 8.
	MaxAttempts int
	// Base is the first delay. Default: 2s.
	Base time.Duration
	// Max caps the delay. Default: 1h.
	Max time.Duration
	// Jitter is the fraction of each delay moved at random. Default: 0.1;
	// negative means none.
	Jitter float64
}

func (p *RetryPolicy) fill() {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 8
	}
	if p.Base <= 0 {
		p.Base = 2 * time.Second
	}
	if p.Max <= 0 {
		p.Max = time.Hour
	}
	if p.Jitter == 0 {
		p.Jitter = 0.1
	}
	if p.Jitter < 0 {
		p.Jitter = 0
	}
}

// Delay returns the delay before attempt+1 after attempt failed
// (attempt counts from 1): Base·2^(attempt-1), capped at Max, moved by
// jitter (a number in [-1, 1]) times Jitter of itself.
func (p RetryPolicy) Delay(attempt int, jitter float64) time.Duration {
	d := float64(p.Base) * math.Pow(2, float64(attempt-1))
	if d > float64(p.Max) {
		d = float64(p.Max)
	}
	d += d * p.Jitter * jitter
	return time.Duration(d)
}

// Engine runs workflow rules durably: it reads the change log from a
// stored cursor, matches events to rules, and runs each action as a job
// in the store, retried with backoff and leased so that a crashed worker's
// job is taken over. It is safe for concurrent use, and several processes
// may run engines on one Postgres database.
type Engine struct {
	store   Store
	strict  bool // the store requires a principal in every context (see operator)
	q       queue.Queue
	rules   storage.Table[*Rule]
	acc     *access.Service // the principals of the members rules act for
	cfg     Config
	writers map[string]storage.RecordWriter // by record type

	// Rules manages stored rules.
	Rules *Rules

	mu      sync.RWMutex
	objects map[string]Object
	actions map[string]Handler
	code    []*Rule // rules defined in Go

	cache    ruleCache
	tmpl     templateCache
	progress atomic.Int64 // runs started and jobs run, for Drain
}

// StartFrom is where a new engine begins reading the change log (see
// Config.StartFrom).
type StartFrom string

// The places to start from.
const (
	StartAtEnd       StartFrom = ""          // after the events committed before Init or the first read
	StartAtBeginning StartFrom = "beginning" // the first event ever
)

// Init stores the engine's cursor on the change log, for each workspace it
// serves, where Config.StartFrom says when none is stored yet: at the end
// of the log by default. crm.New calls it, so that the history before the
// CRM was opened with an engine is never replayed; processes calling it at
// once agree on one place.
func (e *Engine) Init(ctx context.Context) error {
	if e.cfg.StartFrom == StartAtBeginning {
		return nil
	}
	for _, ws := range e.scopes() {
		err := e.store.RunInTx(sysCtx(ctx, ws), func(ctx context.Context) error {
			cur, err := e.q.LockCursor(ctx, ws, cursorEvents)
			if err != nil || cur != "" {
				return err
			}
			tail, err := e.q.TailCursor(ctx, ws, storage.Now())
			if err != nil {
				return err
			}
			return e.q.SetCursor(ctx, ws, cursorEvents, tail)
		})
		if err != nil {
			return fmt.Errorf("workflow: init the cursor of workspace %q: %w", ws, err)
		}
	}
	return nil
}

// New returns an engine on store, with the built-in actions. Rules may be
// about the records of every record type registered with the store but
// the rules themselves (see Object); the workflow module must be
// registered (Module). It starts nothing: call Start, or Drain to run what
// is due now.
func New(store Store, cfg Config) *Engine {
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = 5
	}
	cfg.Retry.fill()
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	if cfg.ScheduleInterval <= 0 {
		cfg.ScheduleInterval = 30 * time.Second
	}
	if cfg.ActionTimeout <= 0 {
		cfg.ActionTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = storage.Now
	}
	if cfg.WorkerID == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		cfg.WorkerID = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := &Engine{store: store, q: store.Queue(), rules: storage.TableOf[*Rule](store), cfg: cfg,
		writers: map[string]storage.RecordWriter{}, objects: map[string]Object{}, actions: map[string]Handler{}}
	if r, ok := store.(interface{ RequiresPrincipal() bool }); ok {
		e.strict = r.RequiresPrincipal()
	}
	if as, ok := store.(access.Store); ok {
		e.acc = access.NewService(as)
	}
	for _, w := range cfg.Writers {
		e.writers[w.Type] = w
	}
	e.Rules = &Rules{e: e}
	e.cache.ttl = time.Second
	for name, h := range builtinActions() {
		e.actions[name] = h
	}
	return e
}

// now returns the engine's clock, as the store keeps times.
func (e *Engine) now() time.Time { return storage.Truncate(e.cfg.Now()) }

// RegisterObject makes rules able to name records of o.Type as o says,
// instead of through the store's generic path (see Object).
func (e *Engine) RegisterObject(o Object) error {
	if !storage.ValidKey(o.Type) || o.Get == nil || o.Schema == nil {
		return storage.Invalid("object", "needs a type name, Get and Schema")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.objects[o.Type] = o
	e.cache.clear()
	return nil
}

// Register adds the host's own action under name, for rules to use as
// {"type": name, "params": …}. A built-in action's name is ErrConflict.
func (e *Engine) Register(name string, h Handler) error {
	if !storage.ValidKey(name) {
		return storage.Invalid("name", "%q is not an action name (lower-case letters, digits and _)", name)
	}
	if h.Run == nil {
		return storage.Invalid("run", "is required")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if old, ok := e.actions[name]; ok && old.builtin {
		return fmt.Errorf("%w: %q is a built-in action", storage.ErrConflict, name)
	}
	h.builtin = false
	e.actions[name] = h
	return nil
}

// RegisterSpec adds an action a module offers in storage terms
// (storage.ActionSpec, which crm.New registers for every module service
// that is a storage.ActionProvider), as Register does.
func (e *Engine) RegisterSpec(spec storage.ActionSpec) error {
	h := Handler{External: spec.External}
	if spec.Run != nil {
		h.Run = func(ctx context.Context, call *Call) (any, error) {
			return spec.Run(ctx, storage.ActionCall{Params: call.Params, Subject: call.Subject, Record: call.Record,
				Event: call.Event, Key: call.Key, Now: call.Now})
		}
	}
	if spec.Check != nil {
		h.Check = func(ctx context.Context, in CheckInput) error { return spec.Check(ctx, in.Params) }
	}
	return e.Register(spec.Name, h)
}

// Define adds a rule defined in Go code ("workflows as code"): it is
// checked as a stored rule is, kept in memory, and applies to every
// workspace the engine serves (or to rule.WorkspaceID when set). Its ID
// is "code:<name>" and its version grows when it is defined again. A
// rule of the same name replaces the earlier one.
func (e *Engine) Define(ctx context.Context, r Rule) error {
	cp := r
	if err := e.check(ctx, &cp); err != nil {
		return err
	}
	cp.ID = "code:" + cp.Name
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, old := range e.code {
		if old.Name == cp.Name {
			cp.Version = old.Version + 1
			e.code[i] = &cp
			e.cache.clear()
			return nil
		}
	}
	cp.Version = 1
	e.code = append(e.code, &cp)
	e.cache.clear()
	return nil
}

// scopes returns the workspaces the engine serves one at a time: the
// configured ones, or "" for all at once.
func (e *Engine) scopes() []string {
	if len(e.cfg.Workspaces) > 0 {
		return e.cfg.Workspaces
	}
	return []string{""}
}

// sysCtx returns the context the engine's own reads and writes use in
// workspace ws.
func sysCtx(ctx context.Context, ws string) context.Context {
	return storage.AsSystem(storage.WithWorkspace(ctx, ws))
}

// Start runs the engine until ctx ends: a dispatcher that matches
// committed events to rules (see Config.DeferMatching), Config.Workers
// workers that run due jobs, and a scheduler of time triggers and cron
// schedules. Errors of a round are logged and the round tried again after
// PollInterval (ScheduleInterval for the scheduler); it returns nil once
// ctx ends. Like Drain, Runs and Retry it is for operators (the system,
// or a member who may change every rule): on a store that requires a
// principal, start it with storage.AsSystem(ctx).
func (e *Engine) Start(ctx context.Context) error {
	if err := e.operator(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	loop := func(every time.Duration, step func(ctx context.Context) (int, error)) {
		defer wg.Done()
		for ctx.Err() == nil {
			n, err := step(ctx)
			if err != nil && ctx.Err() == nil {
				e.cfg.Logger.Warn("workflow: engine step failed", "err", err)
			}
			if n > 0 && err == nil {
				continue
			}
			select {
			case <-ctx.Done():
			case <-time.After(every):
			}
		}
	}
	wg.Add(2 + e.cfg.Workers)
	go loop(e.cfg.PollInterval, e.dispatchAll)
	go loop(e.cfg.ScheduleInterval, e.scheduleAll)
	for range e.cfg.Workers {
		go loop(e.cfg.PollInterval, e.workAll)
	}
	wg.Wait()
	return nil
}

// Drain runs, in the calling goroutine, everything that is due now:
// dispatching committed events, due jobs (and the jobs they make due), and
// due time triggers and schedules, until nothing is left. Jobs waiting for
// a later time (a Wait, a retry) stay. It returns how much it did: runs
// started and jobs run; 0 means nothing was due. For tests, scripts and
// hosts that drive the engine from their own loop; for operators, as
// Start is.
func (e *Engine) Drain(ctx context.Context) (int, error) {
	if err := e.operator(ctx); err != nil {
		return 0, err
	}
	before := e.progress.Load()
	for {
		busy := false
		for _, step := range []func(context.Context) (int, error){e.dispatchAll, e.scheduleAll, e.workAll} {
			n, err := step(ctx)
			if err != nil {
				return int(e.progress.Load() - before), err
			}
			busy = busy || n > 0
		}
		if !busy {
			return int(e.progress.Load() - before), nil
		}
	}
}

// dispatchAll dispatches one batch of events per scope.
func (e *Engine) dispatchAll(ctx context.Context) (int, error) { return e.perScope(ctx, e.dispatch) }

// workAll claims and runs one batch of due jobs per scope.
func (e *Engine) workAll(ctx context.Context) (int, error) { return e.perScope(ctx, e.work) }

// perScope calls step for every scope the engine serves, adding up what
// they did and joining their errors.
func (e *Engine) perScope(ctx context.Context, step func(ctx context.Context, ws string) (int, error)) (int, error) {
	total := 0
	var errs []error
	for _, ws := range e.scopes() {
		n, err := step(ctx, ws)
		total += n
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// jitter returns a number in [-1, 1].
func jitter() float64 { return mrand.Float64()*2 - 1 }
