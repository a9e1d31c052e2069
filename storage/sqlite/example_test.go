package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage/sqlite"
)

func ExampleOpen() {
	ctx := context.Background()

	// A private in-memory database, gone with Close: for examples and tests.
	mem, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	app, err := crm.New(ctx, mem, crm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada"}); err != nil {
		log.Fatal(err)
	}
	n, err := app.Contacts.Count(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(mem.Dialect(), "in memory:", n, "contact")
	mem.Close()

	// A file, created and migrated on the first Open; the data outlives
	// the store.
	dir, err := os.MkdirTemp("", "crm-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "crm.db")
	for run := 1; run <= 2; run++ {
		store, err := sqlite.Open(ctx, path)
		if err != nil {
			log.Fatal(err)
		}
		app, err := crm.New(ctx, store, crm.Config{})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: fmt.Sprint("Run ", run)}); err != nil {
			log.Fatal(err)
		}
		n, err := app.Contacts.Count(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s file, open %d: %d contacts\n", store.Dialect(), run, n)
		if err := store.Close(); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// sqlite in memory: 1 contact
	// sqlite file, open 1: 1 contacts
	// sqlite file, open 2: 2 contacts
}
