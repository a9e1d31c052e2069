package sales

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// leadImportFields are the fields a column of a lead import can map to.
var leadImportFields = []string{"first_name", "last_name", "email", "phone", "job_title", "company", "website",
	"source", "campaign", "owner_id", "team_id", "score", "tags"}

// leadHeaders returns the automatic mapping of lead imports: the person
// headers of contacts.PersonHeaders and the lead's own.
func leadHeaders() map[string]string {
	h := contacts.PersonHeaders()
	for n, f := range map[string]string{"website": "website", "companywebsite": "website", "websiteurl": "website",
		"url": "website", "companydomainname": "website", "campaign": "campaign", "campaignname": "campaign",
		"utmcampaign": "campaign", "score": "score", "leadscore": "score", "hubspotscore": "score"} {
		h[n] = f
	}
	return h
}

// Import reads leads from CSV and upserts them by email, streaming (see
// contacts.ImportCSV and contacts.ImportOptions, whose modes, report and
// progress callback it has): an existing lead gets the row's non-empty
// cells, a converted lead is reported and left alone, and rows repeating
// an email update the lead the first one made. New leads are not checked
// against contacts and accounts as Capture does; their company domain
// comes from the website column, else from the email. Headers are mapped
// automatically (the person headers of contacts.PersonHeaders, "Website",
// "Campaign", "Lead Score").
func (ls *Leads) Import(ctx context.Context, r io.Reader, opts contacts.ImportOptions) (*contacts.ImportReport, error) {
	write := func(row contacts.ImportRow, l *Lead) (*Lead, error) {
		var v storage.ValidationError
		website := ""
		row.Each(func(f, cell string) {
			switch f {
			case "first_name":
				l.FirstName = cell
			case "last_name":
				l.LastName = cell
			case "email":
				l.Email = cell
			case "phone":
				l.Phone = cell
			case "job_title":
				l.JobTitle = cell
			case "company":
				l.Company = cell
			case "website":
				website = cell
			case "source":
				l.Source = cell
			case "campaign":
				l.Campaign = cell
			case "owner_id":
				l.OwnerID = cell
			case "team_id":
				l.TeamID = cell
			case "score":
				n, err := strconv.Atoi(cell)
				if err != nil {
					v.Add("score", "%q is not a whole number", cell)
				}
				l.Score = n
			case "tags":
				l.Tags = contacts.SplitList(cell)
			}
		})
		ls.normalize(&v, l)
		companyDomain(&v, l, website)
		return l, v.Err()
	}
	spec := contacts.ImportSpec[*Lead]{
		Type:         ObjectLead,
		Table:        ls.s.t.leads,
		Fields:       leadImportFields,
		Headers:      leadHeaders(),
		Keys:         []string{"email"},
		NormalizeKey: func(_, cell string) (string, error) { return contacts.NormalizeEmail(cell) },
		KeyOf:        func(l *Lead, _ string) string { return l.Email },
		Create: func(ctx context.Context, row contacts.ImportRow) (*Lead, error) {
			return write(row, &Lead{Status: LeadNew})
		},
		Update: func(ctx context.Context, row contacts.ImportRow, prev *Lead) (*Lead, error) {
			if prev.Status == LeadConverted {
				return nil, fmt.Errorf("%w: lead %s is converted", storage.ErrConflict, prev.ID)
			}
			l := *prev
			return write(row, &l)
		},
	}
	if opts.SkipErased {
		spec.Skip = ls.s.people.SkipErasedRow
	}
	return contacts.ImportCSV(ctx, ls.s.store, r, spec, opts)
}
