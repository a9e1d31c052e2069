package service

import (
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
)

// Store is what the service package needs from a storage adapter: the
// generic path of its record types (the module must be registered, see
// Module), aggregates for its KPIs, numbering for case numbers, and the
// full-text index for the knowledge base.
type Store interface {
	storage.Transactor
	storage.Tables
	storage.Aggregator
	storage.Sequencer
	storage.Searcher
}

// Options configure the service module. The zero value works; replies by
// email (Cases.Reply) need Mailer and From.
type Options struct {
	// Mailer sends the desk's replies. crm.New sets it to
	// crm.Config.Workflow.Mailer when unset.
	Mailer send.Mailer
	// From is the desk's address replies come from ("Support
	// <help@example.com>"), where customers' answers come back to Ingest.
	From string
	// MessageIDDomain is the part after "@" of the Message-IDs of replies,
	// for a Mailer that does not say its own (send.MessageIDer, as
	// workflow/smtp's does). Default: From's domain.
	MessageIDDomain string
	// IdentityKey is the secret the host signs its visitors' identities
	// with for live chat (SignIdentity, Conversations.Start and
	// Identify); without it no identity verifies. It should be at
	// least 32 random bytes.
	IdentityKey []byte
	// Key signs the links of satisfaction surveys (Surveys): at least
	// MinKeyLen (32) bytes of secret, the same across restarts (another
	// key breaks the links sent). Surveys.Request and Send refuse without
	// it (ErrInvalid naming "key").
	Key []byte
	// BaseURL is where the host mounts service/surveyweb's handler
	// ("https://crm.example/service"): a survey's link is BaseURL +
	// "/s/" + its token. Required for surveys, as Key.
	BaseURL string
	// SurveyTTL is how long a survey link takes an answer. Default:
	// DefaultSurveyTTL (30 days).
	SurveyTTL time.Duration
	// CSATOnResolve makes a CSAT survey of a case's contact when the case
	// enters a resolved status (Cases.SetStatus), once per case, and
	// mails it after the change commits when a Mailer and From are set
	// (see Surveys.SendPending for those whose mail failed).
	CSATOnResolve bool
}

// Service is the customer service module.
type Service struct {
	store  Store
	people *contacts.Service
	opts   Options
	t      tables

	// Cases opens, moves, assigns and merges cases and keeps their
	// threads.
	Cases *Cases
	// Settings holds each workspace's case statuses.
	Settings *SettingsService
	// Calendars stores business-time calendars.
	Calendars *Calendars
	// SLAPolicies stores the SLA policies that set the cases' clocks.
	SLAPolicies *SLAPolicies
	// Agents stores the agents' desk profiles: skills, capacity, working
	// hours, availability.
	Agents *Agents
	// AssignmentRules stores the rules that route new cases to agents.
	AssignmentRules *AssignmentRules
	// Conversations is live chat: conversations with website visitors,
	// their messages, hand-off to a case.
	Conversations *Conversations
	// Surveys makes CSAT, NPS and CES surveys, records their answers and
	// scores them.
	Surveys *Surveys
	// Articles keeps the knowledge base's articles, their versions and
	// votes, and searches them, for the desk and for a help center.
	Articles *Articles
	// ArticleCategories keeps the knowledge base's tree of categories.
	ArticleCategories *ArticleCategories
}

// NewService returns the service module on store; people is the contacts
// module (cases name contacts and accounts, and have custom fields). The
// store must have the module registered (crm.New does it).
func NewService(store Store, people *contacts.Service, opts Options) *Service {
	s := &Service{store: store, people: people, opts: opts, t: tablesOf(store)}
	s.Cases = &Cases{s}
	s.Settings = &SettingsService{s}
	s.Calendars = &Calendars{s: s}
	s.SLAPolicies = &SLAPolicies{s}
	s.Agents = &Agents{s}
	s.AssignmentRules = &AssignmentRules{s}
	s.Conversations = &Conversations{s: s}
	s.Surveys = newSurveys(s)
	s.Articles = &Articles{s}
	s.ArticleCategories = &ArticleCategories{s}
	return s
}
