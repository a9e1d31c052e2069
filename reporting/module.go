package reporting

import (
	"embed"

	"github.com/crmkit/crm/storage"
)

//go:embed migrations
var migrationFiles embed.FS

// Module describes the reporting module to a store: saved reports and
// dashboards. It
// requires the contacts module, whose expression schemas its filters
// compile against. crm.New registers it.
func Module() storage.Module {
	return storage.Module{
		Name:       "reporting",
		Migrations: storage.MigrationDir(migrationFiles, "migrations"),
		Requires:   []string{"contacts"},
		Types: []storage.RecordType{
			// A report is owned by the member who made it; it holds no
			// personal data (its filters name fields, not people).
			storage.Type[*Report]("crm_reports", storage.TypeOptions{Personal: storage.PersonalData{None: true}}),
			storage.Type[*Dashboard]("crm_dashboards", storage.TypeOptions{Personal: storage.PersonalData{None: true}}),
		},
	}
}

// tables are the reporting module's tables in a store.
type tables struct {
	reports    storage.Table[*Report]
	dashboards storage.Table[*Dashboard]
}

func tablesOf(s storage.Tables) tables {
	return tables{reports: storage.TableOf[*Report](s), dashboards: storage.TableOf[*Dashboard](s)}
}
