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
			status, hasStatus := set["status"]
			rest := without(set, "status")
			var out *Lead
			var err error
			if len(rest) > 0 || !hasStatus {
				var in UpdateLead
				if err := storage.FillUpdate(&in, &Lead{}, rest); err != nil {
					return nil, err
				}
				if out, err = s.Leads.Update(ctx, id, in); err != nil {
					return nil, err
				}
			}
			if hasStatus {
				st, _ := status.(string)
				out, err = s.Leads.SetStatus(ctx, id, LeadStatus(st), "set by a workflow rule")
			}
			return out, err
		}},
		{Type: ObjectOpportunity, Update: func(ctx context.Context, id string, set map[string]any) (storage.Record, error) {
			stage, hasStage := set["stage"]
			rest := without(set, "stage")
			var out *Opportunity
			var err error
			if len(rest) > 0 || !hasStage {
				var in UpdateOpportunity
				if err := storage.FillUpdate(&in, &Opportunity{}, rest); err != nil {
					return nil, err
				}
				if out, err = s.Opportunities.Update(ctx, id, in); err != nil {
					return nil, err
				}
			}
			if hasStage {
				st, ok := stage.(string)
				if !ok {
					return nil, storage.Invalid("stage", "must be a stage key")
				}
				out, err = s.Opportunities.MoveStage(ctx, id, st, MoveOptions{LostReason: "set by a workflow rule"})
			}
			return out, err
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

// without returns m without key.
func without(m map[string]any, key string) map[string]any {
	out := maps.Clone(m)
	delete(out, key)
	return out
}
