package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/crmkit/crm/service/bizhours"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
)

// SLAPolicy is a service-level agreement: how soon the desk answers and
// resolves the cases it applies to, per priority. The first enabled policy
// (by Position, then name) whose Condition matches a new case applies to
// it.
type SLAPolicy struct {
	storage.Meta
	Name     string `bun:"name,notnull" json:"name"`
	Position int    `bun:"sort_order,notnull" json:"position"`
	// Condition is an expression over the case's fields and its contact's
	// and account's ("priority == 'urgent' || account.tier == 'gold'"),
	// read as the system; "" matches every case.
	Condition string `bun:"condition_expr,notnull" json:"condition,omitempty"`
	// CalendarID names the Calendar its targets count in; "" counts
	// calendar time (every hour of every day). A case whose team has a
	// calendar of its own (Calendar.TeamID) counts in the team's instead.
	CalendarID string      `bun:"calendar_id,notnull" json:"calendar_id,omitempty"`
	Targets    []SLATarget `bun:"targets" json:"targets"`
	Enabled    bool        `bun:"enabled,notnull" json:"enabled"`
}

// RecordType returns "sla_policy".
func (*SLAPolicy) RecordType() string { return ObjectSLAPolicy }

// SLATarget is a policy's targets for the cases of one priority ("" for
// any priority the policy names no target for). A zero target sets no
// clock.
type SLATarget struct {
	Priority Priority `json:"priority,omitempty"`
	// FirstResponse is the time to the desk's first public reply;
	// NextResponse the time to each later one, counted from the
	// customer's first message the desk has not answered (Case.WaitingSince);
	// Resolution the time to a resolved status, not counting the time the
	// case spends in a paused status (or resolved, before it reopens).
	FirstResponse time.Duration `json:"first_response,omitempty"`
	NextResponse  time.Duration `json:"next_response,omitempty"`
	Resolution    time.Duration `json:"resolution,omitempty"`
}

// SLAState is where one SLA clock of a case stands.
type SLAState string

// The SLA states.
const (
	SLANone   SLAState = ""       // no clock: no policy, or no target
	SLAActive SLAState = "active" // running (or paused), not yet due or met
	SLAHit    SLAState = "hit"    // met in time
	SLAMissed SLAState = "missed" // met late, or not met by its due time
)

// SLA is the applied SLA of a case: its policy, its clocks' due times and
// states, and the business time the resolution clock has been paused.
// Its fields are the case's (sla_*), so lists, reports and workflow time
// triggers read them: a time trigger on sla_first_response_due with the
// offset -30m and the condition sla_first_response == 'active' warns of a
// breach, one with no offset is the breach (see Cases.Breached), and one
// on sla_next_due covers every clock.
type SLA struct {
	PolicyID           string    `bun:"sla_policy_id,notnull" json:"policy_id,omitempty"`
	FirstResponseDue   time.Time `bun:"sla_first_response_due,notnull" json:"first_response_due,omitzero"`
	FirstResponseState SLAState  `bun:"sla_first_response,notnull" json:"first_response,omitempty"`
	// NextResponseDue is when the desk's answer to the customer's waiting
	// message is due (zero when no one waits); NextResponseState the
	// state of the latest such wait; NextResponsesMissed how many waits
	// were answered late.
	NextResponseDue     time.Time `bun:"sla_next_response_due,notnull" json:"next_response_due,omitzero"`
	NextResponseState   SLAState  `bun:"sla_next_response,notnull" json:"next_response,omitempty"`
	NextResponsesMissed int       `bun:"sla_next_responses_missed,notnull" json:"next_responses_missed,omitempty"`
	ResolutionDue       time.Time `bun:"sla_resolution_due,notnull" json:"resolution_due,omitzero"`
	ResolutionState     SLAState  `bun:"sla_resolution,notnull" json:"resolution,omitempty"`
	// FirstResponseTime is the working time (in the policy's calendar)
	// from the case's creation to its first reply, ResolutionTime to its
	// resolution less the time paused; each is set when its clock stops,
	// and the service KPIs average them in business time.
	FirstResponseTime time.Duration `bun:"sla_first_response_time,notnull" json:"first_response_time,omitempty"`
	ResolutionTime    time.Duration `bun:"sla_resolution_time,notnull" json:"resolution_time,omitempty"`
	// PausedFor is the business time the resolution clock has been paused
	// (completed pauses); PausedSince the start of the current pause, or
	// zero.
	PausedFor   time.Duration `bun:"sla_paused_for,notnull" json:"paused_for,omitempty"`
	PausedSince time.Time     `bun:"sla_paused_since,notnull" json:"paused_since,omitzero"`
	// NextDue is the earliest due time of the clocks running now (zero
	// when none is): the due list (Cases.Due) is ordered by it.
	NextDue time.Time `bun:"sla_next_due,notnull" json:"next_due,omitzero"`
}

// NewSLAPolicy is the input of SLAPolicies.Create.
type NewSLAPolicy struct {
	Name       string
	Position   int
	Condition  string
	CalendarID string
	Targets    []SLATarget
	Enabled    bool
}

// SLAPolicies stores SLA policies.
type SLAPolicies struct{ s *Service }

// Create adds a policy. Its condition must compile against the cases'
// fields, its calendar exist, and its targets name known priorities once
// each, none negative.
func (ps *SLAPolicies) Create(ctx context.Context, in NewSLAPolicy) (*SLAPolicy, error) {
	p := &SLAPolicy{Name: in.Name, Position: in.Position, Condition: in.Condition, CalendarID: in.CalendarID,
		Targets: in.Targets, Enabled: in.Enabled}
	if err := ps.check(ctx, p); err != nil {
		return nil, err
	}
	if err := ps.s.t.policies.Insert(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

func (ps *SLAPolicies) check(ctx context.Context, p *SLAPolicy) error {
	var v storage.ValidationError
	if err := ps.s.checkRuleText(ctx, &v, &p.Name, &p.Condition); err != nil {
		return err
	}
	if p.CalendarID != "" {
		if err := storage.CheckRef(ctx, &v, "calendar_id", ps.s.store, storage.Ref{Type: ObjectCalendar, ID: p.CalendarID}); err != nil {
			return err
		}
	}
	if len(p.Targets) == 0 {
		v.Add("targets", "a policy needs at least one target")
	}
	seen := map[Priority]bool{}
	for i, t := range p.Targets {
		f := fmt.Sprintf("targets[%d]", i)
		switch t.Priority {
		case "", PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent:
		default:
			v.Add(f+".priority", "%q is not low, normal, high, urgent or \"\" (any)", t.Priority)
		}
		if seen[t.Priority] {
			v.Add(f+".priority", "%q has two targets", t.Priority)
		}
		seen[t.Priority] = true
		for _, d := range []struct {
			name string
			d    time.Duration
		}{{"first_response", t.FirstResponse}, {"next_response", t.NextResponse}, {"resolution", t.Resolution}} {
			if d.d < 0 || d.d > 10*365*24*time.Hour {
				v.Add(f+"."+d.name, "%v is outside 0–10 years", d.d)
			}
		}
	}
	return v.Err()
}

// checkRuleText trims and checks the name (required) and the condition
// (an expression over cases) of an SLA policy or an assignment rule,
// adding what is wrong to v.
func (s *Service) checkRuleText(ctx context.Context, v *storage.ValidationError, name, condition *string) error {
	storage.TrimText(v, "name", name, MaxTextLen)
	if *name == "" {
		v.Add("name", "is required")
	}
	storage.TrimText(v, "condition", condition, 4000)
	if *condition == "" {
		return nil
	}
	schema, err := s.caseSchema(ctx)
	if err != nil {
		return err
	}
	if _, err := filterexpr.Compile(*condition, schema); err != nil {
		v.Add("condition", "%v", err)
	}
	return nil
}

// caseSchema is the schema SLA conditions compile against: the case's
// fields, custom ones included, and its contact's and account's.
func (s *Service) caseSchema(ctx context.Context) (filterexpr.Schema, error) {
	return s.people.Schema(ctx, ObjectCase)
}

// caseRecord returns c as conditions read it: its fields, and its contact
// and account under their relations' names, read as the system (the
// desk's configuration sees every case).
func (s *Service) caseRecord(ctx context.Context, c *Case) (filterexpr.Record, error) {
	sys := storage.AsSystem(ctx)
	rec := filterexpr.RecordOf(c)
	if c.ContactID != "" {
		p, err := s.t.contacts.Get(sys, c.ContactID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		if err == nil {
			rec["contact"] = filterexpr.RecordOf(p)
		}
	}
	if c.AccountID != "" {
		a, err := s.t.accounts.Get(sys, c.AccountID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		if err == nil {
			rec["account"] = filterexpr.RecordOf(a)
		}
	}
	return rec, nil
}

// Get returns the policy with id.
func (ps *SLAPolicies) Get(ctx context.Context, id string) (*SLAPolicy, error) {
	return ps.s.t.policies.Get(ctx, id)
}

// List returns a page of policies.
func (ps *SLAPolicies) List(ctx context.Context, q storage.ListQuery) (storage.Page[*SLAPolicy], error) {
	return ps.s.t.policies.List(ctx, q)
}

// Update replaces a policy's definition. Cases it applies to keep their
// due times until their next change.
func (ps *SLAPolicies) Update(ctx context.Context, id string, in NewSLAPolicy) (*SLAPolicy, error) {
	return storage.Modify(ctx, ps.s.store, ps.s.t.policies, id, 0, func(ctx context.Context, p *SLAPolicy) error {
		p.Name, p.Position, p.Condition, p.CalendarID, p.Targets, p.Enabled = in.Name, in.Position, in.Condition, in.CalendarID, in.Targets, in.Enabled
		return ps.check(ctx, p)
	})
}

// Delete removes a policy; the cases it applied to keep their clocks.
func (ps *SLAPolicies) Delete(ctx context.Context, id string) error {
	return storage.Remove(ctx, ps.s.store, ps.s.t.policies, id, 0, nil)
}

// counter measures business time for a policy: its calendar's schedule,
// or calendar time.
type counter interface {
	Add(t time.Time, d time.Duration) (time.Time, error)
	Between(a, b time.Time) time.Duration
}

// always is calendar time: every instant is working time.
type always struct{}

func (always) Add(t time.Time, d time.Duration) (time.Time, error) { return t.Add(d), nil }
func (always) Between(a, b time.Time) time.Duration {
	if b.Before(a) {
		return 0
	}
	return b.Sub(a)
}

// policy returns the policy with id and the counter of a case of team
// teamID under it: the team's calendar when it has one and the policy
// counts in business time, else the policy's calendar, else calendar
// time.
func (s *Service) policy(ctx context.Context, id, teamID string) (*SLAPolicy, counter, error) {
	sys := storage.AsSystem(ctx) // the desk's configuration applies whoever writes
	p, err := s.t.policies.Get(sys, id)
	if err != nil {
		return nil, nil, err
	}
	if p.CalendarID == "" {
		return p, always{}, nil
	}
	calendarID := p.CalendarID
	if teamID != "" {
		if team, err := s.Calendars.ofTeam(sys, teamID); err != nil {
			return nil, nil, err
		} else if team != "" {
			calendarID = team
		}
	}
	sched, err := s.Calendars.Schedule(sys, calendarID)
	if err != nil {
		return nil, nil, err
	}
	return p, sched, nil
}

// target returns p's target for priority pr.
func (p *SLAPolicy) target(pr Priority) SLATarget {
	if i := slices.IndexFunc(p.Targets, func(t SLATarget) bool { return t.Priority == pr }); i >= 0 {
		return p.Targets[i]
	}
	if i := slices.IndexFunc(p.Targets, func(t SLATarget) bool { return t.Priority == "" }); i >= 0 {
		return p.Targets[i]
	}
	return SLATarget{}
}

// applySLA gives a new case the first matching policy and starts its
// clocks at its creation.
func (s *Service) applySLA(ctx context.Context, c *Case, at time.Time) error {
	p, err := firstMatching(ctx, s, s.t.policies, func(p *SLAPolicy) string { return p.Condition }, c, at)
	if err != nil || p == nil {
		return err
	}
	c.SLA = SLA{PolicyID: p.ID}
	return s.clock(ctx, nil, c, at)
}

// firstMatching returns the first enabled record of table (by sort_order,
// then name: SLA policies, assignment rules) whose condition matches the
// case c at time at, read as the system, or nil. A condition that no
// longer compiles matches nothing.
func firstMatching[T storage.Record](ctx context.Context, s *Service, table storage.Table[T], condition func(T) string, c *Case, at time.Time) (T, error) {
	var chosen T
	var found bool
	var schema filterexpr.Schema // read once, when a record has a condition
	var rec filterexpr.Record
	err := storage.Each(storage.AsSystem(ctx), table, storage.ListQuery{Filter: storage.Eq("enabled", true),
		Sort: []storage.Sort{{Field: "sort_order"}, {Field: "name"}}}, func(r T) error {
		if found {
			return nil
		}
		if src := condition(r); src != "" {
			if schema == nil {
				var err error
				if schema, err = s.caseSchema(ctx); err != nil {
					return err
				}
				if rec, err = s.caseRecord(ctx, c); err != nil {
					return err
				}
			}
			e, err := filterexpr.Compile(src, schema)
			if err != nil {
				return nil
			}
			if ok, err := e.Match(rec, at); err != nil || !ok {
				return nil
			}
		}
		chosen, found = r, true
		return nil
	})
	return chosen, err
}

// clock moves the SLA clocks of a case from prev (nil for a new case) to
// next at time at: the due times from the policy's targets for next's
// priority, the first response met when next has one, the next response
// running while the customer waits (Case.WaitingSince) and met when the
// wait ends, the resolution clock paused in a paused status (and while
// resolved), met on entering a resolved status, running again on leaving
// it.
func (s *Service) clock(ctx context.Context, prev, next *Case, at time.Time) error {
	sla := &next.SLA
	if sla.PolicyID == "" {
		return nil
	}
	p, count, err := s.policy(ctx, sla.PolicyID, next.TeamID)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil // the policy is gone: the clocks stay as they are
		}
		return err
	}
	t := p.target(next.Priority)
	// A calendar with no working time left sets no clock; it fails no
	// write.
	add := func(from time.Time, d time.Duration) (time.Time, error) {
		due, err := count.Add(from, d)
		if errors.Is(err, bizhours.ErrNoWorkingTime) {
			return time.Time{}, nil
		}
		return due, err
	}
	created := createdAt(next, at)
	// First response: due from the creation; met by the first reply.
	switch {
	case t.FirstResponse == 0:
		sla.FirstResponseDue, sla.FirstResponseState = time.Time{}, SLANone
	case sla.FirstResponseState == SLAHit || sla.FirstResponseState == SLAMissed:
	default:
		if sla.FirstResponseDue, err = add(created, t.FirstResponse); err != nil {
			return err
		}
		sla.FirstResponseState = SLAActive
		if !next.FirstResponseAt.IsZero() {
			sla.FirstResponseState = met(next.FirstResponseAt, sla.FirstResponseDue)
			sla.FirstResponseTime = count.Between(created, next.FirstResponseAt)
		}
	}
	// Next response: due from the start of the customer's wait, once the
	// desk has answered a first time; met when the wait ends.
	// A wait ends with a reply while the case is open; leaving the open
	// category ends it with none (Cases.SetStatus).
	waited := prev != nil && !prev.WaitingSince.IsZero() && !prev.FirstResponseAt.IsZero()
	switch {
	case waited && next.WaitingSince.IsZero() && next.Category == StatusOpen && sla.NextResponseState == SLAActive:
		sla.NextResponseState = met(at, sla.NextResponseDue)
		if sla.NextResponseState == SLAMissed {
			sla.NextResponsesMissed++
		}
		sla.NextResponseDue = time.Time{}
	case t.NextResponse == 0 || next.WaitingSince.IsZero() || next.FirstResponseAt.IsZero():
		sla.NextResponseDue = time.Time{}
		if sla.NextResponseState == SLAActive {
			sla.NextResponseState = SLANone // the wait ended without a reply (the case left open)
		}
	default:
		if sla.NextResponseDue, err = add(next.WaitingSince, t.NextResponse); err != nil {
			return err
		}
		sla.NextResponseState = SLAActive
		if sla.NextResponseDue.IsZero() {
			sla.NextResponseState = SLANone
		}
	}
	// Resolution: paused while paused or resolved; met on resolving.
	stopped := func(c *Case) bool { return c != nil && c.Category != StatusOpen }
	switch {
	case !stopped(prev) && stopped(next):
		sla.PausedSince = at
	case stopped(prev) && !stopped(next) && !sla.PausedSince.IsZero():
		sla.PausedFor += count.Between(sla.PausedSince, at)
		sla.PausedSince = time.Time{}
	}
	if t.Resolution == 0 {
		sla.ResolutionDue, sla.ResolutionState = time.Time{}, SLANone
	} else {
		// The due time counts the pauses so far, the current one to now.
		paused := sla.PausedFor
		if !sla.PausedSince.IsZero() {
			paused += count.Between(sla.PausedSince, at)
		}
		if sla.ResolutionDue, err = add(created, t.Resolution+paused); err != nil {
			return err
		}
		switch {
		case sla.ResolutionDue.IsZero():
			sla.ResolutionState = SLANone
		case next.Category == StatusResolved && (prev == nil || prev.Category != StatusResolved):
			sla.ResolutionState = met(at, sla.ResolutionDue)
			sla.ResolutionTime = max(count.Between(created, at)-paused, 0)
		case next.Category != StatusResolved:
			sla.ResolutionState = SLAActive
		}
	}
	if sla.FirstResponseState == SLAActive && sla.FirstResponseDue.IsZero() {
		sla.FirstResponseState = SLANone
	}
	if sla.ResolutionState == SLAActive && sla.ResolutionDue.IsZero() {
		sla.ResolutionState = SLANone
	}
	sla.NextDue = time.Time{}
	earliest := func(due time.Time) {
		if sla.NextDue.IsZero() || due.Before(sla.NextDue) {
			sla.NextDue = due
		}
	}
	if sla.FirstResponseState == SLAActive {
		earliest(sla.FirstResponseDue)
	}
	if sla.NextResponseState == SLAActive {
		earliest(sla.NextResponseDue)
	}
	if sla.ResolutionState == SLAActive && sla.PausedSince.IsZero() {
		earliest(sla.ResolutionDue)
	}
	return nil
}

// met is hit when done is by due, else missed.
func met(done, due time.Time) SLAState {
	if done.After(due) {
		return SLAMissed
	}
	return SLAHit
}

// createdAt returns c's creation time, or at for a case not yet stored.
func createdAt(c *Case, at time.Time) time.Time {
	if c.CreatedAt.IsZero() {
		return at
	}
	return c.CreatedAt
}

// Due returns the cases whose running SLA clock falls due before the
// instant before, the nearest first (at most limit, default 100): the
// queue of cases about to breach, or breached ("before: now" lists the
// breached ones). An index on (workspace_id, sla_next_due) serves it.
func (cs *Cases) Due(ctx context.Context, before time.Time, limit int) ([]*Case, error) {
	if limit <= 0 {
		limit = 100
	}
	page, err := cs.s.t.cases.List(ctx, storage.ListQuery{
		Filter: storage.And{storage.Gt("sla_next_due", time.Time{}), storage.Cmp{Field: "sla_next_due", Op: storage.OpLt, Value: before}},
		Sort:   []storage.Sort{{Field: "sla_next_due"}}, PageQuery: storage.PageQuery{Limit: limit}})
	if err != nil {
		return nil, err
	}
	return page.Items, nil
}
