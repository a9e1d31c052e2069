package reporting

import (
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
)

// Store is what the reporting module needs of a storage adapter.
// *bunstore.Store implements it.
type Store interface {
	storage.Transactor
	storage.Tables
	storage.Aggregator
}

// Options configure the reporting service. The zero value works.
type Options struct {
	// Location is the time zone of time buckets for reports that name
	// none (Report.TimeZone). Default: UTC.
	Location *time.Location
	// WeekStart is the first day of weekly buckets for reports that name
	// none. Default: Sunday.
	WeekStart time.Weekday
	// KPIs are the key performance indicators the modules offer
	// (storage.KPIProvider), reached by name with Service.KPI. crm.New
	// sets them to those of every module; names must be unique.
	KPIs []storage.KPI
	// Labelers name the values of the modules' fields that are keys rather
	// than records, such as a deal's stage (storage.FieldLabeler), in
	// reports' labels. crm.New sets them to every module's that does.
	Labelers []storage.FieldLabeler
	// Mailer sends the reports of the send_report workflow action.
	// crm.New sets it to crm.Config.Workflow.Mailer. Default: none (the
	// action is refused).
	Mailer send.Mailer
	// Now returns the current time, which dashboards' relative ranges
	// start from. Default: time.Now.
	Now func() time.Time
}

// Service is the reporting module.
type Service struct {
	store  Store
	people *contacts.Service
	opts   Options
	t      tables

	// Reports stores reports and runs them.
	Reports *Reports
	// Dashboards stores dashboards and renders them to SVG.
	Dashboards *Dashboards
}

// NewService returns the reporting service on store, whose expression
// schemas come from people (custom fields, related records). The store
// must have the module registered (crm.New does it).
func NewService(store Store, people *contacts.Service, opts Options) *Service {
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{store: store, people: people, opts: opts, t: tablesOf(store)}
	s.Reports = &Reports{s: s}
	s.Dashboards = &Dashboards{s: s}
	return s
}
