package storagetest

import (
	"testing"
	"time"

	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/service/bizhours"
	"github.com/crmkit/crm/storage"
)

// testServiceSLA checks SLA policies on hand-computed clocks: the first
// matching policy applies; due times count business hours in a stored
// calendar (a weekend and a holiday skipped) or calendar time; the first
// reply meets the first response; a paused status stops the resolution
// clock and pushes its due time by the business time paused; a late
// resolution is missed; the due list orders the running clocks; bad
// calendars and policies name their fields.
func testServiceSLA(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	cs := app.Service.Cases
	paris, err := time.LoadLocation("Europe/Paris")
	must(t, "zone", err)
	at := func(mo time.Month, d, h, m int) time.Time { return time.Date(2026, mo, d, h, m, 0, 0, paris) }

	office, err := app.Service.Calendars.Create(ctx, service.NewCalendar{Name: "Office", TimeZone: "Europe/Paris",
		Week:     bizhours.MondayToFriday(bizhours.Interval{Start: bizhours.At(9, 0), End: bizhours.At(17, 0)}),
		Holidays: []bizhours.Date{{Year: 2026, Month: time.April, Day: 6}}}) // Easter Monday
	must(t, "calendar", err)
	_, err = app.Service.Calendars.Create(ctx, service.NewCalendar{TimeZone: "Mars/Olympus",
		Week: bizhours.MondayToFriday(bizhours.Interval{Start: bizhours.At(9, 0), End: bizhours.At(17, 0)})})
	wantFields(t, "a bad calendar", err, "name", "time_zone")
	_, err = app.Service.Calendars.Create(ctx, service.NewCalendar{Name: "Overlap", TimeZone: "UTC",
		Week: bizhours.MondayToFriday(bizhours.Interval{Start: bizhours.At(9, 0), End: bizhours.At(17, 0)},
			bizhours.Interval{Start: bizhours.At(16, 0), End: bizhours.At(18, 0)})})
	wantErr(t, "overlapping intervals", err, storage.ErrInvalid)

	// A calendar with no working time sets no clock, and fails no case.
	never, err := app.Service.Calendars.Create(ctx, service.NewCalendar{Name: "Never", TimeZone: "UTC"})
	must(t, "an empty calendar", err)
	_, err = app.Service.SLAPolicies.Create(ctx, service.NewSLAPolicy{Name: "Low", Enabled: true, Condition: "priority == 'low'",
		CalendarID: never.ID, Targets: []service.SLATarget{{FirstResponse: time.Hour, Resolution: time.Hour}}})
	must(t, "a policy on it", err)
	low, err := cs.Create(ctx, service.NewCase{Subject: "Someday", Priority: service.PriorityLow})
	must(t, "a case under it", err)
	if low.SLA.FirstResponseState != service.SLANone || low.SLA.ResolutionState != service.SLANone || !low.SLA.NextDue.IsZero() {
		t.Errorf("clocks on a calendar without working time = %+v", low.SLA)
	}
	_, err = cs.SetStatus(ctx, low.ID, "solved")
	must(t, "solve it", err)

	_, err = app.Service.SLAPolicies.Create(ctx, service.NewSLAPolicy{Name: "Urgent", Position: 1, Enabled: true,
		Condition: "priority == 'urgent'", CalendarID: office.ID,
		Targets: []service.SLATarget{{Priority: service.PriorityUrgent, FirstResponse: 2 * time.Hour, Resolution: 8 * time.Hour}}})
	must(t, "urgent policy", err)
	_, err = app.Service.SLAPolicies.Create(ctx, service.NewSLAPolicy{Name: "Everyone", Position: 2, Enabled: true,
		Targets: []service.SLATarget{{FirstResponse: 24 * time.Hour, Resolution: 72 * time.Hour}}})
	must(t, "default policy", err)
	_, err = app.Service.SLAPolicies.Create(ctx, service.NewSLAPolicy{Condition: "priority ==", CalendarID: "01a23bd8-07ed-73a7-9720-4bbd606299ac",
		Targets: []service.SLATarget{{Priority: "asap", FirstResponse: -time.Hour}, {Priority: "asap"}}})
	wantFields(t, "a bad policy", err, "name", "condition", "calendar_id", "targets[0].priority", "targets[0].first_response", "targets[1].priority")

	// Friday 16:00: one business hour left that day, Monday a holiday.
	urgent, err := cs.Create(storage.WithWriteTime(ctx, at(4, 3, 16, 0)), service.NewCase{Subject: "Down", Priority: service.PriorityUrgent})
	must(t, "urgent case", err)
	normal, err := cs.Create(storage.WithWriteTime(ctx, at(4, 3, 16, 0)), service.NewCase{Subject: "Question"})
	must(t, "normal case", err)
	same := func(what string, got, want time.Time) {
		t.Helper()
		if !got.Equal(want) {
			t.Errorf("%s = %v, want %v", what, got.In(paris), want)
		}
	}
	sla := urgent.SLA
	same("urgent first response due", sla.FirstResponseDue, at(4, 7, 10, 0))
	same("urgent resolution due", sla.ResolutionDue, at(4, 7, 16, 0))
	same("urgent next due", sla.NextDue, at(4, 7, 10, 0))
	if sla.FirstResponseState != service.SLAActive || sla.ResolutionState != service.SLAActive {
		t.Errorf("urgent clocks = %+v", sla)
	}
	same("normal first response due (calendar time)", normal.SLA.FirstResponseDue, at(4, 4, 16, 0))
	same("normal resolution due", normal.SLA.ResolutionDue, at(4, 6, 16, 0))

	due, err := cs.Due(ctx, at(4, 5, 0, 0), 10)
	must(t, "due list", err)
	if len(due) != 1 || due[0].ID != normal.ID {
		t.Errorf("due before Sunday = %v, want the normal case", caseRefs(due))
	}
	due, err = cs.Due(ctx, at(4, 8, 0, 0), 10)
	must(t, "due list", err)
	if len(due) != 2 || due[0].ID != normal.ID || due[1].ID != urgent.ID {
		t.Errorf("due before Wednesday = %v, want normal then urgent", caseRefs(due))
	}

	// Tuesday 09:30 the desk replies: the first response is met.
	_, err = cs.AddMessage(storage.WithWriteTime(ctx, at(4, 7, 9, 30)), urgent.ID, service.NewMessage{Direction: service.Outbound, Body: "On it."})
	must(t, "reply", err)
	got, err := cs.Get(ctx, urgent.ID)
	must(t, "urgent", err)
	if got.SLA.FirstResponseState != service.SLAHit {
		t.Errorf("first response after the reply = %+v", got.SLA)
	}
	same("next due after the reply", got.SLA.NextDue, at(4, 7, 16, 0))

	// Pending from 10:00 to 12:00 Tuesday: the resolution is due two
	// business hours later, Wednesday 10:00; resolved at 11:00, it is
	// missed.
	paused, err := cs.SetStatus(storage.WithWriteTime(ctx, at(4, 7, 10, 0)), urgent.ID, "pending")
	must(t, "pending", err)
	if !paused.SLA.NextDue.IsZero() || !paused.SLA.PausedSince.Equal(at(4, 7, 10, 0)) {
		t.Errorf("paused clocks = %+v", paused.SLA)
	}
	resumed, err := cs.SetStatus(storage.WithWriteTime(ctx, at(4, 7, 12, 0)), urgent.ID, "open")
	must(t, "open", err)
	if resumed.SLA.PausedFor != 2*time.Hour {
		t.Errorf("paused for %v, want 2h", resumed.SLA.PausedFor)
	}
	same("resolution due after the pause", resumed.SLA.ResolutionDue, at(4, 8, 10, 0))
	solved, err := cs.SetStatus(storage.WithWriteTime(ctx, at(4, 8, 11, 0)), urgent.ID, "solved")
	must(t, "solve", err)
	if solved.SLA.ResolutionState != service.SLAMissed || !solved.SLA.NextDue.IsZero() {
		t.Errorf("resolved late: %+v", solved.SLA)
	}
	// The normal case's first reply comes a day and a minute late.
	_, err = cs.AddMessage(storage.WithWriteTime(ctx, at(4, 4, 16, 1)), normal.ID, service.NewMessage{Direction: service.Outbound, Body: "Sorry."})
	must(t, "late reply", err)
	late, err := cs.Get(ctx, normal.ID)
	must(t, "normal", err)
	if late.SLA.FirstResponseState != service.SLAMissed {
		t.Errorf("a late first reply: %+v", late.SLA)
	}
}

// caseRefs returns the cases' numbers, for messages.
func caseRefs(cs []*service.Case) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Ref()
	}
	return out
}
