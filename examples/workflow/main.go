// Command workflow shows the workflow engine at work on an embedded SQLite
// file, with rules defined as code: a lead-nurture sequence written in Go
// (welcome mail, durable waits, a case study, a call task, leaving the
// sequence when the lead replies or converts) and a stage-change
// notification kept in YAML files next to the program. A simulated clock
// makes the sequence's days pass in a moment. Won deals are also posted to
// an "ERP" (a local HTTP server) as signed webhooks, which it verifies.
//
//	go run ./examples/workflow
package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
	"github.com/crmkit/crm/workflow"
	"github.com/crmkit/crm/workflow/send"
	"github.com/crmkit/crm/workflow/webhook"
)

//go:embed rules/*.yaml
var ruleFiles embed.FS

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

// clock is the simulated time the engine runs on.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// outbox is the example's send.Mailer: it prints each message instead of
// sending it (workflow/smtp sends through an SMTP server).
type outbox struct{ clock *clock }

func (o outbox) Send(_ context.Context, m send.Message) error {
	fmt.Printf("  [%s] mail to %s: %q\n", o.clock.Now().Format("Mon 15:04"), strings.Join(m.To, ", "), m.Subject)
	return nil
}

func run(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "crm-workflow-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "crm.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	clk := &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)} // a Monday

	// The ERP receives won deals as Standard Webhooks and checks their
	// signature with the shared secret.
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	erp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body, 0); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var doc struct {
			Event  struct{ Type string } `json:"event"`
			Record struct{ Name string } `json:"record"`
		}
		_ = json.Unmarshal(body, &doc)
		fmt.Printf("  ERP got %s for %q (signature verified, webhook-id %s…)\n", doc.Event.Type, doc.Record.Name, r.Header.Get("webhook-id")[:8])
	}))
	defer erp.Close()
	// The webhook sender refuses private and loopback addresses unless
	// allowed: the ERP here is on the loopback interface.
	hooks := webhook.New(webhook.Config{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})

	app, err := crm.New(ctx, store, crm.Config{Workflow: workflow.Config{Mailer: outbox{clk}, Webhooks: hooks, Now: clk.Now}})
	if err != nil {
		return err
	}
	ctx = crm.WithActor(crm.WithWorkspace(ctx, "acme"), "alice")
	flow := app.Workflow

	// The lead-nurture sequence, in Go. Its trigger is manual: leads enter
	// it through the rule below. It ends early when the lead is qualified
	// or converted, or writes back (an inbound email logged on the lead).
	nurture := workflow.Rule{
		Name: "Lead nurture", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnManual, Object: "lead"},
		Actions: []workflow.Action{
			workflow.SendEmail(workflow.EmailParams{From: "hello@example.com", Subject: "Welcome, {{.first_name}}",
				Text: "Thanks for your interest in our product, {{.first_name}}."}),
			workflow.Wait(2 * 24 * time.Hour),
			workflow.SendEmail(workflow.EmailParams{From: "hello@example.com", Subject: "How {{.company}} could save 30%",
				Text: "A case study for you."}),
			workflow.Wait(3 * 24 * time.Hour),
			workflow.CreateTask(workflow.TaskParams{Title: "Call {{.first_name}} {{.last_name}} ({{.company}})", DueIn: workflow.Duration(24 * time.Hour)}),
			workflow.AddTag("nurtured"),
		},
		Exit: workflow.Exit{
			When: "status in ['qualified', 'disqualified', 'converted']",
			On:   []workflow.Trigger{{Object: "lead", Events: []string{"converted"}}, {Object: "activity", Events: []string{"created"}}},
			// The activity must be an inbound one.
			OnCondition: []string{"", "direction == 'inbound'"},
		},
	}
	enroll := workflow.Rule{
		Name: "Enroll web leads", Enabled: true,
		Trigger:   workflow.Trigger{Kind: workflow.OnEvent, Object: "lead", Events: []string{"created"}},
		Condition: "source == 'web'",
		Actions:   []workflow.Action{workflow.Enroll("Lead nurture")},
	}
	notifyERP := workflow.Rule{
		Name: "Won deals to the ERP", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: "opportunity", Events: []string{"won"}},
		Actions: []workflow.Action{workflow.CallWebhook(workflow.WebhookParams{URL: erp.URL + "/crm-events", Secret: secret})},
	}
	for _, r := range []workflow.Rule{nurture, enroll, notifyERP} {
		if err := flow.Define(ctx, r); err != nil {
			return err
		}
	}
	// The stage-change notification, from files.
	loaded, err := flow.Load(ctx, ruleFiles, "rules/*.yaml")
	if err != nil {
		return err
	}
	fmt.Printf("Rules: %q, %q and %q in Go, %d from rules/*.yaml\n", nurture.Name, enroll.Name, notifyERP.Name, len(loaded))

	// A rule is checked when it is defined: a typo is an error with its
	// position, not a failure at run time.
	bad := enroll
	bad.Name, bad.Condition = "Typo", "sorce == 'web'"
	fmt.Println("A rule with a typo:", flow.Define(ctx, bad))

	// Two leads from the web form, one from a trade show.
	var leads []*sales.Lead
	for _, in := range []sales.NewLead{
		{FirstName: "Ada", LastName: "Byron", Email: "ada@analytical.example", Company: "Analytical Engines", Source: "web"},
		{FirstName: "Grace", LastName: "Hopper", Email: "grace@cobol.example", Company: "Cobol Inc", Source: "web"},
		{FirstName: "Alan", LastName: "Turing", Email: "alan@bletchley.example", Company: "Bletchley", Source: "trade show"},
	} {
		l, err := app.Sales.Leads.Capture(ctx, in)
		if err != nil {
			return err
		}
		leads = append(leads, l)
	}
	step := func(what string, d time.Duration) error {
		clk.Add(d)
		fmt.Printf("\n%s (%s):\n", what, clk.Now().Format("Mon Jan 2 15:04"))
		_, err := flow.Drain(ctx)
		return err
	}
	if err := step("Leads captured", 0); err != nil {
		return err
	}

	// Grace writes back on day 1: her sequence ends.
	if _, err := app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindEmail, Direction: contacts.Inbound,
		Subject: "Re: Welcome", Related: []storage.Ref{{Type: sales.ObjectLead, ID: leads[1].ID}}}); err != nil {
		return err
	}
	if err := step("Day 1, Grace replied", 24*time.Hour); err != nil {
		return err
	}
	if err := step("Day 2", 24*time.Hour); err != nil {
		return err
	}
	if err := step("Day 5", 3*24*time.Hour); err != nil {
		return err
	}
	tasks, err := app.Sales.Tasks.List(ctx, storage.ListQuery{})
	if err != nil {
		return err
	}
	for _, t := range tasks.Items {
		fmt.Printf("  task: %s, due %s\n", t.Title, t.Due.Format("Mon Jan 2"))
	}

	// A deal moves through the pipeline: each move mails the team, and a
	// big win plans a kickoff.
	conv, err := app.Sales.Leads.Convert(ctx, leads[0].ID, sales.ConvertOptions{CreateOpportunity: true,
		Opportunity: sales.NewOpportunity{Name: "Analytical Engines platform", Amount: storage.Money{Amount: 1_200_000, Currency: "USD"}}})
	if err != nil {
		return err
	}
	pipe, err := app.Sales.Pipelines.Default(ctx)
	if err != nil {
		return err
	}
	for _, st := range pipe.Stages[1:] {
		if st.Kind == sales.StageLost {
			continue
		}
		if _, err := app.Sales.Opportunities.MoveStage(ctx, conv.Opportunity.ID, st.Key, sales.MoveOptions{}); err != nil {
			return err
		}
		if st.Kind == sales.StageWon {
			break
		}
	}
	if err := step("The deal moved to won", time.Hour); err != nil {
		return err
	}
	tasks, err = app.Sales.Tasks.List(ctx, storage.ListQuery{Filter: storage.Eq("priority", "high")})
	if err != nil {
		return err
	}
	for _, t := range tasks.Items {
		fmt.Printf("  task: %s, due %s\n", t.Title, t.Due.Format("Mon Jan 2"))
	}

	// Every rule's history: its runs, with their outcome.
	fmt.Println("\nRun history:")
	runs, err := flow.Runs(ctx, workflow.RunQuery{PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
	if err != nil {
		return err
	}
	summary := map[string]map[workflow.RunState]int{}
	for _, r := range runs.Items {
		if summary[r.Rule.Name] == nil {
			summary[r.Rule.Name] = map[workflow.RunState]int{}
		}
		summary[r.Rule.Name][r.State]++
	}
	var names []string
	for n := range summary {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var parts []string
		for _, st := range []workflow.RunState{workflow.RunSucceeded, workflow.RunExited, workflow.RunFailed, workflow.RunStopped} {
			if k := summary[n][st]; k > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", k, st))
			}
		}
		fmt.Printf("  %-28s %s\n", n, strings.Join(parts, ", "))
	}

	// A dry run shows what a rule would do, and does nothing.
	dry, err := flow.DryRun(ctx, nurture, storage.Ref{Type: sales.ObjectLead, ID: leads[2].ID})
	if err != nil {
		return err
	}
	if m, ok := dry.Actions[0].Params.(send.Message); ok {
		fmt.Printf("\nDry run of %q for Alan: first mail %q to %s\n", nurture.Name, m.Subject, strings.Join(m.To, ", "))
	}
	return nil
}
