package storagetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// testServiceAssignment checks the assignment rules: the first matching
// rule routes a new case; round robin takes turns in the pool's order;
// least open takes the agent with the fewest open cases; skills,
// availability, working hours and capacity pass agents over; capacity and
// turns hold under concurrent intake (no agent over its capacity, none
// assigned twice in a row while others are free); AutoAssign routes a case
// that waited once an agent is free; bad rules and profiles name their
// fields.
func testServiceAssignment(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	cs := app.Service.Cases
	desk, err := e.acc.CreateTeam(ctx, "Desk", "")
	must(t, "team", err)
	member := func(name string, teams ...string) *access.Member {
		m, err := e.acc.CreateMember(ctx, access.NewMember{Name: name, Role: access.RoleRep, TeamIDs: teams})
		must(t, "member "+name, err)
		return m
	}
	ann, bob, cat := member("Ann", desk.ID), member("Bob", desk.ID), member("Cat", desk.ID)
	names := map[string]string{ann.ID: "Ann", bob.ID: "Bob", cat.ID: "Cat", "": "nobody"}
	agent := func(m *access.Member, in service.NewAgent) {
		t.Helper()
		in.MemberID = m.ID
		_, err := app.Service.Agents.Set(ctx, in)
		must(t, "agent "+m.Name, err)
	}
	agent(ann, service.NewAgent{Available: true, Capacity: 5, Skills: []string{"Billing"}})
	agent(bob, service.NewAgent{Available: true, Capacity: 5})
	agent(cat, service.NewAgent{Available: true, Capacity: 5})
	_, err = app.Service.Agents.Set(ctx, service.NewAgent{MemberID: "01a23bd8-07ed-73a7-9720-4bbd606299ac", Capacity: -1})
	wantFields(t, "a bad agent", err, "member_id", "capacity")
	_, err = app.Service.AssignmentRules.Create(ctx, service.NewAssignmentRule{Method: "random", Condition: "tags ==",
		MemberIDs: []string{ann.ID, ann.ID, "01a23bd8-07ed-73a7-9720-4bbd606299ac"}, TeamID: "01a23bd8-07ed-73a7-9720-4bbd606299ac"})
	wantFields(t, "a bad rule", err, "name", "method", "condition", "member_ids[1]", "member_ids[2]", "team_id")
	_, err = app.Service.AssignmentRules.Create(ctx, service.NewAssignmentRule{Name: "Empty"})
	wantFields(t, "a rule with no pool", err, "member_ids")

	open := func(subject string, tags ...string) *service.Case {
		t.Helper()
		c, err := cs.Create(ctx, service.NewCase{Subject: subject, Tags: tags})
		must(t, "case "+subject, err)
		return c
	}
	if c := open("Before any rule"); c.OwnerID != "" {
		t.Errorf("assigned with no rule to %s", names[c.OwnerID])
	}

	// Billing questions go to whoever has the skill; the rest take turns
	// among the desk team.
	_, err = app.Service.AssignmentRules.Create(ctx, service.NewAssignmentRule{Name: "Billing", Enabled: true,
		Condition: "'billing' in tags", MemberIDs: []string{bob.ID, ann.ID}, Skills: []string{"billing"}, Method: service.LeastOpen})
	must(t, "billing rule", err)
	turns, err := app.Service.AssignmentRules.Create(ctx, service.NewAssignmentRule{Name: "Desk", Position: 1, Enabled: true, TeamID: desk.ID})
	must(t, "desk rule", err)
	c := open("Invoice wrong", "billing")
	if c.OwnerID != ann.ID || c.TeamID != "" {
		t.Errorf("billing case went to %s (team %q), want Ann", names[c.OwnerID], c.TeamID)
	}
	// The team's members by ID, from the first.
	pool := []string{ann.ID, bob.ID, cat.ID}
	slices.Sort(pool)
	var got []string
	for i := range 4 {
		c := open(fmt.Sprint("Question ", i))
		if c.TeamID != desk.ID {
			t.Errorf("case of the desk rule in team %q", c.TeamID)
		}
		got = append(got, names[c.OwnerID])
	}
	want := []string{names[pool[0]], names[pool[1]], names[pool[2]], names[pool[0]]}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("round robin = %v, want %v", got, want)
	}

	// Bob goes away; Cat is off shift (a calendar with no hours now).
	_, err = app.Service.Agents.SetAvailable(ctx, bob.ID, false)
	must(t, "Bob away", err)
	closed, err := app.Service.Calendars.Create(ctx, service.NewCalendar{Name: "Closed", TimeZone: "UTC"})
	must(t, "closed calendar", err)
	agent(cat, service.NewAgent{Available: true, Capacity: 5, CalendarID: closed.ID})
	for i := range 2 {
		if c := open(fmt.Sprint("Only Ann ", i)); c.OwnerID != ann.ID {
			t.Errorf("with Bob away and Cat off shift, the case went to %s", names[c.OwnerID])
		}
	}
	// Ann holds 5 open cases now (billing, 2 turns, 2 alone): full.
	if c := open("No one free"); c.OwnerID != "" || c.TeamID != desk.ID {
		t.Errorf("with everyone full or away: owner %s, team %q", names[c.OwnerID], c.TeamID)
	}
	waiting := open("Waits")
	agent(cat, service.NewAgent{Available: true, Capacity: 5})
	waited, err := cs.AutoAssign(ctx, waiting.ID)
	must(t, "auto-assign", err)
	if waited.OwnerID != cat.ID {
		t.Errorf("auto-assign once Cat is on shift gave %s", names[waited.OwnerID])
	}
	_, err = app.Service.Agents.SetAvailable(ctx, bob.ID, true)
	must(t, "Bob back", err)

	// Least open: Bob, with the fewest, takes the billing case when he has
	// the skill.
	agent(bob, service.NewAgent{Available: true, Capacity: 5, Skills: []string{"billing"}})
	if c := open("Refund", "billing"); c.OwnerID != bob.ID {
		t.Errorf("least open gave the billing case to %s, want Bob", names[c.OwnerID])
	}

	// Concurrent intake: 20 cases at once through the desk rule. Bob and
	// Cat have room for 3 each, Ann none: 6 assigned, 14 wait, no one
	// over capacity.
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = cs.Create(ctx, service.NewCase{Subject: fmt.Sprint("Rush ", i)})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		must(t, fmt.Sprint("rush ", i), err)
	}
	count := map[string]int{}
	err = storage.Each(ctx, storage.TableOf[*service.Case](e.store), storage.ListQuery{Filter: storage.Ne("status_category", "resolved")},
		func(c *service.Case) error {
			count[names[c.OwnerID]]++
			return nil
		})
	must(t, "count", err)
	if count["Ann"] != 5 || count["Bob"] != 5 || count["Cat"] != 5 {
		t.Errorf("open cases per agent after the rush = %v, want 5 each", count)
	}
	// A rep's case is routed too, to an agent other than the rep.
	agent(ann, service.NewAgent{Available: true, Capacity: 6, Skills: []string{"billing"}})
	mine, err := cs.Create(e.as(e.repA), service.NewCase{Subject: "From a rep"})
	must(t, "a rep's case", err)
	if mine.OwnerID != ann.ID {
		t.Errorf("a rep's case went to %s, want Ann", names[mine.OwnerID])
	}
	rule, err := app.Service.AssignmentRules.Get(ctx, turns.ID)
	must(t, "rule", err)
	if rule.LastMemberID == "" {
		t.Error("the round robin kept no cursor")
	}
}
