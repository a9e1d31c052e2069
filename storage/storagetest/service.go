package storagetest

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/reporting"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/storage"
)

// testServiceCases checks the case model: gap-free numbers (under
// concurrent creates too), validation naming each field, statuses and
// their categories with the events they give, the thread (first response,
// reopening on a customer's reply), assignment (the thread follows, so a
// rep reads what is assigned to it and not another's), merging, custom
// fields, the workspace's statuses, the service KPIs, and the personal
// data: cases and messages in the contact's access document and erased
// with them.
func testServiceCases(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	cs := app.Service.Cases
	acme, err := app.Accounts.Create(ctx, contacts.NewAccount{Name: "Acme"})
	must(t, "account", err)
	ada := e.contact(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@acme.example", AccountID: acme.ID})
	_, err = app.Fields.Define(ctx, contacts.NewFieldDef{Object: service.ObjectCase, Name: "product", Label: "Product", Type: contacts.FieldText})
	must(t, "custom field", err)

	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	c1, err := cs.Create(storage.WithWriteTime(ctx, day(2, 9)), service.NewCase{Subject: "  Printer on fire ", ContactID: ada.ID,
		Channel: service.ChannelEmail, Priority: service.PriorityUrgent, Tags: []string{"Hardware", "hardware"}, Custom: map[string]any{"product": "P-100"}})
	must(t, "case", err)
	if c1.Number != 1 || c1.Subject != "Printer on fire" || c1.AccountID != acme.ID || c1.Status != "new" || c1.Category != service.StatusOpen ||
		!slices.Equal(c1.Tags, []string{"hardware"}) || c1.Custom["product"] != "P-100" || c1.Ref() != "#1" {
		t.Errorf("case = %+v", c1)
	}
	_, err = cs.Create(ctx, service.NewCase{Channel: "pigeon", Priority: "meh", Status: "limbo", ContactID: "01a23bd8-07ed-73a7-9720-4bbd606299ac",
		Custom: map[string]any{"colour": "red"}})
	wantFields(t, "a bad case", err, "subject", "channel", "priority", "status", "contact_id", "custom.colour")

	// Numbers are gap-free: a failed create takes none, and concurrent
	// creates take each one once.
	var wg sync.WaitGroup
	numbers := make([]int64, 12)
	errs := make([]error, 12)
	for i := range numbers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := cs.Create(ctx, service.NewCase{Subject: fmt.Sprint("Question ", i)})
			if errs[i] = err; err == nil {
				numbers[i] = c.Number
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		must(t, "concurrent case", err)
	}
	slices.Sort(numbers)
	for i, n := range numbers {
		if n != int64(i+2) {
			t.Fatalf("concurrent case numbers = %v, want 2–13", numbers)
		}
	}
	byNumber, err := cs.ByNumber(ctx, 1)
	must(t, "by number", err)
	if byNumber.ID != c1.ID {
		t.Errorf("case #1 = %s, want %s", byNumber.ID, c1.ID)
	}
	_, err = cs.ByNumber(ctx, 99)
	wantErr(t, "case #99", err, storage.ErrNotFound)

	// The thread: a customer's message, a note, the desk's first reply.
	cursor := e.feedAfter("", 1000).Cursor
	_, err = cs.AddMessage(ctx, c1.ID, service.NewMessage{From: "Ada <ada@acme.example>", Body: "It smokes.", MessageID: "<m1@acme.example>",
		SentAt: day(2, 9)})
	must(t, "inbound", err)
	_, err = cs.Assign(ctx, c1.ID, "01a23bd8-07ed-73a7-9720-4bbd606299ac", "")
	wantFields(t, "assigning to no one", err, "owner_id")
	_, err = cs.Assign(ctx, c1.ID, e.repA.ID, e.teamX.ID)
	must(t, "assign", err)
	repA, repB := e.as(e.repA), e.as(e.repB)
	_, err = cs.AddMessage(storage.WithWriteTime(repA, day(2, 10)), c1.ID, service.NewMessage{Kind: service.KindNote, Body: "Call facilities."})
	must(t, "note", err)
	reply, err := cs.AddMessage(storage.WithWriteTime(repA, day(2, 11)), c1.ID, service.NewMessage{Body: "Please unplug it."})
	must(t, "reply", err)
	if reply.Direction != service.Outbound || reply.AuthorID != e.repA.ID || reply.OwnerID != e.repA.ID || reply.ContactID != ada.ID {
		t.Errorf("reply = %+v", reply)
	}
	_, err = cs.AddMessage(repA, c1.ID, service.NewMessage{Body: "  "})
	wantFields(t, "an empty message", err, "body")
	got, err := cs.Get(repA, c1.ID)
	must(t, "case as its assignee", err)
	if !got.FirstResponseAt.Equal(day(2, 11)) || !got.LastMessageAt.Equal(day(2, 11)) {
		t.Errorf("first response %v, last message %v; want both %v", got.FirstResponseAt, got.LastMessageAt, day(2, 11))
	}
	thread, err := cs.Messages(repA, c1.ID, storage.PageQuery{})
	must(t, "thread", err)
	if len(thread.Items) != 3 || thread.Items[0].Direction != service.Inbound || thread.Items[0].MessageID != "m1@acme.example" ||
		thread.Items[1].Kind != service.KindNote || thread.Items[2].ID != reply.ID {
		t.Errorf("thread = %+v", thread.Items)
	}
	_, err = cs.Get(repB, c1.ID)
	wantErr(t, "another rep's case", err, storage.ErrNotFound)
	if n, err := storage.TableOf[*service.Message](e.store).Count(repB, storage.Eq("case_id", c1.ID)); err != nil || n != 0 {
		t.Errorf("another rep reads %d messages of the case (%v)", n, err)
	}

	// Statuses: paused, resolved, and reopened by the customer's reply.
	_, err = cs.SetStatus(ctx, c1.ID, "pending")
	must(t, "pending", err)
	solved, err := cs.SetStatus(storage.WithWriteTime(ctx, day(3, 9)), c1.ID, "solved")
	must(t, "solved", err)
	if solved.Category != service.StatusResolved || !solved.ResolvedAt.Equal(day(3, 9)) {
		t.Errorf("solved case = %+v", solved)
	}
	_, err = cs.SetStatus(ctx, c1.ID, "limbo")
	wantFields(t, "an unknown status", err, "status")
	_, err = cs.AddMessage(ctx, c1.ID, service.NewMessage{From: "ada@acme.example", Body: "Still smoking.", InReplyTo: reply.MessageID})
	must(t, "customer replies", err)
	reopened, err := cs.Get(ctx, c1.ID)
	must(t, "reopened", err)
	if reopened.Status != "new" || reopened.Category != service.StatusOpen || !reopened.ResolvedAt.IsZero() {
		t.Errorf("after the customer's reply the case is %+v", reopened)
	}
	var types []string
	for _, ev := range e.feedAfter(cursor, 1000).Events {
		if ev.Subject.Type == service.ObjectCase && ev.Subject.ID == c1.ID {
			types = append(types, ev.Type)
		}
	}
	for _, want := range []string{"case.assigned", "case.status_changed", "case.resolved", "case.reopened"} {
		if !slices.Contains(types, want) {
			t.Errorf("the case's events %v lack %s", types, want)
		}
	}

	// Merging: the duplicate's thread and tags move; it is resolved and
	// takes no more messages.
	dup, err := cs.Create(ctx, service.NewCase{Subject: "Smoke from printer", ContactID: ada.ID, Tags: []string{"urgent"}})
	must(t, "duplicate", err)
	_, err = cs.AddMessage(ctx, dup.ID, service.NewMessage{From: "ada@acme.example", Body: "Also, smoke."})
	must(t, "duplicate's message", err)
	kept, err := cs.Merge(ctx, c1.ID, dup.ID)
	must(t, "merge", err)
	if !slices.Equal(kept.Tags, []string{"hardware", "urgent"}) {
		t.Errorf("merged tags = %v", kept.Tags)
	}
	merged, err := cs.Get(ctx, dup.ID)
	must(t, "merged case", err)
	if merged.MergedInto != c1.ID || merged.Category != service.StatusResolved {
		t.Errorf("merged case = %+v", merged)
	}
	thread, err = cs.Messages(ctx, c1.ID, storage.PageQuery{})
	must(t, "merged thread", err)
	if len(thread.Items) != 5 || thread.Items[4].OwnerID != e.repA.ID {
		t.Errorf("merged thread has %d messages (%+v), want 5 owned by the assignee", len(thread.Items), thread.Items)
	}
	_, err = cs.Merge(ctx, c1.ID, dup.ID)
	wantErr(t, "merging a merged case", err, storage.ErrConflict)
	_, err = cs.AddMessage(ctx, dup.ID, service.NewMessage{Body: "Hello?"})
	wantErr(t, "a message to a merged case", err, storage.ErrConflict)
	_, err = cs.Merge(ctx, c1.ID, c1.ID)
	wantErr(t, "merging a case into itself", err, storage.ErrConflict)

	// The workspace's statuses: a status in use stays; each category
	// needs one.
	_, err = app.Service.Settings.SetStatuses(ctx, []service.Status{{Key: "open", Category: service.StatusOpen},
		{Key: "waiting", Category: service.StatusPaused}, {Key: "done", Category: service.StatusResolved}})
	wantErr(t, "removing statuses in use", err, storage.ErrConflict)
	_, err = app.Service.Settings.SetStatuses(ctx, []service.Status{{Key: "New", Category: service.StatusOpen}, {Key: "x", Category: "lost"}})
	wantFields(t, "bad statuses", err, "statuses[0].key", "statuses[1].category", "statuses")
	set, err := app.Service.Settings.SetStatuses(ctx, append(slices.Clone(service.DefaultStatuses), service.Status{Key: "escalated", Name: "Escalated", Category: service.StatusOpen}))
	must(t, "add a status", err)
	if _, ok := set.Status("escalated"); !ok {
		t.Errorf("statuses = %+v", set.Statuses)
	}
	_, err = cs.SetStatus(ctx, c1.ID, "escalated")
	must(t, "escalate", err)

	// The service KPIs: first response 2 hours after the case opened; the
	// merged duplicate is no resolution.
	march := reporting.Params{From: day(1, 0), To: day(31, 0)}
	fr, err := app.Reporting.KPI(ctx, service.KPIFirstResponse, march)
	must(t, "first response KPI", err)
	if len(fr) != 1 || !fr[0].Valid || math.Abs(fr[0].Value-7200) > 1e-3 || fr[0].Count != 1 {
		t.Errorf("first response time = %+v, want 2 h over 1 case", fr)
	}
	_, err = cs.SetStatus(storage.WithWriteTime(ctx, day(4, 9)), c1.ID, "closed")
	must(t, "close", err)
	rt, err := app.Reporting.KPI(ctx, service.KPIResolutionTime, march)
	must(t, "resolution KPI", err)
	if len(rt) != 1 || !rt[0].Valid || math.Abs(rt[0].Value-2*86400) > 1e-3 || rt[0].Count != 1 {
		t.Errorf("resolution time = %+v, want 2 days over 1 case", rt)
	}

	// A case moved to another contact takes its thread along.
	bob := e.contact(ctx, contacts.NewContact{FirstName: "Bob", Email: "bob@acme.example"})
	c3, err := cs.Create(ctx, service.NewCase{Subject: "Bob's question", ContactID: bob.ID})
	must(t, "Bob's case", err)
	_, err = cs.AddMessage(ctx, c3.ID, service.NewMessage{From: "bob@acme.example", Body: "Asked for Ada, in fact."})
	must(t, "Bob's message", err)
	adaID := ada.ID
	moved, err := cs.Update(ctx, c3.ID, service.UpdateCase{ContactID: &adaID})
	must(t, "move the case to Ada", err)
	if moved.ContactID != ada.ID || moved.AccountID != "" {
		t.Errorf("moved case = %+v", moved)
	}

	// Ada's cases and messages are hers: in her access document, erased
	// with her.
	pd, err := app.PersonalData(ctx, ada.ID)
	must(t, "personal data", err)
	for typ, want := range map[string]int{service.ObjectCase: 3, service.ObjectMessage: 6} {
		if n := relatedCount(pd.Related[typ]); n != want {
			t.Errorf("access document holds %d %s records, want %d", n, typ, want)
		}
	}
	er, err := app.Erase(ctx, ada.ID)
	must(t, "erase", err)
	if er.Related[service.ObjectCase] != 3 || er.Related[service.ObjectMessage] != 6 {
		t.Errorf("erasure = %+v, want 3 cases and 6 messages", er.Related)
	}
	_, err = cs.Get(ctx, c1.ID)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the erased person's case: %v, want ErrNotFound", err)
	}
	if n := count(t, ctx, storage.TableOf[*service.Case](e.store)); n != 12 {
		t.Errorf("%d cases left, want the 12 others", n)
	}
}

// relatedCount is how many records an access document's Related entry
// holds.
func relatedCount(v any) int {
	if v == nil {
		return 0
	}
	return reflect.ValueOf(v).Len()
}
