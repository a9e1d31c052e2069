package retention

import (
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/queue"
)

// Store is what the retention package needs from a storage adapter: the
// generic path of its record types and of orders, deals and contacts (the
// modules must be registered, see Module), aggregates over orders and
// deals, and the queue's feed cursors, which keep RFM and loyalty current.
// *bunstore.Store implements it.
type Store interface {
	storage.Transactor
	storage.Tables
	storage.Aggregator
	// Queue returns the store's durable queue (its change-feed cursors).
	Queue() queue.Queue
}

// Options configure the retention service. The zero value works.
type Options struct {
	// Currency is the currency whose amounts make up a customer's monetary
	// value; orders and deals in other currencies count for recency and
	// frequency only. Default: "" (the currency of most of the workspace's
	// orders, chosen at each RFM.Refresh).
	Currency string
	// ChurnHigh is the churn risk, from 0 to 1, at which a customer's risk
	// counts as high: RFM.ChurnAt is when it gets there, the moment a
	// win-back starts. Default: 0.7.
	ChurnHigh float64
	// Interval is the interval between purchases taken for a customer when
	// the workspace has no repeat buyer to learn it from. Default: 90 days.
	Interval time.Duration
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// Service is the retention module.
type Service struct {
	store  Store
	t      tables
	people *contacts.Service
	opts   Options

	// RFM keeps customers' recency, frequency and monetary scores and
	// their segments.
	RFM *RFMs
	// Churn explains customers' churn risk and trains the churn model.
	Churn *Churn
	// Loyalty runs loyalty programs: ledgers, earn rules, tiers, rewards.
	Loyalty *Loyalty
}

// NewService returns the retention module on store; people is the contacts
// module, whose expression schemas earn rules compile against.
func NewService(store Store, people *contacts.Service, opts Options) *Service {
	if opts.ChurnHigh <= 0 || opts.ChurnHigh >= 1 {
		opts.ChurnHigh = 0.7
	}
	if opts.Interval <= 0 {
		opts.Interval = 90 * 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{store: store, t: tablesOf(store), people: people, opts: opts}
	s.RFM = &RFMs{s}
	s.Churn = &Churn{s}
	s.Loyalty = newLoyalty(s)
	return s
}

// now is the service's clock, as the store keeps times.
func (s *Service) now() time.Time { return storage.Truncate(s.opts.Now()) }
