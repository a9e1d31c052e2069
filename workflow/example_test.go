package workflow_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
	"github.com/crmkit/crm/workflow"
)

// A rule defined in Go: every new lead gets a call task and a tag. Drain
// runs what is due; a program runs Start in the background instead.
func ExampleEngine_Define() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	err = app.Workflow.Define(ctx, workflow.Rule{
		Name: "Call new leads", Enabled: true,
		Trigger:   workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"created"}},
		Condition: "lifecycle == 'lead'",
		Actions: []workflow.Action{
			workflow.CreateTask(workflow.TaskParams{Title: "Call {{.first_name}}", DueIn: workflow.Duration(24 * time.Hour)}),
			workflow.AddTag("called"),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ada, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Lifecycle: contacts.LifecycleLead})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Bob", Lifecycle: contacts.LifecycleCustomer}); err != nil {
		log.Fatal(err)
	}
	if _, err := app.Workflow.Drain(ctx); err != nil {
		log.Fatal(err)
	}
	tasks, err := app.Sales.Tasks.List(ctx, storage.ListQuery{})
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range tasks.Items {
		fmt.Println("task:", t.Title)
	}
	ada, err = app.Contacts.Get(ctx, ada.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Ada's tags:", ada.Tags)
	runs, err := app.Workflow.Runs(ctx, workflow.RunQuery{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("runs:", len(runs.Items), runs.Items[0].State, len(runs.Items[0].Steps), "steps")
	// Output:
	// task: Call Ada
	// Ada's tags: [called]
	// runs: 1 succeeded 2 steps
}

// A rule is checked before it is saved: an unknown field is an error with
// its position.
func ExampleRules_Create() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	_, err = app.Workflow.Rules.Create(ctx, workflow.NewRule{
		Name: "VIP", Enabled: true,
		Trigger:   workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"updated"}, Field: "tags"},
		Condition: "'vip' in tags && lifecycle == 'customer' && revenue > 1000",
		Actions:   []workflow.Action{workflow.AssignOwner(workflow.AssignParams{Members: []string{"m1", "m2"}})},
	})
	fmt.Println(err)
	// Output:
	// invalid input: condition: expression: line 1, column 45: unknown field "revenue"
}
