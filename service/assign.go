package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// Agent is a member's profile at the service desk: what assignment rules
// read to route cases to it.
type Agent struct {
	storage.Meta
	// MemberID is the member (one profile per member).
	MemberID string `bun:"member_id,notnull" json:"member_id"`
	// Skills are what the agent handles ("billing", "french"), lower-case;
	// a rule's Skills must all be among them.
	Skills []string `bun:"skills" json:"skills,omitempty"`
	// Capacity is the most open cases (not resolved) the agent holds
	// before rules pass it over; 0 sets no limit.
	Capacity int `bun:"capacity,notnull" json:"capacity,omitempty"`
	// CalendarID names the agent's working hours: outside them rules pass
	// it over. "" takes the rule's team's calendar, or none (always).
	CalendarID string `bun:"calendar_id,notnull" json:"calendar_id,omitempty"`
	// Available is the agent's own switch: an unavailable agent (away,
	// on leave) is never assigned by a rule.
	Available bool `bun:"available,notnull" json:"available"`
}

// RecordType returns "service_agent".
func (*Agent) RecordType() string { return ObjectAgent }

// NewAgent is the input of Agents.Set.
type NewAgent struct {
	MemberID   string
	Skills     []string
	Capacity   int
	CalendarID string
	Available  bool
}

// Agents stores the desk's agent profiles.
type Agents struct{ s *Service }

// Set creates or replaces the profile of in.MemberID, which must name a
// member.
func (as *Agents) Set(ctx context.Context, in NewAgent) (*Agent, error) {
	var out *Agent
	err := as.s.store.RunInTx(ctx, func(ctx context.Context) error {
		a := &Agent{MemberID: strings.TrimSpace(in.MemberID), Skills: in.Skills, Capacity: in.Capacity,
			CalendarID: strings.TrimSpace(in.CalendarID), Available: in.Available}
		if err := as.check(ctx, a); err != nil {
			return err
		}
		prev, err := as.Get(ctx, a.MemberID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			out = a
			return as.s.t.agents.Insert(ctx, a)
		case err != nil:
			return err
		}
		next := *prev
		next.Skills, next.Capacity, next.CalendarID, next.Available = a.Skills, a.Capacity, a.CalendarID, a.Available
		out = &next
		return as.s.t.agents.Update(ctx, prev, &next)
	})
	return out, err
}

// check validates a, naming each bad field.
func (as *Agents) check(ctx context.Context, a *Agent) error {
	var v storage.ValidationError
	if a.MemberID == "" {
		v.Add("member_id", "is required")
	} else if err := storage.CheckRef(ctx, &v, "member_id", as.s.store, storage.Ref{Type: access.ObjectMember, ID: a.MemberID}); err != nil {
		return err
	}
	a.Skills = skillsOf(&v, a.Skills)
	if a.Capacity < 0 || a.Capacity > 100_000 {
		v.Add("capacity", "%d is outside 0–100000", a.Capacity)
	}
	if a.CalendarID != "" {
		if err := storage.CheckRef(ctx, &v, "calendar_id", as.s.store, storage.Ref{Type: ObjectCalendar, ID: a.CalendarID}); err != nil {
			return err
		}
	}
	return v.Err()
}

// Get returns the profile of the member memberID, or ErrNotFound.
func (as *Agents) Get(ctx context.Context, memberID string) (*Agent, error) {
	page, err := as.s.t.agents.List(ctx, storage.ListQuery{Filter: storage.Eq("member_id", memberID), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, fmt.Errorf("%w: no agent profile for member %q", storage.ErrNotFound, memberID)
	}
	return page.Items[0], nil
}

// SetAvailable switches the agent memberID on or off duty.
func (as *Agents) SetAvailable(ctx context.Context, memberID string, available bool) (*Agent, error) {
	var out *Agent
	err := as.s.store.RunInTx(ctx, func(ctx context.Context) error {
		prev, err := as.Get(ctx, memberID)
		if err != nil {
			return err
		}
		next := *prev
		next.Available = available
		out = &next
		return as.s.t.agents.Update(ctx, prev, &next)
	})
	return out, err
}

// List returns a page of agent profiles.
func (as *Agents) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Agent], error) {
	return as.s.t.agents.List(ctx, q)
}

// AssignMethod is how a rule picks among the agents it may assign.
type AssignMethod string

// The assignment methods.
const (
	// RoundRobin takes the next eligible agent after the one the rule
	// assigned last, in the pool's order.
	RoundRobin AssignMethod = "round_robin"
	// LeastOpen takes the eligible agent holding the fewest open cases,
	// ties going round robin.
	LeastOpen AssignMethod = "least_open"
)

// AssignmentRule routes new cases to agents: the first enabled rule (by
// Position, then name) whose Condition matches an unassigned new case
// assigns it to one of its pool's eligible agents, and to its team.
type AssignmentRule struct {
	storage.Meta
	Name     string `bun:"name,notnull" json:"name"`
	Position int    `bun:"sort_order,notnull" json:"position"`
	// Condition is an expression over the case, its contact and its
	// account, as an SLA policy's; "" matches every case.
	Condition string `bun:"condition_expr,notnull" json:"condition,omitempty"`
	// TeamID is the team the case goes to; with no MemberIDs, its active
	// members are the pool.
	TeamID string `bun:"team_id,notnull" json:"team_id,omitempty"`
	// MemberIDs is the pool, in its round-robin order; empty takes the
	// team's members, in the order of their IDs.
	MemberIDs []string     `bun:"member_ids" json:"member_ids,omitempty"`
	Method    AssignMethod `bun:"method,notnull" json:"method"`
	// Skills must all be among an agent's for it to be eligible.
	Skills  []string `bun:"skills" json:"skills,omitempty"`
	Enabled bool     `bun:"enabled,notnull" json:"enabled"`
	// LastMemberID is the agent the rule assigned last, where its round
	// robin goes on from.
	LastMemberID string `bun:"last_member_id,notnull" json:"last_member_id,omitempty"`
}

// RecordType returns "assignment_rule".
func (*AssignmentRule) RecordType() string { return ObjectAssignmentRule }

// NewAssignmentRule is the input of AssignmentRules.Create.
type NewAssignmentRule struct {
	Name      string
	Position  int
	Condition string
	TeamID    string
	MemberIDs []string
	// Method defaults to RoundRobin.
	Method  AssignMethod
	Skills  []string
	Enabled bool
}

// AssignmentRules stores the rules that route new cases.
type AssignmentRules struct{ s *Service }

// Create adds a rule. Its condition must compile against the cases'
// fields, its team and members exist, and it needs a team or members.
func (rs *AssignmentRules) Create(ctx context.Context, in NewAssignmentRule) (*AssignmentRule, error) {
	r := &AssignmentRule{}
	in.apply(r)
	if err := rs.check(ctx, r); err != nil {
		return nil, err
	}
	if err := rs.s.t.rules.Insert(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

func (in NewAssignmentRule) apply(r *AssignmentRule) {
	r.Name, r.Position, r.Condition, r.TeamID, r.MemberIDs, r.Method, r.Skills, r.Enabled =
		in.Name, in.Position, in.Condition, strings.TrimSpace(in.TeamID), in.MemberIDs, in.Method, in.Skills, in.Enabled
	if r.Method == "" {
		r.Method = RoundRobin
	}
}

// Update replaces a rule's definition; its round robin goes on.
func (rs *AssignmentRules) Update(ctx context.Context, id string, in NewAssignmentRule) (*AssignmentRule, error) {
	return storage.Modify(ctx, rs.s.store, rs.s.t.rules, id, 0, func(ctx context.Context, r *AssignmentRule) error {
		in.apply(r)
		return rs.check(ctx, r)
	})
}

// Get returns the rule with id.
func (rs *AssignmentRules) Get(ctx context.Context, id string) (*AssignmentRule, error) {
	return rs.s.t.rules.Get(ctx, id)
}

// List returns a page of rules.
func (rs *AssignmentRules) List(ctx context.Context, q storage.ListQuery) (storage.Page[*AssignmentRule], error) {
	return rs.s.t.rules.List(ctx, q)
}

// Delete removes a rule.
func (rs *AssignmentRules) Delete(ctx context.Context, id string) error {
	return storage.Remove(ctx, rs.s.store, rs.s.t.rules, id, 0, nil)
}

func (rs *AssignmentRules) check(ctx context.Context, r *AssignmentRule) error {
	var v storage.ValidationError
	if err := rs.s.checkRuleText(ctx, &v, &r.Name, &r.Condition); err != nil {
		return err
	}
	switch r.Method {
	case RoundRobin, LeastOpen:
	default:
		v.Add("method", "%q is not round_robin or least_open", r.Method)
	}
	if r.TeamID == "" && len(r.MemberIDs) == 0 {
		v.Add("member_ids", "a rule needs a team or members")
	}
	if r.TeamID != "" {
		if err := storage.CheckRef(ctx, &v, "team_id", rs.s.store, storage.Ref{Type: access.ObjectTeam, ID: r.TeamID}); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for i, id := range r.MemberIDs {
		f := fmt.Sprintf("member_ids[%d]", i)
		if seen[id] {
			v.Add(f, "%q is listed twice", id)
			continue
		}
		seen[id] = true
		if err := storage.CheckRef(ctx, &v, f, rs.s.store, storage.Ref{Type: access.ObjectMember, ID: id}); err != nil {
			return err
		}
	}
	r.Skills = skillsOf(&v, r.Skills)
	return v.Err()
}

// AutoAssign runs the assignment rules on the unassigned case id, as they
// run on a new case: for a case no agent was free for, once one is. A
// case with an owner, or one no rule assigns, is returned as it is. The
// change event is case.assigned.
func (cs *Cases) AutoAssign(ctx context.Context, id string) (*Case, error) {
	var out *Case
	err := cs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		prev, err := cs.s.t.cases.Get(ctx, id)
		if err != nil {
			return err
		}
		out = prev
		if prev.OwnerID != "" || prev.Category == StatusResolved || prev.MergedInto != "" {
			return nil
		}
		next := *prev
		if err := cs.s.route(ctx, &next, storage.WriteTimeFrom(ctx)); err != nil {
			return err
		}
		if next.OwnerID == prev.OwnerID && next.TeamID == prev.TeamID {
			return nil
		}
		out = &next
		return cs.s.writeAssignment(ctx, prev, &next)
	})
	return out, err
}

// route gives the unassigned case c (not yet written) an owner and a team
// from the first rule that matches it, in ctx's transaction. The rule's
// lock makes concurrent routings through it take turns, so that each
// counts the cases the ones before it assigned: no agent goes over its
// capacity, and the round robin skips no one.
func (s *Service) route(ctx context.Context, c *Case, at time.Time) error {
	r, err := firstMatching(ctx, s, s.t.rules, func(r *AssignmentRule) string { return r.Condition }, c, at)
	if err != nil || r == nil {
		return err
	}
	return s.assignBy(storage.AsSystem(ctx), r.ID, c, at) // the desk's configuration applies whoever writes
}

// assignBy assigns c through the rule id, under the rule's lock.
func (s *Service) assignBy(ctx context.Context, id string, c *Case, at time.Time) error {
	if err := storage.Lock(ctx, s.store, "service.assignment:"+id); err != nil {
		return err
	}
	r, err := s.t.rules.Get(ctx, id) // read again under the lock: the cursor moved
	if err != nil {
		return err
	}
	if c.TeamID == "" {
		c.TeamID = r.TeamID
	}
	pool, err := s.pool(ctx, r)
	if err != nil || len(pool) == 0 {
		return err
	}
	agents := map[string]*Agent{}
	err = storage.Each(ctx, s.t.agents, storage.ListQuery{Filter: storage.In("member_id", pool...)}, func(a *Agent) error {
		agents[a.MemberID] = a
		return nil
	})
	if err != nil {
		return err
	}
	open, err := s.openCases(ctx, pool)
	if err != nil {
		return err
	}
	teamCalendar := ""
	if r.TeamID != "" {
		if teamCalendar, err = s.Calendars.ofTeam(ctx, r.TeamID); err != nil {
			return err
		}
	}
	// The pool in round-robin order: from the one after the last assigned.
	start := slices.Index(pool, r.LastMemberID) + 1
	order := append(slices.Clone(pool[start:]), pool[:start]...)
	best, bestOpen := "", int64(-1)
	for _, m := range order {
		a := agents[m]
		if a == nil || !a.Available || (a.Capacity > 0 && open[m] >= int64(a.Capacity)) {
			continue
		}
		if !hasAll(a.Skills, r.Skills) {
			continue
		}
		calendar := a.CalendarID
		if calendar == "" {
			calendar = teamCalendar
		}
		if calendar != "" {
			sched, err := s.Calendars.Schedule(ctx, calendar)
			if err != nil {
				return err
			}
			if !sched.Working(at) {
				continue
			}
		}
		if best == "" || (r.Method == LeastOpen && open[m] < bestOpen) {
			best, bestOpen = m, open[m]
		}
		if r.Method == RoundRobin {
			break
		}
	}
	if best == "" {
		return nil // no one is free: the case waits in its team's queue
	}
	c.OwnerID = best
	next := *r
	next.LastMemberID = best
	return s.t.rules.Update(ctx, r, &next)
}

// pool returns the members rule r assigns among, in round-robin order:
// its listed members, else its team's active members by ID.
func (s *Service) pool(ctx context.Context, r *AssignmentRule) ([]string, error) {
	if len(r.MemberIDs) > 0 {
		return r.MemberIDs, nil
	}
	var out []string
	err := storage.Each(ctx, s.t.members, storage.ListQuery{
		Filter: storage.And{storage.Cmp{Field: "team_ids", Op: storage.OpContains, Value: r.TeamID}, storage.Eq("active", true)},
		Sort:   []storage.Sort{{Field: "id"}}}, func(m *access.Member) error {
		out = append(out, m.ID)
		return nil
	})
	return out, err
}

// openCases counts the open (not resolved) cases of each member of pool,
// in one grouped aggregate.
func (s *Service) openCases(ctx context.Context, pool []string) (map[string]int64, error) {
	rows, err := s.store.Aggregate(ctx, ObjectCase, storage.AggregateQuery{
		Filter:  storage.And{storage.In("owner_id", pool...), storage.Ne("status_category", string(StatusResolved))},
		GroupBy: []string{"owner_id"}, Measures: []storage.Measure{{Op: storage.AggCount}}})
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, row := range rows {
		if id, ok := row.Group[0].(string); ok {
			out[id] = row.Values[0].(int64)
		}
	}
	return out, nil
}

// hasAll reports whether have holds every element of want.
func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// skillsOf normalises skills as tags are (trimmed, lower-case, once
// each), adding a bad one to v.
func skillsOf(v *storage.ValidationError, skills []string) []string {
	out, err := contacts.NormalizeTags(skills)
	var bad *storage.ValidationError
	if errors.As(err, &bad) {
		v.Merge("skills", bad)
	}
	return out
}
