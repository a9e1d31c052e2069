package workflow

import (
	"context"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
)

// Object is a record type rules can be about: how the engine reads its
// records, the fields its expressions may name, and how actions create and
// change them. Every record type registered with the store is an object
// without more code (the generic path, Config.Schema, Config.Writers); a
// host replaces one with Engine.RegisterObject.
type Object struct {
	// Type is the record type, such as "contact".
	Type string
	// Schema returns the fields expressions over the object may name, with
	// the workspace's custom fields.
	Schema func(ctx context.Context) (filterexpr.Schema, error)
	// Get reads one record.
	Get func(ctx context.Context, id string) (storage.Record, error)
	// List reads one page of records, for time triggers and schedules.
	List func(ctx context.Context, q storage.ListQuery) ([]storage.Record, string, error)
	// Update changes fields of a record through its module's validation:
	// set maps field names (as in expressions: "lifecycle", "owner_id",
	// "tags", "custom.tier") to new values. Nil means the object's records
	// cannot be changed by actions.
	Update func(ctx context.Context, id string, set map[string]any) (storage.Record, error)
	// Create makes a record from field values by stored name (the
	// create_task action makes tasks with it). Nil means the object's
	// records cannot be made by actions.
	Create func(ctx context.Context, fields map[string]any) (storage.Record, error)
}

// fieldsOf returns the record's fields as expressions and templates read
// them.
func fieldsOf(rec storage.Record) filterexpr.Record {
	if rec == nil {
		return filterexpr.Record{}
	}
	return filterexpr.RecordOf(rec)
}
