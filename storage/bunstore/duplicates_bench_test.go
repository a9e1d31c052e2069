package bunstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
)

// BenchmarkFindDuplicates scans 100,000 contacts (in 2,000 companies, one
// in 50 a near-twin of another) for duplicates, on SQLite.
func BenchmarkFindDuplicates(b *testing.B) {
	store := testdb.SQLite(b)
	ctx := storage.WithWorkspace(b.Context(), "bench")
	svc := contacts.NewService(store, contacts.Options{})
	const n, companies = 100_000, 2000
	err := store.RunInTx(ctx, func(ctx context.Context) error {
		var accts []string
		for i := range companies {
			a, err := svc.Accounts.Create(ctx, contacts.NewAccount{Name: fmt.Sprint("Company ", i)})
			if err != nil {
				return err
			}
			accts = append(accts, a.ID)
		}
		for i := range n {
			k := i % 50 // the contact's place in its company
			first, last := benchFirst[k%len(benchFirst)], benchLast[k%len(benchLast)]
			if k == 1 {
				first, last = benchFirst[0], benchLast[0]+"s" // a near-twin of the company's first contact
			}
			_, err := svc.Contacts.Create(ctx, contacts.NewContact{FirstName: first, LastName: last,
				Email: fmt.Sprintf("p%d@example.com", i), AccountID: accts[(i/50)%companies]})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		pairs, err := svc.FindDuplicates(ctx, contacts.DuplicateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if len(pairs) == 0 {
			b.Fatal("no pairs found")
		}
		b.ReportMetric(float64(len(pairs)), "pairs")
	}
}
