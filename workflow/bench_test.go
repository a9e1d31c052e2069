package workflow_test

// Benchmarks of the workflow engine, each beside a raw database/sql
// baseline doing the same work, so one run gives the ratio. They run only
// with -bench:
//
//	go test -run '^$' -bench . ./workflow
//
// CRM_BENCH_EVENTS sets the events of the end-to-end benchmark (default
// 5000).

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
	"github.com/crmkit/crm/storage/filterexpr"
	"github.com/crmkit/crm/workflow"
)

func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("CRM_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 5000
}

// BenchmarkEndToEnd measures events per second from committed writes to
// completed actions: N contacts are created (not timed), then the engine
// matches each contact.created event to a rule and runs its create_task
// action. The raw baseline reads the same events with plain SQL and
// inserts one task per event, with its change event, search document and
// link row, in transactions of 100, as crm's task creation writes them.
func BenchmarkEndToEnd(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchEndToEnd(b, func(b *testing.B) *bunstore.Store { return testdb.SQLite(b) }) })
	b.Run("postgres", func(b *testing.B) { benchEndToEnd(b, func(b *testing.B) *bunstore.Store { return testdb.Postgres(b) }) })
}

func benchEndToEnd(b *testing.B, open func(b *testing.B) *bunstore.Store) {
	n := benchEvents()
	// seed makes the CRM and its rule, then n contacts: the rule acts on
	// the events after it is enabled (Rule.EnabledAt), so it comes first.
	seed := func(b *testing.B) (*bunstore.Store, *crm.CRM, context.Context) {
		store := open(b)
		ctx := storage.WithWorkspace(b.Context(), "bench")
		app, err := crm.New(ctx, store, crm.Config{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := app.Workflow.Rules.Create(ctx, workflow.NewRule{Name: "Call", Enabled: true,
			Trigger:   workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"created"}},
			Condition: "lifecycle == 'lead'",
			Actions:   []workflow.Action{workflow.CreateTask(workflow.TaskParams{Title: "Call {{.first_name}}"})}}); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < n; i += 100 {
			err := app.RunInTx(ctx, func(ctx context.Context) error {
				for j := i; j < min(i+100, n); j++ {
					if _, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: fmt.Sprint("Lead ", j), Lifecycle: contacts.LifecycleLead}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		return store, app, ctx
	}
	b.Run("crm", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			b.StopTimer()
			store, app, ctx := seed(b)
			b.StartTimer()
			start := time.Now()
			for done := 0; done < n; {
				if _, err := app.Workflow.Drain(ctx); err != nil {
					b.Fatal(err)
				}
				cnt, err := storage.TableOf[*sales.Task](store).Count(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				done = int(cnt)
			}
			total += time.Since(start)
		}
		b.ReportMetric(float64(n*b.N)/total.Seconds(), "events/s")
	})
	b.Run("raw", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			b.StopTimer()
			store, _, _ := seed(b)
			db := store.DB().DB
			b.StartTimer()
			start := time.Now()
			rawTasks(b, db, store.Dialect(), n)
			total += time.Since(start)
		}
		b.ReportMetric(float64(n*b.N)/total.Seconds(), "events/s")
	})
}

// rawTasks is the baseline: it reads the contact.created events with plain
// SQL and writes a task for each, with its event, search document and
// link, 100 per transaction.
func rawTasks(b *testing.B, db *sql.DB, dialect string, n int) {
	q := func(s string) string {
		if dialect != "postgres" {
			return s
		}
		out, k := []byte{}, 0
		for i := 0; i < len(s); i++ {
			if s[i] == '?' {
				k++
				out = append(out, []byte("$"+strconv.Itoa(k))...)
				continue
			}
			out = append(out, s[i])
		}
		return string(out)
	}
	ctx := b.Context()
	var ts func(t time.Time) any = func(t time.Time) any { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }
	if dialect == "postgres" {
		ts = func(t time.Time) any { return t.UTC() }
	}
	var lastSeq int64
	done := 0
	for done < n {
		rows, err := db.QueryContext(ctx, q(`SELECT seq, subject_id, workspace_id FROM crm_events WHERE seq > ? AND type = 'contact.created' ORDER BY seq LIMIT 100`), lastSeq)
		if err != nil {
			b.Fatal(err)
		}
		type ev struct{ id, ws string }
		var evs []ev
		for rows.Next() {
			var e ev
			if err := rows.Scan(&lastSeq, &e.id, &e.ws); err != nil {
				b.Fatal(err)
			}
			evs = append(evs, e)
		}
		rows.Close()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if dialect == "postgres" {
			// Events take their tx_id from the feed clock, as the store's do.
			if _, err := tx.ExecContext(ctx, "SELECT crm_feed_enter()"); err != nil {
				b.Fatal(err)
			}
		}
		for _, e := range evs {
			var first string
			if err := tx.QueryRowContext(ctx, q(`SELECT first_name FROM crm_contacts WHERE workspace_id = ? AND id = ?`), e.ws, e.id).Scan(&first); err != nil {
				b.Fatal(err)
			}
			id, now := storage.NewID(), time.Now()
			title := "Call " + first
			related := `[{"type":"contact","id":"` + e.id + `"}]`
			if _, err := tx.ExecContext(ctx, q(`INSERT INTO crm_tasks (id, workspace_id, version, created_at, created_by, updated_at, updated_by, title, description, due, all_day, priority, status, owner_id, team_id, reminder_at, related, project_id, completed_at)
VALUES (?, ?, 1, ?, 'system', ?, 'system', ?, '', ?, false, 'normal', 'open', '', '', ?, ?, '', ?)`),
				id, e.ws, ts(now), ts(now), title, ts(time.Time{}), ts(time.Time{}), related, ts(time.Time{})); err != nil {
				b.Fatal(err)
			}
			changes := `[{"field":"title","new":"` + title + `"},{"field":"priority","new":"normal"},{"field":"status","new":"open"},{"field":"related","new":` + related + `}]`
			if _, err := tx.ExecContext(ctx, q(`INSERT INTO crm_events (id, workspace_id, type, subject_type, subject_id, actor, occurred_at, changes) VALUES (?, ?, 'task.created', 'task', ?, 'system', ?, ?)`),
				storage.NewID(), e.ws, id, ts(now), changes); err != nil {
				b.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, q(`INSERT INTO crm_links (workspace_id, from_type, from_id, to_type, to_id) VALUES (?, 'task', ?, 'contact', ?)`), e.ws, id, e.id); err != nil {
				b.Fatal(err)
			}
			done++
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCondition measures a typical rule condition evaluated in
// memory on one record, as the engine evaluates every candidate rule of
// an event: the record's fields are read once (filterexpr.RecordOf), and
// each condition then runs on them with a pooled expr VM. The baseline is
// the same condition written in Go.
func BenchmarkCondition(b *testing.B) {
	now := storage.Now()
	c := &contacts.Contact{FirstName: "Ada", Email: "ada@example.com", Lifecycle: contacts.LifecycleCustomer, Tags: []string{"newsletter", "vip"}}
	c.CreatedAt = now.Add(-24 * time.Hour)
	x, err := filterexpr.Compile("lifecycle == 'customer' && 'vip' in tags && created_at > daysAgo(30)", filterexpr.SchemaOf(c, nil))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("crm", func(b *testing.B) {
		rec := filterexpr.RecordOf(c)
		for b.Loop() {
			if ok, err := x.Match(rec, now); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
	})
	b.Run("crm-with-record", func(b *testing.B) {
		for b.Loop() {
			if ok, err := x.Match(filterexpr.RecordOf(c), now); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			day := now.Truncate(24*time.Hour).AddDate(0, 0, -30)
			if !(c.Lifecycle == contacts.LifecycleCustomer && slices.Contains(c.Tags, "vip") && c.CreatedAt.After(day)) {
				b.Fatal("no match")
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
	})
}
