package contacts_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/contacts"
)

// TestAutoMapping maps the headers of the exports the issue names
// (Salesforce's and HubSpot's contacts, a spreadsheet's plain names) and
// custom fields by name or label.
func TestAutoMapping(t *testing.T) {
	t.Parallel()
	custom := []*contacts.FieldDef{{Name: "tier", Label: "Customer Tier", Type: contacts.FieldText},
		{Name: "ext_id", Label: "External ID", Type: contacts.FieldText}}
	tests := []struct {
		name    string
		headers []string
		want    []string
	}{
		{"Salesforce contacts",
			[]string{"First Name", "Last Name", "Title", "Department", "Email", "Mobile", "Account Name", "Lead Source", "Contact Owner", "Mailing City"},
			[]string{"first_name", "last_name", "job_title", "department", "email", "phone", "company", "source", "owner_id", ""}},
		{"HubSpot contacts",
			[]string{"First Name", "Last Name", "Email", "Phone Number", "Company Name", "Website URL", "Job Title", "Lifecycle Stage", "Contact owner", "Original Source"},
			[]string{"first_name", "last_name", "email", "phone", "company", "company_domain", "job_title", "lifecycle", "owner_id", "source"}},
		{"spreadsheet",
			[]string{"E-mail", "Given name", "Surname", "Telephone", "Organisation", "Company Domain", "Labels", "Notes"},
			[]string{"email", "first_name", "last_name", "phone", "company", "company_domain", "tags", ""}},
		{"custom fields by name and label",
			[]string{"Email", "TIER", "External ID", "ext_id", "Score"},
			[]string{"email", "custom.tier", "custom.ext_id", "custom.ext_id", ""}},
	}
	for _, tt := range tests {
		if d := cmp.Diff(tt.want, contacts.AutoMapping(tt.headers, custom)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
}
