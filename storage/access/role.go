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

// builtin returns the built-in role name, for a store whose record types
// of access class AccessConfig are config.
func builtin(name, desc string, any map[storage.Action]storage.Scope, config []string) *Role {
	p := storage.Permissions{storage.AnyType: maps.Clone(any)}
	if name != RoleAdmin {
		p[ObjectMember], p[ObjectTeam], p[ObjectRole] = maps.Clone(directory), maps.Clone(directory), maps.Clone(directory)
		p[ObjectShare] = maps.Clone(sharing)
		// Configuration and the catalogue: read by all, written by admins.
		for _, typ := range config {
			p[typ] = maps.Clone(directory)
		}
	}
	return &Role{Name: name, Description: desc, Permissions: p}
}

// builtinRoles are the grants of the built-in roles to every record type
// of class AccessOwned, by name.
var builtinRoles = map[string]struct {
	desc  string
	grant map[storage.Action]storage.Scope
}{
	RoleAdmin: {"Everything in the workspace.",
		scopes(storage.ScopeAll, storage.ScopeAll, storage.ScopeAll, storage.ScopeAll, storage.ScopeAll)},
	RoleManager: {"Reads everything; creates records; changes, deletes and exports the team's records.",
		scopes(storage.ScopeAll, storage.ScopeAll, storage.ScopeTeam, storage.ScopeTeam, storage.ScopeTeam)},
	RoleRep: {"Reads the team's records; creates records; changes and deletes its own.",
		scopes(storage.ScopeTeam, storage.ScopeAll, storage.ScopeOwn, storage.ScopeOwn, storage.ScopeNone)},
	RoleReadOnly: {"Reads everything; changes nothing.",
		scopes(storage.ScopeAll, storage.ScopeNone, storage.ScopeNone, storage.ScopeNone, storage.ScopeNone)},
}

// BuiltinRole returns the built-in role name for a store of the record
// types types, or nil when name is not a built-in role. Record types of
// class AccessConfig are read by every role and changed by admins only;
// the others follow each role's grant of "*" (see the Role constants).
func BuiltinRole(name string, types []storage.RecordType) *Role {
	b, ok := builtinRoles[name]
	if !ok {
		return nil
	}
	var config []string
	for _, t := range types {
		if t.Options().Access == storage.AccessConfig {
			config = append(config, t.Name())
		}
	}
	return builtin(name, b.desc, b.grant, config)
}
