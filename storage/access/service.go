package access

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/crmkit/crm/storage"
)

// Store is what the access package needs from a storage adapter: the
// generic path of its record types (see Module) and access checks.
type Store interface {
	storage.Transactor
	storage.Tables
	storage.Authorizer
}

// Service manages members, teams, roles and shares, and builds principals.
type Service struct {
	store   Store
	members storage.Table[*Member]
	teams   storage.Table[*Team]
	roles   storage.Table[*Role]
	shares  storage.Table[*Share]
}

// NewService returns the access module on store.
func NewService(store Store) *Service {
	return &Service{store: store, members: storage.TableOf[*Member](store), teams: storage.TableOf[*Team](store),
		roles: storage.TableOf[*Role](store), shares: storage.TableOf[*Share](store)}
}

// NewMember is the input of CreateMember and SyncMember.
type NewMember struct {
	ExternalID string   // the host application's user ID; optional, unique
	Name       string   // required
	Email      string   // optional
	Role       string   // a built-in or custom role; required
	TeamIDs    []string // teams of the workspace
	Inactive   bool     // creates the member inactive
}

// UpdateMember changes a member; nil fields stay as they are.
type UpdateMember struct {
	Name, Email, Role *string
	TeamIDs           *[]string
	Active            *bool
}

// CreateMember adds a member to the workspace. A member may give only a
// role that grants no more than its own (mayGrant); ErrForbidden otherwise.
func (s *Service) CreateMember(ctx context.Context, in NewMember) (*Member, error) {
	m := &Member{ExternalID: strings.TrimSpace(in.ExternalID), Name: in.Name, Email: in.Email,
		Role: in.Role, TeamIDs: in.TeamIDs, Active: !in.Inactive}
	err := s.store.RunInTx(ctx, func(ctx context.Context) error {
		if err := s.checkMember(ctx, m); err != nil {
			return err
		}
		if err := s.mayGrant(ctx, m.Role); err != nil {
			return err
		}
		return s.members.Insert(ctx, m)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// SyncMember creates the member with in.ExternalID, or updates it to match
// in: how a host application mirrors its users into the CRM.
func (s *Service) SyncMember(ctx context.Context, in NewMember) (*Member, error) {
	ext := strings.TrimSpace(in.ExternalID)
	if ext == "" {
		return nil, storage.Invalid("external_id", "is required to sync a member")
	}
	var out *Member
	err := s.store.RunInTx(ctx, func(ctx context.Context) error {
		page, err := s.members.List(ctx, storage.ListQuery{Filter: storage.Eq("external_id", ext), PageQuery: storage.PageQuery{Limit: 1}})
		if err != nil {
			return err
		}
		if len(page.Items) == 0 {
			out, err = s.CreateMember(ctx, in)
			return err
		}
		active := !in.Inactive
		teams := in.TeamIDs
		out, err = s.UpdateMember(ctx, page.Items[0].ID, UpdateMember{Name: &in.Name, Email: &in.Email, Role: &in.Role, TeamIDs: &teams, Active: &active})
		return err
	})
	return out, err
}

// GetMember returns a member.
func (s *Service) GetMember(ctx context.Context, id string) (*Member, error) {
	return s.members.Get(ctx, id)
}

// UpdateMember changes a member; a new role must grant no more than the
// context's member has, as for CreateMember.
func (s *Service) UpdateMember(ctx context.Context, id string, in UpdateMember) (*Member, error) {
	return storage.Modify(ctx, s.store, s.members, id, 0, func(ctx context.Context, m *Member) error {
		was := m.Role
		storage.Set(&m.Name, in.Name)
		storage.Set(&m.Email, in.Email)
		storage.Set(&m.Role, in.Role)
		storage.Set(&m.TeamIDs, in.TeamIDs)
		storage.Set(&m.Active, in.Active)
		if err := s.checkMember(ctx, m); err != nil {
			return err
		}
		if m.Role != was {
			return s.mayGrant(ctx, m.Role)
		}
		return nil
	})
}

// scopeRank orders the scopes from narrowest to widest.
var scopeRank = map[storage.Scope]int{storage.ScopeNone: 0, storage.ScopeOwn: 1, storage.ScopeTeam: 2, storage.ScopeAll: 3}

// fieldRank orders field limits from most open to most closed.
var fieldRank = map[storage.FieldAccess]int{"": 0, storage.FieldReadOnly: 1, storage.FieldHidden: 2}

// mayGrant refuses, with ErrForbidden, to let the context's member give a
// member role when the role grants more than the member has: a wider
// scope for any record type and action, or a field the member's role
// hides or makes read-only that the role opens. The system grants any
// role. Without it, a member allowed to create members could make an
// admin (a custom role's "*" covers the member type).
func (s *Service) mayGrant(ctx context.Context, role string) error {
	p := storage.PrincipalFrom(ctx)
	if p == nil || p.IsSystem() {
		return nil
	}
	r, err := s.Role(ctx, role)
	if err != nil {
		return err
	}
	types := []string{storage.AnyType}
	for _, t := range s.store.Types() {
		types = append(types, t.Name())
	}
	for _, typ := range types {
		for _, a := range storage.Actions {
			if scopeRank[r.Permissions.Scope(typ, a)] > scopeRank[p.Scope(typ, a)] {
				return fmt.Errorf("%w: role %s grants %s %s on %s, more than role %s has", storage.ErrForbidden, role,
					r.Permissions.Scope(typ, a), a, typ, p.Role)
			}
		}
	}
	for typ, fields := range p.Fields {
		for f, lim := range fields {
			if fieldRank[r.Fields.Access(typ, f)] < fieldRank[lim] {
				return fmt.Errorf("%w: role %s opens %s field %s, which role %s has %s", storage.ErrForbidden, role, typ, f, p.Role, lim)
			}
		}
	}
	return nil
}

// onlyAdmins refuses, with ErrForbidden, a change of roles by a member
// who is not an admin: a role's grants are the workspace's rights.
func onlyAdmins(ctx context.Context) error {
	if p := storage.PrincipalFrom(ctx); p != nil && !p.IsSystem() && p.Role != RoleAdmin {
		return fmt.Errorf("%w: only admins define and change roles, not role %s", storage.ErrForbidden, p.Role)
	}
	return nil
}

// ListMembers returns a page of members.
func (s *Service) ListMembers(ctx context.Context, q storage.ListQuery) (storage.Page[*Member], error) {
	return s.members.List(ctx, q)
}

func (s *Service) checkMember(ctx context.Context, m *Member) error {
	var v storage.ValidationError
	m.Name = strings.TrimSpace(m.Name)
	if m.Name == "" {
		v.Add("name", "is required")
	}
	if strings.TrimSpace(m.Email) != "" {
		e, err := storage.NormalizeEmail(m.Email)
		if err != nil {
			v.Add("email", "%v", err)
		}
		m.Email = e
	}
	if m.Role == "" {
		v.Add("role", "is required")
	} else if _, err := s.Role(ctx, m.Role); errors.Is(err, storage.ErrNotFound) {
		v.Add("role", "%q is not a role of the workspace", m.Role)
	} else if err != nil {
		return err
	}
	m.TeamIDs = normTeams(m.TeamIDs)
	for i, id := range m.TeamIDs {
		if _, err := s.teams.Get(ctx, id); errors.Is(err, storage.ErrNotFound) {
			v.Add(fmt.Sprintf("team_ids[%d]", i), "%q is not a team of the workspace", id)
		} else if err != nil {
			return err
		}
	}
	return v.Err()
}

// CreateTeam adds a team.
func (s *Service) CreateTeam(ctx context.Context, name, description string) (*Team, error) {
	t := &Team{Name: strings.TrimSpace(name), Description: strings.TrimSpace(description)}
	if t.Name == "" {
		return nil, storage.Invalid("name", "is required")
	}
	if err := s.teams.Insert(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// ListTeams returns a page of teams.
func (s *Service) ListTeams(ctx context.Context, q storage.ListQuery) (storage.Page[*Team], error) {
	return s.teams.List(ctx, q)
}

// NewRole is the input of DefineRole.
type NewRole struct {
	Name        string
	Description string
	Permissions storage.Permissions
	// Fields hide fields of record types or make them read-only; see
	// storage.FieldRules.
	Fields storage.FieldRules
}

// UpdateRole changes a custom role; nil fields stay as they are.
type UpdateRole struct {
	Description *string
	Permissions *storage.Permissions
	Fields      *storage.FieldRules
}

// DefineRole adds a custom role. Its name must not be a built-in role's.
// Only admins (and the system) define roles: ErrForbidden for others.
func (s *Service) DefineRole(ctx context.Context, in NewRole) (*Role, error) {
	if err := onlyAdmins(ctx); err != nil {
		return nil, err
	}
	r := &Role{Name: strings.TrimSpace(in.Name), Description: strings.TrimSpace(in.Description),
		Permissions: in.Permissions, Fields: in.Fields}
	var v storage.ValidationError
	switch {
	case !storage.ValidKey(r.Name):
		v.Add("name", "%q must be lower-case letters, digits and underscores, starting with a letter", r.Name)
	case builtinRoles[r.Name].grant != nil:
		v.Add("name", "%q is a built-in role", r.Name)
	}
	s.checkRole(&v, r)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.roles.Insert(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// checkRole adds the faults of r's permissions and field rules to v. Field
// rules must name fields the store has, where it can tell (see
// storage.FieldSchema).
func (s *Service) checkRole(v *storage.ValidationError, r *Role) {
	for _, err := range []error{r.Permissions.Validate("permissions"), r.Fields.Validate("fields")} {
		var pv *storage.ValidationError
		if errors.As(err, &pv) {
			v.Merge("", pv)
		}
	}
	fs, ok := s.store.(storage.FieldSchema)
	if !ok {
		return
	}
	for _, typ := range slices.Sorted(maps.Keys(r.Fields)) {
		names, known := fs.FieldNames(typ)
		if !known {
			v.Add("fields."+typ, "%q is not a record type", typ)
			continue
		}
		for _, f := range slices.Sorted(maps.Keys(r.Fields[typ])) {
			col, _, custom := strings.Cut(f, ".")
			if !slices.Contains(names, col) || (custom && col != "custom") {
				v.Add("fields."+typ+"."+f, "%s has no field %q", typ, f)
			}
		}
	}
}

// UpdateRole changes a custom role; only admins (and the system) may.
func (s *Service) UpdateRole(ctx context.Context, name string, in UpdateRole) (*Role, error) {
	if err := onlyAdmins(ctx); err != nil {
		return nil, err
	}
	var next *Role
	err := s.store.RunInTx(ctx, func(ctx context.Context) error {
		prev, err := s.customRole(ctx, name)
		if err != nil {
			return err
		}
		n := *prev
		if in.Description != nil {
			n.Description = strings.TrimSpace(*in.Description)
		}
		if in.Permissions != nil {
			n.Permissions = *in.Permissions
		}
		if in.Fields != nil {
			n.Fields = *in.Fields
		}
		var v storage.ValidationError
		s.checkRole(&v, &n)
		if err := v.Err(); err != nil {
			return err
		}
		next = &n
		return s.roles.Update(ctx, prev, next)
	})
	return next, err
}

// Role returns the role name: a built-in role, or a custom role of the
// workspace.
func (s *Service) Role(ctx context.Context, name string) (*Role, error) {
	if r := BuiltinRole(name, s.store.Types()); r != nil {
		return r, nil
	}
	return s.customRole(ctx, name)
}

func (s *Service) customRole(ctx context.Context, name string) (*Role, error) {
	if _, ok := builtinRoles[name]; ok {
		return nil, fmt.Errorf("%w: role %s is built in and cannot change", storage.ErrForbidden, name)
	}
	page, err := s.roles.List(ctx, storage.ListQuery{Filter: storage.Eq("name", name), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, fmt.Errorf("%w: role %s", storage.ErrNotFound, name)
	}
	return page.Items[0], nil
}

// Principal returns the principal of member id: its teams and its role's
// permissions, for storage.WithPrincipal. It reads as the system, so any
// caller can resolve any member; an inactive member is ErrForbidden.
func (s *Service) Principal(ctx context.Context, memberID string) (*storage.Principal, error) {
	m, err := s.members.Get(storage.AsSystem(ctx), memberID)
	if err != nil {
		return nil, err
	}
	return s.principalOf(ctx, m)
}

// principalOf returns the principal of member m (see Principal).
func (s *Service) principalOf(ctx context.Context, m *Member) (*storage.Principal, error) {
	if !m.Active {
		return nil, fmt.Errorf("%w: member %s is inactive", storage.ErrForbidden, m.ID)
	}
	r, err := s.Role(storage.AsSystem(ctx), m.Role)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", m.ID, err)
	}
	return &storage.Principal{MemberID: m.ID, TeamIDs: slices.Clone(m.TeamIDs), Role: r.Name,
		Permissions: r.Permissions, Fields: r.Fields}, nil
}

// MemberReader is a capability a Store may have, which As uses: reading a
// member together with what lets the store reuse, for the principal
// context As makes, what it read for earlier contexts of the same member.
// bunstore reads with the member the version of the workspace's shares and
// team memberships, so that the principal's scope sets, read for an
// earlier context while nothing has changed since, serve the new one
// without a query.
type MemberReader interface {
	// ReadMember returns member id, read as the system, and a function
	// that readies a principal context made for it (storage.WithPrincipal
	// with the principal of the member as read) before its first call.
	ReadMember(ctx context.Context, id string) (*Member, func(ctx context.Context), error)
}

// As returns ctx acting as member id (see Principal). Make one per request:
// what a principal context reads for the member's scopes (the members of
// its teams, what is shared with it) is as of the context's making or its
// first call that needs it, never older, so a share, an unshare or a change
// of team applies to every context made after it.
func (s *Service) As(ctx context.Context, memberID string) (context.Context, error) {
	r, ok := s.store.(MemberReader)
	if !ok {
		p, err := s.Principal(ctx, memberID)
		if err != nil {
			return nil, err
		}
		return storage.WithPrincipal(ctx, p), nil
	}
	m, ready, err := r.ReadMember(ctx, memberID)
	if err != nil {
		return nil, err
	}
	p, err := s.principalOf(ctx, m)
	if err != nil {
		return nil, err
	}
	pctx := storage.WithPrincipal(ctx, p)
	ready(pctx)
	return pctx, nil
}

// ShareWith names who a record is shared with: a member or a team.
type ShareWith struct {
	MemberID string
	TeamID   string
}

// Share shares ref with a member or a team. The caller must be allowed to
// update ref. Sharing again with the same member or team changes the access
// of the existing share.
func (s *Service) Share(ctx context.Context, ref storage.Ref, with ShareWith, acc ShareAccess) (*Share, error) {
	var v storage.ValidationError
	if (with.MemberID == "") == (with.TeamID == "") {
		v.Add("with", "needs exactly one of a member and a team")
	}
	if acc != ShareRead && acc != ShareEdit {
		v.Add("access", "%q is not read or edit", acc)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *Share
	err := s.store.RunInTx(ctx, func(ctx context.Context) error {
		if err := s.store.Check(ctx, ref, storage.ActionUpdate); err != nil {
			return err
		}
		if with.MemberID != "" {
			if _, err := s.members.Get(ctx, with.MemberID); err != nil {
				return fieldErr("with.member_id", err)
			}
		} else if _, err := s.teams.Get(ctx, with.TeamID); err != nil {
			return fieldErr("with.team_id", err)
		}
		page, err := s.shares.List(ctx, storage.ListQuery{Filter: storage.And{
			storage.Eq("record_id", ref.ID), storage.Eq("member_id", with.MemberID), storage.Eq("team_id", with.TeamID)}})
		if err != nil {
			return err
		}
		if len(page.Items) > 0 {
			prev := page.Items[0]
			n := *prev
			n.Access = acc
			out = &n
			return s.shares.Update(ctx, prev, out)
		}
		out = &Share{SharedType: ref.Type, RecordID: ref.ID, MemberID: with.MemberID, TeamID: with.TeamID,
			Access: acc, OwnerID: storage.ActorFrom(ctx)}
		return s.shares.Insert(ctx, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Unshare removes a share.
func (s *Service) Unshare(ctx context.Context, shareID string) error {
	return s.store.RunInTx(ctx, func(ctx context.Context) error {
		sh, err := s.shares.Get(ctx, shareID)
		if err != nil {
			return err
		}
		return s.shares.Delete(ctx, sh)
	})
}

// Shares returns the shares of a record.
func (s *Service) Shares(ctx context.Context, ref storage.Ref) ([]*Share, error) {
	page, err := s.shares.List(ctx, storage.ListQuery{Filter: storage.Eq("record_id", ref.ID), PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
	return page.Items, err
}

// fieldErr turns a missing referenced record into a validation error of field.
func fieldErr(field string, err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Invalid(field, "does not exist in the workspace")
	}
	return err
}
