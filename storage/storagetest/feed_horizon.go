package storagetest

import (
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow"
)

// feedTestDuration is how long the writers of testFeedWithOpenTransactions
// commit: 10 s, or CRM_FEED_TEST_SECONDS.
func feedTestDuration() time.Duration {
	if n, err := strconv.Atoi(os.Getenv("CRM_FEED_TEST_SECONDS")); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 10 * time.Second
}

// testFeedWithOpenTransactions follows the change feed while transactions
// that write no CRM event stay open beside it (Harness.HoldTransactions):
// 16 writers commit contacts for a while, and a reader must see every one
// of their events exactly once, in cursor order, before those transactions
// end; the workflow engine's Drain must run what was committed before it.
func testFeedWithOpenTransactions(t *testing.T, h Harness) {
	e := newEnv(t, h)
	if h.HoldTransactions != nil {
		release := h.HoldTransactions(t)
		defer release()
	}
	ctx := e.in("ws-feed-hold")
	const writers = 16
	var (
		mu        sync.Mutex
		committed = map[string]time.Time{} // contact ID → commit time
		stop      atomic.Bool
		wg        sync.WaitGroup
		failures  atomic.Int64
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				c, err := e.svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "W" + strconv.Itoa(w), LastName: strconv.Itoa(i)})
				if err != nil {
					failures.Add(1)
					t.Errorf("writer %d: %v", w, err)
					return
				}
				mu.Lock()
				committed[c.ID] = time.Now()
				mu.Unlock()
			}
		}()
	}
	seen := map[string]int{}
	var lastSeq int64
	var worst time.Duration
	cursor := ""
	read := func() int {
		f, err := e.store.ChangeFeed(ctx, cursor, 1000)
		if err != nil {
			t.Fatalf("feed: %v", err)
		}
		now := time.Now()
		mu.Lock()
		for _, ev := range f.Events {
			seen[ev.Subject.ID]++
			if at, ok := committed[ev.Subject.ID]; ok && now.Sub(at) > worst {
				worst = now.Sub(at)
			}
			lastSeq = ev.Seq
		}
		mu.Unlock()
		cursor = f.Cursor
		return len(f.Events)
	}
	end := time.Now().Add(feedTestDuration())
	for time.Now().Before(end) {
		if read() == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	stop.Store(true)
	wg.Wait()
	if failures.Load() > 0 {
		t.FailNow()
	}
	// Every event committed must show while the other transactions are
	// still open.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		missing := 0
		for id := range committed {
			if seen[id] == 0 {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d committed events never showed in the feed while other transactions were open", missing, len(committed))
		}
		if read() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	dups := 0
	for id, n := range seen {
		if n > 1 {
			dups++
			t.Errorf("event of %s seen %d times", id, n)
		}
		if _, ok := committed[id]; !ok {
			t.Errorf("the feed showed an event of %s, which no writer committed", id)
		}
	}
	t.Logf("%d events from %d writers, 0 lost, %d duplicated; slowest from commit to the reader %v (last seq %d)",
		len(committed), writers, dups, worst.Round(time.Millisecond), lastSeq)

	// The engine runs, within one Drain, what was committed before it.
	wf := workflow.Config{}
	if h.RowLevelSecurity {
		wf.Workspaces = []string{storage.WorkspaceFrom(ctx)}
	}
	app, err := crm.New(ctx, e.store, crm.Config{Workflow: wf})
	must(t, "crm.New", err)
	_, err = app.Workflow.Rules.Create(ctx, workflow.NewRule{Name: "Tag", Enabled: true,
		Trigger:   workflow.Trigger{Kind: workflow.OnEvent, Object: contacts.ObjectContact, Events: []string{"created"}},
		Condition: "first_name == 'Drain'", Actions: []workflow.Action{workflow.AddTag("drained")}})
	must(t, "rule", err)
	c := e.contact(ctx, contacts.NewContact{FirstName: "Drain"})
	_, err = app.Workflow.Drain(ctx)
	must(t, "drain", err)
	got, err := app.Contacts.Get(ctx, c.ID)
	must(t, "get", err)
	if len(got.Tags) != 1 || got.Tags[0] != "drained" {
		t.Errorf("after Drain the contact's tags are %v, want [drained]", got.Tags)
	}
}
