package sales

import (
	"context"
	"maps"

	"github.com/crmkit/crm/storage"
)

// RecordWriters implements storage.RecordWriters: leads, opportunities
// and tasks change through their services (validated as any other
// write); a lead's status goes through Leads.SetStatus and an
// opportunity's stage through Opportunities.MoveStage, so that their
// events and history are the usual ones. Tasks are also created this way
// (the workflow's create_task action).
func (s *Service) RecordWriters() []storage.RecordWriter {
	return []storage.RecordWriter{
		{Type: ObjectLead, Update: func(ctx context.Context, id string, set map[string]any) (storage.Record, error) {
			return s.updateThen(ctx, set, "status", func(ctx context.Context, rest map[string]any) (storage.Record, error) {
				var in UpdateLead
				if err := storage.FillUpdate(&in, &Lead{}, rest); err != nil {
					return nil, err
				}
				return s.Leads.Update(ctx, id, in)
			}, func(ctx context.Context, status any) (storage.Record, error) {
				st, _ := status.(string)
				return s.Leads.SetStatus(ctx, id, LeadStatus(st), "set by a workflow rule")
			})
		}},
		{Type: ObjectOpportunity, Update: func(ctx context.Context, id string, set map[string]any) (storage.Record, error) {
			return s.updateThen(ctx, set, "stage", func(ctx context.Context, rest map[string]any) (storage.Record, error) {
				var in UpdateOpportunity
				if err := storage.FillUpdate(&in, &Opportunity{}, rest); err != nil {
					return nil, err
				}
				return s.Opportunities.Update(ctx, id, in)
			}, func(ctx context.Context, stage any) (storage.Record, error) {
				st, ok := stage.(string)
				if !ok {
					return nil, storage.Invalid("stage", "must be a stage key")
				}
				return s.Opportunities.MoveStage(ctx, id, st, MoveOptions{LostReason: "set by a workflow rule"})
			})
		}},
		{Type: ObjectTask,
			Create: func(ctx context.Context, fields map[string]any) (storage.Record, error) {
				var t Task
				if err := storage.SetFields(&t, fields); err != nil {
					return nil, err
				}
				return s.Tasks.Create(ctx, NewTask{Title: t.Title, Description: t.Description, Due: t.Due, AllDay: t.AllDay,
					Priority: t.Priority, OwnerID: t.OwnerID, TeamID: t.TeamID, ReminderAt: t.ReminderAt, Related: t.Related,
					ProjectID: t.ProjectID})
			},
			Update: func(ctx context.Context, id string, set map[string]any) (storage.Record, error) {
				var in UpdateTask
				if err := storage.FillUpdate(&in, &Task{}, set); err != nil {
					return nil, err
				}
				return s.Tasks.Update(ctx, id, in)
			}},
	}
}

// updateThen changes, in one transaction, the fields of set but key
// through update, then key, when set holds it, through apply: the write
// of a field whose change has its own rules and events (a lead's status,
// a deal's stage). It returns the record as the last write left it.
func (s *Service) updateThen(ctx context.Context, set map[string]any, key string,
	update func(ctx context.Context, rest map[string]any) (storage.Record, error),
	apply func(ctx context.Context, value any) (storage.Record, error)) (storage.Record, error) {
	value, has := set[key]
	rest := maps.Clone(set)
	delete(rest, key)
	var out storage.Record
	err := s.store.RunInTx(ctx, func(ctx context.Context) error {
		var err error
		if len(rest) > 0 || !has {
			if out, err = update(ctx, rest); err != nil {
				return err
			}
		}
		if has {
			out, err = apply(ctx, value)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
