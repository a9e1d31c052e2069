package sales

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// LeadStatus is where a lead stands.
type LeadStatus string

// The lead statuses: new → working → nurturing → qualified or
// disqualified; converted once Convert has run.
const (
	LeadNew          LeadStatus = "new"
	LeadWorking      LeadStatus = "working"
	LeadNurturing    LeadStatus = "nurturing"
	LeadQualified    LeadStatus = "qualified"
	LeadDisqualified LeadStatus = "disqualified"
	LeadConverted    LeadStatus = "converted"
)

// UTM holds the campaign parameters of the link a lead came through.
type UTM struct {
	Source   string `json:"source,omitempty"`
	Medium   string `json:"medium,omitempty"`
	Campaign string `json:"campaign,omitempty"`
	Term     string `json:"term,omitempty"`
	Content  string `json:"content,omitempty"`
}

// Lead is a prospective customer not yet qualified into a contact, an
// account and a deal.
type Lead struct {
	storage.Meta
	FirstName string `bun:"first_name,notnull" json:"first_name,omitempty"`
	LastName  string `bun:"last_name,notnull" json:"last_name,omitempty"`
	// Email is lower-case.
	Email string `bun:"email,notnull" json:"email,omitempty"`
	// Phone is in E.164 form.
	Phone    string `bun:"phone,notnull" json:"phone,omitempty"`
	JobTitle string `bun:"job_title,notnull" json:"job_title,omitempty"`
	Company  string `bun:"company,notnull" json:"company,omitempty"`
	// CompanyDomain is the company's web domain: from the website given, else
	// from the email unless it is a free mail provider's.
	CompanyDomain string `bun:"company_domain,notnull" json:"company_domain,omitempty"`
	// Source says where the lead came from, such as "web form" or "fair".
	Source   string     `bun:"source,notnull" json:"source,omitempty"`
	Campaign string     `bun:"campaign,notnull" json:"campaign,omitempty"`
	FormID   string     `bun:"form_id,notnull" json:"form_id,omitempty"`
	UTM      UTM        `bun:"utm" json:"utm,omitzero"`
	Status   LeadStatus `bun:"status,notnull" json:"status"`
	// StatusReason says why a lead was disqualified.
	StatusReason string `bun:"status_reason,notnull" json:"status_reason,omitempty"`
	OwnerID      string `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID       string `bun:"team_id,notnull" json:"team_id,omitempty"`
	Score        int    `bun:"score,notnull" json:"score"`
	// ConvertedAt, ContactID, AccountID and OpportunityID are set by Convert.
	ConvertedAt   time.Time `bun:"converted_at,notnull" json:"converted_at,omitzero"`
	ContactID     string    `bun:"contact_id,notnull" json:"contact_id,omitempty"`
	AccountID     string    `bun:"account_id,notnull" json:"account_id,omitempty"`
	OpportunityID string    `bun:"opportunity_id,notnull" json:"opportunity_id,omitempty"`
	Tags          []string  `bun:"tags" json:"tags,omitempty"`
}

// RecordType returns "lead".
func (*Lead) RecordType() string { return ObjectLead }

// Name returns the lead's full name, or its email when it has none.
func (l *Lead) Name() string {
	if n := strings.TrimSpace(l.FirstName + " " + l.LastName); n != "" {
		return n
	}
	return l.Email
}

// SearchTitle returns the lead's name.
func (l *Lead) SearchTitle() string { return l.Name() }

// SearchText returns the words a lead is found by.
func (l *Lead) SearchText() string {
	return strings.Join(append([]string{l.Name(), l.Email, l.Phone, l.Company, l.CompanyDomain, l.JobTitle}, l.Tags...), " ")
}

// Links returns the records the lead was converted into.
func (l *Lead) Links() []storage.Ref {
	var out []storage.Ref
	for _, r := range []storage.Ref{{Type: contacts.ObjectContact, ID: l.ContactID}, {Type: contacts.ObjectAccount, ID: l.AccountID},
		{Type: ObjectOpportunity, ID: l.OpportunityID}} {
		if r.ID != "" {
			out = append(out, r)
		}
	}
	return out
}

// NewLead is the input of Leads.Capture.
type NewLead struct {
	FirstName, LastName string
	Email               string
	Phone               string
	JobTitle            string
	Company             string
	Website             string // the company's site; gives CompanyDomain
	Source, Campaign    string
	FormID              string
	UTM                 UTM
	OwnerID, TeamID     string
	Score               int
	Tags                []string
	// AllowDuplicates creates the lead even when it looks like an existing
	// lead or contact.
	AllowDuplicates bool
}

// Candidate is an existing record a new lead may be a twin of.
type Candidate struct {
	Ref  storage.Ref `json:"ref"`
	Name string      `json:"name"`
	// Reason is what matched: "email", "phone" or "company_domain".
	Reason string `json:"reason"`
}

// DuplicateError is Capture's answer when the lead looks like records that
// exist; errors.Is(err, storage.ErrConflict) holds. Capture again with
// AllowDuplicates to create it anyway, or update a candidate instead.
type DuplicateError struct {
	Candidates []Candidate
}

// Error lists the candidates.
func (e *DuplicateError) Error() string {
	parts := make([]string, len(e.Candidates))
	for i, c := range e.Candidates {
		parts[i] = fmt.Sprintf("%s %s (%s, same %s)", c.Ref.Type, c.Ref.ID, c.Name, c.Reason)
	}
	return fmt.Sprintf("%s: the lead may duplicate %s", storage.ErrConflict, strings.Join(parts, "; "))
}

// Is reports whether target is storage.ErrConflict.
func (e *DuplicateError) Is(target error) bool { return target == storage.ErrConflict }

// Leads captures and works leads.
type Leads struct{ s *Service }

// maxCandidates bounds the candidates one check reports per rule.
const maxCandidates = 10

// Capture stores a lead from any source. Unless in.AllowDuplicates, it
// first looks for leads and contacts with the same email or phone and for
// leads and accounts with the same company domain, and when it finds any
// returns a *DuplicateError listing them and writes nothing.
func (ls *Leads) Capture(ctx context.Context, in NewLead) (*Lead, error) {
	l := &Lead{FirstName: in.FirstName, LastName: in.LastName, Email: in.Email, Phone: in.Phone, JobTitle: in.JobTitle,
		Company: in.Company, Source: in.Source, Campaign: in.Campaign, FormID: in.FormID, UTM: in.UTM,
		OwnerID: in.OwnerID, TeamID: in.TeamID, Score: in.Score, Tags: in.Tags, Status: LeadNew}
	var v storage.ValidationError
	ls.normalize(&v, l)
	companyDomain(&v, l, in.Website)
	if err := v.Err(); err != nil {
		return nil, err
	}
	err := ls.s.store.RunInTx(ctx, func(ctx context.Context) error {
		if !in.AllowDuplicates {
			cands, err := ls.Duplicates(ctx, l)
			if err != nil {
				return err
			}
			if len(cands) > 0 {
				return &DuplicateError{Candidates: cands}
			}
		}
		return ls.s.t.leads.Insert(ctx, l)
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// companyDomain sets l's company domain from website when it is given,
// else from the email unless that is a free mail provider's and l has a
// domain already.
func companyDomain(v *storage.ValidationError, l *Lead, website string) {
	if d, err := contacts.NormalizeDomain(website); err != nil {
		v.Add("website", "%v", err)
	} else if d != "" {
		l.CompanyDomain = d
	}
	if l.CompanyDomain == "" && l.Email != "" {
		if d := l.Email[strings.LastIndexByte(l.Email, '@')+1:]; !contacts.FreeMailDomain(d) {
			l.CompanyDomain = d
		}
	}
}

func (ls *Leads) normalize(v *storage.ValidationError, l *Lead) {
	if l.Score < 0 {
		v.Add("score", "%d is negative", l.Score)
	}
	for _, f := range []struct {
		name string
		s    *string
	}{{"first_name", &l.FirstName}, {"last_name", &l.LastName}, {"job_title", &l.JobTitle}, {"company", &l.Company},
		{"source", &l.Source}, {"campaign", &l.Campaign}, {"form_id", &l.FormID}, {"owner_id", &l.OwnerID}, {"team_id", &l.TeamID},
		{"utm.source", &l.UTM.Source}, {"utm.medium", &l.UTM.Medium}, {"utm.campaign", &l.UTM.Campaign},
		{"utm.term", &l.UTM.Term}, {"utm.content", &l.UTM.Content}} {
		storage.TrimText(v, f.name, f.s, MaxTextLen)
	}
	if strings.TrimSpace(l.Email) != "" {
		e, err := contacts.NormalizeEmail(l.Email)
		if err != nil {
			v.Add("email", "%v", err)
		}
		l.Email = e
	}
	if strings.TrimSpace(l.Phone) != "" {
		p, err := contacts.NormalizePhone(l.Phone, ls.s.opts.DefaultRegion)
		if err != nil {
			v.Add("phone", "%v", err)
		}
		l.Phone = p
	}
	if l.FirstName == "" && l.LastName == "" && l.Email == "" && l.Company == "" {
		v.Add("first_name", "a lead needs a name, an email or a company")
	}
	tags, err := contacts.NormalizeTags(l.Tags)
	if err != nil {
		v.Add("tags", "%v", err)
	}
	l.Tags = tags
}

// Duplicates returns the existing leads, contacts and accounts that l may
// be a twin of: same email, same phone, same company domain. Records the
// context's principal may not read are not reported.
func (ls *Leads) Duplicates(ctx context.Context, l *Lead) ([]Candidate, error) {
	var out []Candidate
	seen := map[storage.Ref]bool{}
	add := func(ref storage.Ref, name, reason string) {
		if ref.ID != l.ID && !seen[ref] {
			seen[ref] = true
			out = append(out, Candidate{Ref: ref, Name: name, Reason: reason})
		}
	}
	page := storage.PageQuery{Limit: maxCandidates}
	leadsBy := func(field, value string) error {
		if value == "" {
			return nil
		}
		p, err := ls.s.t.leads.List(ctx, storage.ListQuery{Filter: storage.Eq(field, value), PageQuery: page})
		for _, m := range p.Items {
			add(storage.Ref{Type: ObjectLead, ID: m.ID}, m.Name(), field)
		}
		return err
	}
	for _, f := range [][2]string{{"email", l.Email}, {"phone", l.Phone}, {"company_domain", l.CompanyDomain}} {
		if err := leadsBy(f[0], f[1]); err != nil {
			return nil, err
		}
	}
	people := ls.s.people
	// Contacts with the same email or phone: the contacts module's own check.
	in := contacts.NewContact{Email: l.Email}
	if l.Phone != "" {
		in.Phones = []contacts.Phone{{Number: l.Phone}}
	}
	cands, err := people.Contacts.Duplicates(ctx, in)
	if err != nil {
		return nil, err
	}
	for _, c := range cands {
		add(storage.Ref{Type: contacts.ObjectContact, ID: c.ContactID}, c.Name, c.Rule)
	}
	if l.CompanyDomain != "" {
		p, err := people.Accounts.List(ctx, storage.ListQuery{Filter: storage.Eq("domain", l.CompanyDomain), PageQuery: page})
		if err != nil {
			return nil, err
		}
		for _, a := range p.Items {
			add(storage.Ref{Type: contacts.ObjectAccount, ID: a.ID}, a.Name, "company_domain")
		}
	}
	return out, nil
}

// Get returns the lead with id.
func (ls *Leads) Get(ctx context.Context, id string) (*Lead, error) {
	return ls.s.t.leads.Get(ctx, id)
}

// List returns a page of leads.
func (ls *Leads) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Lead], error) {
	return ls.s.t.leads.List(ctx, q)
}

// UpdateLead changes a lead; nil fields stay as they are.
type UpdateLead struct {
	Version             int64
	FirstName, LastName *string
	Email, Phone        *string
	JobTitle, Company   *string
	OwnerID, TeamID     *string
	Score               *int
	Tags                *[]string
}

// Update changes a lead's fields. A converted lead cannot change
// (ErrConflict).
func (ls *Leads) Update(ctx context.Context, id string, in UpdateLead) (*Lead, error) {
	return storage.Modify(ctx, ls.s.store, ls.s.t.leads, id, in.Version, func(ctx context.Context, l *Lead) error {
		if l.Status == LeadConverted {
			return fmt.Errorf("%w: lead %s is converted", storage.ErrConflict, id)
		}
		storage.Set(&l.FirstName, in.FirstName)
		storage.Set(&l.LastName, in.LastName)
		storage.Set(&l.Email, in.Email)
		storage.Set(&l.Phone, in.Phone)
		storage.Set(&l.JobTitle, in.JobTitle)
		storage.Set(&l.Company, in.Company)
		storage.Set(&l.OwnerID, in.OwnerID)
		storage.Set(&l.TeamID, in.TeamID)
		storage.Set(&l.Score, in.Score)
		storage.Set(&l.Tags, in.Tags)
		var v storage.ValidationError
		ls.normalize(&v, l)
		return v.Err()
	})
}

// SetStatus moves a lead to status (new, working, nurturing, qualified or
// disqualified); reason is required for disqualified. The event is
// lead.<status>. A converted lead cannot change (ErrConflict); converting
// is Convert's.
func (ls *Leads) SetStatus(ctx context.Context, id string, status LeadStatus, reason string) (*Lead, error) {
	reason = strings.TrimSpace(reason)
	switch status {
	case LeadNew, LeadWorking, LeadNurturing, LeadQualified:
	case LeadDisqualified:
		if reason == "" {
			return nil, storage.Invalid("reason", "is required to disqualify a lead")
		}
	default:
		return nil, storage.Invalid("status", "%q is not new, working, nurturing, qualified or disqualified", status)
	}
	if len(reason) > MaxTextLen {
		return nil, storage.Invalid("reason", "is longer than %d characters", MaxTextLen)
	}
	return storage.Modify(ctx, ls.s.store, ls.s.t.leads, id, 0, func(ctx context.Context, l *Lead) error {
		if l.Status == LeadConverted {
			return fmt.Errorf("%w: lead %s is converted", storage.ErrConflict, id)
		}
		l.Status, l.StatusReason = status, reason
		return nil
	}, storage.WithEventType("lead."+string(status)))
}

// ConvertOptions choose what Convert creates or links.
type ConvertOptions struct {
	// AccountID links an existing account. Otherwise the account with the
	// lead's company domain is linked, or one is created from the lead's
	// company; with neither, the contact gets no account.
	AccountID string
	// ContactID links an existing contact. Otherwise the contact with the
	// lead's email is linked, or one is created from the lead.
	ContactID string
	// CreateOpportunity also creates a deal for the account and contact.
	CreateOpportunity bool
	// Opportunity gives the deal's fields; empty ones default (name from
	// the company or person, the default pipeline, its first open stage,
	// the lead's owner and source). Its AccountID and ContactID are set by
	// the conversion.
	Opportunity NewOpportunity
}

// ConvertResult is what Convert made or linked.
type ConvertResult struct {
	Lead        *Lead
	Account     *contacts.Account // nil when the lead had no company
	Contact     *contacts.Contact
	Opportunity *Opportunity // nil unless asked for
}

// Convert turns a lead into an account, a contact and optionally an
// opportunity, in one transaction: everything is written, or nothing. The
// lead is marked converted with links to all three (event
// lead.converted). Converting a converted lead is ErrConflict.
func (ls *Leads) Convert(ctx context.Context, id string, opts ConvertOptions) (*ConvertResult, error) {
	res := &ConvertResult{}
	people := ls.s.people
	err := ls.s.store.RunInTx(ctx, func(ctx context.Context) error {
		l, err := ls.s.t.leads.Get(ctx, id)
		if err != nil {
			return err
		}
		if l.Status == LeadConverted {
			return fmt.Errorf("%w: lead %s is already converted", storage.ErrConflict, id)
		}
		// The account.
		switch {
		case opts.AccountID != "":
			res.Account, err = people.Accounts.Get(ctx, opts.AccountID)
			if errors.Is(err, storage.ErrNotFound) {
				return storage.Invalid("account_id", "does not exist in the workspace")
			}
		case l.CompanyDomain != "" || l.Company != "":
			if l.CompanyDomain != "" {
				p, lerr := people.Accounts.List(ctx, storage.ListQuery{Filter: storage.Eq("domain", l.CompanyDomain), PageQuery: storage.PageQuery{Limit: 1}})
				if lerr != nil {
					return lerr
				}
				if len(p.Items) > 0 {
					res.Account = p.Items[0]
				}
			}
			if res.Account == nil {
				name := l.Company
				if name == "" {
					name = l.CompanyDomain
				}
				res.Account, err = people.Accounts.Create(ctx, contacts.NewAccount{Name: name, Domain: l.CompanyDomain,
					OwnerID: l.OwnerID, TeamID: l.TeamID, Tags: l.Tags})
			}
		}
		if err != nil {
			return err
		}
		accountID := ""
		if res.Account != nil {
			accountID = res.Account.ID
		}
		// The contact.
		if res.Contact, err = ls.contact(ctx, l, opts, accountID); err != nil {
			return err
		}
		// The deal.
		if opts.CreateOpportunity {
			in := opts.Opportunity
			in.AccountID, in.ContactID = accountID, res.Contact.ID
			if in.Name == "" {
				in.Name = l.Company
				if in.Name == "" {
					in.Name = l.Name()
				}
				in.Name += " deal"
			}
			if in.OwnerID == "" {
				in.OwnerID, in.TeamID = l.OwnerID, l.TeamID
			}
			if in.Source == "" {
				in.Source = l.Source
			}
			if res.Opportunity, err = ls.s.Opportunities.Create(ctx, in); err != nil {
				return prefixed("opportunity.", err)
			}
		}
		n := *l
		n.Status, n.ConvertedAt = LeadConverted, storage.Now()
		n.ContactID, n.AccountID = res.Contact.ID, accountID
		if res.Opportunity != nil {
			n.OpportunityID = res.Opportunity.ID
		}
		if err := ls.s.t.leads.Update(ctx, l, &n, storage.WithEventType("lead.converted")); err != nil {
			return err
		}
		res.Lead = &n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// contact links or creates the contact of a conversion.
func (ls *Leads) contact(ctx context.Context, l *Lead, opts ConvertOptions, accountID string) (*contacts.Contact, error) {
	people := ls.s.people
	if opts.ContactID != "" {
		c, err := people.Contacts.Get(ctx, opts.ContactID)
		if errors.Is(err, storage.ErrNotFound) {
			return nil, storage.Invalid("contact_id", "does not exist in the workspace")
		}
		return c, err
	}
	if l.Email != "" {
		p, err := people.Contacts.List(ctx, storage.ListQuery{Filter: storage.Eq("email", l.Email), PageQuery: storage.PageQuery{Limit: 1}})
		if err != nil {
			return nil, err
		}
		if len(p.Items) > 0 {
			return p.Items[0], nil
		}
	}
	stage := contacts.LifecycleSQL
	if opts.CreateOpportunity {
		stage = contacts.LifecycleOpportunity
	}
	in := contacts.NewContact{FirstName: l.FirstName, LastName: l.LastName, Email: l.Email, JobTitle: l.JobTitle,
		AccountID: accountID, OwnerID: l.OwnerID, TeamID: l.TeamID, Lifecycle: stage, Source: l.Source, Tags: l.Tags}
	if l.Phone != "" {
		in.Phones = []contacts.Phone{{Number: l.Phone}}
	}
	if in.FirstName == "" && in.LastName == "" && in.Email == "" {
		in.LastName = l.Company
	}
	c, err := people.Contacts.Create(ctx, in)
	return c, prefixed("contact.", err)
}

// prefixed puts prefix before the field names of a validation error.
func prefixed(prefix string, err error) error {
	var ve *storage.ValidationError
	if errors.As(err, &ve) {
		out := &storage.ValidationError{}
		out.Merge(prefix, ve)
		return out
	}
	return err
}
