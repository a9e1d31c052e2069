package contacts

import (
	"context"

	"github.com/crmkit/crm/storage"
)

// RecordWriters implements storage.RecordWriters: contacts, accounts and
// activities change through Update (validated as any other write), so
// that workflow actions and other generic callers keep the module's rules.
func (s *Service) RecordWriters() []storage.RecordWriter {
	return []storage.RecordWriter{
		{Type: ObjectContact, Update: func(ctx context.Context, id string, set map[string]any) (storage.Record, error) {
			var in UpdateContact
			if err := storage.FillUpdate(&in, &Contact{}, set); err != nil {
				return nil, err
			}
			return s.Contacts.Update(ctx, id, in)
		}},
		{Type: ObjectAccount, Update: func(ctx context.Context, id string, set map[string]any) (storage.Record, error) {
			var in UpdateAccount
			if err := storage.FillUpdate(&in, &Account{}, set); err != nil {
				return nil, err
			}
			return s.Accounts.Update(ctx, id, in)
		}},
		{Type: ObjectActivity, Update: func(ctx context.Context, id string, set map[string]any) (storage.Record, error) {
			var in UpdateActivity
			if err := storage.FillUpdate(&in, &Activity{}, set); err != nil {
				return nil, err
			}
			return s.Activities.Update(ctx, id, in)
		}},
	}
}
