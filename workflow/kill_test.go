package workflow_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
	"github.com/crmkit/crm/storage/postgres"
	"github.com/crmkit/crm/storage/sqlite"
	"github.com/crmkit/crm/workflow"
	"github.com/crmkit/crm/workflow/send"
)

// The kill test: engine processes are killed with SIGKILL at random
// points while they work through committed triggers. Afterwards every
// trigger has run, each database effect exactly once, and each webhook
// reached the receiver at least once with one stable webhook-id.

const killEnv = "CRM_KILL_CHILD"

// postSender is a plain HTTP webhook sender for the kill test's child: it
// posts the body with the request's ID as the webhook-id header.
type postSender struct{}

func (postSender) Send(ctx context.Context, req send.WebhookRequest) error {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return err
	}
	r.Header.Set("webhook-id", req.ID)
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook: %s", resp.Status)
	}
	return nil
}

// TestKillChild is the engine process of the kill test; it does nothing
// unless started by it.
func TestKillChild(t *testing.T) {
	spec := os.Getenv(killEnv)
	if spec == "" {
		t.Skip("the engine process of TestKillWorker")
	}
	ctx := context.Background()
	kind, where, _ := strings.Cut(spec, ":")
	var store *bunstore.Store
	var err error
	if kind == "sqlite" {
		store, err = sqlite.Open(ctx, where)
	} else {
		dsn, schema, _ := strings.Cut(where, "|")
		store, err = postgres.Open(ctx, dsn, postgres.WithSchema(schema), postgres.WithMaxConns(4))
	}
	if err != nil {
		t.Fatal(err)
	}
	app, err := crm.New(ctx, store, crm.Config{Workflow: workflow.Config{
		Webhooks: postSender{}, Lease: 400 * time.Millisecond, PollInterval: 5 * time.Millisecond,
		BatchSize: 5, Workers: 2, Retry: workflow.RetryPolicy{Base: 50 * time.Millisecond, Max: 200 * time.Millisecond, MaxAttempts: 100},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_ = app.Workflow.Start(ctx) // until killed
}

func TestKillWorker(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "crm.db")
		store, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		killWorkers(t, store, "sqlite:"+path, 1)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := testdb.PostgresDSN(t)
		schema := testdb.NewSchemaName()
		t.Cleanup(func() { testdb.DropSchema(t, dsn, schema) })
		store, err := postgres.Open(t.Context(), dsn, postgres.WithSchema(schema), postgres.WithMaxConns(4))
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		// Two engine processes share the work; kills hit one at a time.
		killWorkers(t, store, "postgres:"+dsn+"|"+schema, 2)
	})
}

func killWorkers(t *testing.T, store *bunstore.Store, spec string, procs int) {
	ctx := storage.WithWorkspace(t.Context(), "kill")
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	hits := map[string]int{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(rand.IntN(15)) * time.Millisecond) // slow enough for kills to land mid-call
		mu.Lock()
		hits[r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	defer recv.Close()
	if _, err := app.Workflow.Rules.Create(ctx, workflow.NewRule{Name: "Follow up", Enabled: true,
		Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"created"}},
		Actions: []workflow.Action{
			workflow.CreateTask(workflow.TaskParams{Title: "Call {{.first_name}}"}),
			workflow.CallWebhook(workflow.WebhookParams{URL: recv.URL}),
			workflow.AddTag("notified"),
		}}); err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), killEnv+"="+spec)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	const kills, perRound = 24, 10
	made := 0
	running := make([]*exec.Cmd, procs)
	for i := range running {
		running[i] = start()
	}
	for round := range kills {
		for range perRound {
			if _, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: fmt.Sprint("P", made)}); err != nil {
				t.Fatal(err)
			}
			made++
		}
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		victim := round % procs
		if err := running[victim].Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = running[victim].Wait()
		running[victim] = start()
	}
	// Let the survivors finish everything.
	deadline := time.Now().Add(90 * time.Second)
	for {
		n, err := storage.TableOf[*sales.Task](store).Count(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		page, err := app.Workflow.Runs(ctx, workflow.RunQuery{State: workflow.RunSucceeded, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
		if err != nil {
			t.Fatal(err)
		}
		if int(n) >= made && len(page.Items) == made {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90s: %d tasks and %d succeeded runs of %d triggers", n, len(page.Items), made)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, cmd := range running {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}

	// Every trigger ran once: one task per contact, every contact tagged.
	perContact := map[string]int{}
	err = storage.Each(ctx, storage.TableOf[*sales.Task](store), storage.ListQuery{}, func(tk *sales.Task) error {
		for _, r := range tk.Related {
			perContact[r.ID]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	untagged := 0
	err = storage.Each(ctx, storage.TableOf[*contacts.Contact](store), storage.ListQuery{}, func(c *contacts.Contact) error {
		if perContact[c.ID] != 1 {
			t.Errorf("contact %s has %d tasks, want 1", c.FirstName, perContact[c.ID])
		}
		if len(c.Tags) != 1 {
			untagged++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if untagged > 0 {
		t.Errorf("%d contacts not tagged", untagged)
	}
	runs, err := app.Workflow.Runs(ctx, workflow.RunQuery{PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs.Items) != made {
		t.Errorf("%d runs for %d triggers", len(runs.Items), made)
	}
	// Every webhook arrived, each under one ID; repeats are the calls a
	// kill cut off after the receiver had them.
	mu.Lock()
	defer mu.Unlock()
	repeats := 0
	for _, r := range runs.Items {
		id := r.ID + ":1"
		switch n := hits[id]; {
		case n == 0:
			t.Errorf("run %s: the webhook never arrived", r.ID)
		case n > 1:
			repeats += n - 1
		}
	}
	if len(hits) != made {
		t.Errorf("the receiver saw %d webhook IDs for %d runs", len(hits), made)
	}
	t.Logf("%d triggers, %d kills of %d engine processes: every database effect once; %d webhook repeats (same webhook-id)", made, kills, procs, repeats)
}
