package bunstore

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/internal/ctxmemo"
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

// scopeSets is what a principal's scopes refer to in one workspace: the
// members of its teams (the principal included) and the records shared with
// it or with its teams, by record type. One query reads it, once per
// principal context (ctxmemo.Get: once per request), or none for a
// context As made while the store keeps the principal's sets from an
// earlier one (scopecache.go); the scope
// conditions take it as parameters: one set parameter each (a JSON array on
// SQLite, a text array on Postgres), so that a statement's text does not
// depend on the sizes of the sets and Postgres keeps one generic plan for
// it. With the sets read inside the statement instead (subqueries on
// crm_links and crm_shares), Postgres planned every execution anew, since
// a generic plan estimates the lookups of an unknown member from the
// average and loses to the custom plans: 0.1 to 0.2 ms of planning per
// list, more than running it.
type scopeSets struct {
	members    []string            // members of the principal's teams, the principal included
	read, edit map[string][]string // record type → IDs shared for read (any share) and for edit
}

type scopeKey struct {
	s  *Store
	ws string
}

// scopeSets returns the sets of p in the context's workspace, read once
// and kept with the principal context (or given to it by As, see
// ReadMember); or, once the context's transaction has written (what it
// reads may yet be rolled back), read and kept with the transaction
// instead, which ends with it.
func (s *Store) scopeSets(ctx context.Context, p *storage.Principal) (*scopeSets, error) {
	ws := storage.WorkspaceFrom(ctx)
	tx := txFrom(ctx, s)
	if tx == nil || !tx.wrote.Load() {
		e, err := ctxmemo.Get(ctx, scopeKey{s, ws}, func() (*scopeEntry, error) { return &scopeEntry{version: -1}, nil })
		if err != nil {
			return nil, err
		}
		return e.get(ctx, s, p, ws)
	}
	k := txSetsKey{p, ws}
	tx.mu.Lock()
	sets := tx.sets[k]
	tx.mu.Unlock()
	if sets != nil {
		return sets, nil
	}
	sets, err := s.readScopeSets(ctx, p, ws)
	if err != nil {
		return nil, err
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.sets == nil {
		tx.sets = map[txSetsKey]*scopeSets{}
	}
	tx.sets[k] = sets
	return sets, nil
}

// scopeSetsFor returns the sets of p where its scope of action on c needs
// them (any scope but "all"), else nil.
func (s *Store) scopeSetsFor(ctx context.Context, p *storage.Principal, c *codec, action storage.Action) (*scopeSets, error) {
	if p.Scope(c.recType, action) == storage.ScopeAll {
		return nil, nil
	}
	return s.scopeSets(ctx, p)
}

// readScopeSets reads the sets of p in ws with one query: the members of
// p's teams from the link index, and the shares with p and with its teams,
// each through its covering index.
func (s *Store) readScopeSets(ctx context.Context, p *storage.Principal, ws string) (*scopeSets, error) {
	s.scopeReads.Add(1)
	var b sqlBuilder
	teams := anys(p.TeamIDs)
	if len(teams) > 0 {
		b.add("SELECT '', m.from_id, '' FROM crm_links m WHERE m.workspace_id = ? AND m.from_type = 'member' AND m.to_type = 'team' AND m.to_id IN ("+
			placeholders(len(teams))+") UNION ALL ", append([]any{ws}, teams...)...)
	}
	b.add("SELECT sh.record_type, sh.record_id, sh.access FROM crm_shares sh WHERE sh.workspace_id = ? AND sh.member_id = ?", ws, p.MemberID)
	if len(teams) > 0 {
		b.add(" UNION ALL SELECT sh.record_type, sh.record_id, sh.access FROM crm_shares sh WHERE sh.workspace_id = ? AND sh.team_id IN ("+
			placeholders(len(teams))+")", append([]any{ws}, teams...)...)
	}
	rows, err := s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
	if err != nil {
		return nil, s.d.translate(err, "share")
	}
	defer rows.Close()
	members := map[string]bool{p.MemberID: true}
	read, edit := map[string]map[string]bool{}, map[string]map[string]bool{}
	add := func(m map[string]map[string]bool, typ, id string) {
		if m[typ] == nil {
			m[typ] = map[string]bool{}
		}
		m[typ][id] = true
	}
	for rows.Next() {
		var typ, id, acc string
		if err := rows.Scan(&typ, &id, &acc); err != nil {
			return nil, err
		}
		switch {
		case typ == "":
			members[id] = true
		default:
			add(read, typ, id)
			if acc == "edit" {
				add(edit, typ, id)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.d.translate(err, "share")
	}
	sets := &scopeSets{members: sortedKeys(members), read: map[string][]string{}, edit: map[string][]string{}}
	for typ, ids := range read {
		sets.read[typ] = sortedKeys(ids)
	}
	for typ, ids := range edit {
		sets.edit[typ] = sortedKeys(ids)
	}
	return sets, nil
}

func sortedKeys(m map[string]bool) []string {
	return slices.Sorted(maps.Keys(m))
}

// scopeCond appends the condition that the row aliased a of c is within p's
// scope for action: own = the owner is p; team = the owner is a member of
// p's teams (p included) or the row's team is one of p's; plus, for read
// and update, the row is shared with p or its teams (for update, with edit
// access). sets may be nil where the scope is "all".
func (s *Store) scopeCond(p *storage.Principal, sets *scopeSets, c *codec, a string, action storage.Action, b *sqlBuilder) {
	sc := p.Scope(c.recType, action)
	if sc == storage.ScopeAll {
		b.add("1 = 1")
		return
	}
	owner := a + "." + c.ownerCol().name
	b.add("(")
	switch sc {
	case storage.ScopeOwn:
		b.add(owner+" = ?", p.MemberID)
	case storage.ScopeTeam:
		s.d.inSet(b, owner, sets.members)
		if c.byName["team_id"] != nil && len(p.TeamIDs) > 0 {
			b.add(" OR ")
			s.d.inSet(b, a+".team_id", p.TeamIDs)
		}
	default:
		b.add("1 = 0")
	}
	var shared []string
	switch action {
	case storage.ActionRead:
		shared = sets.read[c.recType]
	case storage.ActionUpdate:
		shared = sets.edit[c.recType]
	}
	if len(shared) > 0 {
		b.add(" OR ")
		s.d.inSet(b, a+".id", shared)
	}
	b.add(")")
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
	sets, err := s.scopeSetsFor(ctx, p, c, storage.ActionRead)
	if err != nil {
		return err
	}
	b.add(" AND ")
	s.scopeCond(p, sets, c, a, storage.ActionRead, b)
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
	sets, err := s.scopeSetsFor(ctx, p, c, action)
	if err != nil {
		return err
	}
	b.add(" AND ")
	s.scopeCond(p, sets, c, a, action, b)
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
	var sets *scopeSets
	cs := s.codecs()
	for _, c := range cs {
		if sets == nil && p.Scope(c.recType, storage.ActionRead) != storage.ScopeAll {
			if sets, err = s.scopeSets(ctx, p); err != nil {
				return err
			}
		}
	}
	b.add(" AND (")
	for i, c := range cs {
		rt := c.recType
		if i > 0 {
			b.add(" OR ")
		}
		b.add("("+typeCol+" = ?", rt)
		if p.Scope(rt, storage.ActionRead) != storage.ScopeAll {
			b.add(" AND EXISTS (SELECT 1 FROM " + c.table + " r WHERE r.workspace_id = " + wsCol + " AND r.id = " + idCol + " AND ")
			s.scopeCond(p, sets, c, "r", storage.ActionRead, b)
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
		var sets *scopeSets
		if p.Scope(c.recType, storage.ActionRead) != storage.ScopeAll || p.Scope(c.recType, action) != storage.ScopeAll {
			var err error
			if sets, err = s.scopeSets(ctx, p); err != nil {
				return err
			}
		}
		b.add("SELECT CASE WHEN ")
		s.scopeCond(p, sets, c, "t", storage.ActionRead, &b)
		b.add(" THEN 1 ELSE 0 END, CASE WHEN ")
		s.scopeCond(p, sets, c, "t", action, &b)
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
	c := s.codec(ref.Type)
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
		sets, err := s.scopeSets(ctx, p)
		if err != nil {
			return err
		}
		if slices.Contains(sets.members, ownerID) {
			return nil
		}
	}
	return fmt.Errorf("%w: role %s may create a %s only for %s records; owner %s is outside it", storage.ErrForbidden, p.Role, c.recType, sc, ownerID)
}
