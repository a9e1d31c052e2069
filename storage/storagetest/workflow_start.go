package storagetest

import (
	"context"
	"errors"
	"testing"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/queue"
	"github.com/crmkit/crm/workflow"
)

// testWorkflowStartFrom checks where rules and engines begin: a rule acts on
// the events from its enabling on, not on the contacts imported before
// it, nor on those written while it was off; a new engine on a database
// with a history starts at its end, unless told to replay it.
func testWorkflowStartFrom(t *testing.T, h Harness) {
	welcome := func(name string) workflow.Rule {
		return workflow.Rule{Name: name, Enabled: true,
			Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: contacts.ObjectContact, Events: []string{"created"}},
			Actions: []workflow.Action{workflow.CreateTask(workflow.TaskParams{Title: "Welcome {{.first_name}}"})}}
	}
	newApp := func(e *env, cfg workflow.Config) *crm.CRM {
		t.Helper()
		if h.RowLevelSecurity {
			cfg.Workspaces = []string{storage.WorkspaceFrom(e.ctx)}
		}
		app, err := crm.New(e.ctx, e.store, crm.Config{Workflow: cfg})
		must(t, "crm.New", err)
		return app
	}
	tasks := func(e *env) int {
		t.Helper()
		n, err := storage.TableOf[*sales.Task](e.store).Count(e.ctx, nil)
		must(t, "count tasks", err)
		return int(n)
	}
	drain := func(e *env, app *crm.CRM) {
		t.Helper()
		e.sync()
		_, err := app.Workflow.Drain(e.ctx)
		must(t, "drain", err)
	}
	importContacts := func(e *env, ctx context.Context, n int) {
		t.Helper()
		for i := range n {
			e.contact(ctx, contacts.NewContact{FirstName: "Imported", LastName: name(i)})
		}
	}

	// A stored rule made after an import acts on the contact after it only.
	e := newEnv(t, h)
	app := newApp(e, workflow.Config{})
	importContacts(e, e.ctx, 200)
	r, err := app.Workflow.Rules.Create(e.ctx, workflow.NewRule{Name: "Welcome", Enabled: true, Trigger: welcome("").Trigger,
		Actions: welcome("").Actions})
	must(t, "rule", err)
	e.contact(e.ctx, contacts.NewContact{FirstName: "New"})
	drain(e, app)
	if n := tasks(e); n != 1 {
		t.Fatalf("a rule made after importing 200 contacts made %d tasks for one new contact, want 1", n)
	}
	// Switched off, it misses what is written meanwhile, and acts again
	// on what comes after it is switched on.
	_, err = app.Workflow.Rules.Enable(e.ctx, r.ID, false)
	must(t, "disable", err)
	importContacts(e, e.ctx, 5)
	_, err = app.Workflow.Rules.Enable(e.ctx, r.ID, true)
	must(t, "enable", err)
	drain(e, app)
	e.contact(e.ctx, contacts.NewContact{FirstName: "Later"})
	drain(e, app)
	if n := tasks(e); n != 2 {
		t.Errorf("after a pause and a new contact: %d tasks, want 2", n)
	}

	// A new engine on a database with a history starts at its end: a rule
	// defined in code acts on the contact written after it.
	e2 := newEnv(t, h)
	importContacts(e2, e2.ctx, 20)
	e2.sync()
	app2 := newApp(e2, workflow.Config{})
	must(t, "define", app2.Workflow.Define(e2.ctx, welcome("Welcome in code")))
	e2.contact(e2.ctx, contacts.NewContact{FirstName: "New"})
	drain(e2, app2)
	if n := tasks(e2); n != 1 {
		t.Errorf("a new engine over 20 earlier contacts made %d tasks for one new contact, want 1", n)
	}
	// A second engine (another process) goes on from the stored cursor.
	app2b := newApp(e2, workflow.Config{StartFrom: workflow.StartAtBeginning})
	must(t, "define", app2b.Workflow.Define(e2.ctx, welcome("Welcome in code")))
	e2.contact(e2.ctx, contacts.NewContact{FirstName: "Next"})
	drain(e2, app2b)
	if n := tasks(e2); n != 2 {
		t.Errorf("an engine on a stored cursor: %d tasks, want 2", n)
	}

	// Asked to, a new engine replays the whole log.
	e3 := newEnv(t, h)
	importContacts(e3, e3.ctx, 20)
	e3.sync()
	app3 := newApp(e3, workflow.Config{StartFrom: workflow.StartAtBeginning})
	must(t, "define", app3.Workflow.Define(e3.ctx, welcome("Welcome in code")))
	drain(e3, app3)
	if n := tasks(e3); n != 20 {
		t.Errorf("a replaying engine made %d tasks for 20 contacts, want 20", n)
	}
}

// testWorkflowOperators checks who may operate the engine: on a store
// that requires a principal, a bare context may not drain it, list its
// runs or jobs, trigger, retry or deliver (each was let through); as the
// system it may. An admin delivers only its own workspace's events.
func testWorkflowOperators(t *testing.T, h Harness) {
	if h.OpenStrict != nil {
		store := h.OpenStrict(t)
		bare := storage.WithActor(storage.WithWorkspace(t.Context(), "ws-strict"), "someone")
		wf := workflow.Config{}
		if h.RowLevelSecurity {
			wf.Workspaces = []string{"ws-strict"}
		}
		app, err := crm.New(storage.AsSystem(bare), store, crm.Config{Workflow: wf})
		must(t, "crm.New", err)
		ev := storage.Event{ID: storage.NewID(), Type: "contact.created", Subject: storage.Ref{Type: "contact", ID: storage.NewID()}}
		for what, call := range map[string]func() error{
			"Drain":   func() error { _, err := app.Workflow.Drain(bare); return err },
			"Runs":    func() error { _, err := app.Workflow.Runs(bare, workflow.RunQuery{}); return err },
			"Jobs":    func() error { _, err := app.Workflow.Jobs(bare, queue.JobQuery{}); return err },
			"Trigger": func() error { _, err := app.Workflow.Trigger(bare, "code:none", storage.Ref{}); return err },
			"Retry":   func() error { return app.Workflow.Retry(bare, storage.NewID()) },
			"Deliver": func() error { return app.Workflow.Deliver(bare, ev) },
		} {
			if err := call(); !errors.Is(err, storage.ErrForbidden) {
				t.Errorf("%s with a bare context on a strict store: %v, want ErrForbidden", what, err)
			}
		}
		if _, err := app.Workflow.Drain(storage.AsSystem(bare)); err != nil {
			t.Errorf("Drain as the system: %v", err)
		}
	}
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	admin := e.as(e.admin)
	other := storage.Event{ID: storage.NewID(), WorkspaceID: "ws-elsewhere", Type: "contact.created", Subject: storage.Ref{Type: "contact", ID: storage.NewID()}}
	if err := app.Workflow.Deliver(admin, other); !errors.Is(err, storage.ErrForbidden) {
		t.Errorf("an admin delivering another workspace's event: %v, want ErrForbidden", err)
	}
	own := other
	own.WorkspaceID = ""
	if err := app.Workflow.Deliver(admin, own); err != nil {
		t.Errorf("an admin delivering its own workspace's event: %v", err)
	}
}
