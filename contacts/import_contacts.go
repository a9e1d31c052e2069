package contacts

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/crmkit/crm/storage"
)

// contactImportFields are the fields a column of a contact import can map
// to, besides custom ones.
var contactImportFields = []string{"first_name", "last_name", "email", "phone", "job_title", "department", "company",
	"company_domain", "lifecycle", "source", "tags", "owner_id", "team_id"}

// contactHeaders returns the automatic mapping of contact imports: the
// person headers and the contact's own.
func contactHeaders() map[string]string {
	h := PersonHeaders()
	h["department"] = "department"
	h["lifecyclestage"] = "lifecycle"
	h["lifecycle"] = "lifecycle"
	for _, name := range []string{"companydomain", "companydomainname", "companywebsite", "accountwebsite", "website", "websiteurl"} {
		h[name] = "company_domain"
	}
	return h
}

// AutoMapping maps headers to contact fields by their common names ("First
// Name", "E-mail", "Phone Number", "Company", …) and custom fields by name
// or label; unknown headers map to "".
func AutoMapping(headers []string, custom []*FieldDef) []string {
	return autoMap(headers, contactHeaders(), custom)
}

// ImportContacts reads contacts from CSV and upserts them by email or by
// a custom external-ID field (see ImportCSV and ImportOptions). A contact's
// company columns link it to an account: by the company's domain (a
// "Company Domain" or "Website" column) when the row has one, else by the
// company's name; an account not found is created with the name and the
// domain. The workspace's custom field definitions are read once.
func (s *Service) ImportContacts(ctx context.Context, r io.Reader, opts ImportOptions) (*ImportReport, error) {
	defs, err := s.Fields.List(ctx, ObjectContact)
	if err != nil {
		return nil, err
	}
	accounts := &accountCache{s: s, ids: map[string]string{}}
	fill := func(ctx context.Context, row ImportRow, c *Contact) error {
		phones := false
		var err error
		var company, domain string
		row.Each(func(f, cell string) {
			switch f {
			case "first_name":
				c.FirstName = cell
			case "last_name":
				c.LastName = cell
			case "email":
				c.Email = cell
			case "phone":
				if !phones {
					c.Phones, phones = nil, true
				}
				c.Phones = append(c.Phones, Phone{Number: cell})
			case "job_title":
				c.JobTitle = cell
			case "department":
				c.Department = cell
			case "company":
				company = cell
			case "company_domain":
				domain = cell
			case "lifecycle":
				c.Lifecycle = Lifecycle(strings.ToLower(strings.ReplaceAll(cell, " ", "_")))
			case "source":
				c.Source = cell
			case "tags":
				c.Tags = SplitList(cell)
			case "owner_id":
				c.OwnerID = cell
			case "team_id":
				c.TeamID = cell
			}
		})
		if company != "" || domain != "" {
			c.AccountID, err = accounts.id(ctx, company, domain, row.rep)
		}
		return err
	}
	// The accounts of company cells were found or made by the import, so
	// their existence is not checked again.
	write := func(ctx context.Context, row ImportRow, c, prev *Contact) (*Contact, error) {
		if err := fill(ctx, row, c); err != nil {
			return nil, err
		}
		var ck checker
		s.Contacts.normalizeFields(&ck, c)
		var was map[string]any
		if prev != nil {
			was = prev.Custom
		}
		c.Custom = s.customWith(&ck, defs, ObjectContact, was, row.Custom, prev == nil)
		return c, ck.Err()
	}
	spec := ImportSpec[*Contact]{
		Type:         ObjectContact,
		Table:        s.t.contacts,
		Fields:       contactImportFields,
		Headers:      contactHeaders(),
		Custom:       defs,
		Keys:         []string{"email"},
		NormalizeKey: func(_, cell string) (string, error) { return NormalizeEmail(cell) },
		KeyOf:        func(c *Contact, _ string) string { return c.Email },
		CustomOf:     func(c *Contact) map[string]any { return c.Custom },
		Columns:      map[string]string{"phones": "phone", "account_id": "company", "domain": "company_domain"},
		Reset:        accounts.reset,
		Create: func(ctx context.Context, row ImportRow) (*Contact, error) {
			return write(ctx, row, &Contact{}, nil)
		},
		Update: func(ctx context.Context, row ImportRow, prev *Contact) (*Contact, error) {
			c := *prev
			return write(ctx, row, &c, prev)
		},
	}
	if opts.SkipErased {
		spec.Skip = s.SkipErasedRow
	}
	return ImportCSV(ctx, s.store, r, spec, opts)
}

// SkipErasedRow is the ImportSpec.Skip of ImportOptions.SkipErased: it
// refuses a row whose email cell belongs to a person erased with a
// tombstone. It needs Options.TombstoneKey.
func (s *Service) SkipErasedRow(ctx context.Context, row ImportRow) (field, reason string, err error) {
	email := row.Get("email")
	if email == "" {
		return "", "", nil
	}
	erased, err := s.Erased(ctx, email)
	if err != nil || !erased {
		return "", "", err
	}
	return "email", "belongs to an erased person", nil
}

// maxAccountCache bounds the company → account cache of a contact import.
const maxAccountCache = 10000

// accountCache finds or creates the accounts of a contact import's company
// cells, remembering up to maxAccountCache of them.
type accountCache struct {
	s   *Service
	ids map[string]string // "d:" domain or "n:" company name → account ID
}

// id returns the ID of the account of a row's company: the account with
// the domain when the row gives one, else the account named company;
// creating it (and counting it in rep) when there is none.
func (a *accountCache) id(ctx context.Context, company, domain string, rep *ImportReport) (string, error) {
	key, filter := "n:"+company, storage.Eq("name", company)
	if domain != "" {
		d, err := NormalizeDomain(domain)
		if err != nil {
			return "", storage.Invalid("domain", "%v", err)
		}
		domain = d
		key, filter = "d:"+d, storage.Eq("domain", d)
	}
	if id, ok := a.ids[key]; ok {
		return id, nil
	}
	page, err := a.s.t.accounts.List(ctx, storage.ListQuery{Filter: filter, PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return "", err
	}
	var id string
	if len(page.Items) > 0 {
		id = page.Items[0].ID
	} else {
		name := company
		if name == "" {
			name = domain
		}
		acc, err := a.s.Accounts.Create(ctx, NewAccount{Name: name, Domain: domain})
		var ve *storage.ValidationError
		if errors.As(err, &ve) {
			return "", storage.Invalid("account_id", "no account can be made of it: %s", ve.Fields[0].Reason)
		}
		if err != nil {
			return "", err
		}
		id = acc.ID
		rep.AccountsCreated++
	}
	if len(a.ids) >= maxAccountCache {
		clear(a.ids)
	}
	a.ids[key] = id
	return id, nil
}

// reset forgets every account: a rolled-back batch may have created some.
func (a *accountCache) reset() { clear(a.ids) }
