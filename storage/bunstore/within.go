package bunstore

import (
	"context"
	"fmt"

	"github.com/crmkit/crm/storage"
)

// within appends the semi-join of w on the row aliased a of c:
//
//	a.<Field> IN (SELECT wN.<Select> FROM <w.Type> wN WHERE wN.workspace_id = ?
//		AND <w.Filter on wN> AND <read scope of wN>)
//
// an uncorrelated set, which both planners read through an index on the
// outer field or hash, and, negated, the anti-join
//
//	EXISTS (SELECT 1 FROM <w.Type> wN WHERE wN.workspace_id = a.workspace_id
//		AND wN.<Select> = a.<Field> AND …)
//
// behind a bare NOT, which both turn into an anti-join (NOT IN would not
// be one on Postgres). The columns are compared bare, not through
// COALESCE, so that an index serves; the empty text of an optional
// reference is a value like any other here.
func (s *Store) within(c *codec, a string, w storage.Within, negated bool, b *sqlBuilder) error {
	ic, outer, sel, err := s.withinCols(c, w)
	if err != nil {
		return err
	}
	b.nest++
	alias := fmt.Sprintf("w%d", b.nest)
	if negated || b.ws == "" { // an anti-join; or a statement with no workspace bound
		b.add("EXISTS (SELECT 1 FROM " + ic.table + " " + alias + " WHERE " + alias + ".workspace_id = " + a + ".workspace_id AND " +
			alias + "." + sel.name + " = " + a + "." + outer.name + " AND ")
	} else {
		// A semi-join as an uncorrelated IN: both planners can read the
		// outer table through an index on the field (the leads of some
		// campaigns through their campaign index) or hash the set, where a
		// correlated EXISTS makes SQLite probe once per outer row.
		b.add(a+"."+outer.name+" IN (SELECT "+alias+"."+sel.name+" FROM "+ic.table+" "+alias+" WHERE "+alias+".workspace_id = ? AND ", b.ws)
	}
	if b.p != nil {
		s.scopeCond(b.p, b.sets, ic, alias, storage.ActionRead, b)
		b.add(" AND ")
	}
	if err := s.whereAt(ic, alias, w.Filter, b); err != nil {
		return fmt.Errorf("within %s: %w", w.Type, err)
	}
	b.add(")")
	return nil
}

// withinCols resolves w's record type and its two columns.
func (s *Store) withinCols(c *codec, w storage.Within) (ic *codec, outer, sel *column, err error) {
	if ic = s.codec(w.Type); ic == nil {
		return nil, nil, nil, storage.Invalid("filter.within.type", "%q is not a record type of the store", w.Type)
	}
	if outer = c.byName[w.Field]; outer == nil || outer.kind == kJSON {
		return nil, nil, nil, storage.Invalid("filter.within.field", "%s has no plain field %q", c.recType, w.Field)
	}
	if sel = ic.byName[w.Select]; sel == nil || sel.kind == kJSON {
		return nil, nil, nil, storage.Invalid("filter.within.select", "%s has no plain field %q", ic.recType, w.Select)
	}
	return ic, outer, sel, nil
}

// withinFilter readies b for the Within nodes of f (on records of c): it
// refuses, with ErrForbidden, a Field of c or a Select or filtered field
// of the inner type hidden from the principal, and gives b the principal
// and its scope sets, so that the inner records are ones it may read.
func (s *Store) withinFilter(ctx context.Context, c *codec, f storage.Filter, b *sqlBuilder) error {
	switch f := f.(type) {
	case storage.And:
		for _, g := range f {
			if err := s.withinFilter(ctx, c, g, b); err != nil {
				return err
			}
		}
	case storage.Or:
		for _, g := range f {
			if err := s.withinFilter(ctx, c, g, b); err != nil {
				return err
			}
		}
	case storage.Not:
		return s.withinFilter(ctx, c, f.Filter, b)
	case storage.Within:
		ic, _, _, err := s.withinCols(c, f)
		if err != nil {
			return err
		}
		p, err := s.principal(ctx)
		if err != nil || p == nil {
			return err
		}
		own, err := s.mask(ctx, c)
		if err != nil {
			return err
		}
		if own.access(f.Field) == storage.FieldHidden {
			return fmt.Errorf("%w: filter on %s field %s, which is hidden", storage.ErrForbidden, c.recType, f.Field)
		}
		m, err := s.mask(ctx, ic)
		if err != nil {
			return err
		}
		if m.access(f.Select) == storage.FieldHidden {
			return fmt.Errorf("%w: filter on %s field %s, which is hidden", storage.ErrForbidden, ic.recType, f.Select)
		}
		if err := m.checkFilter(f.Filter); err != nil {
			return err
		}
		if p.Scope(ic.recType, storage.ActionRead) == storage.ScopeNone {
			return fmt.Errorf("%w: role %s may not read %s records", storage.ErrForbidden, p.Role, ic.recType)
		}
		if b.sets == nil && p.Scope(ic.recType, storage.ActionRead) != storage.ScopeAll {
			if b.sets, err = s.scopeSets(ctx, p); err != nil {
				return err
			}
		}
		b.p = p
		// The inner filter's own related fields and Within nodes.
		return s.relatedFilter(ctx, ic, f.Filter, b)
	}
	return nil
}
