package contacts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"strings"

	"github.com/crmkit/crm/storage"
)

// Lifecycle is where a contact stands in the relationship with the business.
type Lifecycle string

// The lifecycle stages, in their usual order.
const (
	LifecycleSubscriber  Lifecycle = "subscriber"
	LifecycleLead        Lifecycle = "lead"
	LifecycleMQL         Lifecycle = "marketing_qualified"
	LifecycleSQL         Lifecycle = "sales_qualified"
	LifecycleOpportunity Lifecycle = "opportunity"
	LifecycleCustomer    Lifecycle = "customer"
	LifecycleEvangelist  Lifecycle = "evangelist"
	LifecycleOther       Lifecycle = "other"
)

var lifecycles = []string{string(LifecycleSubscriber), string(LifecycleLead), string(LifecycleMQL),
	string(LifecycleSQL), string(LifecycleOpportunity), string(LifecycleCustomer),
	string(LifecycleEvangelist), string(LifecycleOther)}

// Contact is a person the business deals with.
type Contact struct {
	storage.Meta
	Prefix     string `bun:"prefix,notnull" json:"prefix,omitempty"`           // such as "Dr."
	FirstName  string `bun:"first_name,notnull" json:"first_name"`             // given name
	MiddleName string `bun:"middle_name,notnull" json:"middle_name,omitempty"` // middle names
	LastName   string `bun:"last_name,notnull" json:"last_name"`               // family name
	Suffix     string `bun:"suffix,notnull" json:"suffix,omitempty"`           // such as "Jr."
	// Email is the primary email address, lower-case; unique within the
	// workspace when set.
	Email string `bun:"email,notnull" json:"email"`
	// Emails are further addresses.
	Emails []EmailAddress `bun:"emails" json:"emails,omitempty"`
	// Phones are numbers in E.164 form.
	Phones         []Phone         `bun:"phones" json:"phones,omitempty"`
	Addresses      []Address       `bun:"addresses" json:"addresses,omitempty"`
	JobTitle       string          `bun:"job_title,notnull" json:"job_title,omitempty"`
	Department     string          `bun:"department,notnull" json:"department,omitempty"`
	SocialProfiles []SocialProfile `bun:"social_profiles" json:"social_profiles,omitempty"`
	// AccountID is the company the contact works for, or "".
	AccountID string `bun:"account_id,nullzero" json:"account_id,omitempty"`
	// OwnerID is the member responsible for the contact, or "".
	OwnerID string `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	// TeamID is the team the contact belongs to, or "".
	TeamID string `bun:"team_id,notnull" json:"team_id,omitempty"`
	// Lifecycle is the contact's stage, or "".
	Lifecycle Lifecycle `bun:"lifecycle,notnull" json:"lifecycle,omitempty"`
	// Source says where the contact came from, such as "web form" or "import".
	Source string `bun:"source,notnull" json:"source,omitempty"`
	// Tags label the contact; see NormalizeTags.
	Tags []string `bun:"tags" json:"tags,omitempty"`
	// Custom holds the values of the workspace's custom contact fields.
	Custom map[string]any `bun:"custom" json:"custom,omitempty"`
	// LastActivityAt is when the latest activity with the contact happened;
	// zero when none was. The store keeps it (a derived field: updates of
	// the contact do not write it, and it is in no change event): every
	// activity written moves it forward to its OccurredAt.
	// Workflow time triggers count from it ("14 days after the last
	// activity").
	LastActivityAt time.Time `bun:"last_activity_at,notnull" json:"last_activity_at,omitzero" crm:"derived"`
}

// RecordType returns "contact".
func (*Contact) RecordType() string { return ObjectContact }

// References returns the contact's account, which filter expressions on
// contacts name as "account" ("account.industry == 'Software'").
func (*Contact) References() []storage.Reference {
	return []storage.Reference{{Name: "account", Field: "account_id", Type: ObjectAccount}}
}

// Name returns the contact's full name: prefix, first, middle and last name
// and suffix, those that are set; the email when none is.
func (c *Contact) Name() string {
	var parts []string
	for _, p := range []string{c.Prefix, c.FirstName, c.MiddleName, c.LastName, c.Suffix} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return c.Email
	}
	return strings.Join(parts, " ")
}

// SearchTitle returns the contact's name.
func (c *Contact) SearchTitle() string { return c.Name() }

// SearchText returns the words a contact is found by: names, emails, phones,
// job title and tags.
func (c *Contact) SearchText() string {
	words := []string{c.Name(), c.Email, c.JobTitle, c.Department}
	for _, e := range c.Emails {
		words = append(words, e.Address)
	}
	for _, p := range c.Phones {
		words = append(words, p.Number)
	}
	words = append(words, c.Tags...)
	return strings.Join(words, " ")
}

// NewContact is the input of Contacts.Create.
type NewContact struct {
	Prefix, FirstName, MiddleName, LastName, Suffix string
	Email                                           string // the primary email
	Emails                                          []EmailAddress
	Phones                                          []Phone
	Addresses                                       []Address
	JobTitle, Department                            string
	SocialProfiles                                  []SocialProfile
	AccountID                                       string // an account of the workspace
	OwnerID                                         string
	TeamID                                          string
	Lifecycle                                       Lifecycle
	Source                                          string
	Tags                                            []string
	Custom                                          map[string]any // values of defined custom fields
}

// UpdateContact changes a contact; nil fields stay as they are.
type UpdateContact struct {
	// Version, when not 0, makes the update fail with ErrStale unless the
	// contact is still at this version.
	Version                                         int64
	Prefix, FirstName, MiddleName, LastName, Suffix *string
	Email                                           *string
	Emails                                          *[]EmailAddress
	Phones                                          *[]Phone
	Addresses                                       *[]Address
	JobTitle, Department                            *string
	SocialProfiles                                  *[]SocialProfile
	AccountID                                       *string // "" unlinks the account
	OwnerID                                         *string
	TeamID                                          *string
	Lifecycle                                       *Lifecycle
	Source                                          *string
	Tags                                            *[]string
	// Custom sets the named custom values; a nil value removes one. Values
	// not named stay.
	Custom map[string]any
}

// Contacts manages contacts.
type Contacts struct{ s *Service }

// Create validates in and stores a new contact. Bad input is a
// *storage.ValidationError listing every bad field; a primary email already in
// use in the workspace is a *storage.ConflictError for "email".
func (cs *Contacts) Create(ctx context.Context, in NewContact) (*Contact, error) {
	c := &Contact{
		Prefix: in.Prefix, FirstName: in.FirstName, MiddleName: in.MiddleName, LastName: in.LastName,
		Suffix: in.Suffix, Email: in.Email, Emails: in.Emails, Phones: in.Phones, Addresses: in.Addresses,
		JobTitle: in.JobTitle, Department: in.Department, SocialProfiles: in.SocialProfiles,
		AccountID: in.AccountID, OwnerID: in.OwnerID, TeamID: in.TeamID, Lifecycle: in.Lifecycle, Source: in.Source,
		Tags: in.Tags,
	}
	err := cs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		var ck checker
		cs.normalize(ctx, &ck, c, nil)
		c.Custom = cs.s.custom(ctx, &ck, ObjectContact, nil, in.Custom, true)
		if err := ck.Err(); err != nil {
			return err
		}
		return cs.s.t.contacts.Insert(ctx, c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// normalize checks and normalises every built-in field of c; prev is the
// stored contact on update (nil on create), used to skip checks of fields
// that did not change.
func (cs *Contacts) normalize(ctx context.Context, ck *checker, c, prev *Contact) {
	cs.normalizeFields(ck, c)
	if c.AccountID != "" && (prev == nil || prev.AccountID != c.AccountID) && len(ck.Fields) == 0 {
		checkExists(ctx, ck, "account_id", cs.s.t.accounts, c.AccountID)
	}
}

// normalizeFields is normalize without the reads: it does not check that
// the account exists.
func (cs *Contacts) normalizeFields(ck *checker, c *Contact) {
	ck.text("prefix", &c.Prefix, MaxNameLen)
	ck.text("first_name", &c.FirstName, MaxNameLen)
	ck.text("middle_name", &c.MiddleName, MaxNameLen)
	ck.text("last_name", &c.LastName, MaxNameLen)
	ck.text("suffix", &c.Suffix, MaxNameLen)
	ck.email("email", &c.Email, false)
	c.Emails = ck.emails("emails", c.Emails)
	// A further address is neither the primary one nor another's repeat.
	for i, e := range c.Emails {
		switch j := slices.IndexFunc(c.Emails[:i], func(o EmailAddress) bool { return o.Address == e.Address }); {
		case e.Address != "" && e.Address == c.Email:
			ck.Add(fmt.Sprintf("emails[%d].address", i), "is the primary email")
		case e.Address != "" && j >= 0:
			ck.Add(fmt.Sprintf("emails[%d].address", i), "repeats emails[%d]", j)
		}
	}
	c.Phones = ck.phones("phones", c.Phones, cs.s.opts.DefaultRegion)
	c.Addresses = ck.addresses("addresses", c.Addresses)
	ck.text("job_title", &c.JobTitle, MaxNameLen)
	ck.text("department", &c.Department, MaxNameLen)
	c.SocialProfiles = ck.profiles("social_profiles", c.SocialProfiles)
	ck.text("owner_id", &c.OwnerID, MaxNameLen)
	ck.text("team_id", &c.TeamID, MaxNameLen)
	ck.oneOf("lifecycle", string(c.Lifecycle), true, lifecycles...)
	ck.text("source", &c.Source, MaxNameLen)
	c.Tags = ck.tags("tags", c.Tags)
	if c.FirstName == "" && c.LastName == "" && c.Email == "" {
		ck.Add("first_name", "a contact needs a first name, a last name or an email")
	}
	ck.id("account_id", c.AccountID)
}

// checkExists reports field when id names no record of tbl in the workspace.
func checkExists[T storage.Record](ctx context.Context, ck *checker, field string, tbl storage.Table[T], id string) {
	if _, err := tbl.Get(ctx, id); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			ck.Add(field, "no record %s in this workspace", id)
		} else {
			ck.fail(fmt.Errorf("%s: %w", field, err))
		}
	}
}

// Get returns the contact with id, or ErrNotFound.
func (cs *Contacts) Get(ctx context.Context, id string) (*Contact, error) {
	return cs.s.t.contacts.Get(ctx, id)
}

// Update applies in to the contact with id and returns the new state. Errors
// are those of Create, plus ErrNotFound and ErrStale.
func (cs *Contacts) Update(ctx context.Context, id string, in UpdateContact) (*Contact, error) {
	return cs.update(ctx, id, in.Version, func(*Contact) UpdateContact { return in })
}

// update is Update with the change made of the contact as read (again, when
// a concurrent write made it stale): for changes that depend on it, such
// as an upsert's tags added to the contact's.
func (cs *Contacts) update(ctx context.Context, id string, version int64, change func(prev *Contact) UpdateContact) (*Contact, error) {
	return storage.Modify(ctx, cs.s.store, cs.s.t.contacts, id, version, func(ctx context.Context, c *Contact) error {
		prev := *c
		in := change(&prev)
		storage.Set(&c.Prefix, in.Prefix)
		storage.Set(&c.FirstName, in.FirstName)
		storage.Set(&c.MiddleName, in.MiddleName)
		storage.Set(&c.LastName, in.LastName)
		storage.Set(&c.Suffix, in.Suffix)
		storage.Set(&c.Email, in.Email)
		storage.Set(&c.Emails, in.Emails)
		storage.Set(&c.Phones, in.Phones)
		storage.Set(&c.Addresses, in.Addresses)
		storage.Set(&c.JobTitle, in.JobTitle)
		storage.Set(&c.Department, in.Department)
		storage.Set(&c.SocialProfiles, in.SocialProfiles)
		storage.Set(&c.AccountID, in.AccountID)
		storage.Set(&c.OwnerID, in.OwnerID)
		storage.Set(&c.TeamID, in.TeamID)
		storage.Set(&c.Lifecycle, in.Lifecycle)
		storage.Set(&c.Source, in.Source)
		storage.Set(&c.Tags, in.Tags)
		var ck checker
		cs.normalize(ctx, &ck, c, &prev)
		c.Custom = cs.s.custom(ctx, &ck, ObjectContact, prev.Custom, in.Custom, false)
		return ck.Err()
	})
}

// Delete removes the contact with id. Its activities stay, without the link.
func (cs *Contacts) Delete(ctx context.Context, id string) error {
	return storage.Remove(ctx, cs.s.store, cs.s.t.contacts, id, 0, nil)
}

// List returns one page of contacts. Filterable and sortable fields are the
// contact's columns (first_name, last_name, email, lifecycle, owner_id,
// account_id, created_at, …), "tags" (OpContains) and "custom.<name>".
//
// Emails compared with Eq, Ne or In are normalised as stored ones are
// (trimmed, lower case): Eq("email", "ADA@example.com") finds
// ada@example.com.
func (cs *Contacts) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Contact], error) {
	q.Filter = lookupEmails(q.Filter)
	return cs.s.t.contacts.List(ctx, q)
}

// Count returns how many contacts match f (nil counts all), emails
// normalised as List does.
func (cs *Contacts) Count(ctx context.Context, f storage.Filter) (int64, error) {
	return cs.s.t.contacts.Count(ctx, lookupEmails(f))
}

// GetByEmail returns the contact whose email is email, in any case and
// with spaces around it, or ErrNotFound.
func (cs *Contacts) GetByEmail(ctx context.Context, email string) (*Contact, error) {
	page, err := cs.List(ctx, storage.ListQuery{Filter: storage.Eq("email", email), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, fmt.Errorf("%w: no contact with email %q", storage.ErrNotFound, strings.TrimSpace(email))
	}
	return page.Items[0], nil
}

// lookupEmails returns f with the values it compares the email field with
// (Eq, Ne, In) trimmed and in lower case, as stored emails are.
func lookupEmails(f storage.Filter) storage.Filter {
	norm := func(v any) any {
		if s, ok := v.(string); ok {
			return strings.ToLower(strings.TrimSpace(s))
		}
		return v
	}
	switch f := f.(type) {
	case storage.And:
		out := make(storage.And, len(f))
		for i, g := range f {
			out[i] = lookupEmails(g)
		}
		return out
	case storage.Or:
		out := make(storage.Or, len(f))
		for i, g := range f {
			out[i] = lookupEmails(g)
		}
		return out
	case storage.Not:
		return storage.Not{Filter: lookupEmails(f.Filter)}
	case *storage.Cmp:
		if f == nil {
			return f
		}
		return lookupEmails(*f)
	case storage.Cmp:
		if f.Field != "email" {
			return f
		}
		switch f.Op {
		case storage.OpEq, storage.OpNe:
			f.Value = norm(f.Value)
		case storage.OpIn:
			if vs, ok := f.Value.([]string); ok {
				out := make([]string, len(vs))
				for i, v := range vs {
					out[i] = norm(v).(string)
				}
				f.Value = out
			}
		}
		return f
	}
	return f
}

// AddTags adds tags to the contact with id; tags it has already are skipped.
func (cs *Contacts) AddTags(ctx context.Context, id string, tags ...string) (*Contact, error) {
	return storage.Modify(ctx, cs.s.store, cs.s.t.contacts, id, 0, func(ctx context.Context, c *Contact) error {
		var ck checker
		c.Tags = ck.tags("tags", append(append([]string(nil), c.Tags...), tags...))
		return ck.Err()
	})
}

// RemoveTags removes tags from the contact with id.
func (cs *Contacts) RemoveTags(ctx context.Context, id string, tags ...string) (*Contact, error) {
	return storage.Modify(ctx, cs.s.store, cs.s.t.contacts, id, 0, func(ctx context.Context, c *Contact) error {
		c.Tags = removeTags(c.Tags, tags)
		return nil
	})
}

func removeTags(have, drop []string) []string {
	var out []string
	for _, t := range have {
		keep := true
		for _, d := range drop {
			if strings.ToLower(strings.TrimSpace(d)) == t {
				keep = false
			}
		}
		if keep {
			out = append(out, t)
		}
	}
	return out
}

// Timeline returns the contact's timeline, newest first: its activities and
// the change events of the contact itself. An unknown id is ErrNotFound.
func (cs *Contacts) Timeline(ctx context.Context, id string, q storage.PageQuery) (storage.Page[TimelineEntry], error) {
	if _, err := cs.Get(ctx, id); err != nil {
		return storage.Page[TimelineEntry]{}, err
	}
	return cs.s.timeline(ctx, storage.Ref{Type: ObjectContact, ID: id}, q)
}
