package access

import (
	"slices"

	"github.com/crmkit/crm/storage"
)

// Member is a user of the host application as the CRM knows it. Members own
// records, belong to teams and have a role.
type Member struct {
	storage.Meta
	// ExternalID is the user's ID in the host application, unique in the
	// workspace when set; SyncMember finds members by it.
	ExternalID string `bun:"external_id,notnull" json:"external_id,omitempty"`
	// Name is the member's display name.
	Name string `bun:"name,notnull" json:"name"`
	// Email is the member's address, lower-case.
	Email string `bun:"email,notnull" json:"email,omitempty"`
	// Active members can act; an inactive member keeps its records but
	// Principal refuses it.
	Active bool `bun:"active,notnull" json:"active"`
	// Role is the name of the member's role: a built-in one or a custom
	// role of the workspace.
	Role string `bun:"role,notnull" json:"role"`
	// TeamIDs are the teams the member belongs to.
	TeamIDs []string `bun:"team_ids" json:"team_ids,omitempty"`
}

// RecordType returns "member".
func (*Member) RecordType() string { return ObjectMember }

// Links returns the member's teams: the store indexes them, which is how a
// "team" scope finds the records owned by a team's members.
func (m *Member) Links() []storage.Ref {
	refs := make([]storage.Ref, len(m.TeamIDs))
	for i, id := range m.TeamIDs {
		refs[i] = storage.Ref{Type: ObjectTeam, ID: id}
	}
	return refs
}

// Team is a group of members; records may belong to a team.
type Team struct {
	storage.Meta
	// Name is the team's name, unique in the workspace.
	Name string `bun:"name,notnull" json:"name"`
	// Description says what the team is.
	Description string `bun:"description,notnull" json:"description,omitempty"`
}

// RecordType returns "team".
func (*Team) RecordType() string { return ObjectTeam }

// ShareAccess is what a share grants.
type ShareAccess string

// The access a share grants: read, or read and update. A share never grants
// delete.
const (
	ShareRead ShareAccess = "read"
	ShareEdit ShareAccess = "edit"
)

// Share gives one member or one team access to one record, on top of what
// their roles grant.
type Share struct {
	storage.Meta
	// SharedType and RecordID name the record shared.
	SharedType string `bun:"record_type,notnull" json:"record_type"`
	RecordID   string `bun:"record_id,notnull" json:"record_id"`
	// MemberID or TeamID (exactly one) is who the record is shared with.
	MemberID string `bun:"member_id,notnull" json:"member_id,omitempty"`
	TeamID   string `bun:"team_id,notnull" json:"team_id,omitempty"`
	// Access is ShareRead or ShareEdit.
	Access ShareAccess `bun:"access,notnull" json:"access"`
	// OwnerID is the member who made the share.
	OwnerID string `bun:"owner_id,notnull" json:"owner_id"`
}

// RecordType returns "share".
func (*Share) RecordType() string { return ObjectShare }

// normTeams sorts and deduplicates team IDs.
func normTeams(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
