package contacts

import (
	"context"
	"errors"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
)

// Schema returns the fields a filter expression on object (any record
// type registered with the store: a contact, an account, a deal, a host's
// own) may name: the built-in fields and the workspace's
// custom fields, typed, and those of the records it refers to under their
// names (storage.Referrer: a contact's "account.industry",
// "account.custom.tier"). Date custom fields are text ("2026-01-31", which
// orders as dates); multi-choice fields are left out. Lists compare
// related fields in SQL; an in-memory evaluation needs the related records
// in its filterexpr.Record (Contacts.ExprRecord).
func (s *Service) Schema(ctx context.Context, object string) (filterexpr.Schema, error) {
	schema, err := s.ownSchema(ctx, object)
	if err != nil {
		return nil, err
	}
	zero, err := s.objectRecord(object)
	if err != nil {
		return nil, err
	}
	if r, ok := zero.(storage.Referrer); ok {
		for _, ref := range r.References() {
			rs, err := s.ownSchema(ctx, ref.Type)
			if err != nil {
				return nil, err
			}
			schema.Relate(ref.Name, rs)
		}
	}
	return schema, nil
}

// objectRecord returns a zero record of object, a record type registered
// with the store.
func (s *Service) objectRecord(object string) (storage.Record, error) {
	t, ok := s.store.Table(object)
	if !ok {
		return nil, storage.Invalid("object", "%q is not a registered record type", object)
	}
	return t.Type().New(), nil
}

// ownSchema is the schema of object's own fields.
func (s *Service) ownSchema(ctx context.Context, object string) (filterexpr.Schema, error) {
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
	zero, err := s.objectRecord(object)
	if err != nil {
		return nil, err
	}
	return filterexpr.SchemaOf(zero, custom), nil
}

// Filter compiles the expression src (see package filterexpr) against the
// schema of object (Schema: any registered record type, its custom fields
// and related records included) into a filter tree for a list of object's
// records. A bad expression is ErrInvalid with its position.
func (s *Service) Filter(ctx context.Context, object, src string) (storage.Filter, error) {
	schema, err := s.Schema(ctx, object)
	if err != nil {
		return nil, err
	}
	return CompileFilter(schema, object, src)
}

// CompileFilter is Filter with object's schema given (Schema), for a
// caller that compiles several expressions of one type, such as a report
// and the conditions of its measures.
func CompileFilter(schema filterexpr.Schema, object, src string) (storage.Filter, error) {
	e, err := filterexpr.Compile(src, schema)
	if err != nil {
		return nil, err
	}
	if object == ObjectContact {
		return lookupEmails(e.Filter(storage.Now())), nil
	}
	return e.Filter(storage.Now()), nil
}

// where compiles src against object's schema and adds it to q's filter.
func (s *Service) where(ctx context.Context, object, src string, q storage.ListQuery) (storage.ListQuery, error) {
	f, err := s.Filter(ctx, object, src)
	if err != nil {
		return q, err
	}
	if q.Filter != nil {
		f = storage.And{q.Filter, f}
	}
	q.Filter = f
	return q, nil
}

// Where returns one page of the contacts matching the expression src
// (see package filterexpr), such as
// "lifecycle == 'customer' && 'vip' in tags && created_at > daysAgo(30)"
// or "account.industry == 'Software'", on top of q's own filter. A bad
// expression is ErrInvalid with its position; a field hidden from the
// principal, the account's included, is ErrForbidden. A contact whose
// account the principal may not read compares as one without an account.
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

// ExprRecord returns c as an in-memory filter expression reads it
// (filterexpr.Record), with its account under "account" as the context's
// principal may read it: absent when c has none, or one the principal may
// not read, as Where treats it.
func (cs *Contacts) ExprRecord(ctx context.Context, c *Contact) (filterexpr.Record, error) {
	rec := filterexpr.RecordOf(c)
	if c.AccountID == "" {
		return rec, nil
	}
	a, err := cs.s.Accounts.Get(ctx, c.AccountID)
	switch {
	case err == nil:
		rec["account"] = filterexpr.RecordOf(a)
	case !errors.Is(err, storage.ErrNotFound):
		return nil, err
	}
	return rec, nil
}
