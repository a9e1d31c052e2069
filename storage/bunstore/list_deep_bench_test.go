package bunstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
)

// BenchmarkListDeep reads the list page of 50 contacts, sorted by
// creation, whose cursor sits 90% into CRM_BENCH_CONTACTS (default
// 100,000), beside the hand-written keyset query of the same page, in turn
// in each iteration.
func BenchmarkListDeep(b *testing.B) {
	onBoth(b, func(b *testing.B, store *bunstore.Store, ctx context.Context) {
		db := store.Dialect()
		n := benchContactCount(b)
		testdb.SeedContacts(b, ctx, store, n)
		raw := store.ReadDB().DB
		pg := db == "postgres"
		q := "SELECT created_at, id FROM crm_contacts WHERE workspace_id = ? ORDER BY created_at, id LIMIT 1 OFFSET ?"
		if pg {
			q = "SELECT created_at, id FROM crm_contacts WHERE workspace_id = $1 ORDER BY created_at, id LIMIT 1 OFFSET $2"
		}
		var atText any
		var at time.Time
		var id string
		if pg {
			if err := raw.QueryRowContext(ctx, q, "bench", n*9/10).Scan(&at, &id); err != nil {
				b.Fatal(err)
			}
			atText = at
		} else {
			var s string
			if err := raw.QueryRowContext(ctx, q, "bench", n*9/10).Scan(&s, &id); err != nil {
				b.Fatal(err)
			}
			var err error
			if at, err = time.Parse("2006-01-02T15:04:05.000000Z", s); err != nil {
				b.Fatal(err)
			}
			atText = s
		}
		tbl := storage.TableOf[*contacts.Contact](store)
		lq := storage.ListQuery{Sort: []storage.Sort{{Field: "created_at"}}, PageQuery: storage.PageQuery{Limit: 50}}
		lq.Cursor = bunstore.ListCursor(tbl, lq, at, id)
		page := "SELECT * FROM crm_contacts WHERE workspace_id = ? AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT 51"
		if pg {
			page = "SELECT * FROM crm_contacts WHERE workspace_id = $1 AND (created_at, id) > ($2, $3) ORDER BY created_at, id LIMIT 51"
		}
		testdb.Interleave(b, "µs", func() error {
			p, err := tbl.List(ctx, lq)
			if err == nil && len(p.Items) != 50 {
				b.Fatalf("%d contacts on the page", len(p.Items))
			}
			return err
		}, func() error {
			rows, err := raw.QueryContext(ctx, page, "bench", atText, id)
			if err != nil {
				return err
			}
			for rows.Next() {
			}
			rows.Close()
			return rows.Err()
		})
	})
}

// BenchmarkListByName reads the first page of 50 contacts sorted by last
// name alone (ties by ID) among CRM_BENCH_CONTACTS (default 100,000),
// beside the hand-written query of the same page, in turn in each
// iteration.
func BenchmarkListByName(b *testing.B) {
	onBoth(b, func(b *testing.B, store *bunstore.Store, ctx context.Context) {
		testdb.SeedContacts(b, ctx, store, benchContactCount(b))
		raw := store.ReadDB().DB
		q := "SELECT * FROM crm_contacts WHERE workspace_id = ? ORDER BY last_name, id LIMIT 51"
		if store.Dialect() == "postgres" {
			q = "SELECT * FROM crm_contacts WHERE workspace_id = $1 ORDER BY last_name, id LIMIT 51"
		}
		tbl := storage.TableOf[*contacts.Contact](store)
		lq := storage.ListQuery{Sort: []storage.Sort{{Field: "last_name"}}, PageQuery: storage.PageQuery{Limit: 50}}
		testdb.Interleave(b, "µs", func() error {
			_, err := tbl.List(ctx, lq)
			return err
		}, func() error {
			rows, err := raw.QueryContext(ctx, q, "bench")
			if err != nil {
				return err
			}
			for rows.Next() {
			}
			rows.Close()
			return rows.Err()
		})
	})
}
