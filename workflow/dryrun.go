package workflow

import (
	"context"
	"time"

	"github.com/crmkit/crm/storage"
)

// DryRun is what a rule would do for one record.
type DryRun struct {
	// Matched reports whether the rule's condition accepts the record.
	Matched bool `json:"matched"`
	// Actions are the actions that would run, in order, with their
	// parameters rendered for the record; empty when Matched is false.
	Actions []PlannedAction `json:"actions,omitempty"`
}

// PlannedAction is one action of a dry run.
type PlannedAction struct {
	Type string `json:"type"`
	// Params are the parameters as the action would use them (rendered
	// templates, the email message as a send.Message, the task, the field
	// values).
	Params any `json:"params,omitempty"`
	// Error is why the action would fail, if it would.
	Error string `json:"error,omitempty"`
}

// DryRun evaluates rule against the record ref, without side effects: it
// checks the rule (as saving would), reads the record, evaluates the
// condition and renders each action's parameters. Actions after a Wait
// are rendered with the record as it is now. The rule need not be stored.
func (e *Engine) DryRun(ctx context.Context, rule Rule, ref storage.Ref) (*DryRun, error) {
	if err := e.check(ctx, &rule); err != nil {
		return nil, err
	}
	c, err := e.compile(ctx, &rule)
	if err != nil {
		return nil, err
	}
	now := e.now()
	call := &Call{Run: &Run{ID: "dry-run", RuleID: rule.ID, Rule: rule}, Subject: ref, Now: now, Key: "dry-run", e: e}
	if ref.ID != "" {
		rec, err := e.get(ctx, ref)
		if err != nil {
			return nil, err
		}
		call.Record, call.Fields = rec, fieldsOf(rec)
	}
	out := &DryRun{Matched: true}
	if c.cond != nil {
		if out.Matched, err = c.cond.Match(call.Fields, now); err != nil {
			return nil, err
		}
	}
	if !out.Matched {
		return out, nil
	}
	for i, a := range rule.Actions {
		h, err := e.handler(a.Type)
		if err != nil {
			return nil, err
		}
		call.Step, call.Action, call.Params = i, a, a.Params
		p := PlannedAction{Type: a.Type}
		if h.Plan == nil {
			p.Params = a.Params
		} else if v, err := h.Plan(ctx, call); err != nil {
			p.Error = err.Error()
		} else {
			p.Params = v
			if w, ok := v.(map[string]any); ok && a.Type == ActionWait {
				if t, ok := w["until"].(time.Time); ok && t.After(call.Now) {
					call.Now = t
				}
			}
		}
		out.Actions = append(out.Actions, p)
	}
	return out, nil
}
