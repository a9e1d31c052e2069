package sales

import (
	"embed"

	"github.com/crmkit/crm/storage"
)

//go:embed migrations
var migrationFiles embed.FS

// Module describes the sales module to a store: leads, pipelines,
// opportunities, forecast snapshots, the catalogue (products, price books,
// prices), quotes, invoices, tasks, projects and orders. It requires the
// contacts module. crm.New registers it.
func Module() storage.Module {
	none := storage.PersonalData{None: true}
	// Deals, quotes, invoices and orders name their contact by ID; an
	// erasure keeps them (the books keep the figures) and the ID then
	// names no one.
	refers := storage.PersonalData{ContactField: "contact_id"}
	config := storage.TypeOptions{Access: storage.AccessConfig, Personal: none}
	return storage.Module{
		Name:       "sales",
		Migrations: storage.MigrationDir(migrationFiles, "migrations"),
		Requires:   []string{"contacts"},
		Types: []storage.RecordType{
			storage.Type[*Lead]("crm_leads", storage.TypeOptions{Personal: storage.PersonalData{Owned: true}}),
			storage.Type[*Pipeline]("crm_pipelines", config),
			storage.Type[*Opportunity]("crm_opportunities", storage.TypeOptions{Personal: refers,
				// The pipeline summary (Forecasts.Summary): count, amount
				// and expected revenue per pipeline, stage and currency.
				Rollups: []storage.Rollup{{Name: rollupPipeline, Keys: []string{"pipeline_id", "stage", "currency"},
					Sums: []string{"amount", "expected_revenue"}}}}),
			storage.Type[*Snapshot]("crm_forecast_snapshots", storage.TypeOptions{Personal: none}),
			storage.Type[*Product]("crm_products", config),
			storage.Type[*PriceBook]("crm_price_books", config),
			storage.Type[*PriceEntry]("crm_price_entries", config),
			storage.Type[*Quote]("crm_quotes", storage.TypeOptions{Personal: refers}),
			storage.Type[*Invoice]("crm_invoices", storage.TypeOptions{Personal: refers}),
			// A task names the records it is about (Related), not a person.
			storage.Type[*Task]("crm_tasks", storage.TypeOptions{Personal: none}),
			storage.Type[*Project]("crm_projects", storage.TypeOptions{Personal: none}),
			storage.Type[*Order]("crm_orders", storage.TypeOptions{Personal: refers, TimelineEvents: true}),
			storage.Type[*Quota]("crm_quotas", storage.TypeOptions{Personal: none}),
		},
	}
}

// rollupPipeline is the name of the opportunities' rollup.
const rollupPipeline = "pipeline"

// tables are the sales module's tables in a store.
type tables struct {
	leads     storage.Table[*Lead]
	pipelines storage.Table[*Pipeline]
	opps      storage.Table[*Opportunity]
	snapshots storage.Table[*Snapshot]
	products  storage.Table[*Product]
	books     storage.Table[*PriceBook]
	prices    storage.Table[*PriceEntry]
	quotes    storage.Table[*Quote]
	invoices  storage.Table[*Invoice]
	tasks     storage.Table[*Task]
	projects  storage.Table[*Project]
	orders    storage.Table[*Order]
	quotas    storage.Table[*Quota]
}

func tablesOf(s storage.Tables) tables {
	return tables{
		leads:     storage.TableOf[*Lead](s),
		pipelines: storage.TableOf[*Pipeline](s),
		opps:      storage.TableOf[*Opportunity](s),
		snapshots: storage.TableOf[*Snapshot](s),
		products:  storage.TableOf[*Product](s),
		books:     storage.TableOf[*PriceBook](s),
		prices:    storage.TableOf[*PriceEntry](s),
		quotes:    storage.TableOf[*Quote](s),
		invoices:  storage.TableOf[*Invoice](s),
		tasks:     storage.TableOf[*Task](s),
		projects:  storage.TableOf[*Project](s),
		orders:    storage.TableOf[*Order](s),
		quotas:    storage.TableOf[*Quota](s),
	}
}
