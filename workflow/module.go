package workflow

import (
	"embed"

	"github.com/crmkit/crm/storage"
)

//go:embed migrations
var migrationFiles embed.FS

// Module describes the workflow module to a store: its stored rules. (The
// durable queue's tables are the store's own.) crm.New registers it.
func Module() storage.Module {
	return storage.Module{
		Name:       "workflow",
		Migrations: storage.MigrationDir(migrationFiles, "migrations"),
		Types: []storage.RecordType{
			// Rules are configuration: admins write them, every role reads.
			storage.Type[*Rule]("crm_workflow_rules", storage.TypeOptions{Access: storage.AccessConfig,
				Personal: storage.PersonalData{None: true}}),
		},
	}
}
