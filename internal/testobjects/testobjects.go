// Package testobjects is a host module for the tests: a record type
// defined outside the CRM's own packages, as an application defines its
// custom objects, which the conformance suite (storage/storagetest) drives
// through every feature a registered type gets without code of its own.
// internal/testdb prepares its tables in every test database, so that
// stores under row-level security have them too.
package testobjects

import (
	"embed"
	"strings"

	"github.com/crmkit/crm/storage"
)

// ObjectVehicle is the record type of Vehicle.
const ObjectVehicle = "vehicle"

// Vehicle is a vehicle a contact drives: a custom object of a fleet
// service's CRM.
type Vehicle struct {
	storage.Meta
	VIN     string `bun:"vin,notnull" json:"vin"`
	Model   string `bun:"model,notnull" json:"model"`
	Year    int    `bun:"year,notnull" json:"year,omitempty"`
	Mileage int64  `bun:"mileage,notnull" json:"mileage,omitempty"`
	// ContactID is the contact who drives it; DriverName is personal data
	// kept beside it.
	ContactID  string         `bun:"contact_id,notnull" json:"contact_id,omitempty"`
	DriverName string         `bun:"driver_name,notnull" json:"driver_name,omitempty"`
	OwnerID    string         `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID     string         `bun:"team_id,notnull" json:"team_id,omitempty"`
	Tags       []string       `bun:"tags" json:"tags,omitempty"`
	Custom     map[string]any `bun:"custom" json:"custom,omitempty"`
}

// RecordType returns "vehicle".
func (*Vehicle) RecordType() string { return ObjectVehicle }

// SearchTitle returns the model and the VIN.
func (v *Vehicle) SearchTitle() string { return v.Model + " " + v.VIN }

// SearchText returns the VIN, the model, the driver and the tags.
func (v *Vehicle) SearchText() string {
	return strings.Join(append([]string{v.VIN, v.Model, v.DriverName}, v.Tags...), " ")
}

// Links returns the contact, so that the vehicle is among its related
// records and its events show in the contact's timeline.
func (v *Vehicle) Links() []storage.Ref {
	if v.ContactID == "" {
		return nil
	}
	return []storage.Ref{{Type: "contact", ID: v.ContactID}}
}

// References lets filters compare the contact's fields ("contact.lifecycle").
func (*Vehicle) References() []storage.Reference {
	return []storage.Reference{{Name: "contact", Field: "contact_id", Type: "contact"}}
}

//go:embed migrations
var migrationFiles embed.FS

// Module describes the test's module: vehicles, in table fleet_vehicles,
// whose events show in their contact's timeline and which an erasure of
// the contact deletes.
func Module() storage.Module {
	return storage.Module{
		Name:       "fleet",
		Requires:   []string{"contacts"},
		Migrations: storage.MigrationDir(migrationFiles, "migrations"),
		Types: []storage.RecordType{
			storage.Type[*Vehicle]("fleet_vehicles", storage.TypeOptions{
				TimelineEvents: true,
				Personal: storage.PersonalData{ContactField: "contact_id", Fields: []string{"driver_name"},
					Erase: storage.EraseRecord},
			}),
		},
	}
}
