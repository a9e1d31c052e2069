package contacts

import (
	"context"
	"embed"

	"github.com/crmkit/crm/storage"
)

//go:embed migrations
var migrationFiles embed.FS

// Module describes the contacts module to a store: contacts, accounts,
// activities, custom field definitions, consents and duplicate rules.
// crm.New registers it; a program that uses the package without crm
// registers it itself (bunstore.Store.Register) before NewService.
func Module() storage.Module {
	own := storage.PersonalData{Owned: true}
	none := storage.PersonalData{None: true}
	return storage.Module{
		Name:       "contacts",
		Migrations: storage.MigrationDir(migrationFiles, "migrations"),
		Types: []storage.RecordType{
			storage.Type[*Contact]("crm_contacts", storage.TypeOptions{Personal: own}),
			// A company is no person: its record holds no personal data.
			storage.Type[*Account]("crm_accounts", storage.TypeOptions{Personal: none}),
			storage.Type[*Activity]("crm_activities", storage.TypeOptions{Personal: own,
				TimelineAt: "occurred_at", AfterWrite: touchActivity}),
			storage.Type[*FieldDef]("crm_field_defs", storage.TypeOptions{Access: storage.AccessConfig, Personal: none}),
			storage.Type[*Consent]("crm_consents", storage.TypeOptions{Personal: own}),
			storage.Type[*DuplicateRules]("crm_duplicate_rules", storage.TypeOptions{Access: storage.AccessConfig, Personal: none}),
		},
	}
}

// touchActivity keeps the derived LastActivityAt of the contacts and the
// account an activity is about: every write of the activity moves them
// forward to its OccurredAt, in the write's transaction, without a change
// event (the activity's own event records what happened).
func touchActivity(ctx context.Context, s storage.HookStore, _, next storage.Record) error {
	a, ok := next.(*Activity)
	if !ok {
		return nil
	}
	if err := s.Advance(ctx, ObjectContact, a.ContactIDs, "last_activity_at", a.OccurredAt); err != nil {
		return err
	}
	if a.AccountID == "" {
		return nil
	}
	return s.Advance(ctx, ObjectAccount, []string{a.AccountID}, "last_activity_at", a.OccurredAt)
}

// tables are the contacts module's tables in a store.
type tables struct {
	contacts   storage.Table[*Contact]
	accounts   storage.Table[*Account]
	activities storage.Table[*Activity]
	fieldDefs  storage.Table[*FieldDef]
	consents   storage.Table[*Consent]
	dupRules   storage.Table[*DuplicateRules]
}

func tablesOf(s storage.Tables) tables {
	return tables{
		contacts:   storage.TableOf[*Contact](s),
		accounts:   storage.TableOf[*Account](s),
		activities: storage.TableOf[*Activity](s),
		fieldDefs:  storage.TableOf[*FieldDef](s),
		consents:   storage.TableOf[*Consent](s),
		dupRules:   storage.TableOf[*DuplicateRules](s),
	}
}
