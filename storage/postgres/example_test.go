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

// Row-level security takes two roles: the owner of the tables sets it up at
// each deploy, and the application connects as a role that owns nothing.
func ExampleSetupRowLevelSecurity() {
	ctx := context.Background()
	// As the owner (a migration job): migrate, install the policies, grant.
	err := postgres.SetupRowLevelSecurity(ctx, "postgres://crm_owner@db:5432/app", "crm_app", postgres.WithSchema("crm"))
	if err != nil {
		log.Fatal(err)
	}
	// As the application: every transaction names its workspace, and
	// Postgres shows it no other workspace's rows.
	store, err := postgres.Open(ctx, "postgres://crm_app@db:5432/app", postgres.WithSchema("crm"), postgres.WithRowLevelSecurity())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
}
