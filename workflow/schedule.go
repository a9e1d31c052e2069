package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/adhocore/gronx"

	"github.com/crmkit/crm/storage"
)

// scheduleAll looks at the time triggers and cron schedules of every
// workspace served, and starts the runs that are due.
func (e *Engine) scheduleAll(ctx context.Context) (int, error) {
	workspaces := e.cfg.Workspaces
	if len(workspaces) == 0 {
		ws, err := e.q.Workspaces(sysCtx(ctx, ""), ObjectRule, storage.Eq("enabled", true))
		if err != nil {
			return 0, err
		}
		workspaces = ws
		if !slices.Contains(workspaces, storage.DefaultWorkspace) {
			workspaces = append(workspaces, storage.DefaultWorkspace)
		}
	}
	total := 0
	var errs []error
	for _, ws := range workspaces {
		rs, err := e.ruleSet(ctx, ws)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, c := range rs.timed {
			var n int
			var err error
			if c.rule.Trigger.Kind == OnTime {
				n, err = e.scanTime(ctx, ws, c)
			} else {
				n, err = e.scanCron(ctx, ws, c)
			}
			total += n
			if err != nil {
				errs = append(errs, fmt.Errorf("workflow: rule %s: %w", c.rule.Name, err))
			}
		}
	}
	return total, errors.Join(errs...)
}

// scanTime starts a run for every record whose date field plus the
// trigger's offset came since the rule's cursor, and that the condition
// selects (in SQL), then moves the cursor to now. A record is run once per
// value of its date field.
func (e *Engine) scanTime(ctx context.Context, ws string, c *compiled) (int, error) {
	r := c.rule
	n := 0
	err := e.store.RunInTx(sysCtx(ctx, ws), func(ctx context.Context) error {
		name := "time:" + r.ID
		cur, err := e.q.LockCursor(ctx, ws, name)
		if err != nil {
			return err
		}
		now := e.now()
		from := r.CreatedAt
		if cur != "" {
			if from, err = time.Parse(time.RFC3339Nano, cur); err != nil {
				return fmt.Errorf("cursor %s: %w", name, err)
			}
		}
		if from.IsZero() {
			from = now // a rule defined in code starts now
		}
		if !now.After(from) {
			return nil
		}
		off := time.Duration(r.Trigger.Offset)
		f := storage.And{
			storage.Cmp{Field: r.Trigger.Field, Op: storage.OpGt, Value: from.Add(-off)},
			storage.Cmp{Field: r.Trigger.Field, Op: storage.OpLe, Value: now.Add(-off)},
		}
		if c.cond != nil {
			f = append(f, c.cond.Filter(now))
		}
		k, err := e.startEach(ctx, r, storage.ListQuery{Filter: f}, OnTime, func(rec storage.Record) string {
			at, _ := fieldsOf(rec)[r.Trigger.Field].(time.Time)
			return "time:" + r.ID + ":" + rec.RecordMeta().ID + ":" + strconv.FormatInt(at.UnixMicro(), 10)
		})
		n += k
		if err != nil {
			return err
		}
		return e.q.SetCursor(ctx, ws, name, now.Format(time.RFC3339Nano))
	})
	return n, err
}

// scanCron fires a schedule whose latest tick came since its cursor: one
// run, or one per record the condition selects. Ticks missed while no
// engine ran are fired once, as the latest. The first scan of a rule only
// sets its cursor.
func (e *Engine) scanCron(ctx context.Context, ws string, c *compiled) (int, error) {
	r := c.rule
	n := 0
	err := e.store.RunInTx(sysCtx(ctx, ws), func(ctx context.Context) error {
		name := "cron:" + r.ID
		cur, err := e.q.LockCursor(ctx, ws, name)
		if err != nil {
			return err
		}
		now := e.now()
		if cur == "" {
			return e.q.SetCursor(ctx, ws, name, now.Format(time.RFC3339Nano))
		}
		last, err := time.Parse(time.RFC3339Nano, cur)
		if err != nil {
			return fmt.Errorf("cursor %s: %w", name, err)
		}
		loc := time.UTC
		if r.Trigger.Timezone != "" {
			if loc, err = time.LoadLocation(r.Trigger.Timezone); err != nil {
				return Permanent(err)
			}
		}
		tick, err := gronx.PrevTickBefore(r.Trigger.Cron, now.In(loc), true)
		if err != nil {
			return Permanent(fmt.Errorf("cron %q: %w", r.Trigger.Cron, err))
		}
		tick = storage.Truncate(tick)
		if !tick.After(last) {
			return nil
		}
		stamp := strconv.FormatInt(tick.Unix(), 10)
		if r.Trigger.Object == "" {
			_, started, err := e.startRun(ctx, r, storage.Ref{}, nil, "cron:"+r.ID+":"+stamp, 1, OnSchedule, true)
			if err != nil {
				return err
			}
			if started {
				n++
			}
			return e.q.SetCursor(ctx, ws, name, tick.Format(time.RFC3339Nano))
		}
		var q storage.ListQuery
		if c.cond != nil {
			q.Filter = c.cond.Filter(now)
		}
		k, err := e.startEach(ctx, r, q, OnSchedule, func(rec storage.Record) string {
			return "cron:" + r.ID + ":" + stamp + ":" + rec.RecordMeta().ID
		})
		n += k
		if err != nil {
			return err
		}
		return e.q.SetCursor(ctx, ws, name, tick.Format(time.RFC3339Nano))
	})
	return n, err
}

// startEach starts a run of rule r for every record of its object that q
// selects, a page at a time, keyed by key; it returns how many it started.
func (e *Engine) startEach(ctx context.Context, r *Rule, q storage.ListQuery, trigger TriggerKind, key func(storage.Record) string) (int, error) {
	obj, err := e.object(r.Trigger.Object)
	if err != nil {
		return 0, err
	}
	q.Limit = storage.MaxLimit
	n := 0
	for {
		recs, next, err := obj.List(ctx, q)
		if err != nil {
			return n, err
		}
		for _, rec := range recs {
			ref := storage.Ref{Type: r.Trigger.Object, ID: rec.RecordMeta().ID}
			_, started, err := e.startRun(ctx, r, ref, nil, key(rec), 1, trigger, true)
			if err != nil {
				return n, err
			}
			if started {
				n++
			}
		}
		if next == "" {
			return n, nil
		}
		q.Cursor = next
	}
}

// Trigger starts a run of rule ruleID (stored, or "code:<name>") about the
// record ref now, whatever its trigger: a manual run, or an enrollment in
// a sequence. ref may be empty for rules without an object. The rule's
// condition is not checked. It returns the run.
func (e *Engine) Trigger(ctx context.Context, ruleID string, ref storage.Ref) (*Run, error) {
	if err := e.operator(ctx); err != nil {
		return nil, err
	}
	var out *Run
	err := e.store.RunInTx(storage.AsSystem(ctx), func(ctx context.Context) error {
		r, err := e.findRule(ctx, ruleID)
		if err != nil {
			return err
		}
		if r.Trigger.Object != "" && ref.Type != r.Trigger.Object {
			return storage.Invalid("ref", "rule %q is about %s records, not %q", r.Name, r.Trigger.Object, ref.Type)
		}
		if ref.ID != "" {
			if _, err := e.get(ctx, ref); err != nil {
				return err
			}
		}
		run, _, err := e.startRun(ctx, r, ref, nil, "manual:"+storage.NewID(), storage.DepthFrom(ctx)+1, OnManual, true)
		out = run
		return err
	})
	return out, err
}

// findRule returns the stored rule id, or the code rule "code:<name>".
func (e *Engine) findRule(ctx context.Context, id string) (*Rule, error) {
	e.mu.RLock()
	for _, r := range e.code {
		if r.ID == id {
			e.mu.RUnlock()
			return r, nil
		}
	}
	e.mu.RUnlock()
	return e.rules.Get(ctx, id)
}
