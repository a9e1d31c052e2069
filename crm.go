// Package crm is an embeddable CRM for Go programs, inside the host
// program's own process and database:
//
//   - contacts: people, accounts with a parent hierarchy, activities, custom
//     fields, tags, search, timelines, duplicates and merges with undo, CSV
//     import and export (CSV, JSON, vCard), consents, the GDPR access
//     document, erasure, anonymisation and retention;
//   - sales: leads with capture and conversion, pipelines, opportunities
//     with stage history, forecasts and snapshots, products and price
//     books, quotes, invoices, tasks with calendar feeds, projects, orders;
//   - marketing: lists and consent, segments, campaigns and attribution,
//     tracked campaign email, web forms, lead scoring, nurture sequences,
//     social posts;
//   - workflow: rules of a trigger, an expression condition and actions,
//     run by a durable engine on the same database;
//   - access control: members, teams, roles with record scopes and field
//     rules, shares; and the host's own record types (ObjectsOf).
//
// Open a store (storage/sqlite for the embedded default, storage/postgres to
// scale out, or storage/bunstore on a *bun.DB the program already has), then
// call New:
//
//	store, err := sqlite.Open(ctx, "crm.db")
//	app, err := crm.New(ctx, store, crm.Config{})
//	c, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
//
// Every call works inside the workspace and as the actor its context names
// (WithWorkspace, WithActor). Every write appends a change event in the same
// transaction; Changes reads them as a feed and History as a record's audit
// trail.
package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/marketing/retention"
	"github.com/crmkit/crm/reporting"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/merge"
	"github.com/crmkit/crm/workflow"
)

// The sentinel errors, re-exported from storage; test with errors.Is.
var (
	ErrNotFound  = storage.ErrNotFound  // no such record in the workspace
	ErrConflict  = storage.ErrConflict  // a unique field is taken, or the state forbids the operation
	ErrStale     = storage.ErrStale     // the record changed since it was read
	ErrInvalid   = storage.ErrInvalid   // bad input; errors.As finds a *ValidationError
	ErrForbidden = storage.ErrForbidden // the actor may not do this
)

// Types re-exported from storage that most callers need.
type (
	// ValidationError lists every bad field of an input.
	ValidationError = storage.ValidationError
	// ConflictError names the unique field a write collided on.
	ConflictError = storage.ConflictError
	// Event is one entry of the change log.
	Event = storage.Event
	// Feed is one read of the change feed.
	Feed = storage.Feed
	// ListQuery selects, sorts and pages a list.
	ListQuery = storage.ListQuery
	// PageQuery asks for one page.
	PageQuery = storage.PageQuery
	// Sort orders a list by one field.
	Sort = storage.Sort
	// Filter is a node of a list's filter tree; see Eq, And, Or, Not.
	Filter = storage.Filter
	// Cmp compares one field with a value.
	Cmp = storage.Cmp
	// And matches records that every element matches.
	And = storage.And
	// Or matches records that any element matches.
	Or = storage.Or
	// Not matches the records its filter does not match.
	Not = storage.Not
	// LinkedTo matches the records that link to the record it names (the
	// deals, tasks or activities of a contact).
	LinkedTo = storage.LinkedTo
	// Ref names one record of any type.
	Ref = storage.Ref
	// Money is an amount in a currency's minor units.
	Money = storage.Money
)

// Page is one page of a keyset-paginated list.
type Page[T any] = storage.Page[T]

// The filters of a list, re-exported from storage so that an application
// needs no storage import for one:
//
//	app.Contacts.List(ctx, crm.ListQuery{Filter: crm.And{crm.Eq("lifecycle", "customer"), crm.Gt("created_at", since)}})

// Eq returns the filter field == value.
func Eq(field string, value any) Filter { return storage.Eq(field, value) }

// Ne returns the filter field != value.
func Ne(field string, value any) Filter { return storage.Ne(field, value) }

// Gt returns the filter field > value.
func Gt(field string, value any) Filter { return storage.Gt(field, value) }

// Ge returns the filter field >= value.
func Ge(field string, value any) Filter { return storage.Ge(field, value) }

// Lt returns the filter field < value.
func Lt(field string, value any) Filter { return storage.Lt(field, value) }

// Le returns the filter field <= value.
func Le(field string, value any) Filter { return storage.Le(field, value) }

// Contains returns the filter field contains value: a substring of a text
// field, an element of a list field.
func Contains(field string, value any) Filter { return storage.Contains(field, value) }

// StartsWith returns the filter that matches records whose text field
// starts with prefix.
func StartsWith(field, prefix string) Filter { return storage.StartsWith(field, prefix) }

// Empty returns the filter that matches records whose field has no value.
func Empty(field string) Filter { return storage.Empty(field) }

// HasTag returns the filter that matches records tagged tag.
func HasTag(tag string) Filter { return storage.HasTag(tag) }

// In returns the filter that matches records whose field is one of
// values; see storage.In.
func In[V any](field string, values ...V) Filter { return storage.In(field, values...) }

// WithWorkspace returns a context whose calls act inside workspace id; see
// storage.WithWorkspace. A context without one uses storage.DefaultWorkspace.
func WithWorkspace(ctx context.Context, id string) context.Context {
	return storage.WithWorkspace(ctx, id)
}

// WithActor returns a context whose writes are recorded as made by actor (a
// user ID of the host application); see storage.WithActor.
func WithActor(ctx context.Context, actor string) context.Context {
	return storage.WithActor(ctx, actor)
}

// As returns a context whose calls act as member memberID: they see and
// change only what the member's role and shares allow, and the change log
// records the member as the actor. See access.Service.Principal. Make one
// per request: the members of the member's teams and what is shared with it
// are read once per context, or not at all while the store keeps them from
// an earlier context and no share or team has changed since (see
// access.Service.As).
func (c *CRM) As(ctx context.Context, memberID string) (context.Context, error) {
	return c.Access.As(ctx, memberID)
}

// AsSystem returns a context whose calls bypass access checks, recorded as
// the system in the change log; see storage.AsSystem.
func AsSystem(ctx context.Context) context.Context { return storage.AsSystem(ctx) }

// Store is what New needs: what every module needs of a store, and the
// registration of modules. *bunstore.Store, returned by sqlite.Open and
// postgres.Open, implements it.
type Store interface {
	storage.Registrar
	contacts.Store
	access.Store
	sales.Store
	workflow.Store
	marketing.Store
	retention.Store
	reporting.Store
	service.Store
}

// Modules returns the built-in modules that New registers with the store,
// in order: contacts, sales, workflow, marketing, retention, service and reporting (the store
// registers the access module itself). A program that sets up a database
// ahead of New, such as postgres.SetupRowLevelSecurity, registers these and
// Config.Modules.
func Modules() []storage.Module {
	return []storage.Module{contacts.Module(), sales.Module(), workflow.Module(), marketing.Module(), retention.Module(), service.Module(), reporting.Module()}
}

// Config configures New. The zero value works; each field's doc gives its
// default.
type Config struct {
	// DefaultPhoneRegion is the ISO 3166-1 alpha-2 region of phone numbers
	// written without a country code, such as "US". Default: "" (numbers
	// must start with +).
	DefaultPhoneRegion string
	// TombstoneKey, when set, makes Erase keep a keyed hash of an erased
	// email, so imports can skip the address (contacts.Options).
	TombstoneKey []byte
	// Logger receives the library's diagnostics. Default: slog.Default().
	Logger *slog.Logger
	// Modules are the host's own modules: record types described as
	// storage.Module (custom objects), registered after the built-in ones
	// and served like them (the generic path: change events, search,
	// access scopes, custom fields, expression filters, workflow triggers,
	// timelines, personal data). See ObjectsOf. Default: none.
	Modules []storage.Module
	// Workflow configures the workflow engine (mail and webhook senders,
	// retry policy, depth limit, workers). Its zero value works, with no
	// Mailer and no webhook sender: send_email and call_webhook actions
	// then fail for good. A host that wants them passes a send.Mailer and
	// a send.WebhookSender (package workflow/send), such as
	// smtp.New(smtp.Config{…}) (package workflow/smtp) as Mailer and
	// webhook.New(webhook.Config{…}) (package workflow/webhook) as
	// Webhooks; crm wires in neither, since both need the host's settings
	// (the mail server, the networks webhooks may reach). Its Logger
	// defaults to Logger.
	Workflow workflow.Config
	// Marketing configures the marketing module (the mailer of campaign
	// mail and opt-in confirmations, the base URL of package
	// marketing/web's handler, the key that signs its links). Its Mailer
	// defaults to Workflow.Mailer.
	Marketing marketing.Options
	// Retention configures the customer-retention module (the currency of
	// monetary values, the churn risk that counts as high).
	Retention retention.Options
	// Service configures the customer service module (the desk's address
	// replies come from). Its Mailer defaults to Workflow.Mailer.
	Service service.Options
	// Reporting configures the reporting module (the default time zone
	// and first day of the week of reports' time buckets). Its Mailer
	// (send_report) defaults to Workflow.Mailer; its KPIs are followed by
	// those of every module.
	Reporting reporting.Options
}

// CRM is the handle an application holds: one field per module. It is safe
// for concurrent use.
type CRM struct {
	store Store

	// Contacts manages people.
	Contacts *contacts.Contacts
	// Accounts manages companies and their hierarchy.
	Accounts *contacts.Accounts
	// Activities manages calls, emails, meetings and notes.
	Activities *contacts.Activities
	// Fields manages custom field definitions.
	Fields *contacts.Fields
	// Consents records what contacts agreed to (GDPR).
	Consents *contacts.Consents
	// Access manages members, teams, roles and shares, and builds the
	// principals that calls act as (see As).
	Access *access.Service
	// Sales manages leads, pipelines and opportunities.
	Sales *sales.Service
	// Marketing manages subscription lists, segments, campaigns and
	// campaign email with tracking.
	Marketing *marketing.Service
	// Retention keeps customers' RFM scores and churn risk and runs
	// loyalty programs.
	Retention *retention.Service
	// Service manages cases and their threads.
	Service *service.Service
	// Reporting saves and runs reports.
	Reporting *reporting.Service
	// Workflow stores and runs automation rules; it runs nothing until
	// Workflow.Start (or Drain) is called.
	Workflow *workflow.Engine

	people    *contacts.Service
	personal  []storage.PersonalDataProvider       // the modules that find and forget a person's records themselves
	retention map[string]storage.RetentionProvider // by record type
}

// New returns a CRM on store. It registers the built-in modules
// (Modules) and cfg.Modules with the store, which migrates their lines
// (or, opened without migrations, checks that they are applied), builds
// the modules' services and wires in what they offer: record writers and
// actions for the workflow engine, personal-data and retention providers,
// merge movers of the host modules' references. It starts nothing in the
// background. A record type that does not declare where it keeps personal
// data is ErrInvalid.
func New(ctx context.Context, store Store, cfg Config) (*CRM, error) {
	if store == nil {
		return nil, errors.New("crm: New needs a store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := store.Register(ctx, append(Modules(), cfg.Modules...)...); err != nil {
		return nil, err
	}
	movers, err := hostMovers(store, cfg.Modules)
	if err != nil {
		return nil, err
	}
	people := contacts.NewService(store, contacts.Options{DefaultRegion: cfg.DefaultPhoneRegion, TombstoneKey: cfg.TombstoneKey,
		Movers: slices.Concat(sales.Movers(store), marketing.Movers(store), retention.Movers(store), service.Movers(store), movers)})
	sls := sales.NewService(store, people, sales.Options{DefaultRegion: cfg.DefaultPhoneRegion})
	if cfg.Marketing.Mailer == nil {
		cfg.Marketing.Mailer = cfg.Workflow.Mailer
	}
	mkt := marketing.NewService(store, people, sls, cfg.Marketing)
	if cfg.Service.Mailer == nil {
		cfg.Service.Mailer = cfg.Workflow.Mailer
	}
	desk := service.NewService(store, people, cfg.Service)
	c := &CRM{
		store:      store,
		Contacts:   people.Contacts,
		Accounts:   people.Accounts,
		Activities: people.Activities,
		Fields:     people.Fields,
		Consents:   people.Consents,
		Access:     access.NewService(store),
		Sales:      sls,
		Marketing:  mkt,
		Retention:  retention.NewService(store, people, cfg.Retention),
		Service:    desk,
		Reporting:  reporting.NewService(store, people, withKPIs(reportingOptions(cfg), sls, mkt, desk)),
		people:     people,
		retention:  map[string]storage.RetentionProvider{},
	}
	// What the modules' services offer, by the optional interfaces of
	// package storage.
	owned := map[string]bool{}
	actions := []storage.ActionSpec{c.retentionAction()}
	for _, svc := range []any{people, sls, mkt, desk, c.Reporting} {
		if w, ok := svc.(storage.RecordWriters); ok {
			cfg.Workflow.Writers = append(cfg.Workflow.Writers, w.RecordWriters()...)
		}
		if ap, ok := svc.(storage.ActionProvider); ok {
			actions = append(actions, ap.Actions()...)
		}
		o, isOwner := svc.(storage.PersonalOwner)
		if !isOwner {
			continue
		}
		for _, typ := range o.PersonalTypes() {
			owned[typ] = true
			if rp, ok := svc.(storage.RetentionProvider); ok {
				c.retention[typ] = rp
			}
		}
		if pr, ok := svc.(storage.PersonalDataProvider); ok {
			c.personal = append(c.personal, pr)
		}
	}
	if err := checkPersonal(store.Types(), owned); err != nil {
		return nil, err
	}
	if cfg.Workflow.Logger == nil {
		cfg.Workflow.Logger = cfg.Logger
	}
	if cfg.Workflow.Schema == nil {
		cfg.Workflow.Schema = people.Schema
	}
	c.Workflow = workflow.New(store, cfg.Workflow)
	for _, a := range actions {
		if err := c.Workflow.RegisterSpec(a); err != nil {
			return nil, fmt.Errorf("crm: action %s: %w", a.Name, err)
		}
	}
	// A new engine starts at the end of the log (workflow.Config.StartFrom).
	// Under row-level security without Config.Workflow.Workspaces the
	// engine cannot read the log at all; it says so when used.
	if err := c.Workflow.Init(ctx); err != nil && !errors.Is(err, storage.ErrInvalid) {
		return nil, err
	}
	return c, nil
}

// checkPersonal refuses record types that do not say where they keep
// personal data (storage.TypeOptions.Personal), and Owned types that no
// module's code handles: erasure would miss them.
func checkPersonal(types []storage.RecordType, owned map[string]bool) error {
	var v storage.ValidationError
	for _, t := range types {
		pd := t.Options().Personal
		switch {
		case !pd.Declared():
			v.Add("modules", "record type %s does not say where it keeps personal data (TypeOptions.Personal: None, or the field naming the contact)", t.Name())
		case pd.Owned && !owned[t.Name()]:
			v.Add("modules", "record type %s says its module forgets a person's records, but no module's service does (storage.PersonalDataProvider)", t.Name())
		case pd.ContactField != "" && !t.HasField(pd.ContactField):
			v.Add("modules", "record type %s has no field %q to name the contact", t.Name(), pd.ContactField)
		}
	}
	return v.Err()
}

// hostMovers returns the movers of the host modules' record types that
// refer to contacts or accounts (storage.Referrer, PersonalData's
// ContactField): when two contacts or two accounts merge, their records
// follow the survivor.
func hostMovers(store Store, mods []storage.Module) ([]merge.Mover, error) {
	var out []merge.Mover
	for _, m := range mods {
		for _, ty := range m.Types {
			t, ok := store.Table(ty.Name())
			if !ok {
				return nil, fmt.Errorf("crm: record type %s of module %s is not registered", ty.Name(), m.Name)
			}
			seen := map[string]bool{}
			add := func(field, target string) {
				if !seen[field] && (target == contacts.ObjectContact || target == contacts.ObjectAccount) {
					seen[field] = true
					out = append(out, merge.NewFieldMover(store, t, field, target))
				}
			}
			if r, ok := ty.New().(storage.Referrer); ok {
				for _, ref := range r.References() {
					add(ref.Field, ref.Type)
				}
			}
			if f := ty.Options().Personal.ContactField; f != "" {
				add(f, contacts.ObjectContact)
			}
		}
	}
	return out, nil
}

// reportingOptions returns cfg.Reporting with the workflow's mailer when it
// names none.
func reportingOptions(cfg Config) reporting.Options {
	opts := cfg.Reporting
	if opts.Mailer == nil {
		opts.Mailer = cfg.Workflow.Mailer
	}
	return opts
}

// withKPIs returns opts with the KPIs of the module services that offer
// them (storage.KPIProvider) after its own, and their labelers
// (storage.FieldLabeler) likewise.
func withKPIs(opts reporting.Options, services ...any) reporting.Options {
	opts.KPIs = slices.Clone(opts.KPIs)
	opts.Labelers = slices.Clone(opts.Labelers)
	for _, svc := range services {
		if p, ok := svc.(storage.KPIProvider); ok {
			opts.KPIs = append(opts.KPIs, p.KPIs()...)
		}
		if l, ok := svc.(storage.FieldLabeler); ok {
			opts.Labelers = append(opts.Labelers, l)
		}
	}
	return opts
}

// RunInTx runs fn in one transaction: every CRM call made with the context fn
// receives commits together, or not at all when fn returns an error. Calls
// inside fn that run their own RunInTx join it.
//
// Each CRM call fn makes runs under a savepoint of its own (where the
// store is a storage.HostTransactor, as both adapters are): a call that
// fails, such as a Create meeting a taken email, has written nothing, and
// fn may go on with the transaction on SQLite and Postgres alike. fn's own
// rows go in the same transaction through the store's transaction of the
// context ((*bunstore.Store).Tx).
func (c *CRM) RunInTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if h, ok := c.store.(storage.HostTransactor); ok {
		return h.RunInHostTx(ctx, fn)
	}
	return c.store.RunInTx(ctx, fn)
}

// ExportContacts writes the contacts the context's member may export, as
// CSV (formula-safe), JSON or vCard; see contacts.Service.ExportContacts.
func (c *CRM) ExportContacts(ctx context.Context, w io.Writer, opts contacts.ExportOptions) error {
	return c.people.ExportContacts(ctx, w, opts)
}

// Import reads contacts from CSV and upserts them; see
// contacts.Service.ImportContacts.
func (c *CRM) Import(ctx context.Context, r io.Reader, opts contacts.ImportOptions) (*contacts.ImportReport, error) {
	return c.people.ImportContacts(ctx, r, opts)
}

// ImportAccounts reads accounts from CSV and upserts them by domain or an
// external-ID field; see contacts.Service.ImportAccounts.
func (c *CRM) ImportAccounts(ctx context.Context, r io.Reader, opts contacts.ImportOptions) (*contacts.ImportReport, error) {
	return c.people.ImportAccounts(ctx, r, opts)
}

// ImportLeads reads leads from CSV and upserts them by email; see
// sales.Leads.Import.
func (c *CRM) ImportLeads(ctx context.Context, r io.Reader, opts contacts.ImportOptions) (*contacts.ImportReport, error) {
	return c.Sales.Leads.Import(ctx, r, opts)
}

// FindDuplicates scans the workspace for likely duplicate contacts by the
// workspace's duplicate rules (Contacts.DuplicateRules, changed with
// Contacts.SetDuplicateRules), which opts may override for the call; see
// contacts.Service.FindDuplicates. Merge a pair with Contacts.Merge.
func (c *CRM) FindDuplicates(ctx context.Context, opts contacts.DuplicateOptions) ([]contacts.DuplicatePair, error) {
	return c.people.FindDuplicates(ctx, opts)
}

// PersonalData collects everything the CRM holds about contact id, as one
// document for a GDPR access request: the contacts module's part (record,
// account, activities, consents, change history) and, under Related by
// record type, what every other module holds about the person: the
// records of modules that find them themselves (the leads converted into
// the contact or with one of its addresses) and the records of every
// registered type whose PersonalData.ContactField names the contact
// (opportunities, quotes, invoices, orders, a host's own types), each a
// slice of the type's records ([]*sales.Order).
//
// It is an export: the member must have the export right on the contact
// (else ErrForbidden, or ErrNotFound when it may not read it), and every
// record type the document lists is read in the member's export scope
// (storage.ForExport): records outside it are left out, and a type the
// member may not export at all is ErrForbidden. A data protection officer
// runs it as an admin or as the system.
func (c *CRM) PersonalData(ctx context.Context, id string) (*contacts.PersonalData, error) {
	// The document leaves the CRM: the member must be able to export the
	// contact, and every list below reads in its export scope.
	ctx = storage.ForExport(ctx)
	if err := c.store.Check(ctx, storage.Ref{Type: contacts.ObjectContact, ID: id}, storage.ActionExport); err != nil {
		return nil, err
	}
	pd, err := c.people.PersonalData(ctx, id)
	if err != nil {
		return nil, err
	}
	p := contacts.PersonOf(pd.Contact)
	for _, pr := range c.personal {
		recs, err := pr.PersonalRecords(ctx, p)
		if err != nil {
			return nil, err
		}
		maps.Copy(pd.Related, recs)
	}
	for _, t := range c.store.Types() {
		field := t.Options().Personal.ContactField
		if field == "" {
			continue
		}
		rt, _ := c.store.Table(t.Name())
		recs, err := storage.All(ctx, rt, storage.Eq(field, id))
		if err != nil {
			return nil, err
		}
		if len(recs) > 0 {
			pd.Related[t.Name()] = typedSlice(t, recs)
		}
	}
	return pd, nil
}

// typedSlice returns recs, records of t, as a slice of t's Go type.
func typedSlice(t storage.RecordType, recs []storage.Record) any {
	out := reflect.MakeSlice(reflect.SliceOf(t.GoType()), len(recs), len(recs))
	for i, r := range recs {
		out.Index(i).Set(reflect.ValueOf(r))
	}
	return out.Interface()
}

// Erase removes a person under the GDPR's right to erasure, in one
// transaction: the contact with its activities, consents and search
// document (contacts.Service.Erase); what other modules hold about the
// person and find themselves (the leads converted into it or with one of
// its addresses: deleted, their events scrubbed); and the records of
// every registered type whose PersonalData.ContactField names the contact,
// as the type's PersonalData.Erase says (deleted, their personal fields
// emptied, or kept: deals, quotes, invoices and orders keep only the
// contact's ID); and, in the records linked to the contact that hold no
// personal data by type (tasks a rule wrote "Call {{.email}}" into), the
// person's addresses, phone numbers and names, replaced by "[erased]"
// (counted under Related["scrubbed"]). The past change events of every
// record touched are scrubbed, and with them the workflow engine's copies:
// the jobs and runs made for those events (a run still going ends).
func (c *CRM) Erase(ctx context.Context, contactID string) (*contacts.Erasure, error) {
	return c.forget(ctx, contactID, false)
}

// Anonymise removes a person's personal data and keeps their records, in
// one transaction: the contact (contacts.Service.Anonymise: personal
// fields emptied, activities and consents deleted, change events
// scrubbed), the records other modules find themselves (leads: their
// personal fields emptied, events scrubbed), and the personal fields of
// the records of types whose PersonalData.Erase is not EraseKeep. Deals,
// quotes, invoices and orders stay linked to the anonymous contact.
func (c *CRM) Anonymise(ctx context.Context, contactID string) (*contacts.Erasure, error) {
	return c.forget(ctx, contactID, true)
}

// forget erases (or, with anonymise, anonymises) a person in one
// transaction: Erase and Anonymise.
func (c *CRM) forget(ctx context.Context, contactID string, anonymise bool) (*contacts.Erasure, error) {
	var out *contacts.Erasure
	err := c.store.RunInTx(ctx, func(ctx context.Context) error {
		ct, err := c.Contacts.Get(ctx, contactID)
		if err != nil {
			return err
		}
		p := contacts.PersonOf(ct)
		related := map[string]int{}
		for _, pr := range c.personal {
			n, err := pr.ForgetPerson(ctx, p, anonymise)
			if err != nil {
				return err
			}
			maps.Copy(related, n)
		}
		for _, t := range c.store.Types() {
			pd := t.Options().Personal
			if pd.ContactField == "" || pd.Erase == storage.EraseKeep {
				continue
			}
			n, err := c.forgetReferring(ctx, t, pd, contactID, anonymise)
			if err != nil {
				return err
			}
			if n > 0 {
				related[t.Name()] = n
			}
		}
		n, err := c.scrubLinked(ctx, ct)
		if err != nil {
			return err
		}
		if n > 0 {
			related["scrubbed"] = n
		}
		if anonymise {
			out, err = c.people.Anonymise(ctx, contactID)
		} else {
			out, err = c.people.Erase(ctx, contactID)
		}
		if out != nil && len(related) > 0 {
			out.Related = related
		}
		return err
	})
	return out, err
}

// forgetReferring deletes the records of t whose pd.ContactField is the
// contact (EraseRecord, unless anonymising), or empties their personal
// fields (EraseFields, or anonymising), and scrubs their past change
// events. It returns how many it handled.
func (c *CRM) forgetReferring(ctx context.Context, t storage.RecordType, pd storage.PersonalData, contactID string, anonymise bool) (int, error) {
	rt, _ := c.store.Table(t.Name())
	recs, err := storage.All(ctx, rt, storage.Eq(pd.ContactField, contactID))
	if err != nil {
		return 0, err
	}
	empty := make(map[string]any, len(pd.Fields))
	for _, f := range pd.Fields {
		empty[f] = nil
	}
	var ids []string
	for _, prev := range recs {
		id := prev.RecordMeta().ID
		if pd.Erase == storage.EraseRecord && !anonymise {
			if err := rt.Delete(ctx, prev, storage.WithEventType(t.Name()+".erased")); err != nil {
				return 0, fmt.Errorf("%s %s: %w", t.Name(), id, err)
			}
		} else if _, err := storage.ModifyRecord(ctx, c.store, rt, id, 0, func(_ context.Context, next storage.Record) error {
			return storage.SetFields(next, empty)
		}, storage.WithEventType(t.Name()+".anonymised")); err != nil {
			return 0, fmt.Errorf("%s %s: %w", t.Name(), id, err)
		}
		ids = append(ids, id)
	}
	if len(ids) > 0 {
		if err := c.store.ScrubEvents(ctx, ids...); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// Search finds contacts and accounts whose words start with each word of
// text, best first, at most limit (0 means 20).
func (c *CRM) Search(ctx context.Context, text string, limit int) ([]contacts.SearchResult, error) {
	return c.people.Search(ctx, text, limit)
}

// Changes reads the change feed of the context's workspace: up to limit
// events committed after cursor ("" starts at the beginning), oldest first;
// a limit of 0 or less reads storage.DefaultLimit (50), and more than
// storage.MaxLimit (1,000) reads that many. Store the returned Feed.Cursor
// and pass it to the next call (with no new events it is the cursor given);
// a reader never misses a committed event and never sees a rolled-back one.
func (c *CRM) Changes(ctx context.Context, cursor string, limit int) (Feed, error) {
	return c.store.ChangeFeed(ctx, cursor, limit)
}

// FeedFilter selects the events ChangesOf reads (storage.FeedFilter).
type FeedFilter = storage.FeedFilter

// ChangesOf is Changes of only the events f keeps (of some event types,
// about some record types), selected in the store; its cursors are those
// of Changes.
func (c *CRM) ChangesOf(ctx context.Context, cursor string, limit int, f FeedFilter) (Feed, error) {
	return c.store.ChangeFeedOf(ctx, cursor, limit, f)
}

// History returns the audit trail of any record: its change events, newest
// first, one page at a time.
func (c *CRM) History(ctx context.Context, recordID string, q PageQuery) (storage.Page[Event], error) {
	return c.store.History(ctx, recordID, q)
}

// RetentionPolicy says which contacts and leads the CRM keeps no longer.
// Set ContactMonths, LeadMonths or both.
type RetentionPolicy struct {
	// ContactMonths: contacts not changed, and without an activity, for
	// this many months are erased with their leads (Erase), or anonymised.
	// 0 leaves contacts alone.
	ContactMonths int `json:"contact_months,omitempty"`
	// LeadMonths: leads not changed, and without an activity, for this
	// many months are deleted, or anonymised. 0 leaves leads alone.
	LeadMonths int `json:"lead_months,omitempty"`
	// Anonymise keeps the records and empties their personal data
	// (contacts.Service.Anonymise, sales.Lead.Anonymise) instead of
	// deleting them; records anonymised already are left alone.
	Anonymise bool `json:"anonymise,omitempty"`
	// DryRun lists what a run would do, and does nothing.
	DryRun bool `json:"dry_run,omitempty"`
	// Limit bounds how many records of each type one run handles (default
	// 1000); run again for the rest.
	Limit int `json:"limit,omitempty"`
}

// ActionApplyRetention is the workflow action that applies a retention
// policy (its parameters are a RetentionPolicy in JSON: contact_months,
// lead_months, anonymise, dry_run, limit), so that a cron rule runs
// retention on a schedule:
//
//	app.Workflow.Define(ctx, workflow.Rule{Name: "Nightly retention", Enabled: true,
//		Trigger: workflow.Trigger{Kind: workflow.OnSchedule, Cron: "0 3 * * *"},
//		Actions: []workflow.Action{workflow.NewAction(crm.ActionApplyRetention,
//			crm.RetentionPolicy{ContactMonths: 36, LeadMonths: 12})}})
//
// crm.New registers it on the engine.
const ActionApplyRetention = "apply_retention"

// retentionAction is the workflow action of ActionApplyRetention, in
// storage terms as a module offers its actions (storage.ActionSpec). It
// runs in the step's transaction, so a run's erasures commit with the
// step.
func (c *CRM) retentionAction() storage.ActionSpec {
	decode := func(raw json.RawMessage) (RetentionPolicy, error) {
		var p RetentionPolicy
		if len(raw) == 0 {
			return p, errors.New("params: name contact_months or lead_months")
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&p); err != nil {
			return p, fmt.Errorf("params: %v", err)
		}
		switch {
		case p.ContactMonths < 0 || p.LeadMonths < 0 || p.Limit < 0:
			return p, errors.New("params: months and limit must not be negative")
		case p.ContactMonths == 0 && p.LeadMonths == 0:
			return p, errors.New("params: name contact_months or lead_months")
		}
		return p, nil
	}
	return storage.ActionSpec{
		Name: ActionApplyRetention,
		Check: func(_ context.Context, params json.RawMessage) error {
			_, err := decode(params)
			return err
		},
		Run: func(ctx context.Context, call storage.ActionCall) (any, error) {
			p, err := decode(call.Params)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", storage.ErrInvalid, err)
			}
			rep, err := c.ApplyRetention(ctx, p)
			if err != nil {
				return nil, err
			}
			return map[string]any{"contacts": len(rep.Contacts), "leads": len(rep.Leads), "dry_run": p.DryRun}, nil
		},
	}
}

// RetentionReport is what ApplyRetention did.
type RetentionReport struct {
	// ContactCutoff and LeadCutoff are the times before which records
	// count as inactive (zero for a type left alone).
	ContactCutoff time.Time `json:"contact_cutoff,omitzero"`
	LeadCutoff    time.Time `json:"lead_cutoff,omitzero"`
	// Contacts and Leads are the IDs handled (or, dry, to handle). The
	// leads erased with their contacts are not listed.
	Contacts []string `json:"contacts"`
	Leads    []string `json:"leads"`
	// Anonymised and DryRun repeat the policy.
	Anonymised bool `json:"anonymised,omitempty"`
	DryRun     bool `json:"dry_run,omitempty"`
}

// ApplyRetention applies policy on demand (a workflow schedule can run it
// later): the inactive contacts are erased with their leads (Erase) or
// anonymised (Anonymise), then the inactive leads are deleted, their
// change events scrubbed, or anonymised. Each record is handled in a
// transaction of its own, so an error stops the run with what was done
// before it reported. Bad months are ErrInvalid naming the field.
func (c *CRM) ApplyRetention(ctx context.Context, policy RetentionPolicy) (*RetentionReport, error) {
	var v storage.ValidationError
	if policy.ContactMonths < 0 {
		v.Add("contact_months", "must not be negative")
	}
	if policy.LeadMonths < 0 {
		v.Add("lead_months", "must not be negative")
	}
	if policy.ContactMonths == 0 && policy.LeadMonths == 0 {
		v.Add("contact_months", "or lead_months must be at least 1")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if policy.Limit <= 0 {
		policy.Limit = 1000
	}
	rep := &RetentionReport{Anonymised: policy.Anonymise, DryRun: policy.DryRun, Contacts: []string{}, Leads: []string{}}
	if policy.ContactMonths > 0 {
		// The contacts module picks them; the facade erases them, so that
		// their leads go too.
		cr, err := c.people.ApplyRetention(ctx, contacts.RetentionPolicy{InactiveMonths: policy.ContactMonths,
			Anonymise: policy.Anonymise, DryRun: true, Limit: policy.Limit})
		if err != nil {
			return nil, err
		}
		rep.ContactCutoff, rep.Contacts = cr.Cutoff, cr.Contacts
		if !policy.DryRun {
			forget := c.Erase
			if policy.Anonymise {
				forget = c.Anonymise
			}
			for _, id := range cr.Contacts {
				if _, err := forget(ctx, id); err != nil {
					return rep, fmt.Errorf("contact %s: %w", id, err)
				}
			}
		}
	}
	if policy.LeadMonths > 0 {
		rp := c.retention[sales.ObjectLead]
		if rp == nil {
			return rep, errors.New("crm: no module applies retention to leads")
		}
		rep.LeadCutoff = storage.Now().AddDate(0, -policy.LeadMonths, 0)
		ids, err := rp.Inactive(ctx, sales.ObjectLead, rep.LeadCutoff, policy.Anonymise, policy.Limit)
		if err != nil {
			return rep, err
		}
		rep.Leads = ids
		if !policy.DryRun {
			for _, id := range ids {
				if err := rp.ForgetRecord(ctx, sales.ObjectLead, id, policy.Anonymise); err != nil {
					return rep, err
				}
			}
		}
	}
	return rep, nil
}

// Objects is the service of one registered record type, typically a host
// module's own (a custom object such as a vehicle or a subscription, see
// Config.Modules): the generic path (change events, search, links, access
// scopes and field rules, all from the store), plus what the modules'
// services add to their own records: custom field values checked against
// the workspace's definitions (Fields.Define with the type as object),
// expression filters (Where), history and timelines. Workflow rules,
// personal data and merges reach the type without it (see New). Make one
// with ObjectsOf; it is safe for concurrent use.
type Objects[T storage.Record] struct {
	c      *CRM
	t      storage.Table[T]
	rt     storage.RecordTable
	typ    string
	custom bool // the type has custom fields
}

// ObjectsOf returns the service of the record type T (such as *Vehicle),
// which a module given to New registered. A type no module registered is
// ErrInvalid.
func ObjectsOf[T storage.Record](c *CRM) (*Objects[T], error) {
	name := storage.TypeName[T]()
	rt, ok := c.store.Table(name)
	if !ok || rt.Type().GoType() != reflect.TypeFor[T]() {
		return nil, fmt.Errorf("%w: record type %s (%s) is not registered: give its module to crm.New (Config.Modules)", ErrInvalid, name, reflect.TypeFor[T]())
	}
	return &Objects[T]{c: c, t: storage.TableOf[T](c.store), rt: rt, typ: name, custom: rt.Type().HasField("custom")}, nil
}

// checkCustom checks and normalises rec's custom field values.
func (o *Objects[T]) checkCustom(ctx context.Context, rec T) error {
	if !o.custom {
		return nil
	}
	cp := storage.CustomOf(rec)
	if cp == nil {
		return nil
	}
	v, err := o.c.people.Fields.Check(ctx, o.typ, *cp)
	if err != nil {
		return err
	}
	*cp = v
	return nil
}

// Create stores rec, a new record: its custom field values are checked
// first (a *ValidationError naming each bad one), then it is inserted as
// storage.Table.Insert does. It returns rec with its Meta set.
func (o *Objects[T]) Create(ctx context.Context, rec T) (T, error) {
	if err := o.checkCustom(ctx, rec); err != nil {
		var zero T
		return zero, err
	}
	if err := o.t.Insert(ctx, rec); err != nil {
		var zero T
		return zero, err
	}
	return rec, nil
}

// Get returns the record id, or ErrNotFound.
func (o *Objects[T]) Get(ctx context.Context, id string) (T, error) { return o.t.Get(ctx, id) }

// Update changes the record id in one transaction: it reads it, checks its
// version when version is not 0 (else ErrStale), lets change edit it,
// checks the custom field values and stores it. An error of change
// writes nothing. It returns the record as stored.
func (o *Objects[T]) Update(ctx context.Context, id string, version int64, change func(next T) error) (T, error) {
	rec, err := storage.ModifyRecord(ctx, o.c.store, o.rt, id, version, func(ctx context.Context, next storage.Record) error {
		if err := change(next.(T)); err != nil {
			return err
		}
		return o.checkCustom(ctx, next.(T))
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return rec.(T), nil
}

// Delete removes the record id, checking its version when version is not
// 0.
func (o *Objects[T]) Delete(ctx context.Context, id string, version int64) error {
	return storage.Remove(ctx, o.c.store, o.t, id, version, nil)
}

// List returns one page of the records q selects.
func (o *Objects[T]) List(ctx context.Context, q ListQuery) (storage.Page[T], error) {
	return o.t.List(ctx, q)
}

// Count returns how many records f matches.
func (o *Objects[T]) Count(ctx context.Context, f storage.Filter) (int64, error) {
	return o.t.Count(ctx, f)
}

// Where returns one page of the records matching the expression src (see
// package storage/filterexpr: "model == 'Transit' && custom.mileage >
// 100000", "contact.lifecycle == 'customer'" for a type that refers to
// contacts), on top of q's own filter. A bad expression is ErrInvalid
// with its position; a hidden field is ErrForbidden.
func (o *Objects[T]) Where(ctx context.Context, src string, q ListQuery) (storage.Page[T], error) {
	f, err := o.c.people.Filter(ctx, o.typ, src)
	if err != nil {
		return storage.Page[T]{}, err
	}
	if q.Filter != nil {
		f = storage.And{q.Filter, f}
	}
	q.Filter = f
	return o.t.List(ctx, q)
}

// Search finds records of the type (it must be storage.Searchable) whose
// words start with each word of text, best first, at most limit (0 means
// 20), within the principal's read scope.
func (o *Objects[T]) Search(ctx context.Context, text string, limit int) ([]T, error) {
	hits, err := o.c.store.Search(ctx, storage.SearchQuery{Text: text, Types: []string{o.typ}, Limit: limit})
	if err != nil || len(hits) == 0 {
		return nil, err
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.Ref.ID
	}
	page, err := o.t.List(ctx, ListQuery{Filter: storage.Cmp{Field: "id", Op: storage.OpIn, Value: ids}, PageQuery: PageQuery{Limit: len(ids)}})
	if err != nil {
		return nil, err
	}
	byID := make(map[string]T, len(page.Items))
	for _, r := range page.Items {
		byID[r.RecordMeta().ID] = r
	}
	out := make([]T, 0, len(hits))
	for _, h := range hits {
		if r, ok := byID[h.Ref.ID]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// History returns the record's change events, newest first.
func (o *Objects[T]) History(ctx context.Context, id string, q PageQuery) (storage.Page[Event], error) {
	return o.c.store.History(ctx, id, q)
}

// Timeline returns the record's timeline, newest first: its change events
// and the records that show in timelines (activities) linked to it.
func (o *Objects[T]) Timeline(ctx context.Context, id string, q PageQuery) (storage.Page[storage.TimelineEntry], error) {
	if _, err := o.t.Get(ctx, id); err != nil {
		return storage.Page[storage.TimelineEntry]{}, err
	}
	return o.c.store.Timeline(ctx, storage.Ref{Type: o.typ, ID: id}, q)
}
