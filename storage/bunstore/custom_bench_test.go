package bunstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
)

// BenchmarkRepeatedCustom counts the contacts whose 100 KB custom text
// holds one of 30 words (300 contacts, none matching), through the store
// and through the hand-written query that writes the extraction in every
// comparison, in turn in each iteration. On Postgres the store extracts
// the field once per row (sharedCustom); on SQLite both extract per
// comparison, SQLite keeping the row's parsed JSON.
func BenchmarkRepeatedCustom(b *testing.B) {
	onBoth(b, func(b *testing.B, store *bunstore.Store, ctx context.Context) {
		db := store.Dialect()
		people := contacts.NewService(store, contacts.Options{})
		if _, err := people.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "bio", Label: "Bio", Type: contacts.FieldText}); err != nil {
			b.Fatal(err)
		}
		bio := strings.Repeat("lorem ipsum dolor sit amet ", 100_000/27)
		for i := range 300 {
			if _, err := people.Contacts.Create(ctx, contacts.NewContact{FirstName: fmt.Sprint("P", i), Custom: map[string]any{"bio": bio}}); err != nil {
				b.Fatal(err)
			}
		}
		var f storage.Or
		var terms []string
		args := []any{"bench"}
		for i := range 30 {
			w := fmt.Sprintf("absent %d", i)
			f = append(f, storage.Cmp{Field: "custom.bio", Op: storage.OpContains, Value: w})
			args = append(args, w)
			if db == "sqlite" {
				terms = append(terms, "instr(json_extract(custom, '$.bio'), ?) > 0")
			} else {
				terms = append(terms, fmt.Sprintf("strpos(custom ->> 'bio', $%d::text) > 0", i+2))
			}
		}
		q := "SELECT COUNT(*) FROM crm_contacts WHERE workspace_id = ? AND (" + strings.Join(terms, " OR ") + ")"
		if db == "postgres" {
			q = strings.Replace(q, "workspace_id = ?", "workspace_id = $1", 1)
		}
		raw := store.ReadDB().DB
		testdb.Interleave(b, "ms", func() error {
			n, err := people.Contacts.Count(ctx, f)
			if err == nil && n != 0 {
				err = fmt.Errorf("count %d", n)
			}
			return err
		}, func() error {
			var n int64
			return raw.QueryRowContext(ctx, q, args...).Scan(&n)
		})
	})
}
