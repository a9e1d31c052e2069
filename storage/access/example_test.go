package access_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/sqlite"
)

// Two members with different roles see different contacts.
func Example() {
	ctx := storage.WithWorkspace(context.Background(), "acme")
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithPrincipalRequired(), sqlite.WithModules(contacts.Module()))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	people := contacts.NewService(store, contacts.Options{})
	acc := access.NewService(store)

	// Setting up the directory is the system's job.
	sys := storage.AsSystem(ctx)
	team, _ := acc.CreateTeam(sys, "North", "")
	rep, _ := acc.CreateMember(sys, access.NewMember{Name: "Rita", Role: access.RoleRep, TeamIDs: []string{team.ID}})
	viewer, _ := acc.CreateMember(sys, access.NewMember{Name: "Vera", Role: access.RoleReadOnly})
	other, _ := people.Contacts.Create(sys, contacts.NewContact{FirstName: "Unowned"})

	asRep, err := acc.As(ctx, rep.ID)
	if err != nil {
		log.Fatal(err)
	}
	asViewer, _ := acc.As(ctx, viewer.ID)
	mine, _ := people.Contacts.Create(asRep, contacts.NewContact{FirstName: "Grace"})
	fmt.Println("owner is the rep:", mine.OwnerID == rep.ID)

	n, _ := people.Contacts.Count(asRep, nil)
	fmt.Println("the rep sees", n)
	n, _ = people.Contacts.Count(asViewer, nil)
	fmt.Println("the viewer sees", n)

	_, err = people.Contacts.Get(asRep, other.ID)
	fmt.Println("rep reads the unowned contact:", errors.Is(err, storage.ErrNotFound))
	_, err = people.Contacts.Update(asViewer, mine.ID, contacts.UpdateContact{JobTitle: new(string)})
	fmt.Println("viewer updates:", errors.Is(err, storage.ErrForbidden))
	_, err = people.Contacts.Count(ctx, nil)
	fmt.Println("no principal:", errors.Is(err, storage.ErrForbidden))

	// Output:
	// owner is the rep: true
	// the rep sees 1
	// the viewer sees 2
	// rep reads the unowned contact: true
	// viewer updates: true
	// no principal: true
}

// A custom role that hides a contact's email and phones from support agents
// and lets them read, but not change, the lifecycle stage.
func ExampleService_DefineRole() {
	ctx := storage.AsSystem(storage.WithWorkspace(context.Background(), "acme"))
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithModules(contacts.Module()))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	people := contacts.NewService(store, contacts.Options{})
	acc := access.NewService(store)

	all := map[storage.Action]storage.Scope{storage.ActionRead: storage.ScopeAll, storage.ActionUpdate: storage.ScopeAll}
	_, err = acc.DefineRole(ctx, access.NewRole{
		Name:        "support",
		Permissions: storage.Permissions{contacts.ObjectContact: all},
		Fields: storage.FieldRules{contacts.ObjectContact: {
			"email":     storage.FieldHidden,
			"phones":    storage.FieldHidden,
			"lifecycle": storage.FieldReadOnly,
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	agent, _ := acc.CreateMember(ctx, access.NewMember{Name: "Sam", Role: "support"})
	c, _ := people.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com", Lifecycle: contacts.LifecycleCustomer})

	asAgent, _ := acc.As(ctx, agent.ID)
	seen, _ := people.Contacts.Get(asAgent, c.ID)
	fmt.Printf("the agent sees %s, email %q, %s\n", seen.FirstName, seen.Email, seen.Lifecycle)
	hits, _ := people.Search(asAgent, "ada@example.com", 5)
	fmt.Println("searching the email finds", len(hits))
	_, err = people.Contacts.Update(asAgent, c.ID, contacts.UpdateContact{Lifecycle: ptr(contacts.LifecycleLead)})
	fmt.Println("changing the lifecycle:", errors.Is(err, storage.ErrForbidden))
	_, err = people.Contacts.Update(asAgent, c.ID, contacts.UpdateContact{JobTitle: ptr("CTO")})
	fmt.Println("changing the job title:", err)
	stored, _ := people.Contacts.Get(ctx, c.ID)
	fmt.Println("the email is kept:", stored.Email)

	// Output:
	// the agent sees Ada, email "", customer
	// searching the email finds 0
	// changing the lifecycle: true
	// changing the job title: <nil>
	// the email is kept: ada@example.com
}

func ptr[T any](v T) *T { return &v }
