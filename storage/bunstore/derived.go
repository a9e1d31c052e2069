package bunstore

import (
	"context"

	"github.com/crmkit/crm/contacts"
)

// touchActivity keeps the derived last_activity_at of the contacts and
// the account an activity is about: every write of the activity moves them
// forward to its occurred_at, in the write's transaction, without a change
// event (the activity's own event is the record of what happened).
func (s *Store) touchActivity(ctx context.Context, a *contacts.Activity) error {
	at := s.d.timeArg(a.OccurredAt)
	ws := a.WorkspaceID
	if len(a.ContactIDs) > 0 {
		args := append([]any{at, ws}, anys(a.ContactIDs)...)
		args = append(args, at)
		if _, err := s.exec(ctx, s.d.rebind("UPDATE crm_contacts SET last_activity_at = ? WHERE workspace_id = ? AND id IN ("+
			placeholders(len(a.ContactIDs))+") AND last_activity_at < ?"), args...); err != nil {
			return err
		}
	}
	if a.AccountID != "" {
		if _, err := s.exec(ctx, s.d.rebind("UPDATE crm_accounts SET last_activity_at = ? WHERE workspace_id = ? AND id = ? AND last_activity_at < ?"),
			at, ws, a.AccountID, at); err != nil {
			return err
		}
	}
	return nil
}
