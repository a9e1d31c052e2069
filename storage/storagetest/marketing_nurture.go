package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow"
)

// testMarketingNurture runs a nurture sequence end to end: contacts enter
// it by entering a segment or posting a web form, get its steps after
// durable waits, and leave it when they reply, get a deal, stop matching
// the exit condition or leave the segment.
func testMarketingNurture(t *testing.T, h Harness) {
	e := newEnv(t, h)
	clock := &fakeClock{t: storage.Now()}
	wf := workflow.Config{Now: clock.Now}
	if h.RowLevelSecurity {
		wf.Workspaces = []string{storage.WorkspaceFrom(e.ctx)}
	}
	app, err := crm.New(e.ctx, e.store, crm.Config{Workflow: wf, Marketing: marketing.Options{BaseURL: "https://acme.example/m", Key: mktKey, Now: clock.Now}})
	must(t, "crm.New", err)
	f := &flow{env: e, app: app, clock: clock}
	ctx := f.ctx
	settle := func() {
		t.Helper()
		for range 10 {
			f.sync()
			_, err := app.Marketing.Sync(ctx)
			must(t, "marketing sync", err)
			f.settle()
			if n, err := app.Marketing.Sync(ctx); err != nil || n == 0 {
				must(t, "marketing sync", err)
				return
			}
		}
	}

	seg, err := app.Marketing.Segments.Create(ctx, marketing.NewSegment{Name: "Trial users", Where: "'trial' in tags"})
	must(t, "segment", err)
	form, err := app.Marketing.Forms.Create(ctx, marketing.NewForm{Name: "Guide download", Target: marketing.FormContact,
		Fields: []marketing.FormField{{Name: "email", Field: "email"}, {Name: "name", Field: "first_name"}}})
	must(t, "form", err)

	_, err = marketing.Nurture{Name: "Trial nurture"}.Rules()
	wantFields(t, "a nurture without audience or steps", err, "segment_id", "steps")
	rules, err := marketing.Nurture{Name: "Trial nurture", SegmentID: seg.ID, FormID: form.ID,
		Steps: []workflow.Action{
			workflow.AddTag("nurture1"),
			workflow.Wait(48 * time.Hour),
			workflow.AddTag("nurture2"),
		},
		ExitWhen: "lifecycle == 'customer'", ExitOnReply: true, ExitOnDeal: true, ExitOnLeave: true}.Rules()
	must(t, "nurture rules", err)
	if len(rules) != 4 {
		t.Fatalf("%d rules, want the sequence, two entries and an exit", len(rules))
	}
	var seqID string
	for _, r := range rules {
		saved, err := app.Workflow.Rules.Create(ctx, workflow.NewRule{Name: r.Name, Enabled: r.Enabled, Trigger: r.Trigger,
			Condition: r.Condition, Actions: r.Actions, Exit: r.Exit})
		must(t, "save rule "+r.Name, err)
		if r.Name == "Trial nurture" {
			seqID = saved.ID
		}
	}
	// Five enter through the segment, one through the form.
	mk := func(name string) *contacts.Contact {
		return e.contact(ctx, contacts.NewContact{FirstName: name, Tags: []string{"trial"}})
	}
	stays, replies, buys, deal, leaves := mk("Stays"), mk("Replies"), mk("Buys"), mk("Deal"), mk("Leaves")
	outsider := e.contact(ctx, contacts.NewContact{FirstName: "Outsider"})
	link, err := app.Marketing.Forms.URL(ctx, form.ID)
	must(t, "form url", err)
	post, err := app.Marketing.Forms.Submit(ctx, token(t, link, "f"), map[string][]string{"email": {"reader@shop.example"}, "name": {"Reader"}})
	must(t, "form post", err)
	reader := post.Post.ContactID
	settle()
	tags := func(id string) []string { return f.contactNow(id).Tags }
	for _, id := range []string{stays.ID, replies.ID, buys.ID, deal.ID, leaves.ID, reader} {
		if got := tags(id); !slices.Contains(got, "nurture1") {
			t.Fatalf("%s after entering: tags %v", f.contactNow(id).FirstName, got)
		}
	}
	if got := tags(outsider.ID); slices.Contains(got, "nurture1") {
		t.Errorf("a contact outside the segment was enrolled: %v", got)
	}
	runs := f.runs(seqID)
	if len(runs) != 6 {
		t.Fatalf("%d sequence runs, want 6", len(runs))
	}
	for _, r := range runs {
		if r.Subject.Type != contacts.ObjectContact {
			t.Errorf("a run on %s, want it on the contact", r.Subject.Type)
		}
	}

	// Each way out.
	_, err = app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindEmail, Direction: contacts.Inbound, Subject: "Re: your trial", ContactIDs: []string{replies.ID}})
	must(t, "reply", err)
	_, err = app.Contacts.Update(ctx, buys.ID, contacts.UpdateContact{Lifecycle: ptr(contacts.LifecycleCustomer)})
	must(t, "buys", err)
	_, err = app.Sales.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Deal's deal", ContactID: deal.ID, Amount: storage.Money{Amount: 1000, Currency: "USD"}})
	must(t, "deal", err)
	_, err = app.Contacts.Update(ctx, leaves.ID, contacts.UpdateContact{Tags: &[]string{"nurture1"}})
	must(t, "leaves the segment", err)
	settle()
	if ok, _ := app.Marketing.Segments.Contains(ctx, seg.ID, leaves.ID); ok {
		t.Fatal("Leaves is still in the segment")
	}
	clock.Add(49 * time.Hour)
	settle()
	for _, id := range []string{stays.ID, reader} {
		if got := tags(id); !slices.Contains(got, "nurture2") {
			t.Errorf("%s did not get step 2: %v", f.contactNow(id).FirstName, got)
		}
	}
	for _, id := range []string{replies.ID, buys.ID, deal.ID, leaves.ID} {
		if got := tags(id); slices.Contains(got, "nurture2") {
			t.Errorf("%s got step 2 after leaving the sequence: %v", f.contactNow(id).FirstName, got)
		}
	}
	byState := map[workflow.RunState]int{}
	for _, r := range f.runs(seqID) {
		byState[r.State]++
	}
	if byState[workflow.RunExited] != 4 || byState[workflow.RunSucceeded] != 2 {
		t.Errorf("sequence runs by state = %v, want 4 exited and 2 succeeded", byState)
	}
}
