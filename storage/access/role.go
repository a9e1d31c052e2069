package access

import (
	"maps"

	"github.com/crmkit/crm/storage"
)

// The built-in roles, present in every workspace. Their names cannot be
// taken by custom roles.
const (
	RoleAdmin    = "admin"     // everything
	RoleManager  = "manager"   // reads everything; creates; changes, deletes and exports the team's records
	RoleRep      = "rep"       // reads the team's records; creates; changes and deletes its own
	RoleReadOnly = "read_only" // reads everything, changes nothing
)

// The record types of this package.
const (
	ObjectMember = "member"
	ObjectTeam   = "team"
	ObjectRole   = "role"
	ObjectShare  = "share"
)

// Role is a named set of permissions in a workspace.
type Role struct {
	storage.Meta
	// Name identifies the role in the workspace: lower-case letters, digits
	// and underscores, starting with a letter.
	Name string `bun:"name,notnull" json:"name"`
	// Description says what the role is for.
	Description string `bun:"description,notnull" json:"description,omitempty"`
	// Permissions grant the role's scopes; anything not granted is denied.
	Permissions storage.Permissions `bun:"permissions" json:"permissions"`
	// Fields hide fields from the role's members or make them read-only.
	Fields storage.FieldRules `bun:"fields" json:"fields,omitempty"`
}

// RecordType returns "role".
func (*Role) RecordType() string { return ObjectRole }

// scopes returns a grant of one scope per action.
func scopes(read, create, update, del, export storage.Scope) map[storage.Action]storage.Scope {
	return map[storage.Action]storage.Scope{storage.ActionRead: read, storage.ActionCreate: create,
		storage.ActionUpdate: update, storage.ActionDelete: del, storage.ActionExport: export}
}

// directory is what every role may do with the workspace's directory
// (members, teams, roles): read it, and nothing else unless it is admin.
var directory = scopes(storage.ScopeAll, storage.ScopeNone, storage.ScopeNone, storage.ScopeNone, storage.ScopeNone)

// sharing lets a member share records (the service checks that the member
// may update the record shared) and withdraw the shares it made.
var sharing = scopes(storage.ScopeAll, storage.ScopeAll, storage.ScopeOwn, storage.ScopeOwn, storage.ScopeNone)

func builtin(name, desc string, any map[storage.Action]storage.Scope) *Role {
	p := storage.Permissions{storage.AnyType: any}
	if name != RoleAdmin {
		p[ObjectMember], p[ObjectTeam], p[ObjectRole] = directory, directory, directory
		p[ObjectShare] = sharing
		// Configuration and the catalogue: read by all, written by admins.
		for _, typ := range []string{"field_def", "duplicate_rules", "pipeline", "product", "price_book", "price_entry", "workflow_rule"} {
			p[typ] = directory
		}
	}
	return &Role{Name: name, Description: desc, Permissions: p}
}

var builtins = map[string]*Role{
	RoleAdmin: builtin(RoleAdmin, "Everything in the workspace.",
		scopes(storage.ScopeAll, storage.ScopeAll, storage.ScopeAll, storage.ScopeAll, storage.ScopeAll)),
	RoleManager: builtin(RoleManager, "Reads everything; creates records; changes, deletes and exports the team's records.",
		scopes(storage.ScopeAll, storage.ScopeAll, storage.ScopeTeam, storage.ScopeTeam, storage.ScopeTeam)),
	RoleRep: builtin(RoleRep, "Reads the team's records; creates records; changes and deletes its own.",
		scopes(storage.ScopeTeam, storage.ScopeAll, storage.ScopeOwn, storage.ScopeOwn, storage.ScopeNone)),
	RoleReadOnly: builtin(RoleReadOnly, "Reads everything; changes nothing.",
		scopes(storage.ScopeAll, storage.ScopeNone, storage.ScopeNone, storage.ScopeNone, storage.ScopeNone)),
}

// BuiltinRole returns a copy of the built-in role name, or nil.
func BuiltinRole(name string) *Role {
	r, ok := builtins[name]
	if !ok {
		return nil
	}
	c := *r
	c.Permissions = make(storage.Permissions, len(r.Permissions))
	for t, a := range r.Permissions {
		c.Permissions[t] = maps.Clone(a)
	}
	return &c
}
