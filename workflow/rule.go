package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/adhocore/gronx"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
)

// ObjectRule is the record type of stored rules.
const ObjectRule = "workflow_rule"

// ObjectTask is the record type the create_task action makes (the sales
// module's tasks).
const ObjectTask = "task"

// Rule is a trigger, a condition and ordered actions. Stored rules belong
// to a workspace and are versioned (Meta.Version): a run keeps the version
// it started with, so editing a rule never changes a run under way. Rules
// defined in Go code (Engine.Define) or loaded from files (LoadRules) are
// the same type, kept in memory.
type Rule struct {
	storage.Meta
	// Name names the rule; unique within the workspace.
	Name string `bun:"name,notnull" json:"name"`
	// Description says what the rule is for.
	Description string `bun:"description,notnull" json:"description,omitempty"`
	// Enabled rules run; disabled ones are kept but never triggered.
	Enabled bool `bun:"enabled,notnull" json:"enabled"`
	// Trigger says when the rule runs.
	Trigger Trigger `bun:"trigger" json:"trigger"`
	// Condition is an expression (package filterexpr) over the fields of
	// the trigger's object, such as "lifecycle == 'lead' && 'vip' in tags";
	// the rule runs only for records it accepts. Empty accepts all.
	Condition string `bun:"condition,notnull" json:"condition,omitempty"`
	// Actions run in order. A Wait action pauses the run durably.
	Actions []Action `bun:"actions" json:"actions"`
	// Exit ends a run early (a sequence): before every step after a wait,
	// and when an event of Exit.On happens to the run's record.
	Exit Exit `bun:"exit" json:"exit,omitzero"`
	// EnabledAt is when a stored rule was last switched on (created
	// enabled, or enabled since): its event trigger acts on the events
	// that occur from then on, not on the history before it. The store
	// sets it; zero for rules defined in code, which act on every event
	// after the engine's cursor (see Config.StartFrom).
	EnabledAt time.Time `bun:"enabled_at,nullzero" json:"enabled_at,omitzero"`
	// ActsAs is the member whose rights the rule's actions use, and as
	// whom it reads its records: the member who last saved it (created or
	// changed it, enabling included). "" runs it as the system, as rules
	// defined in code and rules saved by the system do; a member saves
	// one so only when it is an admin and asks (NewRule.RunAsSystem). A
	// run of a rule whose member is gone, inactive, or may not read the
	// run's record fails, saying so. The store sets it.
	ActsAs string `bun:"acts_as,notnull" json:"acts_as,omitempty"`
}

// RecordType returns "workflow_rule".
func (*Rule) RecordType() string { return ObjectRule }

// TriggerKind says what sets a rule off.
type TriggerKind string

// The trigger kinds.
const (
	// OnEvent runs the rule for change events of an object: created,
	// updated, deleted, a field changed (from or to a value), a stage
	// changed, or any event type of the object ("converted", "won").
	OnEvent TriggerKind = "event"
	// OnTime runs the rule for each record when a date field of it plus
	// an offset comes: "3 days before expected_close", "14 days after
	// created_at".
	OnTime TriggerKind = "time"
	// OnSchedule runs the rule on a cron schedule: once, or with an
	// object, for each record its condition selects.
	OnSchedule TriggerKind = "schedule"
	// OnManual runs the rule only when asked (Engine.Trigger) or when an
	// Enroll action starts it: a sequence.
	OnManual TriggerKind = "manual"
)

// Trigger says when a rule runs.
type Trigger struct {
	// Kind is the kind of trigger.
	Kind TriggerKind `json:"kind"`
	// Object is the record type the rule is about, such as "contact" or
	// "opportunity". Required but for schedules without records.
	Object string `json:"object,omitempty"`
	// Events, for OnEvent, are the events that set the rule off, as the
	// part of the event type after the object: "created", "updated",
	// "deleted", "stage_changed" (every stage move after creation, won and
	// lost included), or a domain's own such as "converted" or "won".
	Events []string `json:"events,omitempty"`
	// Field, for OnEvent, keeps only events that changed this field; for
	// OnTime, it is the date field the time is counted from.
	Field string `json:"field,omitempty"`
	// From and To, for OnEvent with a Field, keep only changes from and to
	// these values (compared as JSON; a nil one matches any value).
	From any `json:"from,omitempty"`
	To   any `json:"to,omitempty"`
	// Offset, for OnTime, is added to the date field's value: "-3d" is
	// three days before, "14d" fourteen days after. Units: w, d, h, m, s.
	Offset Duration `json:"offset,omitempty"`
	// Cron, for OnSchedule, is a cron expression ("0 9 * * 1": Mondays at
	// 9:00), read in Timezone.
	Cron string `json:"cron,omitempty"`
	// Timezone is the IANA zone of Cron, such as "Europe/Berlin". Default UTC.
	Timezone string `json:"timezone,omitempty"`
}

// Exit ends the runs of a rule early: the exit conditions of a sequence.
type Exit struct {
	// When is an expression over the run's record, checked before each
	// step that follows a wait; when it is true the run exits.
	When string `json:"when,omitempty"`
	// On are events that make the runs of the record exit: events of the
	// run's record, or of a record that links to it (an inbound email
	// activity of the contact, for "the contact replied"). Each is an
	// OnEvent trigger (Kind may be left empty).
	On []Trigger `json:"on,omitempty"`
	// OnCondition, for each entry of On, is an optional expression over
	// the event's record that must hold too, such as "direction ==
	// 'inbound'"; matched by index.
	OnCondition []string `json:"on_condition,omitempty"`
}

// IsZero reports whether e sets no exit condition.
func (e Exit) IsZero() bool { return e.When == "" && len(e.On) == 0 }

// Action is one step of a rule: a built-in action (SendEmail, CreateTask,
// UpdateField, AddTag, RemoveTag, AssignOwner, CallWebhook, Wait, Enroll,
// ExitSequence) or one the host registered by name (Engine.Register).
// Params are the action's parameters as JSON; text parameters of the
// built-in actions are templates over the record ("Call {{.first_name}}").
type Action struct {
	// Type names the action, such as "create_task".
	Type string `json:"type"`
	// Params are the action's parameters.
	Params json.RawMessage `json:"params,omitempty"`
}

// NewAction returns an action of type typ with params marshalled as JSON;
// for the host's own actions.
func NewAction(typ string, params any) Action {
	a := Action{Type: typ}
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			// Params of a built-in constructor always marshal; a host's
			// unmarshalable params fail validation with a clear error.
			b, _ = json.Marshal(map[string]string{"error": err.Error()})
		}
		a.Params = b
	}
	return a
}

// Duration is a length of time written as text: "3d", "-72h", "1w2d",
// "90m". Its JSON form is that text.
type Duration time.Duration

// ParseDuration reads a duration with the units w (7 days), d (24 hours),
// h, m, s, ms and a leading sign.
func ParseDuration(s string) (Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, nil
	}
	neg := false
	switch in[0] {
	case '-':
		neg, in = true, in[1:]
	case '+':
		in = in[1:]
	}
	if in == "" {
		return 0, fmt.Errorf("duration %q: want a number and a unit, such as 3d", s)
	}
	const limit = 100 * 365 * 24 * time.Hour
	var total time.Duration
	for in != "" {
		i := 0
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i == 0 || i > 9 {
			return 0, fmt.Errorf("duration %q: want a number and a unit, such as 3d", s)
		}
		var n int64
		for _, c := range in[:i] {
			n = n*10 + int64(c-'0')
		}
		in = in[i:]
		j := 0
		for j < len(in) && (in[j] < '0' || in[j] > '9') {
			j++
		}
		unit := in[:j]
		in = in[j:]
		var u time.Duration
		switch unit {
		case "w":
			u = 7 * 24 * time.Hour
		case "d":
			u = 24 * time.Hour
		case "h":
			u = time.Hour
		case "m":
			u = time.Minute
		case "s":
			u = time.Second
		case "ms":
			u = time.Millisecond
		default:
			return 0, fmt.Errorf("duration %q: unknown unit %q (use w, d, h, m, s or ms)", s, unit)
		}
		if time.Duration(n) > (limit-total)/u {
			return 0, fmt.Errorf("duration %q is longer than 100 years", s)
		}
		total += time.Duration(n) * u
	}
	if neg {
		total = -total
	}
	return Duration(total), nil
}

// String writes d with the largest units that divide it: "3d", "-2h30m".
func (d Duration) String() string {
	if d == 0 {
		return "0s"
	}
	v := time.Duration(d)
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
		v = -v
	}
	for _, u := range []struct {
		d time.Duration
		s string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if n := v / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.s)
			v -= n * u.d
		}
	}
	return b.String()
}

// MarshalJSON writes d as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads text ("3d") or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration: want text such as \"3d\"")
		}
		*d = Duration(n)
		return nil
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// check validates r against the engine's objects and actions, compiling
// its expressions; every fault is listed in the returned error
// (ErrInvalid, naming the field).
func (e *Engine) check(ctx context.Context, r *Rule) error {
	v := &storage.ValidationError{}
	r.Name = strings.TrimSpace(r.Name)
	switch {
	case r.Name == "":
		v.Add("name", "is required")
	case len(r.Name) > 200:
		v.Add("name", "is longer than 200 characters")
	}
	if len(r.Description) > 2000 {
		v.Add("description", "is longer than 2000 characters")
	}
	normalizeValues(&r.Trigger)
	schema := e.checkTrigger(ctx, v, "trigger.", r.Trigger)
	if r.Condition != "" {
		if schema == nil {
			if r.Trigger.Object == "" {
				v.Add("condition", "needs trigger.object: a condition is about a record")
			}
		} else if _, err := filterexpr.Compile(r.Condition, schema); err != nil {
			v.Add("condition", "%s", exprReason(err))
		}
	}
	if len(r.Actions) == 0 {
		v.Add("actions", "at least one action is required")
	}
	if len(r.Actions) > 50 {
		v.Add("actions", "at most 50 actions")
	}
	for i, a := range r.Actions {
		field := fmt.Sprintf("actions[%d]", i)
		h, err := e.handler(a.Type)
		if err != nil {
			v.Add(field+".type", "unknown action %q", a.Type)
			continue
		}
		if h.Check != nil {
			if err := h.Check(ctx, CheckInput{Object: r.Trigger.Object, Schema: schema, Params: a.Params, Engine: e}); err != nil {
				v.Add(field+".params", "%s", exprReason(err))
			}
		}
	}
	if !r.Exit.IsZero() {
		if r.Exit.When != "" {
			if schema == nil {
				v.Add("exit.when", "needs trigger.object")
			} else if _, err := filterexpr.Compile(r.Exit.When, schema); err != nil {
				v.Add("exit.when", "%s", exprReason(err))
			}
		}
		if len(r.Exit.OnCondition) > len(r.Exit.On) {
			v.Add("exit.on_condition", "has more entries than exit.on")
		}
		for i := range r.Exit.On {
			normalizeValues(&r.Exit.On[i])
			t := r.Exit.On[i]
			if t.Kind == "" {
				t.Kind = OnEvent
			}
			prefix := fmt.Sprintf("exit.on[%d].", i)
			if t.Kind != OnEvent {
				v.Add(prefix+"kind", "an exit is an event trigger")
				continue
			}
			s := e.checkTrigger(ctx, v, prefix, t)
			if i < len(r.Exit.OnCondition) && r.Exit.OnCondition[i] != "" && s != nil {
				if _, err := filterexpr.Compile(r.Exit.OnCondition[i], s); err != nil {
					v.Add(fmt.Sprintf("exit.on_condition[%d]", i), "%s", exprReason(err))
				}
			}
		}
	}
	return v.Err()
}

// exprReason returns the message of an expression or validation error
// without the "invalid input" prefix, for nesting in a field's reason.
func exprReason(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, storage.ErrInvalid.Error()+": ")
	return msg
}

// checkTrigger validates t and returns its object's schema (nil when it
// names no known object).
func (e *Engine) checkTrigger(ctx context.Context, v *storage.ValidationError, prefix string, t Trigger) filterexpr.Schema {
	var schema filterexpr.Schema
	if t.Object != "" {
		obj, err := e.object(t.Object)
		if err != nil {
			v.Add(prefix+"object", "unknown object %q", t.Object)
		} else {
			s, err := obj.Schema(ctx)
			if err != nil {
				v.Add(prefix+"object", "cannot read its fields: %v", err)
			} else {
				schema = s
			}
		}
	}
	switch t.Kind {
	case OnEvent:
		if t.Object == "" {
			v.Add(prefix+"object", "is required for an event trigger")
		}
		if len(t.Events) == 0 {
			v.Add(prefix+"events", "name at least one event, such as \"created\"")
		}
		for i, ev := range t.Events {
			if !storage.ValidKey(ev) {
				v.Add(fmt.Sprintf("%sevents[%d]", prefix, i), "%q is not an event name", ev)
			}
		}
		if _, ok := schema[t.Field]; t.Field != "" && schema != nil && !ok {
			v.Add(prefix+"field", "unknown field %q", t.Field)
		}
		if (t.From != nil || t.To != nil) && t.Field == "" {
			v.Add(prefix+"field", "is required with from or to")
		}
	case OnTime:
		if t.Object == "" {
			v.Add(prefix+"object", "is required for a time trigger")
		}
		if t.Field == "" {
			v.Add(prefix+"field", "is required: the date field the time is counted from")
		} else if schema != nil && schema[t.Field] != filterexpr.Time {
			v.Add(prefix+"field", "%q is not a date field", t.Field)
		}
	case OnSchedule:
		if t.Cron == "" {
			v.Add(prefix+"cron", "is required for a schedule")
		} else if !gronx.IsValid(t.Cron) {
			v.Add(prefix+"cron", "%q is not a cron expression", t.Cron)
		}
		if t.Timezone != "" {
			if _, err := time.LoadLocation(t.Timezone); err != nil {
				v.Add(prefix+"timezone", "unknown time zone %q", t.Timezone)
			}
		}
	case OnManual:
		// With an object or without one (a run without a record).
	case "":
		v.Add(prefix+"kind", "is required: event, time, schedule or manual")
	default:
		v.Add(prefix+"kind", "unknown trigger kind %q", t.Kind)
	}
	if t.Kind != OnTime && t.Offset != 0 {
		v.Add(prefix+"offset", "is only for time triggers")
	}
	if t.Kind != OnSchedule && (t.Cron != "" || t.Timezone != "") {
		v.Add(prefix+"cron", "is only for schedules")
	}
	return schema
}

// normalizeValues gives a trigger's From and To the form they have read
// back from JSON (numbers as float64, lists as []any), so that matching an
// event compares them as they are.
func normalizeValues(t *Trigger) {
	for _, p := range []*any{&t.From, &t.To} {
		if *p == nil {
			continue
		}
		if b, err := json.Marshal(*p); err == nil {
			var v any
			if json.Unmarshal(b, &v) == nil {
				*p = v
			}
		}
	}
}
