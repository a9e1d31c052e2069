package marketing

import (
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/linktoken"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/queue"
	"github.com/crmkit/crm/workflow/send"
)

// Store is what the marketing package needs from a storage adapter: the
// generic path of its record types (the module must be registered, see
// Module), aggregates over tracking hits, and the queue's feed cursors,
// which keep segments current. *bunstore.Store implements it.
type Store interface {
	storage.Transactor
	storage.Tables
	storage.Aggregator
	storage.Authorizer
	// Queue returns the store's durable queue (its change-feed cursors).
	Queue() queue.Queue
}

// Options configure the marketing service. The zero value works for lists,
// segments and campaigns; sending mail needs Mailer, BaseURL and Key.
type Options struct {
	// Mailer sends campaign mail and opt-in confirmations. Default: none
	// (Emails.Send and a double opt-in subscription fail with ErrInvalid).
	Mailer send.Mailer
	// From is the sender of mail whose campaign email names none, such as
	// "News <news@example.com>". Default: "" (left to the Mailer).
	From string
	// BaseURL is where the host mounts package marketing/web's handler,
	// such as "https://example.com/m": tracking, unsubscribe, preference
	// and confirmation links start with it. Default: none (sending fails
	// with ErrInvalid).
	BaseURL string
	// Key signs the tokens of those links (HMAC-SHA256); at least 32
	// bytes, kept secret and stable across restarts (links in mail sent
	// earlier stop working when it changes). Default: none (sending fails
	// with ErrInvalid).
	Key []byte
	// ConfirmFor is how long a double opt-in confirmation link works.
	// Default: 7 days.
	ConfirmFor time.Duration
	// ScoreBands name the ranges of lead scores (Score.Band); a contact
	// entering a band is the event lead_score.<band>. Default:
	// DefaultBands (cold, warm from 40, hot from 80).
	ScoreBands []ScoreBand
	// SoftBounceLimit is how many messages to an address that bounced
	// softly in 30 days suppress it. Default: 3.
	SoftBounceLimit int
	// Lease is how long a batch of messages claimed by a sender may stay
	// unrecorded before another Send counts its messages interrupted (the
	// sender died; they may have gone out, and are not sent again).
	// Default: 10 minutes.
	Lease time.Duration
	// SendWorkers is how many messages of a campaign email Emails.Send
	// renders and hands to the Mailer at once (within the email's rate),
	// so the Mailer must be safe for concurrent use, as workflow/smtp's
	// is. Default: 4; 1 mails one message at a time.
	SendWorkers int
	// Channels are the social channels posts go out through, each by its
	// Name, which must be a key and unique: with a name twice (or a bad
	// one) every call of Service.Social fails with ErrInvalid naming the
	// channel. Default: none (Social.Schedule refuses every channel).
	Channels []Channel
	// PostAttempts is how many times Social.Publish calls a post's
	// channel before a transient failure is final. Default: 5.
	PostAttempts int
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// Service is the marketing module.
type Service struct {
	store  Store
	t      tables
	people *contacts.Service
	sales  *sales.Service
	opts   Options
	sign   linktoken.Signer
	hits   *hitBatcher

	// Lists manages subscription lists and who is subscribed to them.
	Lists *Lists
	// Suppressions is the workspace's do-not-mail list.
	Suppressions *Suppressions
	// Segments manages dynamic and static segments of contacts.
	Segments *Segments
	// Campaigns manages campaigns and their members.
	Campaigns *Campaigns
	// Emails writes, previews and sends campaign emails.
	Emails *Emails
	// Tracking records opens, clicks and unsubscribes from the links in
	// the mail sent, and serves the preference center.
	Tracking *Tracking
	// Forms manages web forms and takes their posts.
	Forms *Forms
	// Bounces applies the bounce and complaint reports that come back.
	Bounces *Bounces
	// Scoring keeps contacts' lead scores by the workspace's rules.
	Scoring *Scoring
	// Social schedules and publishes posts to social channels and takes
	// in mentions.
	Social *Social
	// Predictive trains the predictive lead score on the workspace's won
	// and lost deals and explains its predictions.
	Predictive *Predictive
}

// NewService returns the marketing module on store; people is the contacts
// module whose contacts are the audience and whose consents subscriptions
// record, sls the sales module whose lead capture web forms use.
func NewService(store Store, people *contacts.Service, sls *sales.Service, opts Options) *Service {
	if opts.ConfirmFor <= 0 {
		opts.ConfirmFor = 7 * 24 * time.Hour
	}
	if len(opts.ScoreBands) == 0 {
		opts.ScoreBands = DefaultBands
	}
	if opts.SoftBounceLimit <= 0 {
		opts.SoftBounceLimit = 3
	}
	if opts.Lease <= 0 {
		opts.Lease = 10 * time.Minute
	}
	if opts.SendWorkers <= 0 {
		opts.SendWorkers = 4
	}
	if opts.PostAttempts <= 0 {
		opts.PostAttempts = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	s := &Service{store: store, t: tablesOf(store), people: people, sales: sls, opts: opts, sign: linktoken.New(opts.Key)}
	s.Lists = &Lists{s}
	s.Suppressions = &Suppressions{s}
	s.Segments = &Segments{s}
	s.Campaigns = &Campaigns{s}
	s.Emails = &Emails{s}
	s.Tracking = &Tracking{s}
	s.hits = &hitBatcher{s: s}
	s.Forms = &Forms{s}
	s.Bounces = &Bounces{s}
	s.Scoring = &Scoring{s}
	s.Social = newSocial(s, opts.Channels)
	s.Predictive = &Predictive{s}
	return s
}

// now is the service's clock, as the store keeps times.
func (s *Service) now() time.Time { return storage.Truncate(s.opts.Now()) }

// MinKeyLen is the shortest Options.Key accepted.
const MinKeyLen = linktoken.MinKeyLen

// canMail reports, as ErrInvalid, what the options lack for sending mail.
func (s *Service) canMail() error {
	var v storage.ValidationError
	if s.opts.Mailer == nil {
		v.Add("mailer", "is not configured (marketing.Options.Mailer)")
	}
	if s.opts.BaseURL == "" {
		v.Add("base_url", "is not configured (marketing.Options.BaseURL)")
	}
	if len(s.opts.Key) < MinKeyLen {
		v.Add("key", "must be at least %d bytes (marketing.Options.Key)", MinKeyLen)
	}
	return v.Err()
}

// MaxTextLen is the longest name-like text field accepted, in bytes.
const MaxTextLen = 255
