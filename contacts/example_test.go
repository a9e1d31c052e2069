package contacts_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
)

// Create normalises what it stores, and refuses bad input with a
// *storage.ValidationError that lists every bad field at once.
func ExampleContacts_Create() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithModules(contacts.Module()))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	svc := contacts.NewService(store, contacts.Options{DefaultRegion: "US"})

	c, err := svc.Contacts.Create(ctx, contacts.NewContact{
		FirstName: " Grace ",
		LastName:  "Hopper",
		Email:     "Grace.Hopper@Navy.example",
		Phones:    []contacts.Phone{{Number: "(650) 253-0000", Label: "office"}},
		Lifecycle: contacts.LifecycleLead,
		Tags:      []string{"Navy", "COBOL", "navy"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q %s %s %s %v version %d\n", c.Name(), c.Email, c.Phones[0].Number, c.Lifecycle, c.Tags, c.Version)

	_, err = svc.Contacts.Create(ctx, contacts.NewContact{
		FirstName: "Ghost",
		Email:     "ghost@",
		Phones:    []contacts.Phone{{Number: "+1 650 253 0000"}, {Number: "not a number"}},
		Lifecycle: "friend",
		Addresses: []contacts.Address{{City: "Paris", Country: "France"}},
	})
	fmt.Println("invalid:", errors.Is(err, storage.ErrInvalid))
	var verr *storage.ValidationError
	if errors.As(err, &verr) {
		for _, f := range verr.Fields {
			fmt.Println(" ", f.Field)
		}
	}

	_, err = svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "Grace", Email: "grace.hopper@navy.example"})
	var cerr *storage.ConflictError
	if errors.As(err, &cerr) {
		fmt.Println("conflict on", cerr.RecordType, cerr.Field)
	}
	// Output:
	// "Grace Hopper" grace.hopper@navy.example +16502530000 lead [navy cobol] version 1
	// invalid: true
	//   email
	//   phones[1].number
	//   addresses[0].country
	//   lifecycle
	// conflict on contact email
}

// Upsert creates a contact or updates the one with the key: what a host's
// customer sync calls, by email or by its own customer number.
func ExampleContacts_Upsert() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithModules(contacts.Module()))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	svc := contacts.NewService(store, contacts.Options{})

	c, created, err := svc.Contacts.Upsert(ctx, "email", contacts.NewContact{FirstName: "Ada", Email: "ada@example.com", Tags: []string{"newsletter"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Name(), "created:", created)
	c, created, err = svc.Contacts.Upsert(ctx, "email", contacts.NewContact{LastName: "Lovelace", Email: " ADA@example.com", Tags: []string{"customer"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Name(), "created:", created, c.Tags)

	// By the host's own ID, in a custom field.
	_, err = svc.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "customer_no", Label: "Customer no.", Type: contacts.FieldText})
	if err != nil {
		log.Fatal(err)
	}
	for _, first := range []string{"Grace", "Grace B."} {
		c, created, err = svc.Contacts.Upsert(ctx, "custom.customer_no", contacts.NewContact{FirstName: first, LastName: "Hopper",
			Custom: map[string]any{"customer_no": "C-1906"}})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(c.Name(), "created:", created)
	}
	// Output:
	// Ada created: true
	// Ada Lovelace created: false [newsletter customer]
	// Grace Hopper created: true
	// Grace B. Hopper created: false
}

// Custom fields are defined per record type; their values are checked on
// every write and can be filtered on as "custom.<name>".
func ExampleFields_Define() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithModules(contacts.Module()))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	svc := contacts.NewService(store, contacts.Options{})

	tier, err := svc.Fields.Define(ctx, contacts.NewFieldDef{
		Object:  contacts.ObjectContact,
		Name:    "tier",
		Label:   "Customer tier",
		Type:    contacts.FieldEnum,
		Options: []string{"gold", "silver", "bronze"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tier.Label, tier.Type, tier.Options)

	for _, in := range []contacts.NewContact{
		{FirstName: "Ada", Custom: map[string]any{"tier": "gold"}},
		{FirstName: "Grace", Custom: map[string]any{"tier": "silver"}},
		{FirstName: "Linus", Custom: map[string]any{"tier": "gold"}},
		{FirstName: "Edsger"},
	} {
		if _, err := svc.Contacts.Create(ctx, in); err != nil {
			log.Fatal(err)
		}
	}

	// A value that is not an option, and a field that is not defined.
	_, err = svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ghost",
		Custom: map[string]any{"tier": "platinum", "shoe_size": 42}})
	var verr *storage.ValidationError
	if errors.As(err, &verr) {
		for _, f := range verr.Fields {
			fmt.Printf("%s: %s\n", f.Field, f.Reason)
		}
	}

	page, err := svc.Contacts.List(ctx, storage.ListQuery{
		Filter: storage.Eq("custom.tier", "gold"),
		Sort:   []storage.Sort{{Field: "first_name"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range page.Items {
		fmt.Println("gold:", c.FirstName, c.Custom["tier"])
	}
	// Output:
	// Customer tier enum [gold silver bronze]
	// custom.shoe_size: is not a defined contact field
	// custom.tier: "platinum" is not one of the options
	// gold: Ada gold
	// gold: Linus gold
}

// List filters, sorts and pages contacts; Next is the cursor of the
// following page, "" on the last one.
func ExampleContacts_List() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithModules(contacts.Module()))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	svc := contacts.NewService(store, contacts.Options{})

	for _, in := range []contacts.NewContact{
		{FirstName: "Ada", LastName: "Lovelace", Lifecycle: contacts.LifecycleCustomer, Tags: []string{"vip"}},
		{FirstName: "Charles", LastName: "Babbage", Lifecycle: contacts.LifecycleLead},
		{FirstName: "Grace", LastName: "Hopper", Lifecycle: contacts.LifecycleCustomer},
		{FirstName: "Alan", LastName: "Turing", Lifecycle: contacts.LifecycleCustomer, Tags: []string{"vip"}},
		{FirstName: "Edsger", LastName: "Dijkstra", Lifecycle: contacts.LifecycleCustomer},
		{FirstName: "Barbara", LastName: "Liskov", Lifecycle: contacts.LifecycleCustomer},
	} {
		if _, err := svc.Contacts.Create(ctx, in); err != nil {
			log.Fatal(err)
		}
	}

	q := storage.ListQuery{
		// Customers, or anyone tagged vip, but not Turing.
		Filter: storage.And{
			storage.Or{storage.Eq("lifecycle", string(contacts.LifecycleCustomer)), storage.HasTag("vip")},
			storage.Not{Filter: storage.Eq("last_name", "Turing")},
		},
		Sort:      []storage.Sort{{Field: "last_name", Desc: true}},
		PageQuery: storage.PageQuery{Limit: 2},
	}
	var first string
	for n := 1; ; n++ {
		page, err := svc.Contacts.List(ctx, q)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("page %d:", n)
		for _, c := range page.Items {
			fmt.Print(" ", c.LastName)
		}
		fmt.Println()
		if page.Next == "" {
			break
		}
		if first == "" {
			first = page.Next
		}
		q.Cursor = page.Next
	}

	// A cursor belongs to the query that made it.
	q.Sort[0].Desc = false
	q.Cursor = first
	_, err = svc.Contacts.List(ctx, q)
	fmt.Println(err)
	// Output:
	// page 1: Lovelace Liskov
	// page 2: Hopper Dijkstra
	// invalid input: cursor: belongs to another query
}

func ExampleNormalizePhone() {
	for _, in := range []struct{ number, region string }{
		{"+44 20 7946 0958", ""},
		{"020 7946 0958", "GB"},
		{"(650) 253-0000", "US"},
		{"020 7946 0958", ""},
		{"12345", "US"},
	} {
		e164, err := contacts.NormalizePhone(in.number, in.region)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(e164)
	}
	// Output:
	// +442079460958
	// +442079460958
	// +16502530000
	// error: "020 7946 0958" has no country code (start it with +, or set a default region)
	// error: "12345" is not a valid phone number
}

func ExampleNormalizeEmail() {
	for _, in := range []string{
		"  Ada.Lovelace@Example.COM ",
		"Ada Lovelace <ada@example.com>",
		"ada@localhost",
	} {
		email, err := contacts.NormalizeEmail(in)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(email)
	}
	// Output:
	// ada.lovelace@example.com
	// error: "Ada Lovelace <ada@example.com>" is not a valid email address
	// error: "ada@localhost" is not a valid email address
}

// Merge folds a duplicate into the contact that stays, moving what refers
// to it, and UndoMerge puts everything back from the merge event.
func ExampleContacts_Merge() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithModules(contacts.Module()))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	svc := contacts.NewService(store, contacts.Options{})

	ada, _ := svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Tags: []string{"vip"}})
	dup, _ := svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", LastName: "King", Email: "countess@example.org",
		JobTitle: "Countess", Tags: []string{"newsletter"}})
	call, _ := svc.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindCall, Subject: "Engines", ContactIDs: []string{dup.ID}})

	res, err := svc.Contacts.Merge(ctx, contacts.MergeRequest{
		SurvivorID: ada.ID, LoserID: dup.ID,
		Rule:   contacts.RuleNonEmpty,                                     // empty fields take the duplicate's value
		Choose: map[string]contacts.Side{"last_name": contacts.FromLoser}, // and this one comes from it
	})
	if err != nil {
		log.Fatal(err)
	}
	s := res.Survivor
	fmt.Println(s.Name(), "|", s.Email, s.Emails[0].Address, "|", s.JobTitle, s.Tags)
	moved, _ := svc.Activities.Get(ctx, call.ID)
	fmt.Println("call now on the survivor:", moved.ContactIDs[0] == ada.ID, "| moved records:", len(res.Moved))
	_, err = svc.Contacts.Get(ctx, dup.ID)
	fmt.Println("duplicate gone:", errors.Is(err, storage.ErrNotFound))

	undo, err := svc.Contacts.UndoMerge(ctx, res.EventID)
	if err != nil {
		log.Fatal(err)
	}
	back, _ := svc.Activities.Get(ctx, call.ID)
	fmt.Println(undo.Survivor.Name(), undo.Survivor.Tags, "|", undo.Loser.Name(), undo.Loser.ID == dup.ID, "| call back:", back.ContactIDs[0] == dup.ID)
	// Output:
	// Ada King | ada@example.com countess@example.org | Countess [vip newsletter]
	// call now on the survivor: true | moved records: 1
	// duplicate gone: true
	// Ada Lovelace [vip] | Ada King true | call back: true
}

// A workspace's duplicate rules decide what counts as a likely duplicate,
// for the scan and for the check before a create alike.
func ExampleContacts_SetDuplicateRules() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithModules(contacts.Module()))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	svc := contacts.NewService(store, contacts.Options{})

	for _, in := range []contacts.NewContact{
		{FirstName: "Beatrix", LastName: "Potter", Email: "beatrix@hilltop.example"},
		{FirstName: "Beatrice", LastName: "Potter", Email: "bea@hilltop.example"},
	} {
		if _, err := svc.Contacts.Create(ctx, in); err != nil {
			log.Fatal(err)
		}
	}
	rules, _ := svc.Contacts.DuplicateRules(ctx)
	fmt.Printf("defaults: email %v, phone %v, fuzzy %v at %.2f within %s\n", rules.Email, rules.Phone, rules.Fuzzy, rules.Threshold, rules.Scope)
	pairs, _ := svc.FindDuplicates(ctx, contacts.DuplicateOptions{})
	fmt.Printf("%d pair by %s, score %.2f\n", len(pairs), pairs[0].Rule, pairs[0].Score)

	// Names must be alike within an account now; these two have none.
	rules, err = svc.Contacts.SetDuplicateRules(ctx, contacts.UpdateDuplicateRules{Scope: ptr(contacts.ScopeAccount)})
	if err != nil {
		log.Fatal(err)
	}
	pairs, _ = svc.FindDuplicates(ctx, contacts.DuplicateOptions{})
	fmt.Printf("version %d: %d pairs\n", rules.Version, len(pairs))

	_, err = svc.Contacts.SetDuplicateRules(ctx, contacts.UpdateDuplicateRules{Threshold: ptr(1.5), KeyField: ptr("erp_id")})
	var verr *storage.ValidationError
	if errors.As(err, &verr) {
		for _, f := range verr.Fields {
			fmt.Println("invalid:", f.Field)
		}
	}
	// Output:
	// defaults: email true, phone true, fuzzy true at 0.90 within either
	// 1 pair by name+domain, score 0.92
	// version 1: 0 pairs
	// invalid: threshold
	// invalid: key_field
}

func ptr[T any](v T) *T { return &v }
