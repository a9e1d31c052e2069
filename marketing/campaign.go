package marketing

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// CampaignType says what kind of effort a campaign is.
type CampaignType string

// The campaign types.
const (
	CampaignEmail       CampaignType = "email"
	CampaignEvent       CampaignType = "event"
	CampaignWebinar     CampaignType = "webinar"
	CampaignAdvertising CampaignType = "advertising"
	CampaignSocial      CampaignType = "social"
	CampaignDirectMail  CampaignType = "direct_mail"
	CampaignReferral    CampaignType = "referral"
	CampaignOther       CampaignType = "other"
)

var campaignTypes = []CampaignType{CampaignEmail, CampaignEvent, CampaignWebinar, CampaignAdvertising, CampaignSocial,
	CampaignDirectMail, CampaignReferral, CampaignOther}

// CampaignStatus is where a campaign stands.
type CampaignStatus string

// The campaign statuses.
const (
	CampaignPlanned   CampaignStatus = "planned"
	CampaignActive    CampaignStatus = "active"
	CampaignPaused    CampaignStatus = "paused"
	CampaignCompleted CampaignStatus = "completed"
	CampaignAborted   CampaignStatus = "aborted"
)

var campaignStatuses = []CampaignStatus{CampaignPlanned, CampaignActive, CampaignPaused, CampaignCompleted, CampaignAborted}

// Campaign is a marketing effort over one or more channels, with its budget
// and what it actually cost.
type Campaign struct {
	storage.Meta
	Name        string         `bun:"name,notnull" json:"name"`
	Description string         `bun:"description,notnull" json:"description,omitempty"`
	Type        CampaignType   `bun:"type,notnull" json:"type"`
	Channels    []string       `bun:"channels" json:"channels,omitempty"`
	Status      CampaignStatus `bun:"status,notnull" json:"status"`
	Budget      storage.Money  `bun:"embed:budget_" json:"budget,omitzero"`
	ActualCost  storage.Money  `bun:"embed:cost_" json:"actual_cost,omitzero"`
	Start       time.Time      `bun:"start_date,notnull" json:"start,omitzero"`
	End         time.Time      `bun:"end_date,notnull" json:"end,omitzero"`
	// UTMCampaign is the utm_campaign of the campaign's links: a key,
	// made from the name when not given.
	UTMCampaign string         `bun:"utm_campaign,notnull" json:"utm_campaign"`
	OwnerID     string         `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID      string         `bun:"team_id,notnull" json:"team_id,omitempty"`
	Custom      map[string]any `bun:"custom" json:"custom,omitempty"`
}

// RecordType returns "campaign".
func (*Campaign) RecordType() string { return ObjectCampaign }

// MemberStatus is how a campaign member responded, in increasing order of
// engagement: a member's status only moves forward, except to
// unsubscribed or bounced.
type MemberStatus string

// The campaign member statuses.
const (
	MemberTargeted     MemberStatus = "targeted"
	MemberSent         MemberStatus = "sent"
	MemberOpened       MemberStatus = "opened"
	MemberClicked      MemberStatus = "clicked"
	MemberResponded    MemberStatus = "responded"
	MemberConverted    MemberStatus = "converted"
	MemberUnsubscribed MemberStatus = "unsubscribed"
	MemberBounced      MemberStatus = "bounced"
)

// memberRank orders the statuses that move forward.
var memberRank = map[MemberStatus]int{MemberTargeted: 1, MemberSent: 2, MemberOpened: 3, MemberClicked: 4, MemberResponded: 5, MemberConverted: 6}

// CampaignMember is a contact a campaign reached, and how it responded.
type CampaignMember struct {
	storage.Meta
	CampaignID  string       `bun:"campaign_id,notnull" json:"campaign_id"`
	ContactID   string       `bun:"contact_id,notnull" json:"contact_id"`
	Status      MemberStatus `bun:"status,notnull" json:"status"`
	RespondedAt time.Time    `bun:"responded_at,notnull" json:"responded_at,omitzero"`
}

// RecordType returns "campaign_member".
func (*CampaignMember) RecordType() string { return ObjectCampaignMember }

// Links returns the contact and the campaign.
func (m *CampaignMember) Links() []storage.Ref {
	return []storage.Ref{{Type: contacts.ObjectContact, ID: m.ContactID}, {Type: ObjectCampaign, ID: m.CampaignID}}
}

// NewCampaign is the input of Campaigns.Create.
type NewCampaign struct {
	Name, Description  string
	Type               CampaignType   // default email
	Channels           []string       // keys such as "email", "linkedin"
	Status             CampaignStatus // default planned
	Budget, ActualCost storage.Money
	Start, End         time.Time
	UTMCampaign        string // default: made from the name
	OwnerID, TeamID    string
	Custom             map[string]any
}

// UpdateCampaign is the input of Campaigns.Update; nil fields are kept.
type UpdateCampaign struct {
	Name, Description  *string
	Channels           *[]string
	Status             *CampaignStatus
	Budget, ActualCost *storage.Money
	Start, End         *time.Time
	Custom             *map[string]any
}

// Campaigns manages campaigns and their members.
type Campaigns struct{ s *Service }

// Create adds a campaign.
func (cs *Campaigns) Create(ctx context.Context, in NewCampaign) (*Campaign, error) {
	c := &Campaign{Name: in.Name, Description: in.Description, Type: in.Type, Channels: in.Channels, Status: in.Status,
		Budget: in.Budget, ActualCost: in.ActualCost, Start: storage.Truncate(in.Start), End: storage.Truncate(in.End),
		UTMCampaign: in.UTMCampaign, OwnerID: in.OwnerID, TeamID: in.TeamID, Custom: in.Custom}
	if c.Type == "" {
		c.Type = CampaignEmail
	}
	if c.Status == "" {
		c.Status = CampaignPlanned
	}
	if c.UTMCampaign == "" {
		c.UTMCampaign = slug(c.Name)
	}
	if err := cs.check(ctx, c); err != nil {
		return nil, err
	}
	if err := cs.s.t.campaigns.Insert(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Get returns the campaign with id.
func (cs *Campaigns) Get(ctx context.Context, id string) (*Campaign, error) {
	return cs.s.t.campaigns.Get(ctx, id)
}

// List returns a page of campaigns.
func (cs *Campaigns) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Campaign], error) {
	return cs.s.t.campaigns.List(ctx, q)
}

// Update changes a campaign at version (0 for any).
func (cs *Campaigns) Update(ctx context.Context, id string, version int64, in UpdateCampaign) (*Campaign, error) {
	return storage.Modify(ctx, cs.s.store, cs.s.t.campaigns, id, version, func(ctx context.Context, c *Campaign) error {
		storage.Set(&c.Name, in.Name)
		storage.Set(&c.Description, in.Description)
		storage.Set(&c.Channels, in.Channels)
		storage.Set(&c.Status, in.Status)
		storage.Set(&c.Budget, in.Budget)
		storage.Set(&c.ActualCost, in.ActualCost)
		storage.Set(&c.Start, in.Start)
		storage.Set(&c.End, in.End)
		storage.Set(&c.Custom, in.Custom)
		c.Start, c.End = storage.Truncate(c.Start), storage.Truncate(c.End)
		return cs.check(ctx, c)
	})
}

func (cs *Campaigns) check(ctx context.Context, c *Campaign) error {
	var v storage.ValidationError
	storage.TrimText(&v, "name", &c.Name, MaxTextLen)
	if c.Name == "" {
		v.Add("name", "is required")
	}
	storage.TrimText(&v, "description", &c.Description, 4000)
	if !oneOf(c.Type, campaignTypes) {
		v.Add("type", "%q is not one of %v", c.Type, campaignTypes)
	}
	if !oneOf(c.Status, campaignStatuses) {
		v.Add("status", "%q is not one of %v", c.Status, campaignStatuses)
	}
	for i, ch := range c.Channels {
		if !storage.ValidKey(ch) {
			v.Add(fmt.Sprintf("channels[%d]", i), "%q must be lower-case letters, digits and underscores", ch)
		}
	}
	for _, m := range []struct {
		field string
		m     storage.Money
	}{{"budget", c.Budget}, {"actual_cost", c.ActualCost}} {
		if err := m.m.Validate(m.field); err != nil {
			var ve *storage.ValidationError
			if errors.As(err, &ve) {
				v.Fields = append(v.Fields, ve.Fields...)
			}
		} else if m.m.Amount < 0 {
			v.Add(m.field, "must not be negative")
		}
	}
	if !c.Budget.IsZero() && !c.ActualCost.IsZero() && c.Budget.Currency != c.ActualCost.Currency {
		v.Add("actual_cost.currency", "is %s, the budget's is %s", c.ActualCost.Currency, c.Budget.Currency)
	}
	if !c.Start.IsZero() && !c.End.IsZero() && c.End.Before(c.Start) {
		v.Add("end", "is before the start")
	}
	if !utmRE.MatchString(c.UTMCampaign) {
		v.Add("utm_campaign", "%q must be 1 to 100 letters, digits, '-', '_' or '.'", c.UTMCampaign)
	}
	if err := v.Err(); err != nil {
		return err
	}
	custom, err := cs.s.people.Fields.Check(ctx, ObjectCampaign, c.Custom)
	if err != nil {
		return err
	}
	c.Custom = custom
	return nil
}

var utmRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// slug makes a utm_campaign value of a name: "Spring Sale 2026" →
// "spring-sale-2026".
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 100 {
			break
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if s == "" {
		return "campaign"
	}
	return s
}

// oneOf reports whether x is one of xs.
func oneOf[T comparable](x T, xs []T) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// AddMembers makes contacts members of a campaign (targeted); members
// already are left as they are.
func (cs *Campaigns) AddMembers(ctx context.Context, campaignID string, contactIDs ...string) error {
	return cs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		if _, err := cs.s.t.campaigns.Get(ctx, campaignID); err != nil {
			return err
		}
		for _, id := range contactIDs {
			if err := cs.respond(ctx, campaignID, id, MemberTargeted); err != nil {
				return err
			}
		}
		return nil
	})
}

// Respond records a member's response (creating the member if needed): the
// status moves forward only (a member who clicked does not go back to
// opened), except to unsubscribed and bounced.
func (cs *Campaigns) Respond(ctx context.Context, campaignID, contactID string, st MemberStatus) error {
	if _, ok := memberRank[st]; !ok && st != MemberUnsubscribed && st != MemberBounced {
		return storage.Invalid("status", "%q is not a campaign member status", st)
	}
	return cs.s.store.RunInTx(ctx, func(ctx context.Context) error { return cs.respond(ctx, campaignID, contactID, st) })
}

// respond is Respond inside the caller's transaction.
func (cs *Campaigns) respond(ctx context.Context, campaignID, contactID string, st MemberStatus) error {
	page, err := cs.s.t.cmembers.List(ctx, storage.ListQuery{Filter: storage.And{storage.Eq("campaign_id", campaignID),
		storage.Eq("contact_id", contactID)}, PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return err
	}
	if len(page.Items) == 0 {
		if _, err := cs.s.people.Contacts.Get(ctx, contactID); errors.Is(err, storage.ErrNotFound) {
			return storage.Invalid("contact_id", "contact %s does not exist in the workspace", contactID)
		} else if err != nil {
			return err
		}
		m := &CampaignMember{CampaignID: campaignID, ContactID: contactID, Status: st}
		if memberRank[st] > memberRank[MemberSent] {
			m.RespondedAt = cs.s.now()
		}
		return cs.s.t.cmembers.Insert(ctx, m)
	}
	prev := page.Items[0]
	if prev.Status == st || memberRank[st] > 0 && memberRank[st] < memberRank[prev.Status] ||
		memberRank[st] > 0 && memberRank[prev.Status] == 0 {
		return nil
	}
	n := *prev
	n.Status = st
	if n.RespondedAt.IsZero() && memberRank[st] > memberRank[MemberSent] {
		n.RespondedAt = cs.s.now()
	}
	return cs.s.t.cmembers.Update(ctx, prev, &n)
}

// Members returns a page of a campaign's members.
func (cs *Campaigns) Members(ctx context.Context, campaignID string, q storage.PageQuery) (storage.Page[*CampaignMember], error) {
	return cs.s.t.cmembers.List(ctx, storage.ListQuery{Filter: storage.Eq("campaign_id", campaignID), PageQuery: q})
}

// CampaignStats are a campaign's figures.
type CampaignStats struct {
	// Members counts the campaign's members by status.
	Members map[MemberStatus]int64 `json:"members"`
	// Messages counts the messages of its emails by status.
	Messages map[MessageStatus]int64 `json:"messages"`
	// Opened and Clicked count the messages opened and clicked at least
	// once by a person (machine hits are not counted).
	Opened, Clicked int64
}

// Stats returns a campaign's figures, in a few aggregate statements.
func (cs *Campaigns) Stats(ctx context.Context, campaignID string) (*CampaignStats, error) {
	if _, err := cs.s.t.campaigns.Get(ctx, campaignID); err != nil {
		return nil, err
	}
	out := &CampaignStats{Members: map[MemberStatus]int64{}, Messages: map[MessageStatus]int64{}}
	rows, err := cs.s.store.Aggregate(ctx, ObjectCampaignMember, storage.AggregateQuery{Filter: storage.Eq("campaign_id", campaignID),
		GroupBy: []string{"status"}, Measures: []storage.Measure{{Op: storage.AggCount}}})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		out.Members[MemberStatus(r.Group[0].(string))] = r.Values[0].(int64)
	}
	rows, err = cs.s.store.Aggregate(ctx, ObjectMessage, storage.AggregateQuery{Filter: storage.Eq("campaign_id", campaignID),
		GroupBy: []string{"status"}, Measures: []storage.Measure{{Op: storage.AggCount},
			{Op: storage.AggCount, Where: storage.Gt("opened_at", time.Time{})}, {Op: storage.AggCount, Where: storage.Gt("clicked_at", time.Time{})}}})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		out.Messages[MessageStatus(r.Group[0].(string))] = r.Values[0].(int64)
		out.Opened += r.Values[1].(int64)
		out.Clicked += r.Values[2].(int64)
	}
	return out, nil
}
