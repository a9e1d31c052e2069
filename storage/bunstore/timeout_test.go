package bunstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
	"github.com/crmkit/crm/storage/postgres"
	"github.com/crmkit/crm/storage/sqlite"
)

// TestQueryTimeout checks that the store's query timeout stops a costly
// list, count and aggregate while the database works on it (30 substring
// tests of a 100 KB custom text over 300 contacts take seconds on both
// adapters), with an error naming the option, and that the store serves
// the next call (a read by ID, which the timeout does not bound: a quick
// list could still run past it on a busy shared server).
func TestQueryTimeout(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			const limit = 250 * time.Millisecond
			var store *bunstore.Store
			if db == "sqlite" {
				store = testdb.SQLite(t, sqlite.WithQueryTimeout(limit))
			} else {
				store = testdb.Postgres(t, postgres.WithQueryTimeout(limit))
			}
			ctx := storage.WithWorkspace(t.Context(), "slow")
			people := contacts.NewService(store, contacts.Options{})
			if _, err := people.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "bio", Label: "Bio", Type: contacts.FieldText}); err != nil {
				t.Fatal(err)
			}
			bio := strings.Repeat("lorem ipsum dolor sit amet ", 100_000/27)
			var first *contacts.Contact
			for i := range 300 {
				c, err := people.Contacts.Create(ctx, contacts.NewContact{FirstName: fmt.Sprint("P", i), Custom: map[string]any{"bio": bio}})
				if err != nil {
					t.Fatal(err)
				}
				if first == nil {
					first = c
				}
			}
			var slow storage.Or
			for i := range 30 {
				slow = append(slow, storage.Cmp{Field: "custom.bio", Op: storage.OpContains, Value: fmt.Sprintf("absent %d", i)})
			}
			for what, call := range map[string]func() error{
				"list": func() error {
					_, err := people.Contacts.List(ctx, storage.ListQuery{Filter: slow})
					return err
				},
				"count": func() error { _, err := people.Contacts.Count(ctx, slow); return err },
				"aggregate": func() error {
					_, err := store.Aggregate(ctx, contacts.ObjectContact, storage.AggregateQuery{Filter: slow,
						Measures: []storage.Measure{{Op: storage.AggCount}}})
					return err
				},
			} {
				err := call()
				if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "QueryTimeout") {
					t.Errorf("%s past the timeout: %v, want context.DeadlineExceeded naming QueryTimeout", what, err)
				}
			}
			if c, err := people.Contacts.Get(ctx, first.ID); err != nil || c.FirstName != "P0" {
				t.Errorf("a read after: %v", err)
			}
		})
	}
}
