package bunstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
)

// BenchmarkTimeline reads the first timeline page of a contact with 1,000
// activities, and the page 500 entries in, among CRM_BENCH_CONTACTS
// (default 100,000) other activities and as many other change events,
// beside the hand-written queries of the same page (the records of each
// timeline type through the contact's links, its events and its orders'
// events, each in time order; the raw rows are not decoded), in turn in
// each iteration.
func BenchmarkTimeline(b *testing.B) {
	onBoth(b, func(b *testing.B, store *bunstore.Store, ctx context.Context) {
		db := store.Dialect()
		n := benchContactCount(b)
		start := time.Now()
		testdb.SeedActivities(b, ctx, store, n, []string{"u1", "u2"})
		testdb.SeedEvents(b, ctx, store, n)
		people := contacts.NewService(store, contacts.Options{})
		busy, err := people.Contacts.Create(ctx, contacts.NewContact{FirstName: "Busy"})
		if err != nil {
			b.Fatal(err)
		}
		err = store.RunInTx(ctx, func(ctx context.Context) error {
			for i := range 1000 {
				if _, err := people.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindCall, Subject: fmt.Sprint("Call ", i),
					OccurredAt: time.Now().Add(-time.Duration(i) * time.Hour), ContactIDs: []string{busy.ID}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if db == "postgres" {
			if _, err := store.DB().ExecContext(ctx, "ANALYZE"); err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("%s: seeded %d activities and events in %v", db, n, time.Since(start).Round(time.Millisecond))
		// The cursor 500 entries in.
		pq := storage.PageQuery{Limit: 100}
		for range 5 {
			page, err := people.Contacts.Timeline(ctx, busy.ID, pq)
			if err != nil || page.Next == "" {
				b.Fatalf("timeline page: %v", err)
			}
			pq.Cursor = page.Next
		}
		deep := pq.Cursor
		pg := db == "postgres"
		rebind := func(q string) string {
			if !pg {
				return q
			}
			out, n := []byte{}, 0
			for i := 0; i < len(q); i++ {
				if q[i] == '?' {
					n++
					out = append(out, fmt.Sprintf("$%d", n)...)
					continue
				}
				out = append(out, q[i])
			}
			return string(out)
		}
		raw := store.ReadDB().DB
		// The same six queries the store runs: the records of each type
		// that shows on timelines, through the contact's links, and the
		// events of the contact and of its orders.
		var qs []string
		for _, tt := range [][3]string{{"crm_activities", "occurred_at", "activity"}, {"crm_mkt_mentions", "at", "social_mention"},
			{"crm_case_messages", "sent_at", "case_message"}, {"crm_chat_messages", "sent_at", "chat_message"}} {
			qs = append(qs, rebind(`SELECT t.* FROM crm_links l CROSS JOIN `+tt[0]+` t
WHERE l.workspace_id = ? AND l.to_id = ? AND l.from_type = '`+tt[2]+`' AND t.workspace_id = l.workspace_id AND t.id = l.from_id
ORDER BY t.`+tt[1]+` DESC, t.id DESC LIMIT 21`))
		}
		qs = append(qs, rebind(`SELECT * FROM crm_events WHERE workspace_id = ? AND subject_id = ? ORDER BY occurred_at DESC, id DESC LIMIT 21`),
			rebind(`SELECT * FROM crm_events e WHERE e.workspace_id = ? AND e.subject_type = 'order' AND e.subject_id IN
(SELECT from_id FROM crm_links WHERE workspace_id = 'bench' AND to_id = ? AND from_type = 'order') ORDER BY occurred_at DESC, id DESC LIMIT 21`))
		rawPage := func() error {
			for _, q := range qs {
				rows, err := raw.QueryContext(ctx, q, "bench", busy.ID)
				if err != nil {
					return err
				}
				for rows.Next() {
				}
				rows.Close()
			}
			return nil
		}
		b.Run("first", func(b *testing.B) {
			testdb.Interleave(b, "µs", func() error {
				_, err := people.Contacts.Timeline(ctx, busy.ID, storage.PageQuery{Limit: 20})
				return err
			}, rawPage)
		})
		b.Run("deep", func(b *testing.B) {
			testdb.Interleave(b, "µs", func() error {
				_, err := people.Contacts.Timeline(ctx, busy.ID, storage.PageQuery{Limit: 20, Cursor: deep})
				return err
			}, rawPage)
		})
	})
}
