package marketing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// SegmentKind says how a segment's members are chosen.
type SegmentKind string

// The segment kinds.
const (
	// SegmentDynamic: the contacts that match the segment's conditions,
	// kept current as contacts change (Service.Sync).
	SegmentDynamic SegmentKind = "dynamic"
	// SegmentStatic: the contacts added to it (Segments.Add).
	SegmentStatic SegmentKind = "static"
)

// Engagement is a condition on what a contact did with the mail sent to
// it: "opened a campaign email in the last 7 days". Hits flagged as
// machines' (prefetches, scanners) do not count.
type Engagement struct {
	// Kind is the hit counted: HitOpen or HitClick.
	Kind HitKind `json:"kind"`
	// WithinDays counts the hits of the last so many days; at least 1.
	WithinDays int `json:"within_days"`
	// CampaignID, when set, counts only the hits on that campaign's mail.
	CampaignID string `json:"campaign_id,omitempty"`
	// Min is how many hits are needed. Default 1.
	Min int `json:"min,omitempty"`
}

// Segment is a set of contacts to market to. A dynamic segment's members
// are the contacts that match all of its conditions: Where (an expression
// over the contact's fields, custom fields and account: `lifecycle ==
// "customer" && account.industry == "retail"`), every Engaged condition,
// membership of every segment in Include and of none in Exclude (segments
// of segments, evaluated in dependency order). Membership is materialised
// as SegmentMember records, whose events (segment_member.entered,
// segment_member.left) workflow rules trigger on.
type Segment struct {
	storage.Meta
	Name        string       `bun:"name,notnull" json:"name"`
	Description string       `bun:"description,notnull" json:"description,omitempty"`
	Kind        SegmentKind  `bun:"kind,notnull" json:"kind"`
	Where       string       `bun:"where_expr,notnull" json:"where,omitempty"`
	Engaged     []Engagement `bun:"engaged" json:"engaged,omitempty"`
	Include     []string     `bun:"include_segments" json:"include,omitempty"`
	Exclude     []string     `bun:"exclude_segments" json:"exclude,omitempty"`
	OwnerID     string       `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID      string       `bun:"team_id,notnull" json:"team_id,omitempty"`
}

// RecordType returns "segment".
func (*Segment) RecordType() string { return ObjectSegment }

// timed reports whether the segment's membership changes with the clock
// alone (an engagement window), so that Refresh must recompute it.
func (g *Segment) timed() bool { return len(g.Engaged) > 0 }

// SegmentMember says that a contact is in a segment.
type SegmentMember struct {
	storage.Meta
	SegmentID string    `bun:"segment_id,notnull" json:"segment_id"`
	ContactID string    `bun:"contact_id,notnull" json:"contact_id"`
	EnteredAt time.Time `bun:"entered_at,notnull" json:"entered_at"`
}

// RecordType returns "segment_member".
func (*SegmentMember) RecordType() string { return ObjectSegmentMember }

// Links returns the contact and the segment.
func (m *SegmentMember) Links() []storage.Ref {
	return []storage.Ref{{Type: contacts.ObjectContact, ID: m.ContactID}, {Type: ObjectSegment, ID: m.SegmentID}}
}

// The events of segment members.
const (
	EventEntered = "segment_member.entered"
	EventLeft    = "segment_member.left"
)

// NewSegment is the input of Segments.Create.
type NewSegment struct {
	Name, Description string
	Kind              SegmentKind // default dynamic
	Where             string
	Engaged           []Engagement
	Include, Exclude  []string
	OwnerID, TeamID   string
}

// UpdateSegment is the input of Segments.Update; nil fields are kept.
type UpdateSegment struct {
	Name, Description, Where *string
	Engaged                  *[]Engagement
	Include, Exclude         *[]string
}

// Segments manages segments and keeps their membership.
type Segments struct{ s *Service }

// Create adds a segment and, for a dynamic one, computes its members. A
// bad expression, an unknown segment in Include or Exclude, or a cycle of
// segments is ErrInvalid.
func (gs *Segments) Create(ctx context.Context, in NewSegment) (*Segment, error) {
	g := &Segment{Name: in.Name, Description: in.Description, Kind: in.Kind, Where: in.Where, Engaged: in.Engaged,
		Include: in.Include, Exclude: in.Exclude, OwnerID: in.OwnerID, TeamID: in.TeamID}
	if g.Kind == "" {
		g.Kind = SegmentDynamic
	}
	err := gs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		if err := gs.check(ctx, g); err != nil {
			return err
		}
		return gs.s.t.segments.Insert(ctx, g)
	})
	if err != nil {
		return nil, err
	}
	if g.Kind == SegmentDynamic {
		if _, err := gs.Recompute(ctx, g.ID); err != nil {
			return g, fmt.Errorf("marketing: segment %s is stored, but computing its members failed: %w", g.ID, err)
		}
	}
	return g, nil
}

// Get returns the segment with id.
func (gs *Segments) Get(ctx context.Context, id string) (*Segment, error) {
	return gs.s.t.segments.Get(ctx, id)
}

// List returns every segment of the workspace the caller may read, by name.
func (gs *Segments) List(ctx context.Context) ([]*Segment, error) {
	return storage.All(ctx, gs.s.t.segments, nil)
}

// Update changes a segment (at version, 0 for any) and recomputes its
// members and those of the segments that include or exclude it.
func (gs *Segments) Update(ctx context.Context, id string, version int64, in UpdateSegment) (*Segment, error) {
	g, err := storage.Modify(ctx, gs.s.store, gs.s.t.segments, id, version, func(ctx context.Context, g *Segment) error {
		storage.Set(&g.Name, in.Name)
		storage.Set(&g.Description, in.Description)
		storage.Set(&g.Where, in.Where)
		storage.Set(&g.Engaged, in.Engaged)
		storage.Set(&g.Include, in.Include)
		storage.Set(&g.Exclude, in.Exclude)
		return gs.check(ctx, g)
	})
	if err != nil {
		return nil, err
	}
	if _, err := gs.Recompute(ctx, g.ID); err != nil {
		return g, fmt.Errorf("marketing: segment %s is stored, but recomputing its members failed: %w", g.ID, err)
	}
	return g, nil
}

// Delete removes a segment and its members (each leaving it). A segment
// that another includes or excludes is ErrConflict.
func (gs *Segments) Delete(ctx context.Context, id string) error {
	return gs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		g, err := gs.s.t.segments.Get(ctx, id)
		if err != nil {
			return err
		}
		all, err := gs.all(ctx)
		if err != nil {
			return err
		}
		for _, o := range all {
			if slices.Contains(o.Include, id) || slices.Contains(o.Exclude, id) {
				return fmt.Errorf("%w: segment %q uses segment %q", storage.ErrConflict, o.Name, g.Name)
			}
		}
		sys := storage.AsSystem(ctx)
		members, err := storage.All(sys, gs.s.t.members, storage.Eq("segment_id", id))
		if err != nil {
			return err
		}
		for _, m := range members {
			if err := gs.s.t.members.Delete(sys, m, storage.WithEventType(EventLeft)); err != nil {
				return err
			}
		}
		return gs.s.t.segments.Delete(ctx, g)
	})
}

// check validates g against the workspace's segments.
func (gs *Segments) check(ctx context.Context, g *Segment) error {
	var v storage.ValidationError
	storage.TrimText(&v, "name", &g.Name, MaxTextLen)
	if g.Name == "" {
		v.Add("name", "is required")
	}
	storage.TrimText(&v, "description", &g.Description, 4000)
	storage.TrimText(&v, "where", &g.Where, 4000)
	switch g.Kind {
	case SegmentDynamic:
		if g.Where != "" {
			if _, err := gs.s.people.Filter(ctx, contacts.ObjectContact, g.Where); err != nil {
				if !errors.Is(err, storage.ErrInvalid) {
					return err
				}
				v.Add("where", "%v", err)
			}
		}
		for i, e := range g.Engaged {
			f := fmt.Sprintf("engaged[%d]", i)
			if e.Kind != HitOpen && e.Kind != HitClick {
				v.Add(f+".kind", "%q is not open or click", e.Kind)
			}
			if e.WithinDays < 1 || e.WithinDays > 3660 {
				v.Add(f+".within_days", "must be from 1 to 3660")
			}
			if e.Min < 0 {
				v.Add(f+".min", "must not be negative")
			}
		}
	case SegmentStatic:
		if g.Where != "" || len(g.Engaged)+len(g.Include)+len(g.Exclude) > 0 {
			v.Add("kind", "a static segment has no conditions: its members are added")
		}
	default:
		v.Add("kind", "%q is not dynamic or static", g.Kind)
	}
	if err := v.Err(); err != nil {
		return err
	}
	segs, err := gs.all(ctx)
	if err != nil {
		return err
	}
	byID := map[string]*Segment{}
	for _, o := range segs {
		byID[o.ID] = o
	}
	if g.ID != "" {
		byID[g.ID] = g
	}
	for _, f := range []struct {
		name string
		ids  []string
	}{{"include", g.Include}, {"exclude", g.Exclude}} {
		for i, id := range f.ids {
			if byID[id] == nil {
				v.Add(fmt.Sprintf("%s[%d]", f.name, i), "segment %q does not exist in the workspace", id)
			} else if id == g.ID {
				v.Add(fmt.Sprintf("%s[%d]", f.name, i), "a segment cannot use itself")
			}
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if g.ID != "" {
		if _, err := order(byID); err != nil {
			return storage.Invalid("include", "%v", err)
		}
	}
	return nil
}

// all returns every segment of the workspace, whoever may read them.
func (gs *Segments) all(ctx context.Context) ([]*Segment, error) {
	return storage.All(storage.AsSystem(ctx), gs.s.t.segments, nil)
}

// order returns the segments so that every segment comes after those it
// includes or excludes; a cycle is an error.
func order(byID map[string]*Segment) ([]*Segment, error) {
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var out []*Segment
	var visit func(id string, path []string) error
	visit = func(id string, path []string) error {
		switch state[id] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("segments use each other in a cycle: %v", append(path, id))
		}
		g := byID[id]
		if g == nil {
			return nil
		}
		state[id] = visiting
		for _, dep := range append(slices.Clone(g.Include), g.Exclude...) {
			if err := visit(dep, append(path, g.Name)); err != nil {
				return err
			}
		}
		state[id] = done
		out = append(out, g)
		return nil
	}
	for _, id := range ids {
		if err := visit(id, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Add puts contacts into a static segment (each entering it); contacts in
// it already are left as they are. A dynamic segment is ErrInvalid.
func (gs *Segments) Add(ctx context.Context, segmentID string, contactIDs ...string) error {
	return gs.static(ctx, segmentID, func(ctx context.Context, g *Segment, current map[string]*SegmentMember) error {
		var v storage.ValidationError
		want := map[string]bool{}
		for i, id := range contactIDs {
			if err := storage.CheckExists(ctx, &v, fmt.Sprintf("contact_ids[%d]", i), func(ctx context.Context) error {
				_, err := gs.s.people.Contacts.Get(ctx, id)
				return err
			}); err != nil {
				return err
			}
			if current[id] == nil {
				want[id] = true
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		return gs.apply(ctx, g, want, nil)
	}, contactIDs)
}

// Remove takes contacts out of a static segment (each leaving it).
func (gs *Segments) Remove(ctx context.Context, segmentID string, contactIDs ...string) error {
	return gs.static(ctx, segmentID, func(ctx context.Context, g *Segment, current map[string]*SegmentMember) error {
		var leave []*SegmentMember
		for _, m := range current {
			leave = append(leave, m)
		}
		return gs.apply(ctx, g, nil, leave)
	}, contactIDs)
}

// static runs fn in a transaction on a static segment and its current
// members among ids, and brings the segments that use it up to date.
func (gs *Segments) static(ctx context.Context, segmentID string, fn func(ctx context.Context, g *Segment, current map[string]*SegmentMember) error, ids []string) error {
	return gs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		g, err := gs.s.t.segments.Get(ctx, segmentID)
		if err != nil {
			return err
		}
		if g.Kind != SegmentStatic {
			return storage.Invalid("segment_id", "segment %q is dynamic: its members follow its conditions", g.Name)
		}
		if err := gs.s.store.Check(ctx, storage.Ref{Type: ObjectSegment, ID: g.ID}, storage.ActionUpdate); err != nil {
			return err
		}
		current, err := gs.membersOf(ctx, g.ID, ids)
		if err != nil {
			return err
		}
		if err := fn(ctx, g, current); err != nil {
			return err
		}
		return gs.update(ctx, ids)
	})
}
