package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
)

// FuzzImport feeds arbitrary bytes to the CSV import: it must never panic
// or fail with anything but a validation error, and its report must add
// up. The seeds (below and in testdata/fuzz/FuzzImport) run with go test.
func FuzzImport(f *testing.F) {
	for _, s := range []string{
		"Email,First Name\nada@example.com,Ada\n",
		"\ufeffE-mail;Name\nx\n",
		"Email,Company,Tags\n\"a@b.co\",\"Acme, Inc\",\"x;y\"\n,,\n",
		"Email\n\"unterminated\n",
		"Email,First Name\nbad,\xff\xfe\n",
		"Email,Email\na@b.co,c@d.co\n",
	} {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	svc := contacts.NewService(store, contacts.Options{})
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, data []byte) {
		ws := storage.WithWorkspace(ctx, fmt.Sprint("fuzz-", n.Add(1)))
		rep, err := svc.ImportContacts(ws, strings.NewReader(string(data)), contacts.ImportOptions{BatchSize: 2})
		if err != nil {
			if !errors.Is(err, storage.ErrInvalid) {
				t.Fatalf("import: %v", err)
			}
			return
		}
		if rep.Created+rep.Updated+rep.Failed > rep.Rows {
			t.Fatalf("report does not add up: %+v", rep)
		}
		if got, err := svc.Contacts.Count(ws, nil); err != nil || int(got) != rep.Created {
			t.Fatalf("%d contacts stored, report says %d created (%v)", got, rep.Created, err)
		}
	})
}
