package access

import (
	"embed"

	"github.com/crmkit/crm/storage"
)

//go:embed migrations
var migrationFiles embed.FS

// Module describes the access module to a store: members, teams, roles and
// shares. The store's access checks read its tables, so a store registers
// it itself when it opens (bunstore.New), before any other module.
func Module() storage.Module {
	// Members are the host application's users, not the people the CRM
	// is about: their names and emails are the host's to erase.
	none := storage.TypeOptions{Personal: storage.PersonalData{None: true}}
	return storage.Module{
		Name:       "access",
		Migrations: storage.MigrationDir(migrationFiles, "migrations"),
		Types: []storage.RecordType{
			storage.Type[*Member]("crm_members", none),
			storage.Type[*Team]("crm_teams", none),
			storage.Type[*Role]("crm_roles", none),
			storage.Type[*Share]("crm_shares", none),
		},
	}
}
