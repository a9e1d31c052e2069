package marketing

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
)

// Channel publishes posts to one social network or relay. Package
// marketing/social has one that posts each as a signed webhook. A
// Channel must be safe for concurrent use.
type Channel interface {
	// Name is the channel's key, such as "linkedin": lower-case letters,
	// digits and underscores, unique among Options.Channels. Posts name
	// their channel by it.
	Name() string
	// Publish puts the post out and returns where it went. An error
	// marked send.Permanent (or a storage error that send.IsPermanent
	// counts, such as ErrInvalid) fails the post for good; another is
	// tried again by a later Social.Publish, up to Options.PostAttempts.
	// A post may reach Publish again after an error (its ID is the
	// same): a channel that can should drop a repeat.
	Publish(ctx context.Context, p Post) (Published, error)
}

// Published is where a channel put a post.
type Published struct {
	// ExternalID is the post's ID on the network, if it gives one.
	ExternalID string
	// URL is the post's address on the network, if it gives one.
	URL string
}

// PostStatus is where a social post stands.
type PostStatus string

// The post statuses.
const (
	// PostScheduled waits for its time (ScheduledAt).
	PostScheduled PostStatus = "scheduled"
	// PostPublishing is claimed by a Publish that is calling its
	// channel.
	PostPublishing PostStatus = "publishing"
	// PostPublished went out.
	PostPublished PostStatus = "published"
	// PostFailed did not go out (Error says why). A transient failure is
	// tried again by a later Publish (NextAt); Update reschedules any.
	PostFailed PostStatus = "failed"
	// PostCanceled was canceled before it went out.
	PostCanceled PostStatus = "canceled"
)

// MaxPostLen is the longest post text accepted, in bytes.
const MaxPostLen = 5000

// Post is a social post scheduled to go out through a channel at a time.
// Social.Publish publishes it once it is due. Posts hold no personal
// data.
type Post struct {
	storage.Meta
	// Channel is the name of the channel it goes through.
	Channel string `bun:"channel,notnull" json:"channel"`
	// Text is what it says.
	Text string `bun:"text,notnull" json:"text"`
	// Link is the URL it carries, with the campaign's UTM parameters
	// (utm_source the channel, utm_medium "social") when it has a
	// campaign.
	Link string `bun:"link,notnull" json:"link,omitempty"`
	// CampaignID credits it to a campaign.
	CampaignID string `bun:"campaign_id,notnull" json:"campaign_id,omitempty"`
	// ScheduledAt is when it is to go out.
	ScheduledAt time.Time  `bun:"scheduled_at,notnull" json:"scheduled_at"`
	Status      PostStatus `bun:"status,notnull" json:"status"`
	// NextAt is when Publish takes it next: ScheduledAt while scheduled,
	// the retry after a transient failure, the end of the claim while
	// publishing; zero when nothing more happens to it by itself.
	NextAt      time.Time `bun:"next_at,notnull" json:"next_at,omitzero"`
	PublishedAt time.Time `bun:"published_at,notnull" json:"published_at,omitzero"`
	// ExternalID and URL are where the channel put it (Published).
	ExternalID string `bun:"external_id,notnull" json:"external_id,omitempty"`
	URL        string `bun:"external_url,notnull" json:"url,omitempty"`
	// Error is why the last attempt failed.
	Error string `bun:"error,notnull" json:"error,omitempty"`
	// Attempts counts the calls of its channel.
	Attempts int    `bun:"attempts,notnull" json:"attempts,omitempty"`
	OwnerID  string `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID   string `bun:"team_id,notnull" json:"team_id,omitempty"`
}

// RecordType returns "social_post".
func (*Post) RecordType() string { return ObjectPost }

// Links returns the post's campaign.
func (p *Post) Links() []storage.Ref {
	if p.CampaignID == "" {
		return nil
	}
	return []storage.Ref{{Type: ObjectCampaign, ID: p.CampaignID}}
}

// NewPost is the input of Social.Schedule.
type NewPost struct {
	Channel    string
	Text       string
	Link       string
	CampaignID string
	// At is when it goes out. Default: now (the next Publish).
	At              time.Time
	OwnerID, TeamID string
}

// UpdatePost is the input of Social.Update; nil fields are kept.
type UpdatePost struct {
	Text, Link *string
	At         *time.Time
}

// Sentiment is how a mention speaks of its subject.
type Sentiment string

// The sentiments.
const (
	SentimentPositive Sentiment = "positive"
	SentimentNeutral  Sentiment = "neutral"
	SentimentNegative Sentiment = "negative"
)

var sentiments = []Sentiment{"", SentimentPositive, SentimentNeutral, SentimentNegative}

// Mention is a post on a social network that names the business, taken
// in by Social.Mention, once per channel and external ID. A mention by a
// known contact shows on the contact's timeline at At, and goes with the
// contact when it is erased.
type Mention struct {
	storage.Meta
	// Channel is the network it was seen on, such as "twitter": a key.
	Channel string `bun:"channel,notnull" json:"channel"`
	// ExternalID is its ID on the network, unique per channel.
	ExternalID string `bun:"external_id,notnull" json:"external_id"`
	// Handle is its author's handle on the network; Author the name shown.
	Handle string `bun:"handle,notnull" json:"handle"`
	Author string `bun:"author,notnull" json:"author,omitempty"`
	Text   string `bun:"text,notnull" json:"text"`
	URL    string `bun:"url,notnull" json:"url,omitempty"`
	// At is when it was posted.
	At time.Time `bun:"at,notnull" json:"at"`
	// ContactID is its author as a contact, when known.
	ContactID string    `bun:"contact_id,notnull" json:"contact_id,omitempty"`
	Sentiment Sentiment `bun:"sentiment,notnull" json:"sentiment,omitempty"`
}

// RecordType returns "social_mention".
func (*Mention) RecordType() string { return ObjectMention }

// Links returns the mention's contact, whose timeline shows it.
func (m *Mention) Links() []storage.Ref {
	if m.ContactID == "" {
		return nil
	}
	return []storage.Ref{{Type: contacts.ObjectContact, ID: m.ContactID}}
}

// NewMention is the input of Social.Mention.
type NewMention struct {
	Channel    string
	ExternalID string // default: URL
	Handle     string
	Author     string
	Text       string
	URL        string
	At         time.Time // default: now
	// ContactID names the author; when empty, the one contact with a
	// social profile of the channel's network and the handle (with or
	// without a leading "@") is the author, if there is one.
	ContactID string
	Sentiment Sentiment
}

// Social schedules posts to the configured channels, publishes them when
// they are due, and takes in mentions.
type Social struct {
	s        *Service
	channels map[string]Channel
	// bad is why Options.Channels cannot be used, or nil.
	bad error
}

// newSocial indexes the channels by name; duplicate or bad names make
// every call fail with the error.
func newSocial(s *Service, chans []Channel) *Social {
	so := &Social{s: s, channels: map[string]Channel{}}
	var v storage.ValidationError
	for i, c := range chans {
		at := fmt.Sprintf("channels[%d]", i)
		switch {
		case c == nil:
			v.Add(at, "is nil")
		case !storage.ValidKey(c.Name()):
			v.Add(at, "name %q must be lower-case letters, digits and underscores (marketing.Options.Channels)", c.Name())
		case so.channels[c.Name()] != nil:
			v.Add(at, "name %q is used twice (marketing.Options.Channels)", c.Name())
		default:
			so.channels[c.Name()] = c
		}
	}
	so.bad = v.Err()
	return so
}

// Schedule adds a post to go out through a configured channel at in.At
// (now when zero). Bad input is a *ValidationError naming the fields, and
// Options.Channels with a name twice is ErrInvalid on every call.
func (so *Social) Schedule(ctx context.Context, in NewPost) (*Post, error) {
	if so.bad != nil {
		return nil, so.bad
	}
	at := storage.Truncate(in.At)
	if at.IsZero() {
		at = so.s.now()
	}
	p := &Post{Channel: strings.TrimSpace(in.Channel), Text: in.Text, Link: strings.TrimSpace(in.Link), CampaignID: in.CampaignID,
		ScheduledAt: at, NextAt: at, Status: PostScheduled, OwnerID: in.OwnerID, TeamID: in.TeamID}
	err := so.s.store.RunInTx(ctx, func(ctx context.Context) error {
		if err := so.check(ctx, p); err != nil {
			return err
		}
		return so.s.t.socialPosts.Insert(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// check validates p and tags its link with its campaign's UTM parameters.
func (so *Social) check(ctx context.Context, p *Post) error {
	var v storage.ValidationError
	if so.channels[p.Channel] == nil {
		names := slices.Sorted(maps.Keys(so.channels))
		v.Add("channel", "%q is not a configured channel (marketing.Options.Channels: %s)", p.Channel, strings.Join(names, ", "))
	}
	storage.TrimText(&v, "text", &p.Text, MaxPostLen)
	if p.Text == "" {
		v.Add("text", "is required")
	}
	if p.Link != "" && (!trackable(p.Link) || len(p.Link) > 2000) {
		v.Add("link", "%q is not an absolute http(s) URL of at most 2000 bytes", p.Link)
	}
	var camp *Campaign
	if p.CampaignID != "" {
		err := storage.CheckExists(ctx, &v, "campaign_id", func(ctx context.Context) error {
			var err error
			camp, err = so.s.t.campaigns.Get(ctx, p.CampaignID)
			return err
		})
		if err != nil {
			return err
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if camp != nil && p.Link != "" {
		p.Link = addUTM(p.Link, UTM{Source: p.Channel, Medium: "social", Campaign: camp.UTMCampaign})
	}
	return nil
}

// Get returns the post with id.
func (so *Social) Get(ctx context.Context, id string) (*Post, error) {
	return so.s.t.socialPosts.Get(ctx, id)
}

// Posts returns a page of posts: q's filter and sort over the post's
// fields (such as status == "failed"); by default oldest first.
func (so *Social) Posts(ctx context.Context, q storage.ListQuery) (storage.Page[*Post], error) {
	return so.s.t.socialPosts.List(ctx, q)
}

// Update changes the text, link or time of a post at version (0 for any)
// that has not gone out: a scheduled one, or a failed one, which it
// schedules again (at in.At, or now). A post published, canceled or being
// published is ErrConflict.
func (so *Social) Update(ctx context.Context, id string, version int64, in UpdatePost) (*Post, error) {
	if so.bad != nil {
		return nil, so.bad
	}
	return storage.Modify(ctx, so.s.store, so.s.t.socialPosts, id, version, func(ctx context.Context, p *Post) error {
		if p.Status != PostScheduled && p.Status != PostFailed {
			return fmt.Errorf("%w: post %s is %s; only a scheduled or failed post changes", storage.ErrConflict, p.ID, p.Status)
		}
		storage.Set(&p.Text, in.Text)
		storage.Set(&p.Link, in.Link)
		p.Link = strings.TrimSpace(p.Link)
		if in.At != nil {
			p.ScheduledAt = storage.Truncate(*in.At)
			if p.ScheduledAt.IsZero() {
				p.ScheduledAt = so.s.now()
			}
		} else if p.Status == PostFailed {
			p.ScheduledAt = so.s.now()
		}
		p.Status, p.NextAt, p.Error = PostScheduled, p.ScheduledAt, ""
		return so.check(ctx, p)
	})
}

// Cancel cancels a post that has not gone out (scheduled or failed). A
// post canceled already is returned as it is; one published or being
// published is ErrConflict.
func (so *Social) Cancel(ctx context.Context, id string) (*Post, error) {
	p, err := storage.Modify(ctx, so.s.store, so.s.t.socialPosts, id, 0, func(_ context.Context, p *Post) error {
		switch p.Status {
		case PostCanceled:
			return errUnchanged
		case PostScheduled, PostFailed:
			p.Status, p.NextAt = PostCanceled, time.Time{}
			return nil
		}
		return fmt.Errorf("%w: post %s is %s and cannot be canceled", storage.ErrConflict, p.ID, p.Status)
	}, storage.WithEventType("social_post.canceled"))
	if errors.Is(err, errUnchanged) {
		return so.s.t.socialPosts.Get(ctx, id)
	}
	return p, err
}

// errUnchanged aborts a Modify that has nothing to write.
var errUnchanged = errors.New("unchanged")

// PublishReport says what one call of Social.Publish did.
type PublishReport struct {
	// Published and Failed count the posts this call put out and those
	// whose channel failed; Retrying counts those of Failed that a later
	// Publish tries again, after their back-off.
	Published, Failed, Retrying int
	// Interrupted counts the posts of a publisher that stopped while it
	// held them (claimed longer than Options.Lease ago), marked failed by
	// this call and not tried again by themselves: they may have gone
	// out. Update schedules one again.
	Interrupted int
}

// Publish publishes the workspace's due posts: those scheduled at or
// before now, and failed ones whose retry is due. It claims each post
// first with a version-checked write (status publishing), so that two
// publishers never put one post out twice, calls its channel outside any
// transaction, and records what came of it (social_post.published or
// .failed). A transient failure is tried again after a back-off (1
// minute, doubling up to an hour) until Options.PostAttempts calls were
// made. It returns when no due post is left, or ctx ended.
func (so *Social) Publish(ctx context.Context) (*PublishReport, error) {
	rep := &PublishReport{}
	if so.bad != nil {
		return rep, so.bad
	}
	seen := map[string]bool{}
	for {
		now := so.s.now()
		page, err := so.s.t.socialPosts.List(ctx, storage.ListQuery{
			Filter:    storage.And{storage.Gt("next_at", time.Time{}), storage.Le("next_at", now)},
			Sort:      []storage.Sort{{Field: "next_at"}, {Field: "id"}},
			PageQuery: storage.PageQuery{Limit: 100}})
		if err != nil {
			return rep, err
		}
		fresh := 0
		for _, p := range page.Items {
			if seen[p.ID] {
				continue // lost to another publisher, whose claim is not visible yet
			}
			seen[p.ID] = true
			fresh++
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			if err := so.publish(ctx, p, rep); err != nil {
				return rep, err
			}
		}
		if fresh == 0 {
			return rep, nil
		}
	}
}

// publish claims p as read (its version) and publishes it; a post another
// publisher claimed or changed first is left to it.
func (so *Social) publish(ctx context.Context, p *Post, rep *PublishReport) error {
	now := so.s.now()
	if p.Status == PostPublishing {
		// Its claim ran out: its publisher stopped mid-call.
		_, err := storage.Modify(ctx, so.s.store, so.s.t.socialPosts, p.ID, p.Version, func(_ context.Context, p *Post) error {
			p.Status, p.NextAt = PostFailed, time.Time{}
			p.Error = "its publisher stopped while calling the channel; it may have gone out and is not tried again (Update schedules it again)"
			return nil
		}, storage.WithEventType("social_post.failed"))
		if errors.Is(err, storage.ErrStale) || errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err == nil {
			rep.Interrupted++
		}
		return err
	}
	claimed, err := storage.Modify(ctx, so.s.store, so.s.t.socialPosts, p.ID, p.Version, func(_ context.Context, p *Post) error {
		p.Status, p.NextAt, p.Attempts = PostPublishing, now.Add(so.s.opts.Lease), p.Attempts+1
		return nil
	})
	if errors.Is(err, storage.ErrStale) || errors.Is(err, storage.ErrNotFound) {
		return nil // another publisher took it, or it changed since
	}
	if err != nil {
		return err
	}
	out, perr := so.call(ctx, *claimed)
	// Record even when ctx has ended: what went out must be known.
	rec := context.WithoutCancel(ctx)
	event := "social_post.published"
	if perr != nil {
		event = "social_post.failed"
	}
	retry := false
	_, err = storage.Modify(rec, so.s.store, so.s.t.socialPosts, p.ID, 0, func(_ context.Context, p *Post) error {
		if p.Attempts != claimed.Attempts {
			return errUnchanged // claimed again since: its record stands
		}
		if perr == nil {
			p.Status, p.NextAt, p.Error = PostPublished, time.Time{}, ""
			p.PublishedAt, p.ExternalID, p.URL = so.s.now(), out.ExternalID, out.URL
			return nil
		}
		p.Status, p.NextAt, p.Error = PostFailed, time.Time{}, storage.CutText(perr.Error(), 2000)
		if !send.IsPermanent(perr) && p.Attempts < so.s.opts.PostAttempts {
			p.NextAt, retry = so.s.now().Add(backoff(p.Attempts)), true
		}
		return nil
	}, storage.WithEventType(event))
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case perr == nil:
		rep.Published++
	case retry:
		rep.Failed++
		rep.Retrying++
	default:
		rep.Failed++
	}
	return nil
}

// call publishes p through its channel, turning a panic into an error.
func (so *Social) call(ctx context.Context, p Post) (out Published, err error) {
	ch := so.channels[p.Channel]
	if ch == nil {
		return out, send.Permanent(fmt.Errorf("no channel %q is configured (marketing.Options.Channels)", p.Channel))
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("channel %s panicked: %v", p.Channel, r)
		}
	}()
	out, err = ch.Publish(ctx, p)
	if err != nil {
		return out, fmt.Errorf("channel %s: %w", p.Channel, err)
	}
	return out, nil
}

// backoff is the wait before the retry after attempt n failed.
func backoff(n int) time.Duration {
	d := time.Minute
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// Mention takes in a mention: once per channel and external ID, so that
// taking the same one in again returns the mention stored, unchanged. Its
// author is in.ContactID, or the contact the handle names (see
// NewMention). Bad input is a *ValidationError naming the fields.
func (so *Social) Mention(ctx context.Context, in NewMention) (*Mention, error) {
	m := &Mention{Channel: strings.TrimSpace(in.Channel), ExternalID: strings.TrimSpace(in.ExternalID), Handle: in.Handle,
		Author: in.Author, Text: in.Text, URL: strings.TrimSpace(in.URL), At: storage.Truncate(in.At), ContactID: in.ContactID,
		Sentiment: in.Sentiment}
	if m.ExternalID == "" {
		m.ExternalID = m.URL
	}
	if m.At.IsZero() {
		m.At = so.s.now()
	}
	var v storage.ValidationError
	if !storage.ValidKey(m.Channel) {
		v.Add("channel", "%q must be lower-case letters, digits and underscores", m.Channel)
	}
	storage.TrimText(&v, "external_id", &m.ExternalID, MaxTextLen)
	if m.ExternalID == "" {
		v.Add("external_id", "is required (or a url)")
	}
	storage.TrimText(&v, "handle", &m.Handle, MaxTextLen)
	if m.Handle == "" {
		v.Add("handle", "is required")
	}
	storage.TrimText(&v, "author", &m.Author, MaxTextLen)
	storage.TrimText(&v, "text", &m.Text, MaxPostLen)
	if m.URL != "" && (!trackable(m.URL) || len(m.URL) > 2000) {
		v.Add("url", "%q is not an absolute http(s) URL of at most 2000 bytes", m.URL)
	}
	if !oneOf(m.Sentiment, sentiments) {
		v.Add("sentiment", "%q is not positive, neutral or negative", m.Sentiment)
	}
	if m.ContactID != "" {
		err := storage.CheckExists(ctx, &v, "contact_id", func(ctx context.Context) error {
			_, err := so.s.t.contacts.Get(ctx, m.ContactID)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	key := storage.And{storage.Eq("channel", m.Channel), storage.Eq("external_id", m.ExternalID)}
	got, _, err := storage.FirstOrCreate(ctx, so.s.store, so.s.t.mentions, key, func(ctx context.Context) (*Mention, error) {
		if m.ContactID == "" {
			id, err := so.author(ctx, m.Channel, m.Handle)
			if err != nil {
				return nil, err
			}
			m.ContactID = id
		}
		return m, so.s.t.mentions.Insert(ctx, m)
	})
	return got, err
}

// author returns the one contact with a social profile of network and
// handle, or "" when none or several have one.
func (so *Social) author(ctx context.Context, network, handle string) (string, error) {
	handles := []string{handle}
	if h, ok := strings.CutPrefix(handle, "@"); ok && h != "" {
		handles = append(handles, h)
	} else {
		handles = append(handles, "@"+handle)
	}
	var or storage.Or
	for _, h := range handles {
		or = append(or, storage.Contains("social_profiles", map[string]string{"network": network, "handle": h}))
	}
	page, err := so.s.t.contacts.List(ctx, storage.ListQuery{Filter: or, PageQuery: storage.PageQuery{Limit: 2}})
	if err != nil || len(page.Items) != 1 {
		return "", err
	}
	return page.Items[0].ID, nil
}

// Mentions returns a page of mentions: q's filter and sort over the
// mention's fields (such as contact_id == id, channel == "twitter").
func (so *Social) Mentions(ctx context.Context, q storage.ListQuery) (storage.Page[*Mention], error) {
	return so.s.t.mentions.List(ctx, q)
}

// claim gives the mentions of unknown authors to the contacts whose social
// profiles the events created or changed: a mention posted before the CRM
// knew its author's profile joins the author's timeline once it does
// (when exactly one contact has the profile, as Mention decides). Sync
// calls it for each batch of the change feed.
func (so *Social) claim(ctx context.Context, events []storage.Event) error {
	var ids []string
	for _, ev := range events {
		if ev.Subject.Type != contacts.ObjectContact {
			continue
		}
		if ev.Type == contacts.ObjectContact+".created" || slices.ContainsFunc(ev.Changes, func(c storage.Change) bool { return c.Field == "social_profiles" }) {
			ids = append(ids, ev.Subject.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for part := range slices.Chunk(ids, batchSize) {
		cs, err := storage.All(ctx, so.s.t.contacts, storage.In("id", part...))
		if err != nil {
			return err
		}
		for _, c := range cs {
			for _, p := range c.SocialProfiles {
				if err := so.claimHandle(ctx, c.ID, p); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// claimHandle gives contact id the unmatched mentions of profile p, when
// id is the one contact with it.
func (so *Social) claimHandle(ctx context.Context, id string, p contacts.SocialProfile) error {
	h := strings.TrimPrefix(strings.TrimSpace(p.Handle), "@")
	if h == "" || p.Network == "" {
		return nil
	}
	if owner, err := so.author(ctx, p.Network, h); err != nil || owner != id {
		return err
	}
	return storage.Each(ctx, so.s.t.mentions, storage.ListQuery{Filter: storage.And{storage.Eq("channel", p.Network),
		storage.In("handle", h, "@"+h), storage.Eq("contact_id", "")}}, func(m *Mention) error {
		next := *m
		next.ContactID = id
		return so.s.t.mentions.Update(ctx, m, &next, storage.WithEventType(ObjectMention+".matched"))
	})
}
