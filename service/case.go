package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// Channel is how a case reached the desk.
type Channel string

// The channels.
const (
	ChannelEmail Channel = "email"
	ChannelWeb   Channel = "web"
	ChannelChat  Channel = "chat"
	ChannelPhone Channel = "phone"
	ChannelAPI   Channel = "api"
)

// Priority is how urgent a case is.
type Priority string

// The priorities, least urgent first.
const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// MaxTextLen bounds a case's subject and other short texts; MaxBodyLen a
// description or a message's body.
const (
	MaxTextLen = 500
	MaxBodyLen = 200_000
)

// Case is a customer's request to the service desk: a ticket.
type Case struct {
	storage.Meta
	// Number is the workspace's gap-free case number (1, 2, 3 …), shown as
	// "#42" (Case.Ref).
	Number      int64  `bun:"number,notnull" json:"number"`
	Subject     string `bun:"subject,notnull" json:"subject"`
	Description string `bun:"description,notnull" json:"description,omitempty"`
	// ContactID is the customer who asked, or ""; AccountID their company.
	ContactID string   `bun:"contact_id,notnull" json:"contact_id,omitempty"`
	AccountID string   `bun:"account_id,notnull" json:"account_id,omitempty"`
	Channel   Channel  `bun:"channel,notnull" json:"channel"`
	Priority  Priority `bun:"priority,notnull" json:"priority"`
	// Status is the key of one of the workspace's statuses (Settings);
	// Category is that status's category, kept beside it so that lists
	// and reports select open, paused or resolved cases directly.
	Status   string         `bun:"status,notnull" json:"status"`
	Category StatusCategory `bun:"status_category,notnull" json:"category"`
	// OwnerID is the member the case is assigned to ("" for none); TeamID
	// the team that handles it.
	OwnerID string         `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID  string         `bun:"team_id,notnull" json:"team_id,omitempty"`
	Tags    []string       `bun:"tags" json:"tags,omitempty"`
	Custom  map[string]any `bun:"custom" json:"custom,omitempty"`
	// FirstResponseAt is when the desk first replied to the customer (a
	// public reply), ResolvedAt when the case last entered a resolved
	// status (zero while it is not resolved), LastMessageAt when its last
	// message was written.
	FirstResponseAt time.Time `bun:"first_response_at,notnull" json:"first_response_at,omitzero"`
	ResolvedAt      time.Time `bun:"resolved_at,notnull" json:"resolved_at,omitzero"`
	LastMessageAt   time.Time `bun:"last_message_at,notnull" json:"last_message_at,omitzero"`
	// WaitingSince is when the customer's oldest message the desk has not
	// answered was written (the case's creation, then each inbound reply
	// after a public reply), or zero when the desk spoke last or the case
	// is not open: the start of the next-response clock, and the order of
	// a queue of waiting customers.
	WaitingSince time.Time `bun:"waiting_since,notnull" json:"waiting_since,omitzero"`
	// MergedInto is the case this one was merged into (Cases.Merge), or "".
	MergedInto string `bun:"merged_into,notnull" json:"merged_into,omitempty"`
	// SLA is the case's applied SLA: its policy's clocks (SLAPolicy).
	SLA SLA `bun:"embed:" json:"sla,omitzero"`
}

// RecordType returns "case".
func (*Case) RecordType() string { return ObjectCase }

// Ref returns the case's number as people write it: "#42".
func (c *Case) Ref() string { return fmt.Sprintf("#%d", c.Number) }

// References returns the case's contact and account, which filter
// expressions and reports name as "contact" and "account"
// ("account.tier == 'gold'").
func (*Case) References() []storage.Reference {
	return []storage.Reference{{Name: "contact", Field: "contact_id", Type: contacts.ObjectContact},
		{Name: "account", Field: "account_id", Type: contacts.ObjectAccount}}
}

// Links returns the case's contact and account, so that the case appears
// in their relations.
func (c *Case) Links() []storage.Ref {
	var out []storage.Ref
	if c.ContactID != "" {
		out = append(out, storage.Ref{Type: contacts.ObjectContact, ID: c.ContactID})
	}
	if c.AccountID != "" {
		out = append(out, storage.Ref{Type: contacts.ObjectAccount, ID: c.AccountID})
	}
	return out
}

// SearchTitle returns "#42 Subject".
func (c *Case) SearchTitle() string { return c.Ref() + " " + c.Subject }

// SearchText returns the case's subject, description and tags.
func (c *Case) SearchText() string {
	return strings.Join(append([]string{c.Subject, c.Description}, c.Tags...), " ")
}

// NewCase is the input of Cases.Create.
type NewCase struct {
	Subject, Description string
	ContactID, AccountID string
	// Channel defaults to api, Priority to normal, Status to the
	// workspace's default status.
	Channel  Channel
	Priority Priority
	Status   string
	OwnerID  string
	TeamID   string
	Tags     []string
	Custom   map[string]any
}

// Cases manages cases and their threads.
type Cases struct{ s *Service }

// Create opens a case, numbered next in the workspace. The contact and the
// account must exist; a case with a contact and no account takes the
// contact's. A case with no owner goes through the assignment rules
// (AssignmentRule), then gets its SLA (SLAPolicy).
func (cs *Cases) Create(ctx context.Context, in NewCase) (*Case, error) {
	c := &Case{Subject: in.Subject, Description: in.Description, ContactID: in.ContactID, AccountID: in.AccountID,
		Channel: in.Channel, Priority: in.Priority, Status: in.Status, OwnerID: in.OwnerID, TeamID: in.TeamID}
	if c.Channel == "" {
		c.Channel = ChannelAPI
	}
	if c.Priority == "" {
		c.Priority = PriorityNormal
	}
	err := cs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		set, err := cs.s.Settings.Get(ctx)
		if err != nil {
			return err
		}
		if c.Status == "" {
			c.Status = set.DefaultStatus()
		}
		var v storage.ValidationError
		c.Tags = cs.check(ctx, &v, c, set, in.Tags)
		if err := cs.checkAccount(ctx, &v, c.AccountID); err != nil {
			return err
		}
		if c.ContactID != "" {
			contact, err := cs.s.t.contacts.Get(ctx, c.ContactID)
			switch {
			case errors.Is(err, storage.ErrNotFound):
				v.Add("contact_id", "no contact %q", c.ContactID)
			case err != nil:
				return err
			case c.AccountID == "":
				c.AccountID = contact.AccountID
			}
		}
		if c.Custom, err = cs.custom(ctx, &v, in.Custom); err != nil {
			return err
		}
		if err := v.Err(); err != nil {
			return err
		}
		if c.Number, err = cs.s.store.NextNumber(ctx, ObjectCase); err != nil {
			return err
		}
		at := storage.WriteTimeFrom(ctx)
		if c.Category == StatusResolved {
			c.ResolvedAt = at
		}
		if c.Category == StatusOpen {
			c.WaitingSince = at
		}
		if c.OwnerID == "" && c.Category != StatusResolved {
			if err := cs.s.route(ctx, c, at); err != nil {
				return err
			}
		}
		if err := cs.s.applySLA(ctx, c, at); err != nil {
			return err
		}
		return cs.s.t.cases.Insert(ctx, c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// checkAccount adds to v an account ID that names no account.
func (cs *Cases) checkAccount(ctx context.Context, v *storage.ValidationError, id string) error {
	if id == "" {
		return nil
	}
	return storage.CheckRef(ctx, v, "account_id", cs.s.store, storage.Ref{Type: contacts.ObjectAccount, ID: id})
}

// check validates and normalises c's own fields against the workspace's
// settings (its status sets Category), adding each bad field to v, and
// returns the normalised tags.
func (cs *Cases) check(ctx context.Context, v *storage.ValidationError, c *Case, set *Settings, tags []string) []string {
	storage.TrimText(v, "subject", &c.Subject, MaxTextLen)
	if c.Subject == "" {
		v.Add("subject", "is required")
	}
	storage.TrimText(v, "description", &c.Description, MaxBodyLen)
	storage.TrimText(v, "owner_id", &c.OwnerID, MaxTextLen)
	storage.TrimText(v, "team_id", &c.TeamID, MaxTextLen)
	switch c.Channel {
	case ChannelEmail, ChannelWeb, ChannelChat, ChannelPhone, ChannelAPI:
	default:
		v.Add("channel", "%q is not email, web, chat, phone or api", c.Channel)
	}
	switch c.Priority {
	case PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent:
	default:
		v.Add("priority", "%q is not low, normal, high or urgent", c.Priority)
	}
	if st, ok := set.Status(c.Status); ok {
		c.Category = st.Category
	} else {
		v.Add("status", "%q is not a status of the workspace (%s)", c.Status, strings.Join(set.Keys(), ", "))
	}
	out, err := contacts.NormalizeTags(tags)
	var bad *storage.ValidationError
	if errors.As(err, &bad) {
		v.Merge("", bad)
	}
	return out
}

// Get returns the case with id.
func (cs *Cases) Get(ctx context.Context, id string) (*Case, error) {
	return cs.s.t.cases.Get(ctx, id)
}

// ByNumber returns the workspace's case numbered n.
func (cs *Cases) ByNumber(ctx context.Context, n int64) (*Case, error) {
	page, err := cs.s.t.cases.List(ctx, storage.ListQuery{Filter: storage.Eq("number", n), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, fmt.Errorf("%w: case #%d", storage.ErrNotFound, n)
	}
	return page.Items[0], nil
}

// List returns a page of cases.
func (cs *Cases) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Case], error) {
	return cs.s.t.cases.List(ctx, q)
}

// UpdateCase changes a case; nil fields stay as they are. Custom sets the
// named custom values (a nil value removes one).
type UpdateCase struct {
	Subject, Description *string
	ContactID, AccountID *string
	Channel              *Channel
	Priority             *Priority
	Tags                 *[]string
	Custom               map[string]any
}

// Update changes a case's fields. Its status and assignment change through
// SetStatus and Assign, which say so in their events.
func (cs *Cases) Update(ctx context.Context, id string, in UpdateCase) (*Case, error) {
	var out *Case
	err := cs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		c, err := cs.update(ctx, id, in)
		if err != nil {
			return err
		}
		out = c
		if in.ContactID != nil {
			return cs.s.follow(ctx, c) // the thread goes with the case's contact
		}
		return nil
	})
	return out, err
}

// update is Update's change of the case itself.
func (cs *Cases) update(ctx context.Context, id string, in UpdateCase) (*Case, error) {
	return storage.Modify(ctx, cs.s.store, cs.s.t.cases, id, 0, func(ctx context.Context, c *Case) error {
		set, err := cs.s.Settings.Get(ctx)
		if err != nil {
			return err
		}
		prev := *c
		storage.Set(&c.Subject, in.Subject)
		storage.Set(&c.Description, in.Description)
		storage.Set(&c.ContactID, in.ContactID)
		storage.Set(&c.AccountID, in.AccountID)
		storage.Set(&c.Channel, in.Channel)
		storage.Set(&c.Priority, in.Priority)
		tags := c.Tags
		storage.Set(&tags, in.Tags)
		var v storage.ValidationError
		c.Tags = cs.check(ctx, &v, c, set, tags)
		if in.ContactID != nil && c.ContactID != "" {
			if err := storage.CheckRef(ctx, &v, "contact_id", cs.s.store, storage.Ref{Type: contacts.ObjectContact, ID: c.ContactID}); err != nil {
				return err
			}
		}
		if in.AccountID != nil {
			if err := cs.checkAccount(ctx, &v, c.AccountID); err != nil {
				return err
			}
		}
		if len(in.Custom) > 0 {
			if c.Custom, err = cs.custom(ctx, &v, mergeCustom(c.Custom, in.Custom)); err != nil {
				return err
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		if c.Priority != prev.Priority { // the targets are the new priority's
			return cs.s.clock(ctx, &prev, c, storage.WriteTimeFrom(ctx))
		}
		return nil
	})
}

// custom checks a case's custom values against the workspace's
// definitions, adding each bad one to v.
func (cs *Cases) custom(ctx context.Context, v *storage.ValidationError, values map[string]any) (map[string]any, error) {
	out, err := cs.s.people.Fields.Check(ctx, ObjectCase, values)
	var bad *storage.ValidationError
	if errors.As(err, &bad) {
		v.Merge("", bad)
		return values, nil
	}
	return out, err
}

// mergeCustom returns prev with patch applied: a nil value removes a key.
func mergeCustom(prev, patch map[string]any) map[string]any {
	out := make(map[string]any, len(prev)+len(patch))
	for k, v := range prev {
		out[k] = v
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// SetStatus moves a case to the workspace status key. Entering a resolved
// status stamps ResolvedAt; leaving one clears it. The change event is
// case.resolved when the case enters the resolved category, case.reopened
// when it leaves it, case.status_changed otherwise; moving to the current
// status changes nothing. With Options.CSATOnResolve, a case entering the
// resolved category gets its CSAT survey in the same transaction (once per
// case), mailed after the commit when the module has a mailer: a failure
// to mail returns the case and an error saying the survey was not sent.
func (cs *Cases) SetStatus(ctx context.Context, id, key string) (*Case, error) {
	var out *Case
	var survey *SurveyRequest
	err := cs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		set, err := cs.s.Settings.Get(ctx)
		if err != nil {
			return err
		}
		st, ok := set.Status(key)
		if !ok {
			return storage.Invalid("status", "%q is not a status of the workspace (%s)", key, strings.Join(set.Keys(), ", "))
		}
		prev, err := cs.s.t.cases.Get(ctx, id)
		if err != nil {
			return err
		}
		if prev.Status == key {
			out = prev
			return nil
		}
		if prev.MergedInto != "" {
			return fmt.Errorf("%w: case %s was merged into another", storage.ErrConflict, prev.Ref())
		}
		next := *prev
		next.Status, next.Category = st.Key, st.Category
		at := storage.WriteTimeFrom(ctx)
		event := ObjectCase + ".status_changed"
		switch {
		case st.Category == StatusResolved && prev.Category != StatusResolved:
			next.ResolvedAt, event = at, ObjectCase+".resolved"
		case st.Category != StatusResolved && prev.Category == StatusResolved:
			next.ResolvedAt, event = time.Time{}, ObjectCase+".reopened"
		}
		if st.Category != StatusOpen {
			next.WaitingSince = time.Time{} // no one waits on a paused or resolved case
		}
		if err := cs.s.clock(ctx, prev, &next, at); err != nil {
			return err
		}
		if err := cs.s.t.cases.Update(ctx, prev, &next, storage.WithEventType(event)); err != nil {
			return err
		}
		out = &next
		if event == ObjectCase+".resolved" {
			survey, err = cs.s.Surveys.csatOnResolve(ctx, &next)
		}
		return err
	})
	if err == nil && survey != nil && cs.s.opts.Mailer != nil {
		if _, err := cs.s.Surveys.send(ctx, survey); err != nil {
			return out, fmt.Errorf("service: case %s resolved, its CSAT survey recorded but not mailed: %w", out.Ref(), err)
		}
	}
	return out, err
}

// Assign gives a case to a member and a team ("" for none); its messages
// follow, so that whoever may read the case reads its thread. The change
// event is case.assigned.
func (cs *Cases) Assign(ctx context.Context, id, ownerID, teamID string) (*Case, error) {
	var out *Case
	err := cs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		prev, err := cs.s.t.cases.Get(ctx, id)
		if err != nil {
			return err
		}
		next := *prev
		next.OwnerID, next.TeamID = strings.TrimSpace(ownerID), strings.TrimSpace(teamID)
		if next.OwnerID == prev.OwnerID && next.TeamID == prev.TeamID {
			out = prev
			return nil
		}
		var v storage.ValidationError
		for _, r := range []struct {
			field, typ, id string
		}{{"owner_id", access.ObjectMember, next.OwnerID}, {"team_id", access.ObjectTeam, next.TeamID}} {
			if r.id == "" {
				continue
			}
			if err := storage.CheckRef(ctx, &v, r.field, cs.s.store, storage.Ref{Type: r.typ, ID: r.id}); err != nil {
				return err
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		out = &next
		return cs.s.writeAssignment(ctx, prev, &next)
	})
	return out, err
}

// writeAssignment stores next, prev with another owner or team (event
// case.assigned), in ctx's transaction: the clocks recounted in the new
// team's calendar, the thread following the case.
func (s *Service) writeAssignment(ctx context.Context, prev, next *Case) error {
	if next.TeamID != prev.TeamID {
		if err := s.clock(ctx, prev, next, storage.WriteTimeFrom(ctx)); err != nil {
			return err
		}
	}
	if err := s.t.cases.Update(ctx, prev, next, storage.WithEventType(ObjectCase+".assigned")); err != nil {
		return err
	}
	return s.follow(ctx, next)
}

// Merge merges the case dupID into keepID, in one transaction: dupID's
// messages move to keepID (in their order of writing), its tags join
// keepID's, and dupID is resolved with MergedInto set (event case.merged).
// A case merged already, or merged into itself, is ErrConflict.
func (cs *Cases) Merge(ctx context.Context, keepID, dupID string) (*Case, error) {
	if keepID == dupID {
		return nil, fmt.Errorf("%w: a case cannot be merged into itself", storage.ErrConflict)
	}
	var out *Case
	err := cs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		keep, err := cs.s.t.cases.Get(ctx, keepID)
		if err != nil {
			return err
		}
		dup, err := cs.s.t.cases.Get(ctx, dupID)
		if err != nil {
			return err
		}
		for _, c := range []*Case{keep, dup} {
			if c.MergedInto != "" {
				return fmt.Errorf("%w: case %s was merged into another", storage.ErrConflict, c.Ref())
			}
		}
		set, err := cs.s.Settings.Get(ctx)
		if err != nil {
			return err
		}
		err = storage.Each(ctx, cs.s.t.messages, storage.ListQuery{Filter: storage.Eq("case_id", dup.ID)}, func(m *Message) error {
			next := *m
			next.CaseID, next.ContactID, next.OwnerID, next.TeamID = keep.ID, keep.ContactID, keep.OwnerID, keep.TeamID
			return cs.s.t.messages.Update(ctx, m, &next)
		})
		if err != nil {
			return err
		}
		next := *keep
		next.Tags = append(slices.Clone(keep.Tags), dup.Tags...)
		if next.Tags, err = contacts.NormalizeTags(next.Tags); err != nil {
			return err
		}
		if dup.LastMessageAt.After(next.LastMessageAt) {
			next.LastMessageAt = dup.LastMessageAt
		}
		if !dup.FirstResponseAt.IsZero() && (next.FirstResponseAt.IsZero() || dup.FirstResponseAt.Before(next.FirstResponseAt)) {
			next.FirstResponseAt = dup.FirstResponseAt
		}
		if err := cs.s.t.cases.Update(ctx, keep, &next); err != nil {
			return err
		}
		merged := *dup
		merged.MergedInto = keep.ID
		merged.SLA.NextDue = time.Time{} // its clocks stop; the survivor's run
		if merged.Category != StatusResolved {
			st := set.First(StatusResolved)
			merged.Status, merged.Category, merged.ResolvedAt = st.Key, st.Category, storage.WriteTimeFrom(ctx)
		}
		if err := cs.s.t.cases.Update(ctx, dup, &merged, storage.WithEventType(ObjectCase+".merged")); err != nil {
			return err
		}
		out = &next
		return nil
	})
	return out, err
}
