package crm_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"testing/fstest"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
)

// An application opens a store, builds the CRM on it and works with
// accounts, contacts, activities and search.
func Example() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	app, err := crm.New(ctx, store, crm.Config{DefaultPhoneRegion: "GB"})
	if err != nil {
		log.Fatal(err)
	}
	ctx = crm.WithActor(ctx, "alice")

	acme, err := app.Accounts.Create(ctx, contacts.NewAccount{
		Name:   "Analytical Engines Ltd",
		Domain: "https://www.Analytical.example/about",
	})
	if err != nil {
		log.Fatal(err)
	}
	// Emails are stored lower-case, phones in E.164, tags trimmed,
	// lower-cased and without repeats.
	ada, err := app.Contacts.Create(ctx, contacts.NewContact{
		FirstName: "Ada",
		LastName:  "Lovelace",
		Email:     "Ada@Analytical.example",
		Phones:    []contacts.Phone{{Number: "020 7946 0958", Label: "work"}},
		AccountID: acme.ID,
		Tags:      []string{"VIP", " vip", "Math "},
	})
	if err != nil {
		log.Fatal(err)
	}
	call, err := app.Activities.Log(ctx, contacts.NewActivity{
		Kind:       contacts.KindCall,
		Subject:    "Intro call",
		Direction:  contacts.Outbound,
		OccurredAt: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC),
		Duration:   25 * time.Minute,
		ContactIDs: []string{ada.ID},
	})
	if err != nil {
		log.Fatal(err)
	}
	hits, err := app.Search(ctx, "lovel", 10)
	if err != nil {
		log.Fatal(err)
	}

	fmt.Println("account:", acme.Name, acme.Domain)
	fmt.Println("contact:", ada.Name(), ada.Email, ada.Phones[0].Number, ada.Tags, "by", ada.CreatedBy)
	fmt.Println("activity:", call.Kind, call.Subject, call.Duration, "on", call.OccurredAt.Format(time.DateOnly))
	fmt.Println("activity of the contact's account:", call.AccountID == acme.ID)
	for _, h := range hits {
		fmt.Println("search \"lovel\":", h.Ref.Type, h.Title, h.Contact.Email)
	}
	// Output:
	// account: Analytical Engines Ltd analytical.example
	// contact: Ada Lovelace ada@analytical.example +442079460958 [vip math] by alice
	// activity: call Intro call 25m0s on 2026-11-02
	// activity of the contact's account: true
	// search "lovel": contact Ada Lovelace ada@analytical.example
}

// Every CRM call made with the context RunInTx passes commits together, or
// not at all when the function returns an error.
func ExampleCRM_RunInTx() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		log.Fatal(err)
	}

	// Two writes committed together.
	err = app.RunInTx(ctx, func(ctx context.Context) error {
		acme, err := app.Accounts.Create(ctx, contacts.NewAccount{Name: "Acme"})
		if err != nil {
			return err
		}
		_, err = app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@acme.example", AccountID: acme.ID})
		return err
	})
	fmt.Println("first transaction:", err)

	// The second write fails (the email is taken), so the first one is
	// rolled back with it.
	err = app.RunInTx(ctx, func(ctx context.Context) error {
		if _, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Grace", Email: "grace@acme.example"}); err != nil {
			return err
		}
		_, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada again", Email: "ada@acme.example"})
		return err
	})
	fmt.Println("second transaction:", err)
	fmt.Println("conflict:", errors.Is(err, crm.ErrConflict))

	// A call that fails writes nothing and leaves the transaction usable:
	// the function handles the conflict and goes on.
	err = app.RunInTx(ctx, func(ctx context.Context) error {
		c, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@acme.example"})
		var conflict *crm.ConflictError
		if errors.As(err, &conflict) {
			c, err = app.Contacts.Get(ctx, conflict.ExistingID)
		}
		if err != nil {
			return err
		}
		_, err = app.Contacts.AddTags(ctx, c.ID, "returning")
		return err
	})
	fmt.Println("third transaction:", err)

	n, err := app.Contacts.Count(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("contacts:", n)
	// Output:
	// first transaction: <nil>
	// second transaction: conflict: contact email is already in use
	// conflict: true
	// third transaction: <nil>
	// contacts: 1
}

// Changes reads the change feed: every write appends an event, and the
// returned cursor resumes where the last read stopped.
func ExampleCRM_Changes() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	ctx = crm.WithActor(ctx, "alice")

	ada, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com", JobTitle: "Analyst"})
	if err != nil {
		log.Fatal(err)
	}
	title := "Lead Analyst"
	if _, err := app.Contacts.Update(ctx, ada.ID, contacts.UpdateContact{JobTitle: &title}); err != nil {
		log.Fatal(err)
	}

	feed, err := app.Changes(ctx, "", 100)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range feed.Events {
		fmt.Println(e.Type, "by", e.Actor)
	}
	if c, ok := feed.Events[1].Change("job_title"); ok {
		fmt.Printf("job_title: %s -> %s\n", c.Old, c.New)
	}

	// Nothing new after the cursor; the next write shows up there.
	more, err := app.Changes(ctx, feed.Cursor, 100)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("new events:", len(more.Events))
	if err := app.Contacts.Delete(ctx, ada.ID); err != nil {
		log.Fatal(err)
	}
	more, err = app.Changes(ctx, more.Cursor, 100)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range more.Events {
		fmt.Println(e.Type, "of", e.Subject.Type, e.Subject.ID == ada.ID)
	}
	// Output:
	// contact.created by alice
	// contact.updated by alice
	// job_title: "Analyst" -> "Lead Analyst"
	// new events: 0
	// contact.deleted of contact true
}

// Each workspace (tenant) sees only its own records.
func ExampleWithWorkspace() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	acme := crm.WithWorkspace(ctx, "acme")
	globex := crm.WithWorkspace(ctx, "globex")

	ada, err := app.Contacts.Create(acme, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	if err != nil {
		log.Fatal(err)
	}
	for _, ws := range []context.Context{acme, globex} {
		n, err := app.Contacts.Count(ws, nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("contacts:", n)
	}
	_, err = app.Contacts.Get(globex, ada.ID)
	fmt.Println("globex reads acme's contact:", errors.Is(err, crm.ErrNotFound))

	// Emails are unique within a workspace only.
	other, err := app.Contacts.Create(globex, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same email in globex:", other.WorkspaceID)
	// Output:
	// contacts: 1
	// contacts: 0
	// globex reads acme's contact: true
	// same email in globex: globex
}

// Everything the CRM holds about one person, for a GDPR access request.
func ExampleCRM_PersonalData() {
	ctx := crm.WithWorkspace(context.Background(), "acme")
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	ada, _ := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	_, _ = app.Sales.Leads.Capture(ctx, sales.NewLead{FirstName: "Ada", Email: "ada@example.com", AllowDuplicates: true})
	_, _, _ = app.Sales.Orders.Record(ctx, sales.NewOrder{ExternalID: "o-1", ContactID: ada.ID, Currency: "EUR",
		Lines: []sales.OrderLine{{Name: "Tea", Quantity: 1, UnitPrice: 450}}})
	_, _ = app.Consents.Set(ctx, ada.ID, contacts.ConsentChange{Purpose: "newsletter", Granted: true, Source: "web form"})

	pd, err := app.PersonalData(ctx, ada.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pd.Contact.Email, len(pd.Consents), len(pd.History))
	fmt.Println(len(pd.Related[sales.ObjectLead].([]*sales.Lead)), len(pd.Related[sales.ObjectOrder].([]*sales.Order)))
	// Output:
	// ada@example.com 1 2
	// 1 1
}

// Accounts, then leads, come in from CSV exports: headers are mapped
// automatically, rows are matched on the domain (accounts) or the email
// (leads), and bad rows are reported while the good ones load.
func ExampleCRM_ImportLeads() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	app, err := crm.New(ctx, store, crm.Config{DefaultPhoneRegion: "US"})
	if err != nil {
		log.Fatal(err)
	}

	companies := "Company name,Website,Number of Employees,Annual Revenue,Currency\n" +
		"Analytical Engines,https://www.analytical.example/,120,\"2,500,000.00\",GBP\n" +
		"Navy,navy.example,many,,\n"
	rep, err := app.ImportAccounts(ctx, strings.NewReader(companies), contacts.ImportOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("accounts: %d created, %d failed\n", rep.Created, rep.Failed)
	for _, e := range rep.Errors {
		fmt.Printf("  line %d, %s: %s\n", e.Row, e.Column, e.Reason)
	}

	leads := "First Name,Last Name,Email,Company,Lead Score\n" +
		"Ada,Lovelace,ada@analytical.example,Analytical Engines,40\n" +
		"Ada,,ADA@analytical.example,,55\n" +
		"Grace,Hopper,not-an-email,Navy,\n"
	rep, err = app.ImportLeads(ctx, strings.NewReader(leads), contacts.ImportOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("leads: %d created, %d updated, %d failed\n", rep.Created, rep.Updated, rep.Failed)
	for _, e := range rep.Errors {
		fmt.Printf("  line %d, %s: %s\n", e.Row, e.Column, e.Reason)
	}
	page, err := app.Sales.Leads.List(ctx, crm.ListQuery{})
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range page.Items {
		fmt.Println(l.Name(), l.CompanyDomain, l.Score, "version", l.Version)
	}
	// Output:
	// accounts: 1 created, 1 failed
	//   line 3, Number of Employees: "many" is not a whole number
	// leads: 1 created, 1 updated, 1 failed
	//   line 4, Email: "not-an-email" is not a valid email address
	// Ada Lovelace analytical.example 55 version 2
}

// A list filter needs no storage import: crm re-exports the filter tree.
func ExampleEq() {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range []contacts.NewContact{
		{FirstName: "Ada", Lifecycle: contacts.LifecycleCustomer, Tags: []string{"vip"}},
		{FirstName: "Grace", Lifecycle: contacts.LifecycleCustomer},
		{FirstName: "Alan", Lifecycle: contacts.LifecycleLead, Tags: []string{"vip"}},
	} {
		if _, err := app.Contacts.Create(ctx, c); err != nil {
			log.Fatal(err)
		}
	}
	page, err := app.Contacts.List(ctx, crm.ListQuery{
		Filter: crm.And{crm.Eq("lifecycle", "customer"), crm.Or{crm.HasTag("vip"), crm.In("first_name", "Grace", "Linus")}},
		Sort:   []crm.Sort{{Field: "first_name"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range page.Items {
		fmt.Println(c.FirstName)
	}
	// Output:
	// Ada
	// Grace
}

// Ticket is a host application's own record type.
type Ticket struct {
	storage.Meta
	Title     string         `bun:"title,notnull"`
	ContactID string         `bun:"contact_id,notnull"`
	OwnerID   string         `bun:"owner_id,notnull"`
	Custom    map[string]any `bun:"custom"`
}

// RecordType names the type.
func (*Ticket) RecordType() string { return "ticket" }

// A host module adds a record type of its own, with its migrations, and
// gets the generic path, custom fields, expressions and the GDPR for it.
func ExampleObjectsOf() {
	ctx := context.Background()
	table := `CREATE TABLE helpdesk_tickets (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, version INTEGER NOT NULL,
		created_at TEXT NOT NULL, created_by TEXT NOT NULL, updated_at TEXT NOT NULL, updated_by TEXT NOT NULL,
		title TEXT NOT NULL DEFAULT '', contact_id TEXT NOT NULL DEFAULT '', owner_id TEXT NOT NULL DEFAULT '', custom TEXT);`
	helpdesk := storage.Module{
		Name:       "helpdesk",
		Migrations: fstest.MapFS{"sqlite/0001_tickets.sql": {Data: []byte(table)}}, // an embed.FS in a real program
		Types: []storage.RecordType{storage.Type[*Ticket]("helpdesk_tickets", storage.TypeOptions{
			Personal: storage.PersonalData{ContactField: "contact_id", Erase: storage.EraseRecord}})},
	}
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	app, err := crm.New(ctx, store, crm.Config{Modules: []storage.Module{helpdesk}})
	if err != nil {
		log.Fatal(err)
	}
	tickets, err := crm.ObjectsOf[*Ticket](app)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := app.Fields.Define(ctx, contacts.NewFieldDef{Object: "ticket", Name: "urgent", Type: contacts.FieldBool}); err != nil {
		log.Fatal(err)
	}
	ada, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tickets.Create(ctx, &Ticket{Title: "Engine jammed", ContactID: ada.ID, Custom: map[string]any{"urgent": true}}); err != nil {
		log.Fatal(err)
	}
	_, err = tickets.Create(ctx, &Ticket{Title: "Bad", Custom: map[string]any{"urgent": "very"}})
	fmt.Println(errors.Is(err, crm.ErrInvalid))
	urgent, err := tickets.Where(ctx, "custom.urgent && title startsWith 'Engine'", crm.ListQuery{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(urgent.Items), urgent.Items[0].Title)
	er, err := app.Erase(ctx, ada.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(er.Related["ticket"])
	// Output:
	// true
	// 1 Engine jammed
	// 1
}
