package sales

import (
	"slices"

	"github.com/crmkit/crm/contacts"
)

// LeadPersonalFields returns the fields of a lead that hold personal
// data: names, email, phone and job title. The company, its domain and
// the lead's source, campaign, status and score describe no person.
func LeadPersonalFields() []string {
	return []string{"first_name", "last_name", "email", "phone", "job_title"}
}

// Anonymise empties the fields of l that hold personal data
// (LeadPersonalFields) and tags it contacts.TagAnonymised; the rest stays,
// so lead statistics still count it. The caller stores l (and scrubs the
// lead's past change events: crm.CRM.ApplyRetention does both).
func (l *Lead) Anonymise() {
	l.FirstName, l.LastName, l.Email, l.Phone, l.JobTitle = "", "", "", "", ""
	if !slices.Contains(l.Tags, contacts.TagAnonymised) {
		l.Tags = append(slices.Clone(l.Tags), contacts.TagAnonymised)
	}
}
