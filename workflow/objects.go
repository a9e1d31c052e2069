package workflow

import (
	"context"
	"fmt"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
)

// builtinObjects returns the objects of the contacts and sales modules:
// contacts, accounts, activities, leads, opportunities and tasks.
// Changes go through each module's Update, so actions are validated as any
// other write; a lead's status goes through Leads.SetStatus and an
// opportunity's stage through Opportunities.MoveStage, so their events and
// history are the usual ones.
func builtinObjects(people *contacts.Service, sls *sales.Service) []Object {
	if people == nil {
		return nil
	}
	// Conditions see the record alone (fieldsOf): the fields of related
	// records, which lists compare in SQL, are left out of the schema.
	customSchema := func(object string) func(ctx context.Context) (filterexpr.Schema, error) {
		return func(ctx context.Context) (filterexpr.Schema, error) {
			s, err := people.Schema(ctx, object)
			if err != nil {
				return nil, err
			}
			return s.Own(), nil
		}
	}
	out := []Object{
		ObjectOf(contacts.ObjectContact, people.Contacts.Get, people.Contacts.List, customSchema(contacts.ObjectContact),
			func(ctx context.Context, id string, set map[string]any) (*contacts.Contact, error) {
				var in contacts.UpdateContact
				if err := FillUpdate(&in, &contacts.Contact{}, set); err != nil {
					return nil, err
				}
				return people.Contacts.Update(ctx, id, in)
			}),
		ObjectOf(contacts.ObjectAccount, people.Accounts.Get, people.Accounts.List, customSchema(contacts.ObjectAccount),
			func(ctx context.Context, id string, set map[string]any) (*contacts.Account, error) {
				var in contacts.UpdateAccount
				if err := FillUpdate(&in, &contacts.Account{}, set); err != nil {
					return nil, err
				}
				return people.Accounts.Update(ctx, id, in)
			}),
		ObjectOf(contacts.ObjectActivity, people.Activities.Get, people.Activities.List, nil,
			func(ctx context.Context, id string, set map[string]any) (*contacts.Activity, error) {
				var in contacts.UpdateActivity
				if err := FillUpdate(&in, &contacts.Activity{}, set); err != nil {
					return nil, err
				}
				return people.Activities.Update(ctx, id, in)
			}),
	}
	if sls == nil {
		return out
	}
	return append(out,
		ObjectOf(sales.ObjectLead, sls.Leads.Get, sls.Leads.List, nil,
			func(ctx context.Context, id string, set map[string]any) (*sales.Lead, error) {
				status, hasStatus := set["status"]
				rest := without(set, "status")
				var out *sales.Lead
				var err error
				if len(rest) > 0 {
					var in sales.UpdateLead
					if err := FillUpdate(&in, &sales.Lead{}, rest); err != nil {
						return nil, err
					}
					if out, err = sls.Leads.Update(ctx, id, in); err != nil {
						return nil, err
					}
				}
				if hasStatus {
					s, _ := status.(string)
					out, err = sls.Leads.SetStatus(ctx, id, sales.LeadStatus(s), "set by a workflow rule")
				}
				return out, err
			}),
		ObjectOf(sales.ObjectOpportunity, sls.Opportunities.Get, sls.Opportunities.List, nil,
			func(ctx context.Context, id string, set map[string]any) (*sales.Opportunity, error) {
				stage, hasStage := set["stage"]
				rest := without(set, "stage")
				var out *sales.Opportunity
				var err error
				if len(rest) > 0 {
					var in sales.UpdateOpportunity
					if err := FillUpdate(&in, &sales.Opportunity{}, rest); err != nil {
						return nil, err
					}
					if out, err = sls.Opportunities.Update(ctx, id, in); err != nil {
						return nil, err
					}
				}
				if hasStage {
					s, ok := stage.(string)
					if !ok {
						return nil, storage.Invalid("stage", "must be a stage key")
					}
					out, err = sls.Opportunities.MoveStage(ctx, id, s, sales.MoveOptions{LostReason: "set by a workflow rule"})
				}
				return out, err
			}),
		ObjectOf(sales.ObjectTask, sls.Tasks.Get, sls.Tasks.List, nil,
			func(ctx context.Context, id string, set map[string]any) (*sales.Task, error) {
				var in sales.UpdateTask
				if err := FillUpdate(&in, &sales.Task{}, set); err != nil {
					return nil, err
				}
				return sls.Tasks.Update(ctx, id, in)
			}),
	)
}

// ObjectOf makes an Object of a module's Get, List and update functions
// (update may be nil: records that actions cannot change). A nil schema
// is the record struct's fields (filterexpr.SchemaOf).
func ObjectOf[T storage.Record](typ string,
	get func(ctx context.Context, id string) (T, error),
	list func(ctx context.Context, q storage.ListQuery) (storage.Page[T], error),
	schema func(ctx context.Context) (filterexpr.Schema, error),
	update func(ctx context.Context, id string, set map[string]any) (T, error)) Object {
	if schema == nil {
		var zero T
		s := filterexpr.SchemaOf(zero, nil)
		schema = func(context.Context) (filterexpr.Schema, error) { return s, nil }
	}
	o := Object{
		Type:   typ,
		Schema: schema,
		Get: func(ctx context.Context, id string) (storage.Record, error) {
			r, err := get(ctx, id)
			if err != nil {
				return nil, err
			}
			return r, nil
		},
		List: func(ctx context.Context, q storage.ListQuery) ([]storage.Record, string, error) {
			page, err := list(ctx, q)
			if err != nil {
				return nil, "", err
			}
			out := make([]storage.Record, len(page.Items))
			for i, r := range page.Items {
				out[i] = r
			}
			return out, page.Next, nil
		},
	}
	if update != nil {
		o.Update = func(ctx context.Context, id string, set map[string]any) (storage.Record, error) {
			r, err := update(ctx, id, set)
			if err != nil {
				return nil, err
			}
			return r, nil
		}
	}
	return o
}

// without returns m without key.
func without(m map[string]any, key string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// update changes fields of the record ref through its object.
func (e *Engine) update(ctx context.Context, ref storage.Ref, set map[string]any) (storage.Record, error) {
	obj, err := e.object(ref.Type)
	if err != nil {
		return nil, err
	}
	if obj.Update == nil {
		return nil, Permanent(fmt.Errorf("workflow: %s records cannot be changed by actions", ref.Type))
	}
	return obj.Update(ctx, ref.ID, set)
}
