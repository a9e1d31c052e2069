package bunstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
)

// BenchmarkFindDuplicates scans 100,000 contacts (in 2,000 companies, each
// with its email domain, one in 50 a near-twin of another) for duplicates
// by the default rules (exact rules, and names within an account or an
// email domain), on SQLite; and checks one new contact before its create.
func BenchmarkFindDuplicates(b *testing.B) {
	store := testdb.SQLite(b)
	ctx := storage.WithWorkspace(b.Context(), "bench")
	svc := contacts.NewService(store, contacts.Options{})
	const n, companies = 100_000, 2000
	var accts []string
	err := store.RunInTx(ctx, func(ctx context.Context) error {
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
				Email: fmt.Sprintf("p%d@company%d.example", i, (i/50)%companies), AccountID: accts[(i/50)%companies]})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("scan", func(b *testing.B) {
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
	})
	// The check before a create of a near-twin of company 7's first
	// contact, at its domain: the email by its index, the account's
	// contacts by theirs, and the domain's by a read of every contact.
	in := contacts.NewContact{FirstName: benchFirst[0], LastName: benchLast[0] + "e", Email: "twin@company7.example", AccountID: accts[7]}
	b.Run("check", func(b *testing.B) {
		for b.Loop() {
			cands, err := svc.Contacts.Duplicates(ctx, in)
			if err != nil || len(cands) != 2 {
				b.Fatalf("%d candidates, %v", len(cands), err)
			}
		}
	})
}
