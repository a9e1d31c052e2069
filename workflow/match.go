package workflow

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
)

// compiled is an enabled rule with its expressions compiled against its
// object's schema in one workspace.
type compiled struct {
	at       time.Time // when it was compiled
	rule     *Rule
	cond     *filterexpr.Expr   // nil accepts every record
	exitWhen *filterexpr.Expr   // nil: no exit condition
	exitOn   []*filterexpr.Expr // per Exit.On entry; nil accepts every record
}

// ruleSet is the enabled rules of one workspace, indexed for matching.
type ruleSet struct {
	loaded  time.Time
	byObj   map[string][]*compiled // event triggers, by object
	exitObj map[string][]*compiled // rules with Exit.On, by the exit's object
	timed   []*compiled            // time triggers and schedules
	byName  map[string]*compiled
}

// exitMatch is an exit trigger an event matched: entry i of c's Exit.On.
type exitMatch struct {
	c *compiled
	i int
}

// triggered returns the rules whose event trigger ev matches, and the exit
// triggers it matches. An event that occurred before a rule was enabled
// sets it off never (Rule.EnabledAt).
func (rs *ruleSet) triggered(ev *storage.Event) (start []*compiled, exits []exitMatch) {
	for _, c := range rs.byObj[ev.Subject.Type] {
		if at := c.rule.EnabledAt; !at.IsZero() && ev.OccurredAt.Before(at) {
			continue
		}
		if c.rule.Trigger.matches(ev) {
			start = append(start, c)
		}
	}
	for _, c := range rs.exitObj[ev.Subject.Type] {
		for i, t := range c.rule.Exit.On {
			if t.matches(ev) {
				exits = append(exits, exitMatch{c, i})
			}
		}
	}
	return start, exits
}

// interested reports whether ev may set off a rule, or end a run.
func (rs *ruleSet) interested(ev *storage.Event) bool {
	start, exits := rs.triggered(ev)
	return len(start)+len(exits) > 0
}

// ruleCache keeps each workspace's rule set for a short while (ttl), and
// the compiled expressions of each rule version for longer (compiledTTL):
// a rule set read again reuses them. The engine's own rule writes and the
// rule and custom-field events it dispatches drop a workspace's entries at
// once.
type ruleCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*ruleSet
	c   map[compiledKey]*compiled
}

// compiledKey names one version of one rule in one workspace.
type compiledKey struct {
	ws, id  string
	version int64
}

// compiledTTL bounds how long a compiled rule is reused: custom fields
// changed by another process reach its conditions within it.
const compiledTTL = time.Minute

func (c *ruleCache) compiled(k compiledKey, now time.Time) *compiled {
	c.mu.Lock()
	defer c.mu.Unlock()
	if x := c.c[k]; x != nil && now.Sub(x.at) <= compiledTTL {
		return x
	}
	return nil
}

func (c *ruleCache) putCompiled(k compiledKey, x *compiled) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil || len(c.c) > 10000 {
		c.c = map[compiledKey]*compiled{}
	}
	c.c[k] = x
}

func (c *ruleCache) get(ws string, now time.Time) *ruleSet {
	c.mu.Lock()
	defer c.mu.Unlock()
	rs := c.m[ws]
	if rs == nil || now.Sub(rs.loaded) > c.ttl {
		return nil
	}
	return rs
}

func (c *ruleCache) put(ws string, rs *ruleSet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*ruleSet{}
	}
	c.m[ws] = rs
}

func (c *ruleCache) forget(ws string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, ws)
	for k := range c.c {
		if k.ws == ws {
			delete(c.c, k)
		}
	}
}

func (c *ruleCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m, c.c = nil, nil
}

// ruleSet returns the enabled rules of workspace ws: the stored ones and
// the code-defined ones that apply to it.
func (e *Engine) ruleSet(ctx context.Context, ws string) (*ruleSet, error) {
	if rs := e.cache.get(ws, time.Now()); rs != nil {
		return rs, nil
	}
	ctx = sysCtx(ctx, ws)
	var rules []*Rule
	err := storage.Each(ctx, e.rules, storage.ListQuery{Filter: storage.Eq("enabled", true),
		PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}, func(r *Rule) error {
		rules = append(rules, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.mu.RLock()
	for _, r := range e.code {
		if r.Enabled && (r.WorkspaceID == "" || r.WorkspaceID == ws) {
			rules = append(rules, r)
		}
	}
	e.mu.RUnlock()
	rs := &ruleSet{loaded: time.Now(), byObj: map[string][]*compiled{}, exitObj: map[string][]*compiled{}, byName: map[string]*compiled{}}
	for _, r := range rules {
		c, err := e.compiledRule(ctx, r)
		if err != nil {
			// The schema changed under the rule (a custom field was
			// removed): it cannot run until it is fixed.
			e.cfg.Logger.Warn("workflow: rule does not compile", "workspace", ws, "rule", r.Name, "err", err)
			continue
		}
		rs.byName[r.Name] = c
		switch r.Trigger.Kind {
		case OnEvent:
			rs.byObj[r.Trigger.Object] = append(rs.byObj[r.Trigger.Object], c)
		case OnTime, OnSchedule:
			rs.timed = append(rs.timed, c)
		}
		seen := map[string]bool{}
		for _, t := range r.Exit.On {
			if !seen[t.Object] {
				seen[t.Object] = true
				rs.exitObj[t.Object] = append(rs.exitObj[t.Object], c)
			}
		}
	}
	e.cache.put(ws, rs)
	return rs, nil
}

// compiledRule returns r compiled in the context's workspace, from the
// cache when that version was compiled a short while ago.
func (e *Engine) compiledRule(ctx context.Context, r *Rule) (*compiled, error) {
	k := compiledKey{ws: storage.WorkspaceFrom(ctx), id: r.ID, version: r.Version}
	if c := e.cache.compiled(k, time.Now()); c != nil {
		return c, nil
	}
	c, err := e.compile(ctx, r)
	if err == nil {
		e.cache.putCompiled(k, c)
	}
	return c, err
}

// compile compiles the expressions of r against its objects' schemas in
// the context's workspace.
func (e *Engine) compile(ctx context.Context, r *Rule) (*compiled, error) {
	c := &compiled{rule: r, at: time.Now()}
	if r.Trigger.Object == "" {
		return c, nil
	}
	schema, err := e.schema(ctx, r.Trigger.Object)
	if err != nil {
		return nil, err
	}
	if r.Condition != "" {
		if c.cond, err = filterexpr.Compile(r.Condition, schema); err != nil {
			return nil, err
		}
	}
	if r.Exit.When != "" {
		if c.exitWhen, err = filterexpr.Compile(r.Exit.When, schema); err != nil {
			return nil, err
		}
	}
	for i, t := range r.Exit.On {
		var x *filterexpr.Expr
		if i < len(r.Exit.OnCondition) && r.Exit.OnCondition[i] != "" {
			s, err := e.schema(ctx, t.Object)
			if err != nil {
				return nil, err
			}
			if x, err = filterexpr.Compile(r.Exit.OnCondition[i], s); err != nil {
				return nil, err
			}
		}
		c.exitOn = append(c.exitOn, x)
	}
	return c, nil
}

// schema returns the expression schema of object typ.
func (e *Engine) schema(ctx context.Context, typ string) (filterexpr.Schema, error) {
	obj, err := e.object(typ)
	if err != nil {
		return nil, err
	}
	return obj.Schema(ctx)
}

// matches reports whether event ev sets off trigger t (of kind OnEvent,
// or an exit's trigger).
func (t Trigger) matches(ev *storage.Event) bool {
	if ev.Subject.Type != t.Object {
		return false
	}
	verb := strings.TrimPrefix(ev.Type, ev.Subject.Type+".")
	hit := false
	for _, want := range t.Events {
		if want == verb {
			hit = true
			break
		}
		if want == "stage_changed" && verb != "created" && verb != "deleted" {
			if _, ok := ev.Change("stage"); ok {
				hit = true
				break
			}
		}
	}
	if !hit {
		return false
	}
	if t.Field == "" {
		return true
	}
	c, ok := ev.Change(t.Field)
	if !ok {
		return false
	}
	return jsonMatches(c.Old, t.From) && jsonMatches(c.New, t.To)
}

// jsonMatches reports whether the JSON value raw equals want (in the form
// normalizeValues gives it when the rule is checked); a nil want matches
// anything.
func jsonMatches(raw json.RawMessage, want any) bool {
	if want == nil {
		return true
	}
	var got any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &got); err != nil {
			return false
		}
	}
	return reflect.DeepEqual(got, want)
}

// eventFields rebuilds a record's fields from the values an event lists,
// for records gone by the time the rule is matched (deleted): the old
// values, or the new ones when there are none. Times come back as times.
func eventFields(ev *storage.Event) filterexpr.Record {
	rec := filterexpr.Record{"id": ev.Subject.ID, "workspace_id": ev.WorkspaceID}
	custom := map[string]any{}
	for _, c := range ev.Changes {
		raw := c.Old
		if len(raw) == 0 {
			raw = c.New
		}
		v := jsonValue(raw)
		if v == nil {
			continue
		}
		if name, ok := strings.CutPrefix(c.Field, "custom."); ok {
			custom[name] = v
			continue
		}
		rec[c.Field] = v
	}
	rec["custom"] = custom
	return rec
}

// jsonValue decodes a value of an event's change as expressions and
// templates read it: nil when absent, times as times, lists of text as
// []string.
func jsonValue(raw json.RawMessage) any {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return nil
	}
	switch x := v.(type) {
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t
		}
	case []any:
		if strs, ok := stringList(x); ok {
			return strs
		}
	}
	return v
}

func stringList(xs []any) ([]string, bool) {
	out := make([]string, len(xs))
	for i, x := range xs {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}
