package storagetest

import (
	"math"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/reporting"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/service/bizhours"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow"
)

// testServiceSLANext checks the second part of the SLAs on hand-computed
// times: the next-response clock over a thread (a late answer missed and
// counted, a prompt one hit, automatic messages neither waiting nor
// answering, a paused status ending the wait), the working time each clock
// took, a policy matching on the case's account, a team's own calendar
// counting its cases' clocks, and the SLA KPIs.
func testServiceSLANext(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	cs := app.Service.Cases
	t0 := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC) // a Monday
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	same := func(what string, got, want time.Time) {
		t.Helper()
		if !got.Equal(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	state := func(what string, got, want service.SLAState) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}

	office, err := app.Service.Calendars.Create(ctx, service.NewCalendar{Name: "Office", TimeZone: "UTC",
		Week: bizhours.MondayToFriday(bizhours.Interval{Start: bizhours.At(9, 0), End: bizhours.At(17, 0)})})
	must(t, "office calendar", err)
	var nights bizhours.Week
	for d := range nights {
		nights[d] = []bizhours.Interval{{Start: bizhours.At(22, 0), End: bizhours.At(6, 0)}}
	}
	_, err = app.Service.Calendars.Create(ctx, service.NewCalendar{Name: "Night desk", TimeZone: "UTC", TeamID: e.teamX.ID, Week: nights})
	must(t, "team calendar", err)
	_, err = app.Service.Calendars.Create(ctx, service.NewCalendar{Name: "Second", TimeZone: "UTC", TeamID: e.teamX.ID})
	wantErr(t, "a second calendar for the team", err, storage.ErrConflict)
	_, err = app.Service.Calendars.Create(ctx, service.NewCalendar{Name: "Nobody's", TimeZone: "UTC", TeamID: "01a23bd8-07ed-73a7-9720-4bbd606299ac"})
	wantFields(t, "a calendar of no team", err, "team_id")

	_, err = app.Service.SLAPolicies.Create(ctx, service.NewSLAPolicy{Name: "Aerospace", Enabled: true,
		Condition: "account.industry == 'Aerospace'", Targets: []service.SLATarget{{FirstResponse: 15 * time.Minute}}})
	must(t, "policy on the account", err)
	_, err = app.Service.SLAPolicies.Create(ctx, service.NewSLAPolicy{Name: "High", Position: 1, Enabled: true,
		Condition: "priority == 'high'", CalendarID: office.ID, Targets: []service.SLATarget{{FirstResponse: 2 * time.Hour}}})
	must(t, "business-hours policy", err)
	everyone, err := app.Service.SLAPolicies.Create(ctx, service.NewSLAPolicy{Name: "Everyone", Position: 2, Enabled: true,
		Targets: []service.SLATarget{{FirstResponse: time.Hour, NextResponse: time.Hour, Resolution: 24 * time.Hour}}})
	must(t, "default policy", err)
	_, err = app.Service.SLAPolicies.Create(ctx, service.NewSLAPolicy{Name: "Bad", Targets: []service.SLATarget{{NextResponse: -time.Minute}}})
	wantFields(t, "a negative next response", err, "targets[0].next_response")

	// The thread of a case under the default policy, in calendar time.
	c, err := cs.Create(storage.WithWriteTime(ctx, t0), service.NewCase{Subject: "Sync fails"})
	must(t, "case", err)
	same("waiting since the creation", c.WaitingSince, t0)
	same("next due: the first response", c.SLA.NextDue, at(time.Hour))
	state("next response before any reply", c.SLA.NextResponseState, service.SLANone)
	msg := func(d time.Duration, dir service.Direction, auto bool) *service.Case {
		t.Helper()
		_, err := cs.AddMessage(storage.WithWriteTime(ctx, at(d)), c.ID, service.NewMessage{Direction: dir, Body: "…", AutoSubmitted: auto})
		must(t, "message", err)
		got, err := cs.Get(ctx, c.ID)
		must(t, "case", err)
		return got
	}
	got := msg(5*time.Minute, service.Outbound, true) // an acknowledgement answers nothing
	if !got.FirstResponseAt.IsZero() || !got.WaitingSince.Equal(t0) {
		t.Errorf("after an automatic reply: first response %v, waiting since %v", got.FirstResponseAt, got.WaitingSince)
	}
	got = msg(10*time.Minute, service.Outbound, false)
	state("first response", got.SLA.FirstResponseState, service.SLAHit)
	if got.SLA.FirstResponseTime != 10*time.Minute || !got.WaitingSince.IsZero() {
		t.Errorf("first response took %v, waiting since %v", got.SLA.FirstResponseTime, got.WaitingSince)
	}
	same("next due: the resolution", got.SLA.NextDue, at(24*time.Hour))
	got = msg(20*time.Minute, service.Inbound, true) // an out-of-office reply waits for nothing
	if !got.WaitingSince.IsZero() || got.SLA.NextResponseState != service.SLANone {
		t.Errorf("after an out-of-office reply: waiting since %v, next response %q", got.WaitingSince, got.SLA.NextResponseState)
	}
	got = msg(time.Hour, service.Inbound, false)
	same("waiting since the customer's answer", got.WaitingSince, at(time.Hour))
	same("next response due", got.SLA.NextResponseDue, at(2*time.Hour))
	same("next due: the next response", got.SLA.NextDue, at(2*time.Hour))
	state("next response waiting", got.SLA.NextResponseState, service.SLAActive)
	got = msg(90*time.Minute, service.Inbound, false) // the wait started at the first unanswered message
	same("next response due after a second message", got.SLA.NextResponseDue, at(2*time.Hour))
	due, err := cs.Due(ctx, at(3*time.Hour), 10)
	must(t, "due list", err)
	if len(due) != 1 || due[0].ID != c.ID {
		t.Errorf("due list = %v", caseRefs(due))
	}
	got = msg(150*time.Minute, service.Outbound, false)
	state("a late answer", got.SLA.NextResponseState, service.SLAMissed)
	if got.SLA.NextResponsesMissed != 1 || !got.SLA.NextResponseDue.IsZero() || !got.WaitingSince.IsZero() {
		t.Errorf("after a late answer: %+v", got.SLA)
	}
	msg(3*time.Hour, service.Inbound, false)
	got = msg(200*time.Minute, service.Outbound, false)
	state("a prompt answer", got.SLA.NextResponseState, service.SLAHit)
	if got.SLA.NextResponsesMissed != 1 {
		t.Errorf("late answers = %d, want 1", got.SLA.NextResponsesMissed)
	}
	// A wait the desk ends by pausing the case is no answer, and no miss.
	msg(4*time.Hour, service.Inbound, false)
	got, err = cs.SetStatus(storage.WithWriteTime(ctx, at(250*time.Minute)), c.ID, "pending")
	must(t, "pending", err)
	if !got.WaitingSince.IsZero() || got.SLA.NextResponseState != service.SLANone || got.SLA.NextResponsesMissed != 1 {
		t.Errorf("paused while the customer waited: waiting since %v, %+v", got.WaitingSince, got.SLA)
	}
	got, err = cs.SetStatus(storage.WithWriteTime(ctx, at(5*time.Hour)), c.ID, "open")
	must(t, "open", err)
	same("resolution due after 50 minutes paused", got.SLA.ResolutionDue, at(24*time.Hour+50*time.Minute))
	got, err = cs.SetStatus(storage.WithWriteTime(ctx, at(6*time.Hour)), c.ID, "solved")
	must(t, "solve", err)
	state("resolution", got.SLA.ResolutionState, service.SLAHit)
	if got.SLA.ResolutionTime != 6*time.Hour-50*time.Minute || got.SLA.PolicyID != everyone.ID {
		t.Errorf("resolution took %v under %s", got.SLA.ResolutionTime, got.SLA.PolicyID)
	}

	// A policy's condition reads the case's account.
	boeing, err := app.Accounts.Create(ctx, contacts.NewAccount{Name: "Aero Corp", Industry: "Aerospace"})
	must(t, "account", err)
	pilot := e.contact(ctx, contacts.NewContact{FirstName: "Pilot", AccountID: boeing.ID})
	aero, err := cs.Create(storage.WithWriteTime(ctx, t0), service.NewCase{Subject: "Wing", ContactID: pilot.ID})
	must(t, "aerospace case", err)
	same("first response due for the account's industry", aero.SLA.FirstResponseDue, at(15*time.Minute))

	// Monday 16:00 a high-priority case counts in office hours; given to
	// the night team, it counts in the team's calendar from its creation.
	high, err := cs.Create(storage.WithWriteTime(ctx, at(7*time.Hour)), service.NewCase{Subject: "Outage", Priority: service.PriorityHigh})
	must(t, "high case", err)
	same("first response due in office hours", high.SLA.FirstResponseDue, time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC))
	high, err = cs.Assign(storage.WithWriteTime(ctx, at(7*time.Hour)), high.ID, "", e.teamX.ID)
	must(t, "assign to the night team", err)
	same("first response due in the night team's hours", high.SLA.FirstResponseDue, time.Date(2026, 5, 5, 0, 0, 0, 0, time.UTC))
	nightTeam, err := cs.Create(storage.WithWriteTime(ctx, at(7*time.Hour)), service.NewCase{Subject: "Night", Priority: service.PriorityHigh, TeamID: e.teamX.ID})
	must(t, "a case of the team", err)
	same("a new case of the team", nightTeam.SLA.FirstResponseDue, time.Date(2026, 5, 5, 0, 0, 0, 0, time.UTC))
	_, err = cs.AddMessage(storage.WithWriteTime(ctx, time.Date(2026, 5, 4, 23, 30, 0, 0, time.UTC)), nightTeam.ID,
		service.NewMessage{Direction: service.Outbound, Body: "Looking."})
	must(t, "night reply", err)
	nightTeam, err = cs.Get(ctx, nightTeam.ID)
	must(t, "night case", err)
	if nightTeam.SLA.FirstResponseTime != 90*time.Minute || nightTeam.SLA.FirstResponseState != service.SLAHit {
		t.Errorf("the night team's first response took %v (%q), want 1h30 of its hours", nightTeam.SLA.FirstResponseTime, nightTeam.SLA.FirstResponseState)
	}

	// The SLA KPIs. Resolved in May under an SLA: c, with a late next
	// response, and aero, resolved with its first response missed.
	_, err = cs.AddMessage(storage.WithWriteTime(ctx, at(time.Hour)), aero.ID, service.NewMessage{Direction: service.Outbound, Body: "Late."})
	must(t, "late reply", err)
	_, err = cs.SetStatus(storage.WithWriteTime(ctx, at(2*time.Hour)), aero.ID, "solved")
	must(t, "solve aero", err)
	ok, err := cs.Create(storage.WithWriteTime(ctx, t0), service.NewCase{Subject: "Fine"})
	must(t, "a compliant case", err)
	_, err = cs.AddMessage(storage.WithWriteTime(ctx, at(30*time.Minute)), ok.ID, service.NewMessage{Direction: service.Outbound, Body: "Done."})
	must(t, "reply", err)
	_, err = cs.SetStatus(storage.WithWriteTime(ctx, at(time.Hour)), ok.ID, "solved")
	must(t, "solve", err)
	may := reporting.Params{From: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
	kpi := func(name string) storage.KPIValue {
		t.Helper()
		v, err := app.Reporting.KPI(ctx, name, may)
		must(t, name, err)
		if len(v) != 1 {
			t.Fatalf("%s = %+v", name, v)
		}
		return v[0]
	}
	if v := kpi(service.KPISLACompliance); !v.Valid || math.Abs(v.Value-1.0/3) > 1e-9 || v.Count != 3 {
		t.Errorf("SLA compliance = %+v, want 1/3 of 3", v)
	}
	// First answers in May: c 10 min, aero 60 min, the night case 90 min
	// of its team's hours, ok 30 min.
	if v := kpi(service.KPIFirstResponseBusiness); !v.Valid || math.Abs(v.Value-47.5*60) > 1e-6 || v.Count != 4 {
		t.Errorf("first response in business time = %+v, want 47.5 min over 4", v)
	}
	// Resolutions: c 5h10 (paused 50 min), ok 1h; aero's policy sets no
	// resolution clock.
	if v := kpi(service.KPIResolutionBusinessTime); !v.Valid || math.Abs(v.Value-(5*3600+600+3600)/2.0) > 1e-6 || v.Count != 2 {
		t.Errorf("resolution in business time = %+v, want 3h05 over 2", v)
	}
}

// testServiceSLABreach checks that workflow time triggers on the SLA's due
// times warn before a breach and fire at it, once per clock, and not for
// a clock met in time.
func testServiceSLABreach(t *testing.T, h Harness) {
	f := newFlow(t, h, workflow.Config{})
	ctx := f.ctx
	start := f.clock.Now()
	warn := f.rule(workflow.NewRule{Name: "Warn", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnTime, Object: service.ObjectCase, Field: "sla_first_response_due",
			Offset: workflow.Duration(-30 * time.Minute)},
		Condition: "sla_first_response == 'active'",
		Actions:   []workflow.Action{workflow.AddTag("sla-warning")}})
	breach := f.rule(workflow.NewRule{Name: "Breach", Enabled: true,
		Trigger:   workflow.Trigger{Kind: workflow.OnTime, Object: service.ObjectCase, Field: "sla_first_response_due"},
		Condition: "sla_first_response == 'active'",
		Actions:   []workflow.Action{workflow.AddTag("sla-breached")}})
	_, err := f.app.Service.SLAPolicies.Create(ctx, service.NewSLAPolicy{Name: "Hour", Enabled: true,
		Targets: []service.SLATarget{{FirstResponse: time.Hour}}})
	must(t, "policy", err)
	cs := f.app.Service.Cases
	late, err := cs.Create(storage.WithWriteTime(ctx, start), service.NewCase{Subject: "Late"})
	must(t, "late case", err)
	prompt, err := cs.Create(storage.WithWriteTime(ctx, start), service.NewCase{Subject: "Prompt"})
	must(t, "prompt case", err)
	tags := func(id string) map[string]bool {
		t.Helper()
		c, err := cs.Get(ctx, id)
		must(t, "case", err)
		out := map[string]bool{}
		for _, tag := range c.Tags {
			out[tag] = true
		}
		return out
	}
	f.settle()
	f.clock.Add(20 * time.Minute)
	_, err = cs.AddMessage(storage.WithWriteTime(ctx, f.clock.Now()), prompt.ID, service.NewMessage{Direction: service.Outbound, Body: "Hi."})
	must(t, "prompt reply", err)
	f.settle()
	if n := len(f.runs(warn.ID)) + len(f.runs(breach.ID)); n != 0 {
		t.Fatalf("%d runs 20 minutes in", n)
	}
	f.clock.Add(11 * time.Minute) // 29 minutes before the due time
	f.settle()
	f.settle()
	if got := tags(late.ID); !got["sla-warning"] || got["sla-breached"] {
		t.Errorf("tags 31 minutes in = %v, want the warning only", got)
	}
	f.clock.Add(30 * time.Minute)
	f.settle()
	f.settle()
	if got := tags(late.ID); !got["sla-breached"] {
		t.Errorf("tags after the due time = %v, want the breach", got)
	}
	if got := tags(prompt.ID); len(got) != 0 {
		t.Errorf("the case answered in time got %v", got)
	}
	f.clock.Add(24 * time.Hour)
	f.settle()
	if w, b := len(f.runs(warn.ID)), len(f.runs(breach.ID)); w != 1 || b != 1 {
		t.Errorf("%d warnings and %d breaches, want one of each", w, b)
	}
}
