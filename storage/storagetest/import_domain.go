package storagetest

import (
	"strings"
	"testing"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// testImportCompanyDomain checks that a contact import links companies to
// accounts by their domain when the row gives one, by name otherwise, and
// creates a missing account with both.
func testImportCompanyDomain(t *testing.T, h Harness) {
	e := newEnv(t, h)
	acme := e.account(e.ctx, contacts.NewAccount{Name: "Acme Corp", Domain: "acme.example"})
	csv := "First Name,Email,Company,Company Domain Name\n" +
		"Ann,ann@mail.example,ACME Incorporated,acme.example\n" + // another name, the same domain
		"Ben,ben@mail.example,Acme Corp,\n" + // by name
		"Cat,cat@mail.example,Globex,https://www.globex.example/about\n" + // a new account
		"Dan,dan@mail.example,Globex Intl,globex.example\n" + // the account just made
		"Eve,eve@mail.example,Bad,not a domain!\n"
	rep, err := e.svc.ImportContacts(e.ctx, strings.NewReader(csv), contacts.ImportOptions{})
	must(t, "import", err)
	if rep.Created != 4 || rep.Failed != 1 || rep.AccountsCreated != 1 {
		t.Fatalf("report: %d created, %d failed, %d accounts created; errors %+v", rep.Created, rep.Failed, rep.AccountsCreated, rep.Errors)
	}
	if rep.Errors[0].Row != 6 || rep.Errors[0].Column != "Company Domain Name" {
		t.Errorf("row error = %+v, want line 6, column Company Domain Name", rep.Errors[0])
	}
	globex, err := storage.TableOf[*contacts.Account](e.store).List(e.ctx, storage.ListQuery{Filter: storage.Eq("domain", "globex.example")})
	must(t, "accounts", err)
	if len(globex.Items) != 1 || globex.Items[0].Name != "Globex" {
		t.Fatalf("accounts of globex.example = %+v", globex.Items)
	}
	want := map[string]string{"ann@mail.example": acme.ID, "ben@mail.example": acme.ID,
		"cat@mail.example": globex.Items[0].ID, "dan@mail.example": globex.Items[0].ID}
	for email, acc := range want {
		page, err := storage.TableOf[*contacts.Contact](e.store).List(e.ctx, storage.ListQuery{Filter: storage.Eq("email", email)})
		must(t, "contact", err)
		if len(page.Items) != 1 || page.Items[0].AccountID != acc {
			t.Errorf("%s: account %v, want %s", email, page.Items, acc)
		}
	}
}
