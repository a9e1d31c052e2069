package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/crmkit/crm/storage/internal/ctxmemo"
)

// Action is what a principal does to a record.
type Action string

// The actions a role grants, per record type.
const (
	ActionRead   Action = "read"
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete"
	ActionExport Action = "export"
)

// Actions lists every Action.
var Actions = []Action{ActionRead, ActionCreate, ActionUpdate, ActionDelete, ActionExport}

// Scope is which records of a type an action is granted on.
type Scope string

// The scopes, from narrowest to widest. "own" is the records the principal
// owns; "team" adds the records whose team is one of the principal's teams
// and the records owned by a member of one of those teams. For a record type
// without owners, such as custom field definitions, "own" and "team" mean
// the records the principal created.
const (
	ScopeNone Scope = "none"
	ScopeOwn  Scope = "own"
	ScopeTeam Scope = "team"
	ScopeAll  Scope = "all"
)

// Valid reports whether s is one of the four scopes.
func (s Scope) Valid() bool {
	switch s {
	case ScopeNone, ScopeOwn, ScopeTeam, ScopeAll:
		return true
	}
	return false
}

// AnyType is the record type key of Permissions that applies to every type
// not named on its own.
const AnyType = "*"

// Permissions grant scopes: record type (or AnyType) → action → scope.
// Anything not granted is ScopeNone (deny by default).
type Permissions map[string]map[Action]Scope

// Scope returns the scope p grants for action on recordType: the type's own
// entry, else AnyType's, else ScopeNone.
func (p Permissions) Scope(recordType string, action Action) Scope {
	if s, ok := p[recordType][action]; ok && s.Valid() {
		return s
	}
	if s, ok := p[AnyType][action]; ok && s.Valid() {
		return s
	}
	return ScopeNone
}

// Validate checks every action and scope of p; the error is a
// *ValidationError naming the bad entries under field.
func (p Permissions) Validate(field string) error {
	var v ValidationError
	for typ, acts := range p {
		if typ == "" {
			v.Add(field, "has an empty record type")
		}
		for a, s := range acts {
			f := fmt.Sprintf("%s.%s.%s", field, typ, a)
			if !slices.Contains(Actions, a) {
				v.Add(f, "%q is not an action (read, create, update, delete, export)", a)
			}
			if !s.Valid() {
				v.Add(f, "%q is not a scope (none, own, team, all)", s)
			}
		}
	}
	return v.Err()
}

// Principal is who a call acts as: a member of the workspace with their
// teams and their role's permissions, or the system. Build one with
// (*access.Service).Principal, or by hand when the host application keeps
// members itself, and put it in the context with WithPrincipal.
type Principal struct {
	// MemberID is the member's ID; it is the actor of the change log.
	MemberID string
	// TeamIDs are the teams the member belongs to.
	TeamIDs []string
	// Role is the name of the member's role.
	Role string
	// Permissions are the role's grants.
	Permissions Permissions
	// Fields are the role's limits on fields: hidden or read-only.
	Fields FieldRules

	system bool
}

// IsSystem reports whether p is the system principal, which every check
// lets through.
func (p *Principal) IsSystem() bool { return p != nil && p.system }

// Scope returns the scope p has for action on recordType: ScopeAll for the
// system principal.
func (p *Principal) Scope(recordType string, action Action) Scope {
	if p.IsSystem() {
		return ScopeAll
	}
	return p.Permissions.Scope(recordType, action)
}

var systemPrincipal = &Principal{MemberID: SystemActor, Role: SystemActor, system: true}

type principalKey struct{}

// principalValue is what WithPrincipal puts in a context: the principal.
// Beside it, a memo keeps what stores look up for it (ctxmemo).
type principalValue struct {
	p *Principal
}

// WithPrincipal returns a context whose calls act as p: every read sees
// only the records p's role lets it see, every write is checked, and the
// change log records p.MemberID as the actor.
//
// A store reads what p's scopes refer to (the members of p's teams, the
// records shared with p or its teams) once per context made here, at the
// first call that needs it, and keeps it with the context. Make
// a principal context per request, as crm.CRM.As does: a share, an unshare
// or a change of team membership made meanwhile applies to the contexts
// made after it. A context made by access.Service.As (or crm.CRM.As) may
// instead get from the store what it read for an earlier context of the
// same member, when nothing it depends on has changed since.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return ctxmemo.With(context.WithValue(ctx, principalKey{}, &principalValue{p: p}))
}

// AsSystem returns a context whose calls act as the system: no access
// checks, and writes recorded as made by SystemActor. Library code and host
// code use it only where a call must see everything (background jobs,
// resolving a principal, migrations of data).
func AsSystem(ctx context.Context) context.Context {
	return ctxmemo.With(context.WithValue(ctx, principalKey{}, &principalValue{p: systemPrincipal}))
}

// AsSystemActor is AsSystem with the writes recorded as made by actor
// instead of SystemActor, such as "workflow:<rule>" for the actions of a
// workflow rule. An empty actor is SystemActor.
func AsSystemActor(ctx context.Context, actor string) context.Context {
	if actor == "" || actor == SystemActor {
		return AsSystem(ctx)
	}
	return ctxmemo.With(context.WithValue(ctx, principalKey{}, &principalValue{p: &Principal{MemberID: actor, Role: SystemActor, system: true}}))
}

// PrincipalFrom returns the context's principal, or nil when it has none.
// What a store does without one depends on how it was opened: by default it
// acts as the system (the single-user embedding needs no setup), and with
// access control required it refuses with ErrForbidden.
func PrincipalFrom(ctx context.Context) *Principal {
	if v, _ := ctx.Value(principalKey{}).(*principalValue); v != nil {
		return v.p
	}
	return nil
}

// Authorizer checks one action on one record for the context's principal.
// The stores implement it; services call it where an action on one record
// rides on another (sharing a record needs the right to update it).
type Authorizer interface {
	// Check returns nil when the principal may do action on ref; ErrNotFound
	// when it may not read ref (or ref does not exist), and ErrForbidden when
	// it may read ref but not do action.
	Check(ctx context.Context, ref Ref, action Action) error
}

// FieldAccess limits what a role may do with one field of a record type.
type FieldAccess string

// The limits a role can put on a field. A field without a limit is read and
// written as the role's record scopes allow.
const (
	// FieldHidden: the field is absent from everything the principal reads
	// (records, search hits, timelines, history, the change feed), it cannot
	// be filtered or sorted on, and writing it is ErrForbidden.
	FieldHidden FieldAccess = "hidden"
	// FieldReadOnly: the field is read as usual, and writing it is
	// ErrForbidden.
	FieldReadOnly FieldAccess = "read_only"
)

// FieldRules limit fields: record type → field → access. A field is named
// as in filters and change events: its stored name ("email", "owner_id"),
// "custom.<name>" for one custom field, or "custom" for every custom field
// of the type. The record's identity and bookkeeping fields (id,
// workspace_id, version, created_at, created_by, updated_at, updated_by)
// cannot be limited.
type FieldRules map[string]map[string]FieldAccess

// Access returns the limit r puts on field of recordType: the field's own
// entry, else (for "custom.<name>") the entry of "custom", else "" (none).
func (r FieldRules) Access(recordType, field string) FieldAccess {
	fs := r[recordType]
	if len(fs) == 0 {
		return ""
	}
	if a, ok := fs[field]; ok {
		return a
	}
	if strings.HasPrefix(field, "custom.") {
		return fs["custom"]
	}
	return ""
}

// MetaFields are the identity and bookkeeping fields every record has;
// FieldRules cannot limit them.
var MetaFields = []string{"id", "workspace_id", "version", "created_at", "created_by", "updated_at", "updated_by"}

// Validate checks the shape of every rule of r: record types, field names
// and limits. The error is a *ValidationError naming the bad entries under
// field. Whether a field exists depends on the store; see FieldSchema.
func (r FieldRules) Validate(field string) error {
	var v ValidationError
	for typ, fs := range r {
		if typ == "" || typ == AnyType {
			v.Add(field, "record type %q: field rules name one record type", typ)
		}
		for name, a := range fs {
			f := fmt.Sprintf("%s.%s.%s", field, typ, name)
			key, custom := strings.CutPrefix(name, "custom.")
			switch {
			case slices.Contains(MetaFields, name):
				v.Add(f, "%s cannot be hidden or read-only", name)
			case !ValidKey(key) || (custom && key == ""):
				v.Add(f, "%q is not a field name", name)
			}
			if a != FieldHidden && a != FieldReadOnly {
				v.Add(f, "%q is not a field access (hidden, read_only)", a)
			}
		}
	}
	return v.Err()
}

// FieldSchema is implemented by stores that can say which fields a record
// type has, so that field rules naming no field are refused when saved.
type FieldSchema interface {
	// FieldNames returns the stored field names of recordType, and false
	// when the store has no such type.
	FieldNames(recordType string) ([]string, bool)
}

// FieldAccess returns the limit p's role puts on field of recordType; none
// for the system principal.
func (p *Principal) FieldAccess(recordType, field string) FieldAccess {
	if p == nil || p.IsSystem() {
		return ""
	}
	return p.Fields.Access(recordType, field)
}
