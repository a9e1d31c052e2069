package bunstore

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	"github.com/crmkit/crm/storage"
)

// Access control in the generic CRUD path. Every statement a table runs for
// a principal carries the principal's scope as an SQL condition on the
// record's owner, team and shares, so that lists, counts, searches,
// pagination and the change log see only permitted rows. The rule:
//
//   - read scope: rows outside it are not there (Get is ErrNotFound);
//   - update and delete: a row inside the read scope but outside the
//     action's scope is ErrForbidden;
//   - create: the new record's owner and team must be inside the create
//     scope, else ErrForbidden; a record created without an owner gets the
//     principal as its owner.
//
// Shares add rows to the read scope (any share) and to the update scope
// (edit shares); they never grant delete, create or export.

// principal returns the principal whose scopes apply to the call, or nil
// when none apply (the system, or no principal on a store that does not
// require one).
func (s *Store) principal(ctx context.Context) (*storage.Principal, error) {
	p := storage.PrincipalFrom(ctx)
	if p == nil {
		if s.requirePrincipal {
			return nil, fmt.Errorf("%w: the context has no principal; use storage.WithPrincipal, or storage.AsSystem where the call must see everything", storage.ErrForbidden)
		}
		return nil, nil
	}
	if p.IsSystem() {
		return nil, nil
	}
	if p.MemberID == "" {
		return nil, fmt.Errorf("%w: the principal has no member ID", storage.ErrForbidden)
	}
	return p, nil
}

// ownerCol is the column that says who owns a record of c: owner_id, or
// created_by for types without owners.
func (c *codec) ownerCol() *column {
	if col := c.byName["owner_id"]; col != nil && col.kind == kString {
		return col
	}
	return c.byName["created_by"]
}

// scopeCond appends the condition that the row aliased a of c is within p's
// scope for action.
//
// The subqueries name the workspace by value, not by the row's column, so
// that they do not depend on the row and the database runs each once.
func (s *Store) scopeCond(p *storage.Principal, ws string, c *codec, a string, action storage.Action, b *sqlBuilder) {
	sc := p.Scope(c.recType, action)
	if sc == storage.ScopeAll {
		b.add("1 = 1")
		return
	}
	b.add("(")
	switch sc {
	case storage.ScopeOwn:
		b.add(a+"."+c.ownerCol().name+" = ?", p.MemberID)
	case storage.ScopeTeam:
		s.teamCond(p, ws, c, a, b)
	default:
		b.add("1 = 0")
	}
	if action == storage.ActionRead || action == storage.ActionUpdate {
		b.add(" OR "+a+".id IN (SELECT sh.record_id FROM crm_shares sh WHERE sh.workspace_id = ? AND (sh.member_id = ?", ws, p.MemberID)
		if len(p.TeamIDs) > 0 {
			b.add(" OR sh.team_id IN ("+placeholders(len(p.TeamIDs))+")", anys(p.TeamIDs)...)
		}
		b.add(")")
		if action == storage.ActionUpdate {
			b.add(" AND sh.access = 'edit'")
		}
		b.add(")")
	}
	b.add(")")
}

// teamCond is the "team" scope: the principal owns the row, or the row's
// team is one of the principal's, or its owner is a member of one of them.
func (s *Store) teamCond(p *storage.Principal, ws string, c *codec, a string, b *sqlBuilder) {
	owner := a + "." + c.ownerCol().name
	b.add(owner+" = ?", p.MemberID)
	if len(p.TeamIDs) == 0 {
		return
	}
	in := " IN (" + placeholders(len(p.TeamIDs)) + ")"
	if col := c.byName["team_id"]; col != nil {
		b.add(" OR "+a+".team_id"+in, anys(p.TeamIDs)...)
	}
	b.add(" OR "+owner+" IN (SELECT m.from_id FROM crm_links m WHERE m.workspace_id = ? AND m.from_type = 'member' AND m.to_type = 'team' AND m.to_id"+in+")",
		append([]any{ws}, anys(p.TeamIDs)...)...)
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// readable appends " AND <read scope>" for the row aliased a of c, when a
// principal's scopes apply to ctx.
func (s *Store) readable(ctx context.Context, c *codec, a string, b *sqlBuilder) error {
	p, err := s.principal(ctx)
	if err != nil || p == nil {
		return err
	}
	b.add(" AND ")
	s.scopeCond(p, storage.WorkspaceFrom(ctx), c, a, storage.ActionRead, b)
	return nil
}

// scoped is readable for action: " AND <scope of action>", with the read
// scope as well for actions other than read.
func (s *Store) scoped(ctx context.Context, c *codec, a string, action storage.Action, b *sqlBuilder) error {
	if err := s.readable(ctx, c, a, b); err != nil || action == "" || action == storage.ActionRead {
		return err
	}
	p, err := s.principal(ctx)
	if err != nil || p == nil {
		return err
	}
	if p.Scope(c.recType, action) == storage.ScopeNone {
		return fmt.Errorf("%w: role %s may not %s %s records", storage.ErrForbidden, p.Role, action, c.recType)
	}
	b.add(" AND ")
	s.scopeCond(p, storage.WorkspaceFrom(ctx), c, a, action, b)
	return nil
}

// refsReadable appends " AND <cond>" where cond holds when the record named
// by the columns typeCol and idCol (in the workspace wsCol) is readable by
// the principal: the scope of search hits and change events.
func (s *Store) refsReadable(ctx context.Context, typeCol, idCol, wsCol string, b *sqlBuilder) error {
	p, err := s.principal(ctx)
	if err != nil || p == nil {
		return err
	}
	b.add(" AND (")
	for i, rt := range s.codecOrder {
		c := s.codecs[rt]
		if i > 0 {
			b.add(" OR ")
		}
		b.add("("+typeCol+" = ?", rt)
		if p.Scope(rt, storage.ActionRead) != storage.ScopeAll {
			b.add(" AND EXISTS (SELECT 1 FROM " + c.table + " r WHERE r.workspace_id = " + wsCol + " AND r.id = " + idCol + " AND ")
			s.scopeCond(p, storage.WorkspaceFrom(ctx), c, "r", storage.ActionRead, b)
			b.add(")")
		}
		b.add(")")
	}
	b.add(")")
	return nil
}

// authorize checks action on the stored record id of c for the principal
// of ctx: ErrNotFound when it cannot read it (or it does not exist),
// ErrForbidden when it can read it but not do action. With no principal to
// apply it costs nothing: the write's own statement finds a missing row.
func (s *Store) authorize(ctx context.Context, c *codec, id string, action storage.Action) error {
	p, err := s.principal(ctx)
	if err != nil || p == nil {
		return err
	}
	return s.allowed(ctx, p, c, id, action)
}

// allowed runs the check of authorize; with p nil it only checks that the
// record exists.
func (s *Store) allowed(ctx context.Context, p *storage.Principal, c *codec, id string, action storage.Action) error {
	var b sqlBuilder
	if p == nil {
		b.add("SELECT 1, 1")
	} else {
		ws := storage.WorkspaceFrom(ctx)
		b.add("SELECT CASE WHEN ")
		s.scopeCond(p, ws, c, "t", storage.ActionRead, &b)
		b.add(" THEN 1 ELSE 0 END, CASE WHEN ")
		s.scopeCond(p, ws, c, "t", action, &b)
		b.add(" THEN 1 ELSE 0 END")
	}
	b.add(" FROM "+c.table+" t WHERE t.workspace_id = ? AND t.id = ?", storage.WorkspaceFrom(ctx), id)
	var read, act int
	if _, err := s.queryRow(ctx, c.recType, s.d.rebind(b.sb.String()), b.args, &read, &act); err != nil {
		return err
	}
	switch {
	case read == 0:
		return fmt.Errorf("%w: %s %s", storage.ErrNotFound, c.recType, id)
	case act == 0:
		return fmt.Errorf("%w: %s %s: role %s may not %s it", storage.ErrForbidden, c.recType, id, p.Role, action)
	}
	return nil
}

// Check implements storage.Authorizer.
func (s *Store) Check(ctx context.Context, ref storage.Ref, action storage.Action) error {
	c := s.codecs[ref.Type]
	if c == nil {
		return fmt.Errorf("%w: %s %s (no such record type)", storage.ErrNotFound, ref.Type, ref.ID)
	}
	p, err := s.principal(ctx)
	if err != nil {
		return err
	}
	_, err = reading(ctx, s, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.allowed(ctx, p, c, ref.ID, action)
	})
	return err
}

// authorizeCreate checks that the principal may create rec, a new record
// of c, and gives it the principal as owner when it has none.
func (s *Store) authorizeCreate(ctx context.Context, c *codec, rv reflect.Value, restore bool) error {
	p, err := s.principal(ctx)
	if err != nil || p == nil {
		return err
	}
	sc := p.Scope(c.recType, storage.ActionCreate)
	if sc == storage.ScopeNone {
		return fmt.Errorf("%w: role %s may not create a %s", storage.ErrForbidden, p.Role, c.recType)
	}
	owner := c.byName["owner_id"]
	if owner == nil || owner.kind != kString {
		if !restore {
			return nil // created_by is the principal: inside every create scope
		}
		owner = c.byName["created_by"] // a restored record keeps its creator
	}
	of := owner.field(rv)
	if of.String() == "" && !restore { // a restored record keeps its owner, even none
		of.SetString(p.MemberID)
	}
	ownerID := of.String()
	if sc == storage.ScopeAll || ownerID == p.MemberID {
		return nil
	}
	if sc == storage.ScopeTeam && len(p.TeamIDs) > 0 {
		if tc := c.byName["team_id"]; tc != nil && slices.Contains(p.TeamIDs, tc.field(rv).String()) {
			return nil
		}
		var b sqlBuilder
		b.add("SELECT COUNT(*) FROM crm_links WHERE workspace_id = ? AND from_type = 'member' AND from_id = ? AND to_type = 'team' AND to_id IN ("+
			placeholders(len(p.TeamIDs))+")", storage.WorkspaceFrom(ctx), ownerID)
		b.args = append(b.args, anys(p.TeamIDs)...)
		var n int
		if _, err := s.queryRow(ctx, c.recType, s.d.rebind(b.sb.String()), b.args, &n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	return fmt.Errorf("%w: role %s may create a %s only for %s records; owner %s is outside it", storage.ErrForbidden, p.Role, c.recType, sc, ownerID)
}
