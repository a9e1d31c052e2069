// Command objects shows a host application's own record type, a custom
// object, at work in the CRM with no code but its description: a garage's
// vehicles, each driven by a contact. Registered through crm.Config.Modules
// with its own migration line, vehicles get CRUD through the generic path,
// change events, custom fields, search, access scopes, expression filters,
// workflow triggers and conditions, their events in the contact's
// timeline, and the GDPR's access request and erasure.
//
//	go run ./examples/objects
package main

import (
	"context"
	"embed"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
	"github.com/crmkit/crm/workflow"
)

// Vehicle is the garage's own record type: a struct that embeds
// storage.Meta, with bun tags naming its columns.
type Vehicle struct {
	storage.Meta
	VIN       string         `bun:"vin,notnull" json:"vin"`
	Model     string         `bun:"model,notnull" json:"model"`
	Year      int            `bun:"year,notnull" json:"year"`
	Mileage   int64          `bun:"mileage,notnull" json:"mileage"`
	ContactID string         `bun:"contact_id,notnull" json:"contact_id,omitempty"`
	Driver    string         `bun:"driver_name,notnull" json:"driver_name,omitempty"`
	OwnerID   string         `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID    string         `bun:"team_id,notnull" json:"team_id,omitempty"`
	Tags      []string       `bun:"tags" json:"tags,omitempty"`
	Custom    map[string]any `bun:"custom" json:"custom,omitempty"`
}

// RecordType names the type: its events are "vehicle.created", ….
func (*Vehicle) RecordType() string { return "vehicle" }

// SearchTitle and SearchText put vehicles in the full-text index.
func (v *Vehicle) SearchTitle() string { return v.Model + " " + v.VIN }

// SearchText returns what a vehicle is found by.
func (v *Vehicle) SearchText() string {
	return strings.Join(append([]string{v.VIN, v.Model, v.Driver}, v.Tags...), " ")
}

// Links puts the vehicle among its contact's related records.
func (v *Vehicle) Links() []storage.Ref {
	if v.ContactID == "" {
		return nil
	}
	return []storage.Ref{{Type: contacts.ObjectContact, ID: v.ContactID}}
}

// References lets filters name the contact's fields ("contact.lifecycle").
func (*Vehicle) References() []storage.Reference {
	return []storage.Reference{{Name: "contact", Field: "contact_id", Type: contacts.ObjectContact}}
}

//go:embed migrations
var migrations embed.FS

// garage is the module: its name is its migration line.
var garage = storage.Module{
	Name:       "garage",
	Requires:   []string{"contacts"},
	Migrations: storage.MigrationDir(migrations, "migrations"),
	Types: []storage.RecordType{storage.Type[*Vehicle]("garage_vehicles", storage.TypeOptions{
		TimelineEvents: true, // a contact's timeline shows its vehicles' events
		// The driver's name is personal data; erasing the contact deletes
		// the vehicles it drives.
		Personal: storage.PersonalData{ContactField: "contact_id", Fields: []string{"driver_name"}, Erase: storage.EraseRecord},
	})},
}

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "crm-objects-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "crm.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	app, err := crm.New(ctx, store, crm.Config{Modules: []storage.Module{garage}})
	if err != nil {
		return err
	}
	vehicles, err := crm.ObjectsOf[*Vehicle](app)
	if err != nil {
		return err
	}
	ctx = crm.WithActor(crm.WithWorkspace(ctx, "garage"), "gus")

	// A custom field of vehicles, and a rule on them.
	if _, err := app.Fields.Define(ctx, contacts.NewFieldDef{Object: "vehicle", Name: "fuel", Type: contacts.FieldEnum,
		Options: []string{"diesel", "petrol", "electric"}}); err != nil {
		return err
	}
	if err := app.Workflow.Define(ctx, workflow.Rule{Name: "Service due", Enabled: true,
		Trigger:   workflow.Trigger{Kind: workflow.OnEvent, Object: "vehicle", Events: []string{"updated"}},
		Condition: "mileage >= 120000",
		Actions:   []workflow.Action{workflow.CreateTask(workflow.TaskParams{Title: "Book a service for the {{.model}} ({{.vin}})"})}}); err != nil {
		return err
	}

	dora, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Dora", LastName: "Driver", Email: "dora@example.com"})
	if err != nil {
		return err
	}
	van, err := vehicles.Create(ctx, &Vehicle{VIN: "WF0XXXTTGXKA12345", Model: "Transit", Year: 2021, Mileage: 118000,
		ContactID: dora.ID, Driver: "Dora Driver", Custom: map[string]any{"fuel": "diesel"}})
	if err != nil {
		return err
	}
	fmt.Printf("Created vehicle %s, %s %d, version %d\n", van.VIN, van.Model, van.Year, van.Version)
	if _, err := vehicles.Create(ctx, &Vehicle{VIN: "X1", Model: "Van", Custom: map[string]any{"fuel": "hydrogen"}}); err != nil {
		fmt.Println("Refused:", err)
	}

	van, err = vehicles.Update(ctx, van.ID, van.Version, func(v *Vehicle) error { v.Mileage = 121400; return nil })
	if err != nil {
		return err
	}
	page, err := vehicles.Where(ctx, "mileage > 120000 && custom.fuel == 'diesel' && contact.last_name == 'Driver'", crm.ListQuery{})
	if err != nil {
		return err
	}
	fmt.Printf("Diesels past 120,000 km driven by a Driver: %d\n", len(page.Items))
	hits, err := vehicles.Search(ctx, "transit", 5)
	if err != nil {
		return err
	}
	fmt.Printf("Search \"transit\": %d hit(s)\n", len(hits))

	// The rule runs on the update.
	if _, err := app.Workflow.Drain(ctx); err != nil {
		return err
	}
	tasks, err := app.Sales.Tasks.List(ctx, storage.ListQuery{Filter: storage.LinkedTo{Type: "vehicle", ID: van.ID}})
	if err != nil {
		return err
	}
	for _, t := range tasks.Items {
		fmt.Println("Task from the rule:", t.Title)
	}

	hist, err := vehicles.History(ctx, van.ID, crm.PageQuery{})
	if err != nil {
		return err
	}
	for _, ev := range hist.Items {
		fmt.Println("History:", ev.Type)
	}
	tl, err := app.Contacts.Timeline(ctx, dora.ID, crm.PageQuery{})
	if err != nil {
		return err
	}
	n := 0
	for _, e := range tl.Items {
		if e.Event != nil && e.Event.Subject.Type == "vehicle" {
			n++
		}
	}
	fmt.Printf("Dora's timeline shows %d vehicle event(s)\n", n)

	// The GDPR: the access request lists the vehicle; erasure deletes it.
	pd, err := app.PersonalData(ctx, dora.ID)
	if err != nil {
		return err
	}
	fmt.Printf("Dora's personal data lists %d vehicle(s)\n", len(pd.Related["vehicle"].([]*Vehicle)))
	er, err := app.Erase(ctx, dora.ID)
	if err != nil {
		return err
	}
	fmt.Printf("Erased Dora and %d vehicle(s)\n", er.Related["vehicle"])
	return nil
}
