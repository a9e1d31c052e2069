package service

import (
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// Store is what the service package needs from a storage adapter: the
// generic path of its record types (the module must be registered, see
// Module), aggregates for its KPIs, and numbering for case numbers.
type Store interface {
	storage.Transactor
	storage.Tables
	storage.Aggregator
	storage.Sequencer
}

// Options configure the service module. The zero value works.
type Options struct{}

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
}

// NewService returns the service module on store; people is the contacts
// module (cases name contacts and accounts, and have custom fields). The
// store must have the module registered (crm.New does it).
func NewService(store Store, people *contacts.Service, opts Options) *Service {
	s := &Service{store: store, people: people, opts: opts, t: tablesOf(store)}
	s.Cases = &Cases{s}
	s.Settings = &SettingsService{s}
	return s
}
