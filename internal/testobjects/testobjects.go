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

// The record types of the module.
const (
	// ObjectVehicle is the record type of Vehicle.
	ObjectVehicle = "vehicle"
	// ObjectDriverProfile is the record type of DriverProfile.
	ObjectDriverProfile = "driver_profile"
)

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

// DriverProfile is what the fleet service knows of a contact as a
// driver: at most one per contact, extending contacts
// (storage.TypeOptions.Extends), so that filters on contacts compare its
// fields as "driver.<field>" ("driver.license_class == 'C'") without the
// contacts module knowing this one.
type DriverProfile struct {
	storage.Meta
	// ContactID is the contact the profile extends (unique in the
	// workspace).
	ContactID    string         `bun:"contact_id,notnull" json:"contact_id"`
	LicenseClass string         `bun:"license_class,notnull" json:"license_class,omitempty"`
	Points       int64          `bun:"points,notnull" json:"points,omitempty"`
	Certified    bool           `bun:"certified,notnull" json:"certified,omitempty"`
	OwnerID      string         `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID       string         `bun:"team_id,notnull" json:"team_id,omitempty"`
	Custom       map[string]any `bun:"custom" json:"custom,omitempty"`
}

// RecordType returns "driver_profile".
func (*DriverProfile) RecordType() string { return ObjectDriverProfile }

// DriverExtension is how driver profiles extend contacts: filters on
// contacts name a contact's profile "driver".
var DriverExtension = storage.Extension{Type: "contact", Name: "driver", Field: "contact_id"}

//go:embed migrations
var migrationFiles embed.FS

// Module describes the test's module: vehicles, in table fleet_vehicles,
// whose events show in their contact's timeline and which an erasure of
// the contact deletes; and driver profiles, in table
// fleet_driver_profiles, which extend contacts (DriverExtension) and which
// an erasure of the contact deletes too.
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
			storage.Type[*DriverProfile]("fleet_driver_profiles", storage.TypeOptions{
				Extends:  DriverExtension,
				Personal: storage.PersonalData{ContactField: "contact_id", Erase: storage.EraseRecord},
			}),
		},
	}
}
