package retention

import (
	"embed"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

//go:embed migrations
var migrationFiles embed.FS

// The record types of this package.
const (
	// ObjectRFM is a customer's RFM record (RFM).
	ObjectRFM = "customer_rfm"
	// ObjectCuts is a workspace's RFM quintile cut points (Cuts).
	ObjectCuts = "rfm_cuts"
	// ObjectChurnModel is a trained churn model (ChurnModel).
	ObjectChurnModel = "churn_model"
)

// ExtensionName is how expressions on contacts name a contact's RFM
// record: "rfm.segment == 'at_risk'", "rfm.r >= 4".
const ExtensionName = "rfm"

// Module describes the retention module to a store: customers' RFM
// records and the workspace's cut points, churn models, and the loyalty
// programs with their ledgers. It requires the contacts and sales modules.
// crm.New registers it.
func Module() storage.Module {
	none := storage.PersonalData{None: true}
	erased := func(fields ...string) storage.PersonalData {
		return storage.PersonalData{ContactField: "contact_id", Fields: fields, Erase: storage.EraseRecord}
	}
	types := []storage.RecordType{
		// A contact's RFM record extends it: filters on contacts name its
		// fields as rfm.<field>.
		storage.Type[*RFM]("crm_ret_rfm", storage.TypeOptions{Personal: erased(),
			Extends: storage.Extension{Type: contacts.ObjectContact, Name: ExtensionName, Field: "contact_id"}}),
		storage.Type[*Cuts]("crm_ret_cuts", storage.TypeOptions{Access: storage.AccessConfig, Personal: none}),
		// A model keeps weights and means, no one's values.
		storage.Type[*ChurnModel]("crm_ret_churn_models", storage.TypeOptions{Access: storage.AccessConfig, Personal: none}),
	}
	return storage.Module{
		Name:       "retention",
		Migrations: storage.MigrationDir(migrationFiles, "migrations"),
		Requires:   []string{"contacts", "sales"},
		Types:      append(types, loyaltyTypes()...),
	}
}

// tables are the retention module's tables in a store.
type tables struct {
	rfm      storage.Table[*RFM]
	cuts     storage.Table[*Cuts]
	models   storage.Table[*ChurnModel]
	orders   storage.Table[*sales.Order]
	deals    storage.Table[*sales.Opportunity]
	contacts storage.Table[*contacts.Contact]
}

func tablesOf(s storage.Tables) tables {
	return tables{
		rfm:      storage.TableOf[*RFM](s),
		cuts:     storage.TableOf[*Cuts](s),
		models:   storage.TableOf[*ChurnModel](s),
		orders:   storage.TableOf[*sales.Order](s),
		deals:    storage.TableOf[*sales.Opportunity](s),
		contacts: storage.TableOf[*contacts.Contact](s),
	}
}
