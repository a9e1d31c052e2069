package contacts

import (
	"context"
	"errors"
	"fmt"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
)

// Schema returns the fields a filter expression on object (any record
// type registered with the store: a contact, an account, a deal, a host's
// own) may name: the built-in fields and the workspace's
// custom fields, typed, and those of the records it refers to under their
// names (storage.Referrer: a contact's "account.industry",
// "account.custom.tier"), and of the records of other modules' types that
// extend it (storage.TypeOptions.Extends: "rfm.segment"), all listed by
// storage.ReferencesOf. Date custom fields are text ("2026-01-31", which
// orders as dates); multi-choice fields are left out. Lists compare
// related fields in SQL; an in-memory evaluation needs the related records
// in its filterexpr.Record (Contacts.ExprRecord).
func (s *Service) Schema(ctx context.Context, object string) (filterexpr.Schema, error) {
	schema, err := s.ownSchema(ctx, object)
	if err != nil {
		return nil, err
	}
	for _, ref := range storage.ReferencesOf(s.store, object) {
		rs, err := s.ownSchema(ctx, ref.Type)
		if err != nil {
			return nil, err
		}
		schema.Relate(ref.Name, rs)
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
// (filterexpr.Record), with each record it refers to or that extends it
// (storage.ReferencesOf: its account under "account", another module's
// extension under its name) as the context's principal may read it:
// absent when there is none, or one the principal may not read, as Where
// treats it.
func (cs *Contacts) ExprRecord(ctx context.Context, c *Contact) (filterexpr.Record, error) {
	rec := filterexpr.RecordOf(c)
	if err := cs.s.relate(ctx, ObjectContact, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// relate puts in rec, a record of object as filterexpr.RecordOf gives
// it, the records its references name (storage.ReferencesOf), each under
// its name as filterexpr.RecordOf gives it, read through the generic path
// as the context's principal: a reference whose field is empty, or whose
// record is missing or one the principal may not read, is left absent.
func (s *Service) relate(ctx context.Context, object string, rec filterexpr.Record) error {
	for _, ref := range storage.ReferencesOf(s.store, object) {
		r, err := s.related(ctx, ref, rec)
		if err != nil {
			return fmt.Errorf("%s: %w", ref.Name, err)
		}
		if r != nil {
			rec[ref.Name] = filterexpr.RecordOf(r)
		}
	}
	return nil
}

// related reads the record ref names for rec: the one of ref's type whose
// Key (its ID by default) is rec's Field, or nil when there is none the
// principal may read.
func (s *Service) related(ctx context.Context, ref storage.Reference, rec filterexpr.Record) (storage.Record, error) {
	v, _ := rec[ref.Field].(string)
	t, ok := s.store.Table(ref.Type)
	if v == "" || !ok {
		return nil, nil
	}
	if ref.KeyField() == "id" {
		r, err := t.Get(ctx, v)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		return r, err
	}
	page, err := t.List(ctx, storage.ListQuery{Filter: storage.Eq(ref.KeyField(), v), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil || len(page.Items) == 0 {
		return nil, err
	}
	return page.Items[0], nil
}
