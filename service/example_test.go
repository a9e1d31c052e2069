package service_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
)

// A customer's case is opened, answered, solved, reopened by the
// customer's reply, and merged with a duplicate.
func Example() {
	ctx := storage.WithWorkspace(context.Background(), "acme")
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithModules(contacts.Module(), service.Module()))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	people := contacts.NewService(store, contacts.Options{})
	desk := service.NewService(store, people, service.Options{})

	ada, err := people.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	if err != nil {
		log.Fatal(err)
	}
	c, err := desk.Cases.Create(ctx, service.NewCase{Subject: "The printer smokes", ContactID: ada.ID,
		Channel: service.ChannelEmail, Priority: service.PriorityUrgent})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Ref(), c.Subject, c.Status, c.Category)

	_, _ = desk.Cases.AddMessage(ctx, c.ID, service.NewMessage{Direction: service.Outbound, Body: "Please unplug it."})
	c, _ = desk.Cases.SetStatus(ctx, c.ID, "solved")
	fmt.Println(c.Status, c.Category, !c.FirstResponseAt.IsZero(), !c.ResolvedAt.IsZero())

	_, _ = desk.Cases.AddMessage(ctx, c.ID, service.NewMessage{From: "ada@example.com", Body: "It still smokes."})
	c, _ = desk.Cases.Get(ctx, c.ID)
	fmt.Println("after the customer's reply:", c.Status, c.Category)

	dup, _ := desk.Cases.Create(ctx, service.NewCase{Subject: "Smoke!", ContactID: ada.ID})
	if _, err := desk.Cases.Merge(ctx, c.ID, dup.ID); err != nil {
		log.Fatal(err)
	}
	_, err = desk.Cases.AddMessage(ctx, dup.ID, service.NewMessage{Body: "Hello?"})
	fmt.Println(dup.Ref(), "merged; writing to it is a conflict:", errors.Is(err, storage.ErrConflict))
	// Output:
	// #1 The printer smokes new open
	// solved resolved true true
	// after the customer's reply: new open
	// #2 merged; writing to it is a conflict: true
}
