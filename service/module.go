package service

import (
	"embed"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

//go:embed migrations
var migrationFiles embed.FS

// The record types of this package.
const (
	ObjectCase     = "case"
	ObjectMessage  = "case_message"
	ObjectSettings = "service_settings"
)

// Module describes the service module to a store: cases, their messages
// and each workspace's service settings (its case statuses). It requires
// the contacts module. crm.New registers it.
func Module() storage.Module {
	// A case and its messages are about their contact, and go with them.
	erased := storage.PersonalData{ContactField: "contact_id", Erase: storage.EraseRecord}
	return storage.Module{
		Name:       "service",
		Migrations: storage.MigrationDir(migrationFiles, "migrations"),
		Requires:   []string{"contacts"},
		Types: []storage.RecordType{
			storage.Type[*Case]("crm_cases", storage.TypeOptions{Personal: erased}),
			storage.Type[*Message]("crm_case_messages", storage.TypeOptions{Personal: erased, TimelineAt: "sent_at"}),
			storage.Type[*Settings]("crm_service_settings", storage.TypeOptions{Access: storage.AccessConfig,
				Personal: storage.PersonalData{None: true}}),
		},
	}
}

// tables are the service module's tables in a store.
type tables struct {
	cases    storage.Table[*Case]
	messages storage.Table[*Message]
	settings storage.Table[*Settings]
	contacts storage.Table[*contacts.Contact]
}

func tablesOf(s storage.Tables) tables {
	return tables{
		cases:    storage.TableOf[*Case](s),
		messages: storage.TableOf[*Message](s),
		settings: storage.TableOf[*Settings](s),
		contacts: storage.TableOf[*contacts.Contact](s),
	}
}
