package bunstore

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/crmkit/crm/storage"
)

// Field-level security in the generic CRUD path. A principal's role may
// hide fields of a record type or make them read-only (storage.FieldRules).
// The store applies the rules where data leaves it and where it comes in:
//
//   - records read (Get, List, search hits, timeline activities) have their
//     hidden fields blanked after they are scanned;
//   - change events (History, ChangeFeed, Timeline) lose the changes of
//     hidden fields;
//   - filters and sorts naming a hidden field are ErrForbidden, so that a
//     field's value cannot be probed one query at a time;
//   - a create giving a hidden or read-only field a value, and an update
//     changing one, are ErrForbidden; an update keeps the stored values of
//     hidden fields, which the caller never saw.
//
// Stored rows, the search index and the change log keep every value: the
// rules say what one principal sees, not what the store holds.

// fieldMask is what the context's principal may not see or change of one
// record type; nil when nothing is limited.
type fieldMask struct {
	c       *codec
	role    string
	rules   map[string]storage.FieldAccess
	hidden  []*column // columns blanked on read
	customs []string  // custom keys removed on read (when "custom" itself is not hidden)
}

// mask returns the field mask of c for the principal of ctx, or nil.
func (s *Store) mask(ctx context.Context, c *codec) (*fieldMask, error) {
	p, err := s.principal(ctx)
	if err != nil || p == nil || len(p.Fields[c.recType]) == 0 {
		return nil, err
	}
	return c.maskOf(p), nil
}

// maskOf returns the field mask of c for p, or nil.
func (c *codec) maskOf(p *storage.Principal) *fieldMask {
	rules := p.Fields[c.recType]
	if len(rules) == 0 {
		return nil
	}
	m := &fieldMask{c: c, role: p.Role, rules: rules}
	for name, a := range rules {
		if a != storage.FieldHidden {
			continue
		}
		if key, ok := strings.CutPrefix(name, "custom."); ok {
			m.customs = append(m.customs, key)
		} else if col := c.byName[name]; col != nil && !slices.Contains(storage.MetaFields, name) {
			m.hidden = append(m.hidden, col)
		}
	}
	return m
}

// access returns the limit on field ("email", "custom.tier").
func (m *fieldMask) access(field string) storage.FieldAccess {
	if m == nil {
		return ""
	}
	if a, ok := m.rules[field]; ok {
		return a
	}
	if strings.HasPrefix(field, "custom.") {
		return m.rules["custom"]
	}
	// A key of an element of a list of objects (AggregateQuery.Each) is
	// as hidden as the list.
	if list, _, ok := strings.Cut(field, "."); ok {
		if col := m.c.byName[list]; col != nil && col.objects {
			return m.rules[list]
		}
	}
	return ""
}

// hides reports whether anything is hidden.
func (m *fieldMask) hides() bool { return m != nil && (len(m.hidden) > 0 || len(m.customs) > 0) }

// apply blanks the hidden fields of rec, a record just read.
func (m *fieldMask) apply(rec reflect.Value) {
	if !m.hides() {
		return
	}
	for _, col := range m.hidden {
		col.field(rec).SetZero()
	}
	if len(m.customs) == 0 {
		return
	}
	if col := m.c.byName["custom"]; col != nil && col.typ.Kind() == reflect.Map {
		mv := col.field(rec)
		if mv.IsNil() {
			return
		}
		for _, k := range m.customs {
			mv.SetMapIndex(reflect.ValueOf(k), reflect.Value{})
		}
		if mv.Len() == 0 {
			mv.SetZero()
		}
	}
}

// changes returns ch without the changes of hidden fields.
func (m *fieldMask) changes(ch []storage.Change) []storage.Change {
	if !m.hides() {
		return ch
	}
	out := ch[:0:0]
	for _, c := range ch {
		// A snapshot holds every field of a record: hidden ones too.
		if m.access(c.Field) != storage.FieldHidden && !strings.HasPrefix(c.Field, storage.SnapshotPrefix) {
			out = append(out, c)
		}
	}
	return out
}

// checkWrite refuses changes to hidden and read-only fields.
func (m *fieldMask) checkWrite(ch []storage.Change) error {
	if m == nil {
		return nil
	}
	for _, c := range ch {
		if a := m.access(c.Field); a != "" {
			return fmt.Errorf("%w: %s field %s is %s for role %s", storage.ErrForbidden, m.c.recType, c.Field, strings.ReplaceAll(string(a), "_", "-"), m.role)
		}
	}
	return nil
}

// checkFilter refuses a filter naming a hidden field.
func (m *fieldMask) checkFilter(f storage.Filter) error {
	if !m.hides() {
		return nil
	}
	var err error
	storage.WalkFilter(f, func(c storage.Cmp) {
		switch {
		case err != nil:
		case m.access(c.Field) == storage.FieldHidden:
			err = fmt.Errorf("%w: filter on %s field %s, which is hidden", storage.ErrForbidden, m.c.recType, c.Field)
		case c.Field == "custom" && len(m.customs) > 0:
			// Whether a record has custom values at all tells which
			// records hold the hidden one (Not{custom empty}).
			err = fmt.Errorf("%w: filter on %s's custom values, one of which (custom.%s) is hidden", storage.ErrForbidden, m.c.recType, m.customs[0])
		}
	})
	return err
}

// relatedFilter readies b for the comparisons of f with fields of records
// that c's records refer to ("account.industry") or that extend them
// ("rfm.segment"): it refuses, with ErrForbidden, a related field hidden
// from the principal, or a field that links the two hidden from it (a
// contact's account_id, an extension's contact_id), since either could be
// probed one query at a time; and it gives b the principal and its scope
// sets, so that the related record is one the principal may read (see
// relatedCmp). It readies the Within nodes of f too (see withinFilter).
func (s *Store) relatedFilter(ctx context.Context, c *codec, f storage.Filter, b *sqlBuilder) error {
	if err := s.withinFilter(ctx, c, f, b); err != nil {
		return err
	}
	reg := s.refs(b)
	if len(reg.refs[c.recType]) == 0 {
		return nil
	}
	p, err := s.principal(ctx)
	if err != nil || p == nil {
		return err
	}
	own, err := s.mask(ctx, c)
	if err != nil {
		return err
	}
	storage.WalkFilter(f, func(cmp storage.Cmp) {
		rel, rest, ok := strings.Cut(cmp.Field, ".")
		if err != nil || !ok {
			return
		}
		ref, rc, isRef := reg.related(c, rel)
		if !isRef {
			return
		}
		if own.access(ref.Field) == storage.FieldHidden {
			err = fmt.Errorf("%w: filter on %s through %s field %s, which is hidden", storage.ErrForbidden, cmp.Field, c.recType, ref.Field)
			return
		}
		var m *fieldMask
		if m, err = s.mask(ctx, rc); err != nil {
			return
		}
		if key := ref.KeyField(); key != "id" && m.access(key) == storage.FieldHidden {
			err = fmt.Errorf("%w: filter on %s through %s field %s, which is hidden", storage.ErrForbidden, cmp.Field, rc.recType, key)
			return
		}
		if m.access(rest) == storage.FieldHidden {
			err = fmt.Errorf("%w: filter on %s field %s, which is hidden", storage.ErrForbidden, rc.recType, rest)
			return
		}
		if b.sets == nil && p.Scope(rc.recType, storage.ActionRead) != storage.ScopeAll {
			b.sets, err = s.scopeSets(ctx, p)
		}
		b.p = p
	})
	return err
}

// checkSort refuses sorting on a hidden field.
func (m *fieldMask) checkSort(cols []*column) error {
	if !m.hides() {
		return nil
	}
	for _, col := range cols {
		if m.access(col.name) == storage.FieldHidden {
			return fmt.Errorf("%w: sort on %s field %s, which is hidden", storage.ErrForbidden, m.c.recType, col.name)
		}
	}
	return nil
}

// restore returns a copy of next carrying the stored values of the hidden
// fields, read from stored: what an update writes, so that a field the
// caller never saw keeps its value.
func (m *fieldMask) restore(stored, next reflect.Value) reflect.Value {
	full := reflect.New(m.c.typ)
	full.Elem().Set(next.Elem())
	for _, col := range m.hidden {
		col.field(full).Set(col.field(stored))
	}
	if len(m.customs) == 0 {
		return full
	}
	col := m.c.byName["custom"]
	if col == nil || col.typ.Kind() != reflect.Map || col.field(stored).Len() == 0 {
		return full
	}
	src := col.field(stored)
	dst := reflect.MakeMap(col.typ)
	if cur := col.field(next); !cur.IsNil() {
		iter := cur.MapRange()
		for iter.Next() {
			dst.SetMapIndex(iter.Key(), iter.Value())
		}
	}
	for _, k := range m.customs {
		if v := src.MapIndex(reflect.ValueOf(k)); v.IsValid() {
			dst.SetMapIndex(reflect.ValueOf(k), v)
		}
	}
	col.field(full).Set(dst)
	return full
}

// load reads the stored record id of c, whatever the principal may see; the
// zero Value when it does not exist.
func (s *Store) load(ctx context.Context, c *codec, id string) (reflect.Value, error) {
	rows, err := s.query(ctx, c.getSQL, storage.WorkspaceFrom(ctx), id)
	if err != nil {
		return reflect.Value{}, s.d.translate(err, c.recType)
	}
	defer rows.Close()
	if !rows.Next() {
		return reflect.Value{}, s.d.translate(rows.Err(), c.recType)
	}
	return c.scan(rows, c.newScanner())
}

// FieldNames implements storage.FieldSchema: the stored field names of
// recordType, in column order.
func (s *Store) FieldNames(recordType string) ([]string, bool) {
	c := s.codec(recordType)
	if c == nil {
		return nil, false
	}
	out := make([]string, len(c.cols))
	for i := range c.cols {
		out[i] = c.cols[i].name
	}
	return out, true
}

// eventMasker returns a function that drops from an event the changes of
// fields hidden from the principal of ctx; nil when nothing is hidden.
func (s *Store) eventMasker(ctx context.Context) (func(*storage.Event), error) {
	p, err := s.principal(ctx)
	if err != nil || p == nil || len(p.Fields) == 0 {
		return nil, err
	}
	masks := map[string]*fieldMask{}
	return func(e *storage.Event) {
		m, ok := masks[e.Subject.Type]
		if !ok {
			if c := s.codec(e.Subject.Type); c != nil {
				m = c.maskOf(p)
			}
			masks[e.Subject.Type] = m
		}
		e.Changes = m.changes(e.Changes)
	}, nil
}
