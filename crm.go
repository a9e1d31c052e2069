// Package crm is an embeddable CRM for Go programs: contacts, accounts,
// activities, custom fields, search, timelines, an audit trail, access
// control, and sales (leads, pipelines, opportunities), inside the host
// program's own process and database.
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
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
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
)

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
}

// Modules returns the built-in modules that New registers with the store,
// in order: contacts, sales and workflow (the store registers the access
// module itself). A program that sets up a database ahead of New, such as
// postgres.SetupRowLevelSecurity, registers these and Config.Modules.
func Modules() []storage.Module {
	return []storage.Module{contacts.Module(), sales.Module(), workflow.Module()}
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
}

// CRM is the handle an application holds: one field per module. It is safe
// for concurrent use.
type CRM struct {
	store Store
	cfg   Config

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
	// Workflow stores and runs automation rules; it runs nothing until
	// Workflow.Start (or Drain) is called.
	Workflow *workflow.Engine

	people *contacts.Service
}

// New returns a CRM on store. It starts nothing in the background. The
// store must be migrated (sqlite.Open and postgres.Open do it).
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
	people := contacts.NewService(store, contacts.Options{DefaultRegion: cfg.DefaultPhoneRegion, TombstoneKey: cfg.TombstoneKey,
		Movers: sales.Movers(store)})
	sls := sales.NewService(store, people, sales.Options{DefaultRegion: cfg.DefaultPhoneRegion})
	if cfg.Workflow.Logger == nil {
		cfg.Workflow.Logger = cfg.Logger
	}
	if cfg.Workflow.Schema == nil {
		cfg.Workflow.Schema = people.Schema
	}
	for _, svc := range []any{people, sls} {
		if w, ok := svc.(storage.RecordWriters); ok {
			cfg.Workflow.Writers = append(cfg.Workflow.Writers, w.RecordWriters()...)
		}
	}
	c := &CRM{
		store:      store,
		cfg:        cfg,
		Contacts:   people.Contacts,
		Accounts:   people.Accounts,
		Activities: people.Activities,
		Fields:     people.Fields,
		Consents:   people.Consents,
		Access:     access.NewService(store),
		Sales:      sls,
		Workflow:   workflow.New(store, cfg.Workflow),
		people:     people,
	}
	if err := c.Workflow.Register(ActionApplyRetention, c.retentionAction()); err != nil {
		return nil, err
	}
	return c, nil
}

// RunInTx runs fn in one transaction: every CRM call made with the context fn
// receives commits together, or not at all when fn returns an error. Calls
// inside fn that run their own RunInTx join it.
func (c *CRM) RunInTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return c.store.RunInTx(ctx, fn)
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
// account, activities, consents, change history) and, under Related, the
// leads converted into the contact or with one of its email addresses, and
// the contact's opportunities, quotes, invoices and orders.
func (c *CRM) PersonalData(ctx context.Context, id string) (*contacts.PersonalData, error) {
	pd, err := c.people.PersonalData(ctx, id)
	if err != nil {
		return nil, err
	}
	q := storage.ListQuery{Filter: storage.Eq("contact_id", id), PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}
	leads, err := c.personLeads(ctx, pd.Contact)
	if err != nil {
		return nil, err
	}
	if len(leads) > 0 {
		pd.Related[sales.ObjectLead] = leads
	}
	var err1, err2, err3, err4 error
	pd.Related[sales.ObjectOpportunity], err1 = collect(ctx, storage.TableOf[*sales.Opportunity](c.store), q)
	pd.Related[sales.ObjectQuote], err2 = collect(ctx, storage.TableOf[*sales.Quote](c.store), q)
	pd.Related[sales.ObjectInvoice], err3 = collect(ctx, storage.TableOf[*sales.Invoice](c.store), q)
	pd.Related[sales.ObjectOrder], err4 = collect(ctx, storage.TableOf[*sales.Order](c.store), q)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, err
	}
	return pd, nil
}

// collect returns every record of tbl that q selects.
func collect[T storage.Record](ctx context.Context, tbl storage.Table[T], q storage.ListQuery) ([]T, error) {
	var out []T
	err := storage.Each(ctx, tbl, q, func(rec T) error { out = append(out, rec); return nil })
	return out, err
}

// personLeads returns the leads of the person ct, in ID order: those
// converted into it, and those with one of its email addresses. They are
// two look-ups, each by its index (one query with OR read the whole
// workspace on SQLite).
func (c *CRM) personLeads(ctx context.Context, ct *contacts.Contact) ([]*sales.Lead, error) {
	all := storage.PageQuery{Limit: storage.MaxLimit}
	out, err := collect(ctx, storage.TableOf[*sales.Lead](c.store), storage.ListQuery{Filter: storage.LinkedTo{Type: contacts.ObjectContact, ID: ct.ID}, PageQuery: all})
	if err != nil {
		return nil, err
	}
	var emails []string
	if ct.Email != "" {
		emails = append(emails, ct.Email)
	}
	for _, e := range ct.Emails {
		emails = append(emails, e.Address)
	}
	if len(emails) == 0 {
		return out, nil
	}
	// Sorted by email, so that the email index gives the order.
	byEmail, err := collect(ctx, storage.TableOf[*sales.Lead](c.store), storage.ListQuery{Filter: storage.Cmp{Field: "email", Op: storage.OpIn, Value: emails},
		Sort: []storage.Sort{{Field: "email"}}, PageQuery: all})
	if err != nil {
		return nil, err
	}
	for _, l := range byEmail {
		if !slices.ContainsFunc(out, func(o *sales.Lead) bool { return o.ID == l.ID }) {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b *sales.Lead) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Erase removes a person under the GDPR's right to erasure, in one
// transaction: the contact with its activities, consents and search
// document (contacts.Service.Erase), and the leads converted into it or
// with one of its email addresses, and scrubs the values of every past
// change event of those records. Opportunities, quotes, invoices and orders keep only the
// contact's ID.
func (c *CRM) Erase(ctx context.Context, contactID string) (*contacts.Erasure, error) {
	return c.forget(ctx, contactID, false)
}

// forget erases (or, with anonymise, anonymises) a person's contact and
// leads in one transaction: Erase and Anonymise.
func (c *CRM) forget(ctx context.Context, contactID string, anonymise bool) (*contacts.Erasure, error) {
	var out *contacts.Erasure
	err := c.store.RunInTx(ctx, func(ctx context.Context) error {
		ct, err := c.Contacts.Get(ctx, contactID)
		if err != nil {
			return err
		}
		leads, err := c.personLeads(ctx, ct)
		if err != nil {
			return err
		}
		for _, l := range leads {
			if err := c.forgetLead(ctx, l.ID, anonymise); err != nil {
				return err
			}
		}
		if anonymise {
			out, err = c.people.Anonymise(ctx, contactID)
		} else {
			out, err = c.people.Erase(ctx, contactID)
		}
		return err
	})
	return out, err
}

// Search finds contacts and accounts whose words start with each word of
// text, best first, at most limit (0 means 20).
func (c *CRM) Search(ctx context.Context, text string, limit int) ([]contacts.SearchResult, error) {
	return c.people.Search(ctx, text, limit)
}

// Changes reads the change feed of the context's workspace: up to limit
// events committed after cursor ("" starts at the beginning), oldest first.
// Store the returned Feed.Cursor and pass it to the next call; a reader never
// misses a committed event and never sees a rolled-back one.
func (c *CRM) Changes(ctx context.Context, cursor string, limit int) (Feed, error) {
	return c.store.ChangeFeed(ctx, cursor, limit)
}

// History returns the audit trail of any record: its change events, newest
// first, one page at a time.
func (c *CRM) History(ctx context.Context, recordID string, q PageQuery) (storage.Page[Event], error) {
	return c.store.History(ctx, recordID, q)
}
