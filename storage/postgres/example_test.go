package postgres_test

import (
	"context"
	"fmt"
	"log"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage/postgres"
)

// Open needs a running server, so this example is compiled but not run.
func ExampleOpen() {
	ctx := context.Background()
	store, err := postgres.Open(ctx, "postgres://crm:secret@localhost:5432/app?sslmode=disable",
		postgres.WithSchema("crm"), postgres.WithMaxConns(10))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	c, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(store.Dialect(), c.Name())
}
