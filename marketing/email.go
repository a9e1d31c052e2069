package marketing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	texttemplate "text/template"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// EmailStatus is where a campaign email stands.
type EmailStatus string

// The campaign email statuses.
const (
	// EmailDraft: being written; Send starts it.
	EmailDraft EmailStatus = "draft"
	// EmailSending: its messages are being queued or sent; a Send that
	// was interrupted resumes it.
	EmailSending EmailStatus = "sending"
	// EmailSent: every message went out (or failed, or was suppressed).
	EmailSent EmailStatus = "sent"
	// EmailStopped: too many messages failed (ErrorThreshold); Send
	// resumes it.
	EmailStopped EmailStatus = "stopped"
)

// Email is one mailing of a campaign: its templates, its audience and how
// fast it goes out. Subject, HTML and Text are Go templates (html/template
// for HTML, text/template for the others) over MergeData: `Hello {{with
// .Contact.FirstName}}{{.}}{{else}}there{{end}}`, `{{index .Contact.Custom
// "tier"}}`, `{{.UnsubscribeURL}}`.
type Email struct {
	storage.Meta
	CampaignID string `bun:"campaign_id,notnull" json:"campaign_id"`
	Name       string `bun:"name,notnull" json:"name"`
	// From and ReplyTo are addresses ("News <news@example.com>"); From
	// defaults to the service's Options.From.
	From    string `bun:"from_addr,notnull" json:"from,omitempty"`
	ReplyTo string `bun:"reply_to,notnull" json:"reply_to,omitempty"`
	Subject string `bun:"subject,notnull" json:"subject"`
	// Variants are other subjects to test against Subject (an A/B test):
	// variant 0 is Subject, variant i is Variants[i-1]. A share of the
	// audience (TestShare) is split between them by a hash of the email
	// and the contact (the same split on every run); the rest is held
	// until PickWinner chooses the subject with the best rate of WinnerBy,
	// and the next Send mails them with it.
	Variants []string `bun:"subject_variants" json:"variants,omitempty"`
	// TestShare is the share of the audience in the test. Default 0.2; 1
	// splits everyone and holds no one.
	TestShare float64 `bun:"test_share,notnull" json:"test_share,omitempty"`
	// WinnerBy is what PickWinner compares: "opens" (the default) or
	// "clicks", each the share of a variant's sent messages that a person
	// opened or clicked.
	WinnerBy string `bun:"winner_by,notnull" json:"winner_by,omitempty"`
	// Winner is the variant chosen plus one (0: none chosen yet).
	Winner int    `bun:"winner,notnull" json:"winner,omitempty"`
	HTML   string `bun:"html,notnull" json:"html,omitempty"`
	Text   string `bun:"text,notnull" json:"text,omitempty"`
	// SegmentID and ListID choose the audience: the members of the
	// segment, the subscribers of the list, or, with both, the segment's
	// members who are subscribed to the list. An email with a list is
	// unsubscribed from by leaving the list; one without, by leaving all
	// mail (the suppression list).
	SegmentID string      `bun:"segment_id,notnull" json:"segment_id,omitempty"`
	ListID    string      `bun:"list_id,notnull" json:"list_id,omitempty"`
	Status    EmailStatus `bun:"status,notnull" json:"status"`
	// NoOpenTracking leaves the open pixel out; NoClickTracking keeps
	// links as written; NoUTM adds no UTM parameters to them.
	NoOpenTracking  bool `bun:"no_open_tracking,notnull" json:"no_open_tracking,omitempty"`
	NoClickTracking bool `bun:"no_click_tracking,notnull" json:"no_click_tracking,omitempty"`
	NoUTM           bool `bun:"no_utm,notnull" json:"no_utm,omitempty"`
	// RatePerSecond bounds how many messages go out per second; 0 is
	// unbounded.
	RatePerSecond float64 `bun:"rate_per_second,notnull" json:"rate_per_second,omitempty"`
	// BatchSize is how many messages are claimed and recorded together.
	// Default 100.
	BatchSize int `bun:"batch_size,notnull" json:"batch_size,omitempty"`
	// ErrorThreshold stops the send (EmailStopped) when more than this
	// share of the messages one call of Send tried, once it tried at
	// least 20, failed. Default 0.2; 1 never stops.
	ErrorThreshold float64 `bun:"error_threshold,notnull" json:"error_threshold,omitempty"`
	// Cursor is the last recipient (contact ID) the walk of the audience
	// claimed; Claims are the batches senders hold now.
	Cursor string  `bun:"send_cursor,notnull" json:"cursor,omitempty"`
	Claims []Claim `bun:"claims" json:"claims,omitempty"`
	// SentAt is when the last message went out.
	SentAt     time.Time `bun:"sent_at,notnull" json:"sent_at,omitzero"`
	StopReason string    `bun:"stop_reason,notnull" json:"stop_reason,omitempty"`
	OwnerID    string    `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID     string    `bun:"team_id,notnull" json:"team_id,omitempty"`
}

// RecordType returns "campaign_email".
func (*Email) RecordType() string { return ObjectEmail }

// Links returns the campaign.
func (e *Email) Links() []storage.Ref { return []storage.Ref{{Type: ObjectCampaign, ID: e.CampaignID}} }

// MessageStatus is where one recipient's message stands.
type MessageStatus string

// The message statuses.
const (
	// MessageSent: the mailer accepted it.
	MessageSent MessageStatus = "sent"
	// MessageFailed: the mailer refused it.
	MessageFailed MessageStatus = "failed"
	// MessageSuppressed: not sent: the address is suppressed, missing,
	// or not subscribed to the email's list.
	MessageSuppressed MessageStatus = "suppressed"
	// MessageBounced: sent, and bounced for good.
	MessageBounced MessageStatus = "bounced"
	// MessageInterrupted: a sender died while its batch was claimed; the
	// message may or may not have gone out, and is not sent again.
	MessageInterrupted MessageStatus = "interrupted"
)

// Message is the mail of one campaign email to one contact: one record
// per recipient, written with its batch once the batch was mailed (the
// batch's claim on the email, written before, tells a resumed send whom
// a dead sender may have reached).
type Message struct {
	storage.Meta
	EmailID    string        `bun:"email_id,notnull" json:"email_id"`
	CampaignID string        `bun:"campaign_id,notnull" json:"campaign_id"`
	ContactID  string        `bun:"contact_id,notnull" json:"contact_id"`
	Address    string        `bun:"address,notnull" json:"address"`
	Status     MessageStatus `bun:"status,notnull" json:"status"`
	// Variant is the subject it carries (see Email.Variants).
	Variant int `bun:"variant,notnull" json:"variant,omitempty"`
	// Error says why it was suppressed, failed or bounced.
	Error    string    `bun:"error,notnull" json:"error,omitempty"`
	SentAt   time.Time `bun:"sent_at,notnull" json:"sent_at,omitzero"`
	OpenedAt time.Time `bun:"opened_at,notnull" json:"opened_at,omitzero"`
	// ClickedAt is when a person first clicked a link of it (OpenedAt
	// when it first opened it, or clicked: a click is an open whose
	// pixel was blocked); every hit is a Hit record.
	ClickedAt time.Time `bun:"clicked_at,notnull" json:"clicked_at,omitzero"`
}

// RecordType returns "email_message".
func (*Message) RecordType() string { return ObjectMessage }

// Links returns none: a message shows in its contact's timeline by its
// contact_id (storage.TypeOptions.TimelineField), where a link row per
// recipient and its index entry were a tenth of a send. Deleting a
// message still drops the link rows of messages stored before.
func (m *Message) Links() []storage.Ref { return nil }

// The events of a message after it was sent (a send writes none for
// the message itself: its batch has one, EventBatchSent).
const (
	EventOpened  = "email_message.opened"
	EventClicked = "email_message.clicked"
	EventBounced = "email_message.bounced"
)

// MergeData is what the templates of an email see.
type MergeData struct {
	Contact  *contacts.Contact
	Account  *contacts.Account // nil when the contact has none
	Campaign *Campaign
	// UnsubscribeURL leaves the email's list (or all mail);
	// PreferencesURL opens the preference center.
	UnsubscribeURL, PreferencesURL string
}

// NewEmail is the input of Emails.Create.
type NewEmail struct {
	CampaignID, Name                string
	From, ReplyTo                   string
	Subject, HTML, Text             string
	Variants                        []string // A/B: other subjects
	TestShare                       float64
	WinnerBy                        string
	SegmentID, ListID               string
	NoOpenTracking, NoClickTracking bool
	NoUTM                           bool
	RatePerSecond                   float64
	BatchSize                       int
	ErrorThreshold                  float64
	OwnerID, TeamID                 string
}

// UpdateEmail is the input of Emails.Update; nil fields are kept. Only a
// draft can be changed.
type UpdateEmail struct {
	Name, From, ReplyTo, Subject, HTML, Text, SegmentID, ListID *string
	Variants                                                    *[]string
	TestShare                                                   *float64
	WinnerBy                                                    *string
	RatePerSecond                                               *float64
	BatchSize                                                   *int
	ErrorThreshold                                              *float64
}

// Emails writes, previews and sends campaign emails.
type Emails struct{ s *Service }

// Create adds a draft email to a campaign. Templates that do not parse, an
// unknown campaign, segment or list, and an email with no audience are
// ErrInvalid.
func (es *Emails) Create(ctx context.Context, in NewEmail) (*Email, error) {
	e := &Email{CampaignID: in.CampaignID, Name: in.Name, From: in.From, ReplyTo: in.ReplyTo, Subject: in.Subject, Variants: in.Variants,
		TestShare: in.TestShare, WinnerBy: in.WinnerBy, HTML: in.HTML,
		Text: in.Text, SegmentID: in.SegmentID, ListID: in.ListID, Status: EmailDraft, NoOpenTracking: in.NoOpenTracking,
		NoClickTracking: in.NoClickTracking, NoUTM: in.NoUTM, RatePerSecond: in.RatePerSecond, BatchSize: in.BatchSize,
		ErrorThreshold: in.ErrorThreshold, OwnerID: in.OwnerID, TeamID: in.TeamID}
	err := es.s.store.RunInTx(ctx, func(ctx context.Context) error {
		if err := es.check(ctx, e); err != nil {
			return err
		}
		return es.s.t.emails.Insert(ctx, e)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Get returns the email with id.
func (es *Emails) Get(ctx context.Context, id string) (*Email, error) {
	return es.s.t.emails.Get(ctx, id)
}

// Update changes a draft email at version (0 for any); an email that is
// sending or sent is ErrConflict.
func (es *Emails) Update(ctx context.Context, id string, version int64, in UpdateEmail) (*Email, error) {
	return storage.Modify(ctx, es.s.store, es.s.t.emails, id, version, func(ctx context.Context, e *Email) error {
		if e.Status != EmailDraft {
			return fmt.Errorf("%w: email %q is %s; only a draft changes", storage.ErrConflict, e.Name, e.Status)
		}
		storage.Set(&e.Name, in.Name)
		storage.Set(&e.From, in.From)
		storage.Set(&e.ReplyTo, in.ReplyTo)
		storage.Set(&e.Subject, in.Subject)
		storage.Set(&e.Variants, in.Variants)
		storage.Set(&e.TestShare, in.TestShare)
		storage.Set(&e.WinnerBy, in.WinnerBy)
		storage.Set(&e.HTML, in.HTML)
		storage.Set(&e.Text, in.Text)
		storage.Set(&e.SegmentID, in.SegmentID)
		storage.Set(&e.ListID, in.ListID)
		storage.Set(&e.RatePerSecond, in.RatePerSecond)
		storage.Set(&e.BatchSize, in.BatchSize)
		storage.Set(&e.ErrorThreshold, in.ErrorThreshold)
		return es.check(ctx, e)
	})
}

// Messages returns a page of an email's messages of status st (all when
// empty), in the order they were queued.
func (es *Emails) Messages(ctx context.Context, emailID string, st MessageStatus, q storage.PageQuery) (storage.Page[*Message], error) {
	f := storage.Filter(storage.Eq("email_id", emailID))
	if st != "" {
		f = storage.And{f, storage.Eq("status", string(st))}
	}
	return es.s.t.messages.List(ctx, storage.ListQuery{Filter: f, PageQuery: q})
}

// maxTemplate is the longest template accepted, in bytes.
const maxTemplate = 512 << 10

func (es *Emails) check(ctx context.Context, e *Email) error {
	var v storage.ValidationError
	storage.TrimText(&v, "name", &e.Name, MaxTextLen)
	if e.Name == "" {
		v.Add("name", "is required")
	}
	for _, a := range []struct {
		field string
		addr  *string
	}{{"from", &e.From}, {"reply_to", &e.ReplyTo}} {
		storage.TrimText(&v, a.field, a.addr, MaxTextLen)
		if *a.addr != "" {
			if _, err := mail.ParseAddress(*a.addr); err != nil || strings.ContainsAny(*a.addr, "\r\n") {
				v.Add(a.field, "%q is not an email address", *a.addr)
			}
		}
	}
	storage.TrimText(&v, "subject", &e.Subject, 998)
	if e.Subject == "" {
		v.Add("subject", "is required")
	}
	if len(e.Variants) > 9 {
		v.Add("variants", "at most 9 subjects besides Subject")
	}
	for i := range e.Variants {
		storage.TrimText(&v, fmt.Sprintf("variants[%d]", i), &e.Variants[i], 998)
		if e.Variants[i] == "" {
			v.Add(fmt.Sprintf("variants[%d]", i), "is empty")
		}
	}
	if len(e.Variants) > 0 && e.TestShare == 0 {
		e.TestShare = 0.2
	}
	if e.TestShare < 0 || e.TestShare > 1 {
		v.Add("test_share", "must be from 0 to 1")
	}
	if e.WinnerBy == "" {
		e.WinnerBy = "opens"
	}
	if e.WinnerBy != "opens" && e.WinnerBy != "clicks" {
		v.Add("winner_by", "%q is not opens or clicks", e.WinnerBy)
	}
	if e.HTML == "" && e.Text == "" {
		v.Add("html", "an HTML or a text body is required")
	}
	if len(e.HTML) > maxTemplate || len(e.Text) > maxTemplate {
		v.Add("html", "a body is longer than %d bytes", maxTemplate)
	}
	if _, err := parseTemplates(e); err != nil {
		var ve *storage.ValidationError
		if errors.As(err, &ve) {
			v.Fields = append(v.Fields, ve.Fields...)
		}
	}
	if e.SegmentID == "" && e.ListID == "" {
		v.Add("segment_id", "an audience is required: a segment, a list, or both")
	}
	if e.BatchSize == 0 {
		e.BatchSize = 100
	}
	if e.BatchSize < 1 || e.BatchSize > storage.MaxLimit {
		v.Add("batch_size", "must be from 1 to %d", storage.MaxLimit)
	}
	if e.ErrorThreshold == 0 {
		e.ErrorThreshold = 0.2
	}
	if e.ErrorThreshold < 0 || e.ErrorThreshold > 1 {
		v.Add("error_threshold", "must be from 0 to 1")
	}
	if e.RatePerSecond < 0 {
		v.Add("rate_per_second", "must not be negative")
	}
	for _, ref := range []struct {
		field, id string
		get       func(ctx context.Context, id string) error
	}{
		{"campaign_id", e.CampaignID, func(ctx context.Context, id string) error { _, err := es.s.t.campaigns.Get(ctx, id); return err }},
		{"segment_id", e.SegmentID, func(ctx context.Context, id string) error { _, err := es.s.t.segments.Get(ctx, id); return err }},
		{"list_id", e.ListID, func(ctx context.Context, id string) error { _, err := es.s.t.lists.Get(ctx, id); return err }},
	} {
		if ref.id == "" {
			if ref.field == "campaign_id" {
				v.Add(ref.field, "is required")
			}
			continue
		}
		if err := storage.CheckExists(ctx, &v, ref.field, func(ctx context.Context) error { return ref.get(ctx, ref.id) }); err != nil {
			return err
		}
	}
	return v.Err()
}

// templates are an email's parsed templates.
type templates struct {
	subject  *texttemplate.Template
	variants []*texttemplate.Template // the other subjects
	text     *texttemplate.Template   // nil without a text body
	html     *htmltemplate.Template   // nil without an HTML body
	// linked is html with its links planned (links): nil when they are
	// rewritten in each rendered mail instead (see planLinks).
	linked *htmltemplate.Template
	links  *linkPlan
	// tagged caches the links with their UTM tags, by link: one parse
	// of each of a send's links instead of one per recipient (a send
	// adds the same tags to every recipient's links). At most maxTagged
	// are kept, for templates whose links differ per recipient.
	tagged  sync.Map
	nTagged atomic.Int32
}

// maxTagged bounds templates.tagged.
const maxTagged = 1024

// parseTemplates parses e's templates; a fault is ErrInvalid naming the
// field and the position.
func parseTemplates(e *Email) (*templates, error) {
	var v storage.ValidationError
	var t templates
	var err error
	if t.subject, err = texttemplate.New("subject").Option("missingkey=zero").Parse(e.Subject); err != nil {
		v.Add("subject", "%v", err)
	}
	for i, src := range e.Variants {
		st, err := texttemplate.New("subject").Option("missingkey=zero").Parse(src)
		if err != nil {
			v.Add(fmt.Sprintf("variants[%d]", i), "%v", err)
		}
		t.variants = append(t.variants, st)
	}
	if e.Text != "" {
		if t.text, err = texttemplate.New("text").Option("missingkey=zero").Parse(e.Text); err != nil {
			v.Add("text", "%v", err)
		}
	}
	if e.HTML != "" {
		if t.html, err = htmltemplate.New("html").Option("missingkey=zero").Parse(e.HTML); err != nil {
			v.Add("html", "%v", err)
		} else if plan := planLinks(e.HTML); plan != nil {
			if lt, err := htmltemplate.New("html").Option("missingkey=zero").Parse(plan.src); err == nil {
				t.linked, t.links = lt, plan
			}
		}
	}
	return &t, v.Err()
}

// render fills the templates for one recipient of the subject variant;
// with linked, the HTML is the one with planned links where there is one
// (t.links fills it).
func (t *templates) render(d *MergeData, variant int, linked bool) (subject, text, html string, err error) {
	var b bytes.Buffer
	st := t.subject
	if variant > 0 && variant <= len(t.variants) {
		st = t.variants[variant-1]
	}
	if err := st.Execute(&b, d); err != nil {
		return "", "", "", storage.Invalid("subject", "%v", err)
	}
	subject = strings.Join(strings.Fields(b.String()), " ") // no line breaks in a header
	if t.text != nil {
		b.Reset()
		if err := t.text.Execute(&b, d); err != nil {
			return "", "", "", storage.Invalid("text", "%v", err)
		}
		text = b.String()
	}
	if t.html != nil {
		b.Reset()
		ht := t.html
		if linked && t.linked != nil {
			ht = t.linked
		}
		if err := ht.Execute(&b, d); err != nil {
			return "", "", "", storage.Invalid("html", "%v", err)
		}
		html = b.String()
	}
	return subject, text, html, nil
}
