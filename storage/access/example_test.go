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
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithPrincipalRequired())
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
