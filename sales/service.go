package sales

import (
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// The record types of this package.
const (
	ObjectLead        = "lead"
	ObjectPipeline    = "pipeline"
	ObjectOpportunity = "opportunity"
	ObjectSnapshot    = "forecast_snapshot"
	ObjectProduct     = "product"
	ObjectPriceBook   = "price_book"
	ObjectPriceEntry  = "price_entry"
	ObjectQuote       = "quote"
	ObjectInvoice     = "invoice"
	ObjectTask        = "task"
	ObjectProject     = "project"
	ObjectOrder       = "order"
	ObjectQuota       = "quota"
)

// Store is what the sales package needs from a storage adapter, besides the
// contacts service that conversion writes through: the generic path of its
// record types (the module must be registered, see Module), search,
// aggregates and rollups for forecasts, numbering, and access checks.
type Store interface {
	storage.Transactor
	storage.Tables
	storage.Searcher
	storage.Aggregator
	storage.Rollups
	storage.Sequencer
	storage.Authorizer
	storage.Scrubber
}

// Options configure the sales service. The zero value works.
type Options struct {
	// DefaultRegion is the ISO 3166-1 alpha-2 region of lead phone numbers
	// written without a country code, such as "US". Default: "" (numbers
	// must start with +).
	DefaultRegion string
	// ProjectOnWin makes winning an opportunity also create its project
	// (Projects.FromOpportunity), in the same transaction. Default: false
	// (projects are made on request).
	ProjectOnWin bool
}

// Service is the sales module.
type Service struct {
	store  Store
	t      tables
	people *contacts.Service
	opts   Options

	// Leads captures, qualifies and converts leads.
	Leads *Leads
	// Pipelines manages pipelines and their stages.
	Pipelines *Pipelines
	// Opportunities manages deals and moves them through stages.
	Opportunities *Opportunities
	// Forecasts sums deals by period and stage, and keeps snapshots.
	Forecasts *Forecasts
	// Products manages the catalogue.
	Products *Products
	// PriceBooks manages price books and prices.
	PriceBooks *PriceBooks
	// Quotes prices deals, and renders quotes.
	Quotes *Quotes
	// Invoices bills accepted quotes and records payments.
	Invoices *Invoices
	// Tasks manages to-dos and the members' calendar feeds.
	Tasks *Tasks
	// Projects delivers won deals.
	Projects *Projects
	// Orders records purchases from the host's shop or ERP.
	Orders *Orders
	// Quotas sets the members' and teams' sales targets.
	Quotas *Quotas
}

// NewService returns the sales module on store; people is the contacts
// module that lead conversion creates accounts and contacts with.
func NewService(store Store, people *contacts.Service, opts Options) *Service {
	s := &Service{store: store, t: tablesOf(store), people: people, opts: opts}
	s.Leads = &Leads{s}
	s.Pipelines = &Pipelines{s}
	s.Opportunities = &Opportunities{s}
	s.Forecasts = &Forecasts{s}
	s.Products = &Products{s}
	s.PriceBooks = &PriceBooks{s}
	s.Quotes = &Quotes{s}
	s.Invoices = &Invoices{s}
	s.Tasks = &Tasks{s}
	s.Projects = &Projects{s}
	s.Orders = &Orders{s}
	s.Quotas = &Quotas{s}
	return s
}

// MaxTextLen is the longest name-like text field accepted, in bytes.
const MaxTextLen = 255

// checkCurrency reports field when code is not an ISO 4217 code.
func checkCurrency(v *storage.ValidationError, field, code string) {
	if code == "" {
		v.Add(field, "is required")
	} else if (storage.Money{Amount: 1, Currency: code}).Validate(field) != nil {
		v.Add(field, "%q is not an ISO 4217 currency code", code)
	}
}
