package storagetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/queue"
	"github.com/crmkit/crm/workflow"
	"github.com/crmkit/crm/workflow/send"
)

// fakeClock is the engine's clock in tests: it moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// flow is a test's CRM with its workflow engine on a fake clock.
type flow struct {
	*env
	app   *crm.CRM
	clock *fakeClock
}

func newFlow(t *testing.T, h Harness, cfg workflow.Config) *flow {
	t.Helper()
	e := newEnv(t, h)
	clock := &fakeClock{t: storage.Now()}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if h.RowLevelSecurity && len(cfg.Workspaces) == 0 {
		cfg.Workspaces = []string{storage.WorkspaceFrom(e.ctx)}
	}
	app, err := crm.New(e.ctx, e.store, crm.Config{DefaultPhoneRegion: "US", Workflow: cfg})
	must(t, "crm.New", err)
	return &flow{env: e, app: app, clock: clock}
}

// settle runs the engine until every committed event is matched and every
// due job has run (waiting for the change feed to show the commits of the
// engine's own actions in between).
func (f *flow) settle() {
	f.t.Helper()
	for range 50 {
		f.sync()
		n, err := f.app.Workflow.Drain(f.ctx)
		must(f.t, "drain", err)
		if n == 0 {
			return
		}
	}
	f.t.Fatal("the engine did not settle in 50 rounds")
}

func (f *flow) rule(in workflow.NewRule) *workflow.Rule {
	f.t.Helper()
	r, err := f.app.Workflow.Rules.Create(f.ctx, in)
	must(f.t, "create rule "+in.Name, err)
	return r
}

func (f *flow) runs(ruleID string) []*workflow.Run {
	f.t.Helper()
	page, err := f.app.Workflow.Runs(f.ctx, workflow.RunQuery{RuleID: ruleID, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
	must(f.t, "runs", err)
	return page.Items
}

func (f *flow) tasksOf(id string) []*sales.Task {
	f.t.Helper()
	var out []*sales.Task
	err := storage.Each(f.ctx, storage.TableOf[*sales.Task](f.store), storage.ListQuery{}, func(t *sales.Task) error {
		for _, r := range t.Related {
			if r.ID == id {
				out = append(out, t)
			}
		}
		return nil
	})
	must(f.t, "tasks", err)
	return out
}

func (f *flow) contactNow(id string) *contacts.Contact {
	f.t.Helper()
	c, err := f.app.Contacts.Get(f.ctx, id)
	must(f.t, "get contact", err)
	return c
}

func states(runs []*workflow.Run) map[workflow.RunState]int {
	out := map[workflow.RunState]int{}
	for _, r := range runs {
		out[r.State]++
	}
	return out
}

// testWorkflowRules checks that rules are checked when saved, versioned,
// and written by admins only.
func testWorkflowRules(t *testing.T, h Harness) {
	f := newFlow(t, h, workflow.Config{})
	rules := f.app.Workflow.Rules
	good := workflow.NewRule{Name: "Welcome", Enabled: true,
		Trigger:   workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"created"}},
		Condition: "lifecycle == 'lead'",
		Actions:   []workflow.Action{workflow.CreateTask(workflow.TaskParams{Title: "Call {{.first_name}}"})}}
	r := f.rule(good)

	_, err := rules.Create(f.ctx, good)
	wantErr(t, "same name", err, storage.ErrConflict)

	bad := good
	bad.Name = "Bad"
	bad.Condition = "lifecycle == 'lead' &&\n  shoe_size > 3"
	_, err = rules.Create(f.ctx, bad)
	wantFields(t, "unknown field", err, "condition")
	if msg := err.Error(); !strings.Contains(msg, "line 2") || !strings.Contains(msg, "shoe_size") {
		t.Errorf("unknown field error %q names neither the position nor the field", msg)
	}
	bad = good
	bad.Name = "Bad"
	bad.Condition = "lifecycle > 3"
	_, err = rules.Create(f.ctx, bad)
	wantFields(t, "type error", err, "condition")

	cases := []struct {
		name  string
		rule  workflow.NewRule
		field string
	}{
		{"no trigger", workflow.NewRule{Name: "x", Actions: good.Actions}, "trigger.kind"},
		{"unknown object", workflow.NewRule{Name: "x", Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: "spaceship", Events: []string{"created"}}, Actions: good.Actions}, "trigger.object"},
		{"no events", workflow.NewRule{Name: "x", Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: "contact"}, Actions: good.Actions}, "trigger.events"},
		{"no actions", workflow.NewRule{Name: "x", Trigger: good.Trigger}, "actions"},
		{"unknown action", workflow.NewRule{Name: "x", Trigger: good.Trigger, Actions: []workflow.Action{{Type: "launch_rocket"}}}, "actions[0].type"},
		{"bad template", workflow.NewRule{Name: "x", Trigger: good.Trigger, Actions: []workflow.Action{workflow.CreateTask(workflow.TaskParams{Title: "Call {{.shoe_size}}"})}}, "actions[0].params"},
		{"header injection", workflow.NewRule{Name: "x", Trigger: good.Trigger, Actions: []workflow.Action{workflow.SendEmail(workflow.EmailParams{Subject: "Hi\r\nBcc: all@example.com", Text: "x"})}}, "actions[0].params"},
		{"bad cron", workflow.NewRule{Name: "x", Trigger: workflow.Trigger{Kind: workflow.OnSchedule, Cron: "every tuesday"}, Actions: []workflow.Action{workflow.CallWebhook(workflow.WebhookParams{URL: "https://example.com/h"})}}, "trigger.cron"},
		{"time on text", workflow.NewRule{Name: "x", Trigger: workflow.Trigger{Kind: workflow.OnTime, Object: "contact", Field: "email"}, Actions: good.Actions}, "trigger.field"},
		{"field value type", workflow.NewRule{Name: "x", Trigger: good.Trigger, Actions: []workflow.Action{workflow.UpdateField("lifecycle", 7)}}, "actions[0].params"},
		{"bad webhook url", workflow.NewRule{Name: "x", Trigger: good.Trigger, Actions: []workflow.Action{workflow.CallWebhook(workflow.WebhookParams{URL: "ftp://x"})}}, "actions[0].params"},
		{"bad exit", workflow.NewRule{Name: "x", Trigger: good.Trigger, Actions: good.Actions, Exit: workflow.Exit{When: "nope == 1"}}, "exit.when"},
	}
	for _, tc := range cases {
		_, err := rules.Create(f.ctx, tc.rule)
		wantFields(t, tc.name, err, tc.field)
	}
	if n := count(t, f.ctx, storage.TableOf[*workflow.Rule](f.store)); n != 1 {
		t.Errorf("%d rules stored after the bad ones, want 1", n)
	}

	off := false
	r2, err := rules.Update(f.ctx, r.ID, workflow.UpdateRule{Enabled: &off})
	must(t, "disable", err)
	if r2.Version != r.Version+1 || r2.Enabled {
		t.Errorf("updated rule = v%d enabled %v", r2.Version, r2.Enabled)
	}
	_, err = rules.Update(f.ctx, r.ID, workflow.UpdateRule{Condition: ptr("nope == 1")})
	wantFields(t, "bad update", err, "condition")
	if got, _ := rules.Get(f.ctx, r.ID); got.Condition != good.Condition {
		t.Errorf("a refused update changed the rule: %q", got.Condition)
	}

	// Members: a rep reads rules, and may not write them.
	m, err := f.app.Access.CreateMember(f.ctx, access.NewMember{Name: "Rep", Email: "rep@example.com", Role: access.RoleRep})
	must(t, "member", err)
	repCtx, err := f.app.As(f.ctx, m.ID)
	must(t, "as rep", err)
	if _, err := rules.Get(repCtx, r.ID); err != nil {
		t.Errorf("a rep cannot read a rule: %v", err)
	}
	_, err = rules.Create(repCtx, workflow.NewRule{Name: "Rep's", Trigger: good.Trigger, Actions: good.Actions})
	wantErr(t, "rep creates a rule", err, storage.ErrForbidden)
	// Operating the engine is for admins: runs hold whole records.
	_, err = f.app.Workflow.Runs(repCtx, workflow.RunQuery{})
	wantErr(t, "rep reads the run history", err, storage.ErrForbidden)
	_, err = f.app.Workflow.Jobs(repCtx, queue.JobQuery{})
	wantErr(t, "rep reads the jobs", err, storage.ErrForbidden)
	_, err = f.app.Workflow.Trigger(repCtx, r.ID, storage.Ref{})
	wantErr(t, "rep runs a rule", err, storage.ErrForbidden)
	err = f.app.Workflow.Retry(repCtx, storage.NewID())
	wantErr(t, "rep retries a job", err, storage.ErrForbidden)
	admin, err := f.app.Access.CreateMember(f.ctx, access.NewMember{Name: "Admin", Email: "admin@example.com", Role: access.RoleAdmin})
	must(t, "admin", err)
	adminCtx, err := f.app.As(f.ctx, admin.ID)
	must(t, "as admin", err)
	_, err = f.app.Workflow.Runs(adminCtx, workflow.RunQuery{})
	must(t, "admin reads the run history", err)
}

// testWorkflowEvents checks event triggers end to end: conditions, field
// changes from and to values, the actions' writes and the run history.
func testWorkflowEvents(t *testing.T, h Harness) {
	for _, deferred := range []bool{false, true} {
		t.Run(fmt.Sprintf("DeferMatching=%v", deferred), func(t *testing.T) {
			testWorkflowEventsMode(t, h, deferred)
		})
	}
}

func testWorkflowEventsMode(t *testing.T, h Harness, deferred bool) {
	f := newFlow(t, h, workflow.Config{DeferMatching: deferred})
	welcome := f.rule(workflow.NewRule{Name: "Welcome leads", Enabled: true,
		Trigger:   workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"created"}},
		Condition: "lifecycle == 'lead' && email endsWith '@acme.example'",
		Actions: []workflow.Action{
			workflow.CreateTask(workflow.TaskParams{Title: "Call {{.first_name}} {{.last_name}}", DueIn: workflow.Duration(48 * time.Hour), Priority: "high"}),
			workflow.AddTag("welcomed"),
			workflow.UpdateField("source", "rule {{.rule}}"),
		}})
	won := f.rule(workflow.NewRule{Name: "Customer", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"updated"}, Field: "lifecycle", From: "lead", To: "customer"},
		Actions: []workflow.Action{workflow.AddTag("converted")}})
	f.rule(workflow.NewRule{Name: "Off", Enabled: false,
		Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"created"}},
		Actions: []workflow.Action{workflow.AddTag("never")}})

	ada := f.contact(f.ctx, contacts.NewContact{FirstName: "Ada", LastName: "Lovelace", Email: "ada@acme.example", Lifecycle: contacts.LifecycleLead})
	bob := f.contact(f.ctx, contacts.NewContact{FirstName: "Bob", Email: "bob@acme.example", Lifecycle: contacts.LifecycleCustomer})
	cy := f.contact(f.ctx, contacts.NewContact{FirstName: "Cy", Email: "cy@other.example", Lifecycle: contacts.LifecycleLead})
	f.settle()

	tasks := f.tasksOf(ada.ID)
	if len(tasks) != 1 || tasks[0].Title != "Call Ada Lovelace" || tasks[0].Priority != sales.PriorityHigh || tasks[0].Due.IsZero() {
		t.Fatalf("Ada's tasks = %+v", tasks)
	}
	if got := f.contactNow(ada.ID); !slices.Contains(got.Tags, "welcomed") || got.Source != "rule Welcome leads" {
		t.Errorf("Ada after the rule: tags %v, source %q", got.Tags, got.Source)
	}
	for _, c := range []*contacts.Contact{bob, cy} {
		if n := len(f.tasksOf(c.ID)); n != 0 || slices.Contains(f.contactNow(c.ID).Tags, "welcomed") {
			t.Errorf("%s matched the condition: %d tasks", c.FirstName, n)
		}
	}
	runs := f.runs(welcome.ID)
	if len(runs) != 1 || runs[0].State != workflow.RunSucceeded || len(runs[0].Steps) != 3 || runs[0].Subject.ID != ada.ID || runs[0].RuleVersion != welcome.Version {
		t.Fatalf("runs of the welcome rule = %+v", runs)
	}
	if runs[0].Steps[0].Output == nil || runs[0].FinishedAt.IsZero() {
		t.Errorf("run steps = %+v", runs[0].Steps)
	}
	// The rule's writes are recorded as the rule's.
	hist, err := f.app.History(f.ctx, ada.ID, storage.PageQuery{Limit: 1})
	must(t, "history", err)
	if hist.Items[0].Actor != "workflow:Welcome leads" || hist.Items[0].Depth != 1 {
		t.Errorf("last event of Ada: actor %q depth %d", hist.Items[0].Actor, hist.Items[0].Depth)
	}

	// Field changed from lead to customer: only Ada's change matches.
	_, err = f.app.Contacts.Update(f.ctx, ada.ID, contacts.UpdateContact{Lifecycle: ptr(contacts.LifecycleCustomer)})
	must(t, "ada", err)
	_, err = f.app.Contacts.Update(f.ctx, bob.ID, contacts.UpdateContact{Lifecycle: ptr(contacts.LifecycleEvangelist)})
	must(t, "bob", err)
	f.settle()
	if got := states(f.runs(won.ID)); got[workflow.RunSucceeded] != 1 || len(got) != 1 {
		t.Errorf("runs of the from/to rule: %v", got)
	}
	if !slices.Contains(f.contactNow(ada.ID).Tags, "converted") {
		t.Error("Ada is not tagged converted")
	}

	// Settling again runs nothing twice.
	f.settle()
	if n := len(f.tasksOf(ada.ID)); n != 1 {
		t.Errorf("Ada has %d tasks after settling again", n)
	}

	// A deleted record: the rule sees it as its event had it.
	gone := f.rule(workflow.NewRule{Name: "Gone", Enabled: true,
		Trigger:   workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"deleted"}},
		Condition: "lifecycle == 'customer'",
		Actions:   []workflow.Action{workflow.CreateTask(workflow.TaskParams{Title: "{{.first_name}} left"})}})
	dora := f.contact(f.ctx, contacts.NewContact{FirstName: "Dora", Lifecycle: contacts.LifecycleCustomer})
	eve := f.contact(f.ctx, contacts.NewContact{FirstName: "Eve", Lifecycle: contacts.LifecycleLead})
	must(t, "delete", f.app.Contacts.Delete(f.ctx, dora.ID))
	must(t, "delete", f.app.Contacts.Delete(f.ctx, eve.ID))
	f.settle()
	left, err := storage.TableOf[*sales.Task](f.store).List(f.ctx, storage.ListQuery{Filter: storage.Eq("title", "Dora left")})
	must(t, "tasks", err)
	if len(left.Items) != 1 || len(f.runs(gone.ID)) != 1 {
		t.Errorf("after deleting a customer and a lead: %d tasks, %d runs", len(left.Items), len(f.runs(gone.ID)))
	}

	// Opportunity stage moves: "stage_changed" covers won too.
	opp, err := f.app.Sales.Opportunities.Create(f.ctx, sales.NewOpportunity{Name: "Deal", Amount: storage.Money{Amount: 1000, Currency: "USD"}})
	must(t, "opportunity", err)
	stage := f.rule(workflow.NewRule{Name: "Stage", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: "opportunity", Events: []string{"stage_changed"}},
		Actions: []workflow.Action{workflow.CreateTask(workflow.TaskParams{Title: "{{.name}}: {{.event.old.stage}} -> {{.event.new.stage}}"})}})
	f.settle()
	pl, err := f.app.Sales.Pipelines.Default(f.ctx)
	must(t, "pipeline", err)
	var wonKey string
	for _, st := range pl.Stages {
		if st.Kind == sales.StageWon {
			wonKey = st.Key
			_, err = f.app.Sales.Opportunities.MoveStage(f.ctx, opp.ID, st.Key, sales.MoveOptions{})
			must(t, "win", err)
		}
	}
	_, err = f.app.Sales.Opportunities.Update(f.ctx, opp.ID, sales.UpdateOpportunity{Name: ptr("Renamed deal")})
	must(t, "rename", err)
	f.settle()
	// The task shows the stages of the event, whatever happened after it.
	if got := f.tasksOf(opp.ID); len(got) != 1 || got[0].Title != "Renamed deal: "+opp.Stage+" -> "+wonKey {
		t.Errorf("tasks of the won deal = %+v", got)
	}
	if n := len(f.runs(stage.ID)); n != 1 {
		t.Errorf("%d runs of the stage rule", n)
	}
}

// testWorkflowRollback checks that a rolled-back write sets nothing off,
// and that an event delivered three times at once runs its rule once.
func testWorkflowOnce(t *testing.T, h Harness) {
	f := newFlow(t, h, workflow.Config{})
	r := f.rule(workflow.NewRule{Name: "Task", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"created"}},
		Actions: []workflow.Action{workflow.CreateTask(workflow.TaskParams{Title: "Call {{.first_name}}"})}})
	var gone string
	err := f.app.RunInTx(f.ctx, func(ctx context.Context) error {
		c, err := f.app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ghost"})
		if err != nil {
			return err
		}
		gone = c.ID
		return errors.New("roll back")
	})
	if err == nil || gone == "" {
		t.Fatal("the transaction did not run or did not fail")
	}
	f.settle()
	if n := len(f.runs(r.ID)); n != 0 {
		t.Fatalf("%d runs after a rolled-back create", n)
	}
	jobs, err := f.app.Workflow.Jobs(f.ctx, queue.JobQuery{})
	must(t, "jobs", err)
	if len(jobs.Items) != 0 {
		t.Fatalf("%d jobs after a rolled-back create", len(jobs.Items))
	}

	// Three concurrent deliveries of one event, and the dispatcher's own.
	c := f.contact(f.ctx, contacts.NewContact{FirstName: "Once"})
	hist, err := f.app.History(f.ctx, c.ID, storage.PageQuery{})
	must(t, "history", err)
	ev := hist.Items[0]
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.app.Workflow.Deliver(f.ctx, ev)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		must(t, "deliver", err)
	}
	var wg2 sync.WaitGroup
	for range 3 {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			if _, err := f.app.Workflow.Drain(f.ctx); err != nil {
				t.Errorf("concurrent drain: %v", err)
			}
		}()
	}
	wg2.Wait()
	f.settle()
	if n := len(f.tasksOf(c.ID)); n != 1 {
		t.Fatalf("the event delivered 3 times (and dispatched) made %d tasks, want 1", n)
	}
	if n := len(f.runs(r.ID)); n != 1 {
		t.Fatalf("%d runs, want 1", n)
	}
}

// testWorkflowDepth checks that rules setting each other off stop at the
// depth limit, and the stopped run says why.
func testWorkflowDepth(t *testing.T, h Harness) {
	f := newFlow(t, h, workflow.Config{MaxDepth: 4})
	a := f.rule(workflow.NewRule{Name: "A", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"updated"}, Field: "lifecycle", To: "lead"},
		Actions: []workflow.Action{workflow.UpdateField("lifecycle", "customer")}})
	b := f.rule(workflow.NewRule{Name: "B", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"updated"}, Field: "lifecycle", To: "customer"},
		Actions: []workflow.Action{workflow.UpdateField("lifecycle", "lead")}})
	c := f.contact(f.ctx, contacts.NewContact{FirstName: "Ping", Lifecycle: contacts.LifecycleSubscriber})
	_, err := f.app.Contacts.Update(f.ctx, c.ID, contacts.UpdateContact{Lifecycle: ptr(contacts.LifecycleLead)})
	must(t, "update", err)
	f.settle()
	all := append(f.runs(a.ID), f.runs(b.ID)...)
	got := states(all)
	if got[workflow.RunSucceeded] != 4 || got[workflow.RunStopped] != 1 || len(all) != 5 {
		t.Fatalf("runs of A and B = %v, want 4 succeeded and 1 stopped", got)
	}
	for _, r := range all {
		if r.State == workflow.RunStopped && (r.Depth != 5 || !strings.Contains(r.Error, "deeper than 4")) {
			t.Errorf("stopped run: depth %d, error %q", r.Depth, r.Error)
		}
	}
}

// testWorkflowRetry checks the retry policy under a fake clock: each
// attempt waits Base·2^(n-1) ± jitter, the job is kept as failed after the
// last, and Retry runs it again.
func testWorkflowRetry(t *testing.T, h Harness) {
	policy := workflow.RetryPolicy{MaxAttempts: 4, Base: 10 * time.Second, Max: time.Minute, Jitter: 0.2}
	f := newFlow(t, h, workflow.Config{Retry: policy})
	var mu sync.Mutex
	var calls []time.Time
	succeed := false
	must(t, "register", f.app.Workflow.Register("flaky", workflow.Handler{
		Run: func(ctx context.Context, call *workflow.Call) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, call.Now)
			if succeed {
				return "ok", nil
			}
			return nil, fmt.Errorf("flaky failure %d", len(calls))
		}}))
	r := f.rule(workflow.NewRule{Name: "Flaky", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"created"}},
		Actions: []workflow.Action{workflow.NewAction("flaky", nil)}})
	f.contact(f.ctx, contacts.NewContact{FirstName: "Flaky"})
	f.settle()
	for attempt := 1; attempt < policy.MaxAttempts; attempt++ {
		jobs, err := f.app.Workflow.Jobs(f.ctx, queue.JobQuery{State: queue.JobAvailable})
		must(t, "jobs", err)
		if len(jobs.Items) != 1 {
			t.Fatalf("after attempt %d: %d available jobs", attempt, len(jobs.Items))
		}
		j := jobs.Items[0]
		last := calls[len(calls)-1]
		wait := j.RunAt.Sub(last)
		base := policy.Delay(attempt, 0)
		if lo, hi := base-base/5-time.Millisecond, base+base/5+time.Millisecond; wait < lo || wait > hi {
			t.Errorf("attempt %d: retry after %v, want %v ± 20%%", attempt, wait, base)
		}
		if j.Attempt != attempt || len(j.Errors) != attempt || j.LastError != fmt.Sprintf("flaky failure %d", attempt) {
			t.Errorf("job after attempt %d: attempt %d, errors %v", attempt, j.Attempt, j.Errors)
		}
		// Not due yet: nothing runs.
		f.clock.Add(wait - time.Second)
		f.settle()
		if len(calls) != attempt {
			t.Fatalf("the job ran %d times before it was due", len(calls))
		}
		f.clock.Add(time.Second)
		f.settle()
		if len(calls) != attempt+1 {
			t.Fatalf("the job ran %d times once due, want %d", len(calls), attempt+1)
		}
	}
	failed, err := f.app.Workflow.Jobs(f.ctx, queue.JobQuery{State: queue.JobFailed})
	must(t, "failed jobs", err)
	if len(failed.Items) != 1 || failed.Items[0].Attempt != policy.MaxAttempts {
		t.Fatalf("failed jobs = %+v", failed.Items)
	}
	if got := f.runs(r.ID); len(got) != 1 || got[0].State != workflow.RunFailed || !strings.Contains(got[0].Error, "flaky failure 4") {
		t.Fatalf("run after the last attempt = %+v", got[0])
	}
	f.clock.Add(time.Hour)
	f.settle()
	if len(calls) != policy.MaxAttempts {
		t.Fatalf("a failed job ran again by itself")
	}
	mu.Lock()
	succeed = true
	mu.Unlock()
	must(t, "retry", f.app.Workflow.Retry(f.ctx, failed.Items[0].ID))
	f.settle()
	if got := f.runs(r.ID); got[0].State != workflow.RunSucceeded {
		t.Fatalf("run after Retry = %s (%s)", got[0].State, got[0].Error)
	}
	err = f.app.Workflow.Retry(f.ctx, failed.Items[0].ID)
	wantErr(t, "retry a succeeded job", err, storage.ErrConflict)

	// A permanent error fails at once.
	must(t, "register", f.app.Workflow.Register("broken", workflow.Handler{
		Run: func(ctx context.Context, call *workflow.Call) (any, error) {
			return nil, workflow.Permanent(errors.New("cannot ever work"))
		}}))
	br := f.rule(workflow.NewRule{Name: "Broken", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: "account", Events: []string{"created"}},
		Actions: []workflow.Action{workflow.NewAction("broken", nil)}})
	f.account(f.ctx, contacts.NewAccount{Name: "Broken Inc"})
	f.settle()
	if got := f.runs(br.ID); len(got) != 1 || got[0].State != workflow.RunFailed {
		t.Fatalf("run of a permanent failure = %+v", got)
	}
}

// testWorkflowSequence checks a sequence: enrollment by a rule, durable
// waits under a fake clock, the exit condition checked after a wait, an
// exit event from a linked record (an inbound email of the contact), and
// one enrollment at a time.
func testWorkflowSequence(t *testing.T, h Harness) {
	f := newFlow(t, h, workflow.Config{})
	seq := f.rule(workflow.NewRule{Name: "Nurture", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnManual, Object: "contact"},
		Actions: []workflow.Action{
			workflow.AddTag("step1"),
			workflow.Wait(48 * time.Hour),
			workflow.AddTag("step2"),
			workflow.Wait(72 * time.Hour),
			workflow.AddTag("step3"),
		},
		Exit: workflow.Exit{
			When:        "lifecycle == 'customer'",
			On:          []workflow.Trigger{{Object: "activity", Events: []string{"created"}}},
			OnCondition: []string{"direction == 'inbound'"},
		}})
	enroll := f.rule(workflow.NewRule{Name: "Enroll leads", Enabled: true,
		Trigger:   workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"created"}},
		Condition: "lifecycle == 'lead'",
		Actions:   []workflow.Action{workflow.Enroll("Nurture")}})
	stay := f.contact(f.ctx, contacts.NewContact{FirstName: "Stay", Lifecycle: contacts.LifecycleLead})
	buys := f.contact(f.ctx, contacts.NewContact{FirstName: "Buys", Lifecycle: contacts.LifecycleLead})
	replies := f.contact(f.ctx, contacts.NewContact{FirstName: "Replies", Lifecycle: contacts.LifecycleLead})
	f.settle()
	tags := func(c *contacts.Contact) []string { return f.contactNow(c.ID).Tags }
	for _, c := range []*contacts.Contact{stay, buys, replies} {
		if got := tags(c); !slices.Equal(got, []string{"step1"}) {
			t.Fatalf("%s after enrollment: tags %v", c.FirstName, got)
		}
	}
	// Enrolling an enrolled lead again leaves it one run.
	_, err := f.app.Workflow.Trigger(f.ctx, enroll.ID, storage.Ref{Type: "contact", ID: stay.ID})
	must(t, "enroll again", err)
	f.settle()
	if got := states(f.runs(seq.ID)); got[workflow.RunWaiting] != 3 || len(got) != 1 {
		t.Fatalf("sequence runs = %v, want 3 waiting", got)
	}

	// Buys becomes a customer, Replies writes back: both leave at the
	// next step.
	_, err = f.app.Contacts.Update(f.ctx, buys.ID, contacts.UpdateContact{Lifecycle: ptr(contacts.LifecycleCustomer)})
	must(t, "buys", err)
	_, err = f.app.Activities.Log(f.ctx, contacts.NewActivity{Kind: contacts.KindEmail, Direction: contacts.Outbound, Subject: "Hello", ContactIDs: []string{replies.ID}})
	must(t, "outbound email", err)
	f.settle()
	if got := states(f.runs(seq.ID)); got[workflow.RunWaiting] != 3 {
		t.Fatalf("an outbound email ended a run: %v", got)
	}
	_, err = f.app.Activities.Log(f.ctx, contacts.NewActivity{Kind: contacts.KindEmail, Direction: contacts.Inbound, Subject: "Re: Hello", ContactIDs: []string{replies.ID}})
	must(t, "inbound email", err)
	f.settle()

	f.clock.Add(47 * time.Hour)
	f.settle()
	if got := tags(stay); slices.Contains(got, "step2") {
		t.Fatalf("step 2 ran before the wait was over: %v", got)
	}
	f.clock.Add(time.Hour)
	f.settle()
	if got := tags(stay); !slices.Equal(got, []string{"step1", "step2"}) {
		t.Fatalf("Stay after 48h: %v", got)
	}
	for _, c := range []*contacts.Contact{buys, replies} {
		if got := tags(c); !slices.Equal(got, []string{"step1"}) {
			t.Errorf("%s went on after its exit: %v", c.FirstName, got)
		}
	}
	byState := map[string]workflow.RunState{}
	for _, r := range f.runs(seq.ID) {
		byState[r.Subject.ID] = r.State
	}
	if byState[buys.ID] != workflow.RunExited || byState[replies.ID] != workflow.RunExited || byState[stay.ID] != workflow.RunWaiting {
		t.Fatalf("run states = %v", byState)
	}
	f.clock.Add(72 * time.Hour)
	f.settle()
	if got := tags(stay); !slices.Equal(got, []string{"step1", "step2", "step3"}) {
		t.Fatalf("Stay at the end: %v", got)
	}
	// The sequence can be left by an action too.
	f.rule(workflow.NewRule{Name: "Stop nurture", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"updated"}, Field: "department", To: "stop"},
		Actions: []workflow.Action{workflow.ExitSequence("Nurture")}})
	late := f.contact(f.ctx, contacts.NewContact{FirstName: "Late", Lifecycle: contacts.LifecycleLead})
	f.settle()
	_, err = f.app.Contacts.Update(f.ctx, late.ID, contacts.UpdateContact{Department: ptr("stop")})
	must(t, "stop", err)
	f.settle()
	f.clock.Add(200 * time.Hour)
	f.settle()
	if got := tags(late); !slices.Equal(got, []string{"step1"}) {
		t.Fatalf("Late went on after exit_sequence: %v", got)
	}
	// No job is left behind: the exited runs' jobs are cancelled.
	jobs, err := f.app.Workflow.Jobs(f.ctx, queue.JobQuery{State: queue.JobAvailable})
	must(t, "jobs", err)
	if len(jobs.Items) != 0 {
		t.Errorf("%d jobs still available: %+v", len(jobs.Items), *jobs.Items[0])
	}
}

// testWorkflowTime checks time triggers and cron schedules under a fake
// clock: each fires once per due record, with its condition applied in
// SQL.
func testWorkflowTime(t *testing.T, h Harness) {
	f := newFlow(t, h, workflow.Config{})
	start := f.clock.Now()
	rule := f.rule(workflow.NewRule{Name: "Before close", Enabled: true,
		Trigger:   workflow.Trigger{Kind: workflow.OnTime, Object: "opportunity", Field: "expected_close", Offset: workflow.Duration(-72 * time.Hour)},
		Condition: "amount >= 500",
		Actions:   []workflow.Action{workflow.CreateTask(workflow.TaskParams{Title: "Chase {{.name}}"})}})
	mk := func(name string, amount int64, closeIn time.Duration) *sales.Opportunity {
		o, err := f.app.Sales.Opportunities.Create(f.ctx, sales.NewOpportunity{Name: name, Amount: storage.Money{Amount: amount, Currency: "USD"},
			ExpectedClose: start.Add(closeIn)})
		must(t, "opportunity", err)
		return o
	}
	soon := mk("Soon", 1000, 5*24*time.Hour)
	later := mk("Later", 1000, 10*24*time.Hour)
	small := mk("Small", 100, 5*24*time.Hour)
	f.settle()
	f.clock.Add(24 * time.Hour)
	f.settle()
	if n := len(f.runs(rule.ID)); n != 0 {
		t.Fatalf("%d runs a day in, want 0", n)
	}
	f.clock.Add(24*time.Hour + time.Minute) // Soon closes in 3 days minus a minute
	f.settle()
	f.settle()
	if got := f.tasksOf(soon.ID); len(got) != 1 || got[0].Title != "Chase Soon" {
		t.Fatalf("tasks of Soon = %v", got)
	}
	if len(f.tasksOf(small.ID))+len(f.tasksOf(later.ID)) != 0 {
		t.Fatal("a deal outside the condition or the window got a task")
	}
	f.clock.Add(6 * 24 * time.Hour)
	f.settle()
	if len(f.tasksOf(later.ID)) != 1 || len(f.tasksOf(soon.ID)) != 1 {
		t.Fatalf("after 8 days: Later %d tasks, Soon %d", len(f.tasksOf(later.ID)), len(f.tasksOf(soon.ID)))
	}

	// Fourteen days after the last activity, once per activity date.
	quiet := f.rule(workflow.NewRule{Name: "Gone quiet", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnTime, Object: "contact", Field: "last_activity_at", Offset: workflow.Duration(14 * 24 * time.Hour)},
		Actions: []workflow.Action{workflow.CreateTask(workflow.TaskParams{Title: "Check in with {{.first_name}}"})}})
	talk := f.contact(f.ctx, contacts.NewContact{FirstName: "Talk"})
	logAt := func(at time.Time) {
		_, err := f.app.Activities.Log(f.ctx, contacts.NewActivity{Kind: contacts.KindCall, Subject: "Call", OccurredAt: at, ContactIDs: []string{talk.ID}})
		must(t, "log", err)
	}
	logAt(f.clock.Now())
	f.settle()
	f.clock.Add(13 * 24 * time.Hour)
	logAt(f.clock.Now()) // talked again before the fortnight was over
	f.settle()
	f.clock.Add(2 * 24 * time.Hour)
	f.settle()
	if n := len(f.runs(quiet.ID)); n != 0 {
		t.Fatalf("%d runs two days after the latest activity", n)
	}
	f.clock.Add(12*24*time.Hour + time.Minute)
	f.settle()
	if got := f.tasksOf(talk.ID); len(got) != 1 || got[0].Title != "Check in with Talk" {
		t.Fatalf("tasks 14 days after the last activity = %v", got)
	}

	// A cron schedule: every day at 09:00 UTC, for each lead.
	cron := f.rule(workflow.NewRule{Name: "Daily", Enabled: true,
		Trigger:   workflow.Trigger{Kind: workflow.OnSchedule, Object: "contact", Cron: "0 9 * * *"},
		Condition: "lifecycle == 'lead'",
		Actions:   []workflow.Action{workflow.AddTag("pinged")}})
	lead := f.contact(f.ctx, contacts.NewContact{FirstName: "Lead", Lifecycle: contacts.LifecycleLead})
	cust := f.contact(f.ctx, contacts.NewContact{FirstName: "Cust", Lifecycle: contacts.LifecycleCustomer})
	f.settle() // the first scan only starts the schedule
	next := f.clock.Now().Truncate(24 * time.Hour).Add(9 * time.Hour)
	if !next.After(f.clock.Now()) {
		next = next.Add(24 * time.Hour)
	}
	f.clock.Add(next.Sub(f.clock.Now()) - time.Minute)
	f.settle()
	if n := len(f.runs(cron.ID)); n != 0 {
		t.Fatalf("%d cron runs before 09:00", n)
	}
	f.clock.Add(2 * time.Minute)
	f.settle()
	f.settle()
	if n := len(f.runs(cron.ID)); n != 1 {
		t.Fatalf("%d cron runs after 09:00, want 1", n)
	}
	if !slices.Contains(f.contactNow(lead.ID).Tags, "pinged") || slices.Contains(f.contactNow(cust.ID).Tags, "pinged") {
		t.Fatal("the schedule did not tag exactly the lead")
	}
	// Three days pass without an engine: the missed ticks fire once.
	f.clock.Add(72 * time.Hour)
	f.settle()
	if n := len(f.runs(cron.ID)); n != 2 {
		t.Fatalf("%d cron runs after three missed days, want 2", n)
	}
}

// testWorkflowDryRun checks that a dry run renders what a rule would do,
// and does nothing; and manual runs and round-robin assignment.
func testWorkflowDryRun(t *testing.T, h Harness) {
	f := newFlow(t, h, workflow.Config{})
	rule := workflow.Rule{Name: "Preview", Enabled: true,
		Trigger:   workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"created"}},
		Condition: "'vip' in tags",
		Actions: []workflow.Action{
			workflow.SendEmail(workflow.EmailParams{From: "crm@example.com", Subject: "Welcome, {{.first_name}}", Text: "Hi {{.first_name}} from {{.custom.region}}"}),
			workflow.CreateTask(workflow.TaskParams{Title: "Call {{.first_name}}", DueIn: workflow.Duration(24 * time.Hour)}),
			workflow.UpdateField("job_title", "VIP {{.job_title}}"),
		}}
	_, err := f.app.Fields.Define(f.ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "region", Label: "Region", Type: contacts.FieldText})
	must(t, "field", err)
	vip := f.contact(f.ctx, contacts.NewContact{FirstName: "Vera", Email: "vera@example.com", JobTitle: "CEO", Tags: []string{"vip"}, Custom: map[string]any{"region": "EMEA"}})
	plain := f.contact(f.ctx, contacts.NewContact{FirstName: "Paul"})
	before := f.counts(f.ctx)
	dry, err := f.app.Workflow.DryRun(f.ctx, rule, storage.Ref{Type: "contact", ID: vip.ID})
	must(t, "dry run", err)
	if !dry.Matched || len(dry.Actions) != 3 {
		t.Fatalf("dry run = %+v", dry)
	}
	msg, ok := dry.Actions[0].Params.(send.Message)
	if !ok || msg.Subject != "Welcome, Vera" || msg.Text != "Hi Vera from EMEA" || !slices.Equal(msg.To, []string{"vera@example.com"}) {
		t.Errorf("dry-run email = %#v", dry.Actions[0].Params)
	}
	if task, ok := dry.Actions[1].Params.(map[string]any); !ok || task["title"] != "Call Vera" || task["due"] == nil {
		t.Errorf("dry-run task = %#v", dry.Actions[1].Params)
	}
	if set, ok := dry.Actions[2].Params.(map[string]any); !ok || set["job_title"] != "VIP CEO" {
		t.Errorf("dry-run field = %#v", dry.Actions[2].Params)
	}
	dry, err = f.app.Workflow.DryRun(f.ctx, rule, storage.Ref{Type: "contact", ID: plain.ID})
	must(t, "dry run", err)
	if dry.Matched || len(dry.Actions) != 0 {
		t.Errorf("dry run of a record the condition refuses = %+v", dry)
	}
	f.settle()
	if after := f.counts(f.ctx); after != before {
		t.Errorf("a dry run wrote: %+v -> %+v", before, after)
	}
	_, err = f.app.Workflow.DryRun(f.ctx, workflow.Rule{Name: "bad", Trigger: rule.Trigger, Condition: "nope", Actions: rule.Actions}, storage.Ref{Type: "contact", ID: vip.ID})
	wantFields(t, "dry run of a bad rule", err, "condition")

	// Round robin over three members, by hand.
	var members []string
	for i := range 3 {
		m, err := f.app.Access.CreateMember(f.ctx, access.NewMember{Name: fmt.Sprint("Rep ", i), Email: fmt.Sprintf("rep%d@example.com", i), Role: access.RoleRep})
		must(t, "member", err)
		members = append(members, m.ID)
	}
	rr := f.rule(workflow.NewRule{Name: "Assign", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnManual, Object: "contact"},
		Actions: []workflow.Action{workflow.AssignOwner(workflow.AssignParams{
			Rules:   []workflow.AssignRule{{When: "'vip' in tags", Owner: members[0]}},
			Members: members[1:]})}})
	var people []*contacts.Contact
	for i := range 4 {
		people = append(people, f.contact(f.ctx, contacts.NewContact{FirstName: fmt.Sprint("P", i)}))
	}
	for _, c := range append(people, vip) {
		_, err := f.app.Workflow.Trigger(f.ctx, rr.ID, storage.Ref{Type: "contact", ID: c.ID})
		must(t, "trigger", err)
	}
	_, err = f.app.Workflow.Trigger(f.ctx, rr.ID, storage.Ref{Type: "account", ID: vip.ID})
	wantFields(t, "trigger on the wrong object", err, "ref")
	f.settle()
	owners := map[string]int{}
	for _, c := range people {
		owners[f.contactNow(c.ID).OwnerID]++
	}
	if owners[members[1]] != 2 || owners[members[2]] != 2 {
		t.Errorf("round robin gave %v", owners)
	}
	if got := f.contactNow(vip.ID).OwnerID; got != members[0] {
		t.Errorf("the VIP went to %q, want the rule's owner", got)
	}
}

// testWorkflowQueue checks the engine's queue: idempotent enqueueing,
// due times, leases taken over once they run out (a dead worker), Hold
// refusing a worker whose lease was taken over, concurrent claims never
// sharing a job, and cursors.
func testWorkflowQueue(t *testing.T, h Harness) {
	e := newEnv(t, h)
	q := e.store.Queue()
	ctx := storage.AsSystem(e.ctx)
	ws := storage.WorkspaceFrom(ctx)
	scope := ""
	if h.RowLevelSecurity {
		scope = ws
	}
	now := storage.Now()
	job := func(key string, at time.Time) *queue.Job {
		return &queue.Job{ID: storage.NewID(), WorkspaceID: ws, Key: key, Kind: workflow.JobStep, State: queue.JobAvailable,
			MaxAttempts: 3, RunAt: at, CreatedAt: now}
	}
	n, err := q.Enqueue(ctx, job("a", now), job("a", now), job("later", now.Add(time.Hour)))
	must(t, "enqueue", err)
	if n != 2 {
		t.Fatalf("enqueued %d jobs, want 2 (a key repeats)", n)
	}
	claim := func(worker string, at time.Time, limit int) []*queue.Job {
		t.Helper()
		jobs, err := q.Claim(ctx, queue.ClaimParams{Workspace: scope, Worker: worker, Now: at, Until: at.Add(time.Minute), Limit: limit})
		must(t, "claim", err)
		return jobs
	}
	got := claim("w1", now, 10)
	if len(got) != 1 || got[0].Key != "a" || got[0].Attempt != 1 || got[0].LockedBy != "w1" {
		t.Fatalf("first claim = %+v", got)
	}
	a := got[0]
	if again := claim("w2", now.Add(30*time.Second), 10); len(again) != 0 {
		t.Fatalf("a leased job was claimed again before its lease ran out: %+v", again)
	}
	// w1 dies; after the lease w2 takes the job over, and w1, waking up,
	// may no longer finish it.
	taken := claim("w2", now.Add(2*time.Minute), 10)
	if len(taken) != 1 || taken[0].ID != a.ID || taken[0].Attempt != 2 {
		t.Fatalf("takeover = %+v", taken)
	}
	err = e.store.RunInTx(ctx, func(ctx context.Context) error { return q.Hold(ctx, a) })
	wantErr(t, "hold by the worker whose lease ran out", err, storage.ErrStale)
	must(t, "hold by the new worker", e.store.RunInTx(ctx, func(ctx context.Context) error { return q.Hold(ctx, taken[0]) }))
	taken[0].State, taken[0].FinishedAt = queue.JobSucceeded, now
	must(t, "finish", q.SetJob(ctx, taken[0]))
	err = e.store.RunInTx(ctx, func(ctx context.Context) error { return q.Hold(ctx, taken[0]) })
	wantErr(t, "hold of a finished job", err, storage.ErrStale)

	// Concurrent claims share no job.
	var many []*queue.Job
	for i := range 200 {
		many = append(many, job(fmt.Sprint("m", i), now))
	}
	_, err = q.Enqueue(ctx, many...)
	must(t, "enqueue many", err)
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker := fmt.Sprint("c", w)
			for {
				jobs, err := q.Claim(ctx, queue.ClaimParams{Workspace: scope, Worker: worker, Now: now, Until: now.Add(time.Minute), Limit: 7})
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(jobs) == 0 {
					return
				}
				mu.Lock()
				for _, j := range jobs {
					if prev, ok := seen[j.ID]; ok {
						t.Errorf("job %s claimed by %s and %s", j.Key, prev, worker)
					}
					seen[j.ID] = worker
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 200 {
		t.Errorf("%d of 200 jobs claimed", len(seen))
	}

	// Cursors: locked in a transaction, stored, per name.
	err = e.store.RunInTx(ctx, func(ctx context.Context) error {
		v, err := q.LockCursor(ctx, scope, "test")
		if err != nil || v != "" {
			return fmt.Errorf("new cursor = %q, %v", v, err)
		}
		return q.SetCursor(ctx, scope, "test", "42")
	})
	must(t, "cursor", err)
	err = e.store.RunInTx(ctx, func(ctx context.Context) error {
		v, err := q.LockCursor(ctx, scope, "test")
		if err != nil || v != "42" {
			return fmt.Errorf("stored cursor = %q, %v", v, err)
		}
		return nil
	})
	must(t, "cursor again", err)
	_, err = q.LockCursor(ctx, scope, "test")
	if err == nil {
		t.Error("LockCursor outside a transaction worked")
	}
}

// captured is a slog handler that keeps the engine's warnings.
type captured struct {
	mu   sync.Mutex
	msgs []string
}

func (c *captured) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (c *captured) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	c.msgs = append(c.msgs, msg)
	return nil
}
func (c *captured) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *captured) WithGroup(string) slog.Handler      { return c }

// testWorkflowStart runs the engine as a program does, Start in the
// background with several workers, while writers commit triggers at
// once: every trigger runs once, and no error (no "database is busy" on
// SQLite) reaches the engine's log.
func testWorkflowStart(t *testing.T, h Harness) {
	logs := &captured{}
	f := newFlow(t, h, workflow.Config{Workers: 4, PollInterval: 5 * time.Millisecond, BatchSize: 20,
		Now: storage.Now, Logger: slog.New(logs)})
	r := f.rule(workflow.NewRule{Name: "Task", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"created"}},
		Actions: []workflow.Action{workflow.CreateTask(workflow.TaskParams{Title: "Call {{.first_name}}"}), workflow.AddTag("called")}})
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- f.app.Workflow.Start(ctx) }()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, err := f.app.Contacts.Create(f.ctx, contacts.NewContact{FirstName: fmt.Sprintf("W%d-%d", w, i)})
				if err != nil {
					if h.IsBusy(err) {
						t.Errorf("a writer met %v", err)
					}
					t.Errorf("create: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n := count(t, f.ctx, storage.TableOf[*sales.Task](f.store))
		tagged, err := storage.TableOf[*contacts.Contact](f.store).Count(f.ctx, storage.HasTag("called"))
		must(t, "count", err)
		if n == writers*each && tagged == writers*each {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: %d tasks, %d tagged of %d", n, tagged, writers*each)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Start returned %v", err)
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if len(logs.msgs) > 0 {
		t.Errorf("the engine logged %d warnings, the first: %s", len(logs.msgs), logs.msgs[0])
	}
	if got := states(f.runs(r.ID)); got[workflow.RunSucceeded] != writers*each || len(got) != 1 {
		t.Errorf("runs: %v", got)
	}
}

// testWorkflowRetention runs the retention policy from a cron rule (the
// apply_retention action crm.New registers): at the schedule's tick the
// inactive contact is erased and the active one stays.
func testWorkflowRetention(t *testing.T, h Harness) {
	f := newFlow(t, h, workflow.Config{})
	old := f.contact(f.ctx, contacts.NewContact{FirstName: "Old", Email: "old@example.com"})
	fresh := f.contact(f.ctx, contacts.NewContact{FirstName: "Fresh"})
	if !backdate(t, f.env, "crm_contacts", old.ID) {
		t.Skip("cannot backdate rows: row-level security hides them from an unscoped statement")
	}
	_, err := f.app.Workflow.Rules.Create(f.ctx, workflow.NewRule{Name: "Bad retention",
		Trigger: workflow.Trigger{Kind: workflow.OnSchedule, Cron: "0 3 * * *"},
		Actions: []workflow.Action{workflow.NewAction(crm.ActionApplyRetention, map[string]any{"contact_months": -1})}})
	wantFields(t, "negative months", err, "actions[0].params")
	r := f.rule(workflow.NewRule{Name: "Nightly retention", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnSchedule, Cron: "0 3 * * *"},
		Actions: []workflow.Action{workflow.NewAction(crm.ActionApplyRetention, crm.RetentionPolicy{ContactMonths: 24})}})
	f.settle() // the first scan starts the schedule
	next := f.clock.Now().Truncate(24 * time.Hour).Add(3 * time.Hour)
	if !next.After(f.clock.Now()) {
		next = next.Add(24 * time.Hour)
	}
	f.clock.Add(next.Sub(f.clock.Now()) + time.Minute)
	f.settle()
	runs := f.runs(r.ID)
	if len(runs) != 1 || runs[0].State != workflow.RunSucceeded {
		t.Fatalf("runs of the retention rule: %+v", runs)
	}
	_, err = f.app.Contacts.Get(f.ctx, old.ID)
	wantErr(t, "the inactive contact", err, storage.ErrNotFound)
	_, err = f.app.Contacts.Get(f.ctx, fresh.ID)
	must(t, "the active contact", err)
}

// testWorkflowActsAs checks that a rule acts with the rights of the member
// who saved it (issue 17 item 1): a member whose role lets it create rules
// but read and change only its own contacts, and hides emails, neither
// copies another's hidden email into a task nor tags a contact it may not
// change (both happened: rules ran as the system); on its own contact the
// rule runs, the hidden email rendering empty; only admins save a rule
// that runs as the system; and a rule whose member was deactivated fails
// its runs, saying so.
func testWorkflowActsAs(t *testing.T, h Harness) {
	f := newFlow(t, h, workflow.Config{})
	acc := access.NewService(f.store)
	own := map[storage.Action]storage.Scope{storage.ActionRead: storage.ScopeOwn, storage.ActionCreate: storage.ScopeAll,
		storage.ActionUpdate: storage.ScopeOwn, storage.ActionDelete: storage.ScopeNone, storage.ActionExport: storage.ScopeNone}
	_, err := acc.DefineRole(f.ctx, access.NewRole{Name: "automator", Permissions: storage.Permissions{storage.AnyType: own},
		Fields: storage.FieldRules{contacts.ObjectContact: {"email": storage.FieldHidden}}})
	must(t, "role", err)
	m, err := acc.CreateMember(f.ctx, access.NewMember{Name: "Automator", Role: "automator"})
	must(t, "member", err)
	admin, err := acc.CreateMember(f.ctx, access.NewMember{Name: "Admin", Role: access.RoleAdmin})
	must(t, "admin", err)
	mctx, err := acc.As(f.ctx, m.ID)
	must(t, "as member", err)
	actx, err := acc.As(f.ctx, admin.ID)
	must(t, "as admin", err)
	onCreate := workflow.Trigger{Kind: workflow.OnEvent, Object: contacts.ObjectContact, Events: []string{"created"}}
	copyEmail := []workflow.Action{workflow.CreateTask(workflow.TaskParams{Title: "Write to <{{.email}}>"}), workflow.AddTag("touched")}
	r, err := f.app.Workflow.Rules.Create(mctx, workflow.NewRule{Name: "Copy", Enabled: true, Trigger: onCreate, Actions: copyEmail})
	must(t, "the member's rule", err)
	if r.ActsAs != m.ID {
		t.Errorf("the member's rule acts as %q, want the member", r.ActsAs)
	}
	_, err = f.app.Workflow.Rules.Create(mctx, workflow.NewRule{Name: "Sys", Trigger: onCreate, Actions: copyEmail, RunAsSystem: true})
	wantErr(t, "a member's rule as the system", err, storage.ErrForbidden)
	sys, err := f.app.Workflow.Rules.Create(actx, workflow.NewRule{Name: "Admin's", Enabled: true, Trigger: onCreate, RunAsSystem: true,
		Actions: []workflow.Action{workflow.AddTag("seen")}})
	must(t, "the admin's system rule", err)
	if sys.ActsAs != "" {
		t.Errorf("the admin's system rule acts as %q", sys.ActsAs)
	}

	other := f.contact(f.ctx, contacts.NewContact{FirstName: "Other", Email: "other@secret.example"})
	mine, err := f.app.Contacts.Create(f.ctx, contacts.NewContact{FirstName: "Mine", Email: "mine@secret.example", OwnerID: m.ID})
	must(t, "the member's contact", err)
	f.settle()
	for _, task := range append(f.tasksOf(other.ID), f.tasksOf(mine.ID)...) {
		if strings.Contains(task.Title, "secret.example") {
			t.Errorf("a task holds a hidden email: %q", task.Title)
		}
	}
	if n := len(f.tasksOf(other.ID)); n != 0 {
		t.Errorf("%d tasks about a contact the rule's member may not read", n)
	}
	if got := f.contactNow(other.ID).Tags; slices.Contains(got, "touched") || !slices.Contains(got, "seen") {
		t.Errorf("the other contact's tags = %v, want the admin's rule's only", got)
	}
	if got := f.contactNow(mine.ID).Tags; !slices.Contains(got, "touched") || len(f.tasksOf(mine.ID)) != 1 {
		t.Errorf("on the member's own contact: tags %v, %d tasks; want the rule run", got, len(f.tasksOf(mine.ID)))
	}
	var failed []*workflow.Run
	for _, run := range f.runs(r.ID) {
		if run.State == workflow.RunFailed {
			failed = append(failed, run)
		}
	}
	if len(failed) != 1 || failed[0].Subject.ID != other.ID || !strings.Contains(failed[0].Error, "may not read") {
		t.Errorf("failed runs of the member's rule = %+v, want the other contact's, saying why", failed)
	}

	// The member leaves: its rule's next run fails, saying so.
	again, err := f.app.Contacts.Create(mctx, contacts.NewContact{FirstName: "Again"})
	must(t, "another contact", err)
	inactive := false
	_, err = acc.UpdateMember(f.ctx, m.ID, access.UpdateMember{Active: &inactive})
	must(t, "deactivate", err)
	f.settle()
	var why string
	for _, run := range f.runs(r.ID) {
		if run.Subject.ID == again.ID {
			why = string(run.State) + ": " + run.Error
		}
	}
	if !strings.Contains(why, "failed") || !strings.Contains(why, m.ID) {
		t.Errorf("the run after the member left: %q, want failed naming the member", why)
	}
}
