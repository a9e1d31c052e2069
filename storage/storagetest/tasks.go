package storagetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

// testTasksCalendar checks tasks, their queries and events, and the
// iCalendar feed, read back with an iCalendar decoder.
func testTasksCalendar(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	s := e.sales()
	ctx := e.sys
	c := e.contact(ctx, contacts.NewContact{FirstName: "Ada"})
	now := time.Now().UTC().Truncate(time.Second)
	mk := func(title string, due time.Time, owner string, allDay bool) *sales.Task {
		tk, err := s.Tasks.Create(ctx, sales.NewTask{Title: title, Due: due, AllDay: allDay, OwnerID: owner,
			Related: []storage.Ref{{Type: contacts.ObjectContact, ID: c.ID}}})
		must(t, "task", err)
		return tk
	}
	late := mk("Call back", now.Add(-48*time.Hour), e.repA.ID, false)
	soon := mk("Send proposal", now.Add(26*time.Hour), e.repA.ID, false)
	allDay := mk("Renewal day", now.Add(72*time.Hour), e.repA.ID, true)
	mk("Someone else's", now.Add(time.Hour), e.repB.ID, false)
	mk("Someday", time.Time{}, e.repA.ID, false)

	_, err := s.Tasks.Create(ctx, sales.NewTask{Title: "", Priority: "asap", Related: []storage.Ref{{Type: contacts.ObjectContact, ID: storage.NewID()}}})
	wantFields(t, "bad task", err, "title", "priority", "related[0]")

	ids := func(p storage.Page[*sales.Task], err error) []string {
		t.Helper()
		must(t, "tasks", err)
		var out []string
		for _, tk := range p.Items {
			out = append(out, tk.Title)
		}
		return out
	}
	if got := ids(s.Tasks.Overdue(ctx, "", now, storage.PageQuery{})); !slices.Equal(got, []string{"Call back"}) {
		t.Errorf("overdue = %v", got)
	}
	week := sales.Period{From: now, To: now.AddDate(0, 0, 7)}
	if got := ids(s.Tasks.DueIn(ctx, e.repA.ID, week, storage.PageQuery{})); !slices.Equal(got, []string{"Send proposal", "Renewal day"}) {
		t.Errorf("due this week = %v", got)
	}
	done, err := s.Tasks.Complete(ctx, soon.ID)
	must(t, "complete", err)
	if done.Status != sales.TaskDone || done.CompletedAt.IsZero() {
		t.Errorf("completed task = %+v", done)
	}
	if got := ids(s.Tasks.Open(ctx, e.repA.ID, storage.PageQuery{})); len(got) != 3 || slices.Contains(got, "Send proposal") {
		t.Errorf("rep A's open tasks = %v", got)
	}
	hist, err := e.store.History(ctx, soon.ID, storage.PageQuery{Limit: 1})
	must(t, "history", err)
	if hist.Items[0].Type != "task.completed" {
		t.Errorf("completion event = %s", hist.Items[0].Type)
	}
	// A rep sees only its own and its team's tasks.
	if got := ids(s.Tasks.Overdue(e.as(e.repB), "", now, storage.PageQuery{})); len(got) != 0 {
		t.Errorf("rep B sees overdue tasks %v of rep A", got)
	}

	// The calendar feed: rep A's meeting and timed and all-day tasks.
	_, err = e.svc.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindMeeting, Subject: "Kick-off", OccurredAt: now.Add(5 * time.Hour),
		Duration: time.Hour, OwnerID: e.repA.ID, ContactIDs: []string{c.ID}})
	must(t, "meeting", err)
	reopen := sales.TaskOpen
	_, err = s.Tasks.Update(ctx, soon.ID, sales.UpdateTask{Status: &reopen})
	must(t, "reopen", err)
	var buf bytes.Buffer
	must(t, "calendar", s.Tasks.Calendar(ctx, &buf, e.repA.ID, week))
	cal, err := ical.NewDecoder(&buf).Decode()
	must(t, "decode the feed", err)
	evs := cal.Events()
	var summaries []string
	for _, ev := range evs {
		sum, _ := ev.Props.Text(ical.PropSummary)
		summaries = append(summaries, sum)
		if uid, _ := ev.Props.Text(ical.PropUID); uid == "" {
			t.Errorf("event %q has no UID", sum)
		}
		if sum == "Kick-off" {
			start, _ := ev.DateTimeStart(time.UTC)
			end, _ := ev.DateTimeEnd(time.UTC)
			if !start.Equal(now.Add(5*time.Hour)) || end.Sub(start) != time.Hour {
				t.Errorf("meeting %v–%v", start, end)
			}
		}
		if sum == "Renewal day" {
			if p := ev.Props.Get(ical.PropDateTimeStart); p.ValueType() != ical.ValueDate {
				t.Errorf("all-day task starts with value type %s", p.ValueType())
			}
		}
	}
	slices.Sort(summaries)
	if want := []string{"Kick-off", "Renewal day", "Send proposal"}; !slices.Equal(summaries, want) {
		t.Errorf("feed events = %v, want %v", summaries, want)
	}
	_ = late
	_ = allDay
	buf.Reset()
	must(t, "empty calendar", s.Tasks.Calendar(ctx, &buf, e.repB.ID, sales.Period{From: now.AddDate(1, 0, 0), To: now.AddDate(1, 0, 7)}))
	if _, err := ical.NewDecoder(&buf).Decode(); err != nil {
		t.Errorf("empty feed does not decode: %v", err)
	}
}

// testProjects checks projects from won deals, by request and by option,
// and progress from tasks.
func testProjects(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.sales()
	acct := e.account(e.ctx, contacts.NewAccount{Name: "Initech"})
	o, err := s.Opportunities.Create(e.ctx, sales.NewOpportunity{Name: "Rollout", AccountID: acct.ID})
	must(t, "opportunity", err)
	_, err = s.Projects.FromOpportunity(e.ctx, o.ID, sales.NewProject{})
	wantErr(t, "project of an open deal", err, storage.ErrConflict)
	_, err = s.Opportunities.Win(e.ctx, o.ID)
	must(t, "win", err)
	p, err := s.Projects.FromOpportunity(e.ctx, o.ID, sales.NewProject{Milestones: []sales.Milestone{{Name: "Go live"}}})
	must(t, "project", err)
	if p.Name != "Rollout" || p.AccountID != acct.ID || p.Status != sales.ProjectPlanned || p.Start.IsZero() {
		t.Errorf("project = %+v", p)
	}
	_, err = s.Projects.FromOpportunity(e.ctx, o.ID, sales.NewProject{})
	wantErr(t, "second project of a deal", err, storage.ErrConflict)
	_, err = s.Projects.Update(e.ctx, p.ID, sales.UpdateProject{Status: ptr(sales.ProjectStatus("lost")), End: ptr(p.Start.AddDate(0, 0, -1))})
	wantFields(t, "bad project update", err, "status", "end")

	for i := range 4 {
		tk, err := s.Tasks.Create(e.ctx, sales.NewTask{Title: "Step", ProjectID: p.ID})
		must(t, "task", err)
		if i < 3 {
			_, err = s.Tasks.Complete(e.ctx, tk.ID)
			must(t, "complete", err)
		}
	}
	pr, err := s.Projects.Progress(e.ctx, p.ID)
	must(t, "progress", err)
	if pr != (sales.Progress{Tasks: 4, Done: 3, Percent: 75}) {
		t.Errorf("progress = %+v", pr)
	}

	// With ProjectOnWin, winning makes the project in the same write.
	auto := sales.NewService(e.store, e.svc, sales.Options{ProjectOnWin: true})
	o2, err := auto.Opportunities.Create(e.ctx, sales.NewOpportunity{Name: "Upgrade", AccountID: acct.ID})
	must(t, "opportunity", err)
	_, err = auto.Opportunities.Win(e.ctx, o2.ID)
	must(t, "win", err)
	page, err := auto.Projects.List(e.ctx, storage.ListQuery{Filter: storage.Eq("opportunity_id", o2.ID)})
	must(t, "list", err)
	if len(page.Items) != 1 || page.Items[0].Name != "Upgrade" {
		t.Errorf("projects of the auto-won deal = %+v", page.Items)
	}
}

// testOrders checks idempotent order recording, purchase history and the
// timeline.
func testOrders(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.sales()
	acct := e.account(e.ctx, contacts.NewAccount{Name: "Shop customer Ltd"})
	c := e.contact(e.ctx, contacts.NewContact{FirstName: "Buyer", AccountID: acct.ID})
	at := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	in := sales.NewOrder{ExternalID: "shop-1001", ContactID: c.ID, AccountID: acct.ID, Currency: "EUR", Status: "paid", OrderedAt: at,
		Lines: []sales.OrderLine{{SKU: "TEA", Name: "Tea", Quantity: 3, UnitPrice: 499}, {Name: "Pot", Quantity: 1, UnitPrice: 2500}}}
	o, created, err := s.Orders.Record(e.ctx, in)
	must(t, "record", err)
	if !created || o.Total != 3997 || o.Lines[0].Total != 1497 {
		t.Errorf("order = %+v (created %v)", o, created)
	}
	again, created, err := s.Orders.Record(e.ctx, in)
	must(t, "record again", err)
	if created || again.ID != o.ID {
		t.Errorf("recording the same external ID again created %v (%s)", created, again.ID)
	}
	_, _, err = s.Orders.Record(e.ctx, sales.NewOrder{ExternalID: "shop-1002", ContactID: c.ID, Currency: "EUR", OrderedAt: at.AddDate(0, 0, 10),
		Lines: []sales.OrderLine{{Name: "Cups", Quantity: 2, UnitPrice: 750}}})
	must(t, "second order", err)
	_, _, err = s.Orders.Record(e.ctx, sales.NewOrder{ExternalID: "shop-1003", ContactID: c.ID, Currency: "USD", OrderedAt: at,
		Lines: []sales.OrderLine{{Name: "Mug", Quantity: 1, UnitPrice: 1200}}})
	must(t, "usd order", err)
	_, _, err = s.Orders.Record(e.ctx, sales.NewOrder{Currency: "eur", ContactID: storage.NewID(),
		Lines: []sales.OrderLine{{Name: "Bad", Quantity: -1, UnitPrice: 1}}})
	wantFields(t, "bad order", err, "external_id", "currency", "lines[0].quantity")
	_, _, err = s.Orders.Record(e.ctx, sales.NewOrder{ExternalID: "shop-x", ContactID: storage.NewID(), Currency: "EUR",
		Lines: []sales.OrderLine{{Name: "Tea", Quantity: 1, UnitPrice: 1}}})
	wantFields(t, "order of an unknown contact", err, "contact_id")

	hist, err := s.Orders.History(e.ctx, storage.Ref{Type: contacts.ObjectContact, ID: c.ID})
	must(t, "history", err)
	want := []sales.Purchases{{Currency: "EUR", Orders: 2, Spent: 3997 + 1500, Last: at.AddDate(0, 0, 10)}, {Currency: "USD", Orders: 1, Spent: 1200, Last: at}}
	if len(hist) != 2 || hist[0].Orders != want[0].Orders || hist[0].Spent != want[0].Spent || !hist[0].Last.Equal(want[0].Last) ||
		hist[1].Spent != want[1].Spent || !hist[1].Last.Equal(want[1].Last) {
		t.Errorf("purchase history = %+v, want %+v", hist, want)
	}
	ah, err := s.Orders.History(e.ctx, storage.Ref{Type: contacts.ObjectAccount, ID: acct.ID})
	must(t, "account history", err)
	if len(ah) != 1 || ah[0].Orders != 1 {
		t.Errorf("account history = %+v", ah)
	}
	tl, err := e.svc.Contacts.Timeline(e.ctx, c.ID, storage.PageQuery{})
	must(t, "timeline", err)
	n := 0
	for _, en := range tl.Items {
		if en.Event != nil && en.Event.Type == "order.created" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("contact timeline shows %d orders, want 3", n)
	}
}
