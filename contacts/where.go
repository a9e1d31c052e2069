package contacts

import (
	"context"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
)

// Schema returns the fields a filter expression on object (ObjectContact
// or ObjectAccount) may name: the built-in fields and the workspace's
// custom fields, typed. Date custom fields are text ("2026-01-31", which
// orders as dates); multi-choice fields are left out.
func (s *Service) Schema(ctx context.Context, object string) (filterexpr.Schema, error) {
	defs, err := s.Fields.List(ctx, object)
	if err != nil {
		return nil, err
	}
	custom := map[string]filterexpr.Type{}
	for _, d := range defs {
		switch d.Type {
		case FieldText, FieldEnum, FieldDate:
			custom[d.Name] = filterexpr.Text
		case FieldNumber:
			custom[d.Name] = filterexpr.Number
		case FieldBool:
			custom[d.Name] = filterexpr.Bool
		}
	}
	var rec any = &Contact{}
	if object == ObjectAccount {
		rec = &Account{}
	}
	return filterexpr.SchemaOf(rec, custom), nil
}

// where compiles src against object's schema and adds it to q's filter.
func (s *Service) where(ctx context.Context, object, src string, q storage.ListQuery) (storage.ListQuery, error) {
	schema, err := s.Schema(ctx, object)
	if err != nil {
		return q, err
	}
	e, err := filterexpr.Compile(src, schema)
	if err != nil {
		return q, err
	}
	f := e.Filter(storage.Now())
	if q.Filter != nil {
		f = storage.And{q.Filter, f}
	}
	q.Filter = f
	return q, nil
}

// Where returns one page of the contacts matching the expression src
// (see package filterexpr), such as
// "lifecycle == 'customer' && 'vip' in tags && created_at > daysAgo(30)",
// on top of q's own filter. A bad expression is ErrInvalid with its
// position.
func (cs *Contacts) Where(ctx context.Context, src string, q storage.ListQuery) (storage.Page[*Contact], error) {
	q, err := cs.s.where(ctx, ObjectContact, src, q)
	if err != nil {
		return storage.Page[*Contact]{}, err
	}
	return cs.List(ctx, q)
}

// Where returns one page of the accounts matching the expression src, as
// Contacts.Where does.
func (as *Accounts) Where(ctx context.Context, src string, q storage.ListQuery) (storage.Page[*Account], error) {
	q, err := as.s.where(ctx, ObjectAccount, src, q)
	if err != nil {
		return storage.Page[*Account]{}, err
	}
	return as.List(ctx, q)
}
