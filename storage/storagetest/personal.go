package storagetest

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

// personalSetup defines a personal custom field (nickname) and one that
// is not (segment), and a person with a lead, an activity, a consent and
// a deal.
func personalSetup(t *testing.T, e *env, ctx context.Context) (*crm.CRM, *contacts.Contact, *sales.Opportunity) {
	t.Helper()
	app, err := crm.New(ctx, e.store, crm.Config{DefaultPhoneRegion: "US"})
	must(t, "crm", err)
	d, err := app.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "nickname", Type: contacts.FieldText, Personal: true})
	must(t, "define nickname", err)
	if got, _ := app.Fields.Get(ctx, d.ID); !got.Personal {
		t.Errorf("the personal mark did not round-trip: %+v", got)
	}
	seg, err := app.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "segment", Type: contacts.FieldText, Personal: true})
	must(t, "define segment", err)
	if seg, err = app.Fields.Update(ctx, seg.ID, contacts.UpdateFieldDef{Personal: ptr(false)}); err != nil || seg.Personal {
		t.Fatalf("unmark segment: %+v, %v", seg, err)
	}
	_, err = app.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectAccount, Name: "founder_phone", Type: contacts.FieldText, Personal: true})
	must(t, "define an account's personal field", err)
	acct, err := app.Accounts.Create(ctx, contacts.NewAccount{Name: "Quiet Ltd", Custom: map[string]any{"founder_phone": "+1 555 0199"}})
	must(t, "account", err)
	c, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Quentin", LastName: "Quietus", Email: "quentin@quiet.example",
		Phones: []contacts.Phone{{Number: "+1 415 555 0188"}}, JobTitle: "Hermit", AccountID: acct.ID, Lifecycle: contacts.LifecycleCustomer,
		Source: "fair", Tags: []string{"vip"}, Custom: map[string]any{"nickname": "Quiet Q", "segment": "enterprise"}})
	must(t, "contact", err)
	_, err = app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindEmail, Subject: "Hello Quentin", ContactIDs: []string{c.ID}})
	must(t, "activity", err)
	_, err = app.Consents.Set(ctx, c.ID, contacts.ConsentChange{Purpose: "newsletter", Granted: true})
	must(t, "consent", err)
	_, err = app.Sales.Leads.Capture(ctx, sales.NewLead{FirstName: "Quentin", LastName: "Quietus", Email: "quentin@quiet.example",
		Company: "Quiet Ltd", Source: "fair", AllowDuplicates: true})
	must(t, "lead", err)
	opp, err := app.Sales.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Silence", AccountID: acct.ID, ContactID: c.ID,
		Amount: storage.Money{Amount: 9900, Currency: "USD"}})
	must(t, "deal", err)
	return app, c, opp
}

// testPersonalMarks checks that the personal-data marks drive the
// access-request document and exports.
func testPersonalMarks(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.ctx
	app, c, _ := personalSetup(t, e, ctx)

	fields, err := app.Fields.Personal(ctx, contacts.ObjectContact)
	must(t, "personal fields", err)
	if !slices.Contains(fields, "email") || !slices.Contains(fields, "custom.nickname") || slices.Contains(fields, "custom.segment") {
		t.Errorf("personal contact fields = %v", fields)
	}
	pd, err := app.PersonalData(ctx, c.ID)
	must(t, "personal data", err)
	listed := map[string]string{}
	for _, f := range pd.Personal {
		listed[f.Object+"."+f.Field] = string(f.Value)
	}
	for k, want := range map[string]string{"contact.email": `"quentin@quiet.example"`, "contact.first_name": `"Quentin"`,
		"contact.custom.nickname": `"Quiet Q"`, "contact.job_title": `"Hermit"`, "account.custom.founder_phone": `"+1 555 0199"`} {
		if listed[k] != want {
			t.Errorf("personal field %s = %s, want %s (listed %v)", k, listed[k], want, listed)
		}
	}
	for _, k := range []string{"contact.custom.segment", "contact.lifecycle", "contact.middle_name"} {
		if _, ok := listed[k]; ok {
			t.Errorf("%s is listed as personal data", k)
		}
	}

	var csvOut, jsonOut bytes.Buffer
	must(t, "csv", e.svc.ExportContacts(ctx, &csvOut, contacts.ExportOptions{OmitPersonal: true}))
	rows, err := csv.NewReader(&csvOut).ReadAll()
	must(t, "read csv", err)
	if len(rows) != 2 || slices.Contains(rows[0], "email") || slices.Contains(rows[0], "custom.nickname") ||
		!slices.Contains(rows[0], "custom.segment") || !slices.Contains(rows[0], "lifecycle") || len(rows[1]) != len(rows[0]) {
		t.Errorf("csv without personal data = %v", rows)
	}
	must(t, "json", e.svc.ExportContacts(ctx, &jsonOut, contacts.ExportOptions{Format: contacts.ExportJSON, OmitPersonal: true}))
	if s := strings.ToLower(jsonOut.String()); strings.Contains(s, "quentin") || strings.Contains(s, "quiet q") ||
		strings.Contains(s, "hermit") || !strings.Contains(s, "enterprise") {
		t.Errorf("json without personal data = %s", s)
	}
	err = e.svc.ExportContacts(ctx, &jsonOut, contacts.ExportOptions{Format: contacts.ExportVCard, OmitPersonal: true})
	wantFields(t, "vcard without personal data", err, "omit_personal")
}

// anonymisedNeedles are the personal data personalSetup writes.
var anonymisedNeedles = []string{"quentin", "quietus", "quiet q", "14155550188", "hermit"}

// testAnonymise anonymises a person: the contact stays without its
// personal fields, its deal stays linked, and no table holds its data.
func testAnonymise(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.ctx
	app, c, opp := personalSetup(t, e, ctx)
	er, err := app.Anonymise(ctx, c.ID)
	must(t, "anonymise", err)
	if !er.Anonymised || er.Activities != 1 || er.Consents != 1 {
		t.Errorf("anonymisation = %+v", er)
	}
	got, err := app.Contacts.Get(ctx, c.ID)
	must(t, "the anonymised contact", err)
	if got.Name() != "" || got.Email != "" || len(got.Phones) != 0 || got.JobTitle != "" || got.Custom["nickname"] != nil {
		t.Errorf("personal data left: %+v", got)
	}
	if got.Custom["segment"] != "enterprise" || got.Lifecycle != contacts.LifecycleCustomer || got.AccountID != c.AccountID ||
		got.Source != "fair" || !slices.Equal(got.Tags, []string{"vip", contacts.TagAnonymised}) {
		t.Errorf("non-personal data lost: %+v", got)
	}
	if o, err := app.Sales.Opportunities.Get(ctx, opp.ID); err != nil || o.ContactID != c.ID {
		t.Errorf("the deal after anonymisation: %+v, %v", o, err)
	}
	leads, err := app.Sales.Leads.List(ctx, storage.ListQuery{})
	must(t, "leads", err)
	if len(leads.Items) != 1 || leads.Items[0].Email != "" || leads.Items[0].Company != "Quiet Ltd" ||
		!slices.Contains(leads.Items[0].Tags, contacts.TagAnonymised) {
		t.Errorf("leads after anonymisation = %+v", leads.Items)
	}
	if hits, err := app.Search(ctx, "quentin", 10); err != nil || len(hits) != 0 {
		t.Errorf("search still finds the person: %v (%v)", hits, err)
	}
	if db, ok := e.store.(interface{ ReadDB() *bun.DB }); ok {
		found, _ := ScanTables(t, db.ReadDB(), anonymisedNeedles)
		for _, f := range found {
			t.Errorf("after anonymisation: %s", f)
		}
	}
	h2, err := e.store.History(ctx, c.ID, storage.PageQuery{})
	must(t, "history", err)
	for _, ev := range h2.Items {
		if len(ev.Changes) > 0 {
			t.Errorf("event %s keeps values: %+v", ev.Type, ev.Changes)
		}
	}
}

// backdate sets updated_at of the rows ids of table far in the past; it
// reports false where the test cannot (row-level security hides the rows
// from an unscoped statement).
func backdate(t *testing.T, e *env, table string, ids ...string) bool {
	t.Helper()
	db, ok := e.store.(interface {
		DB() *bun.DB
		Dialect() string
	})
	if !ok {
		return false
	}
	past := time.Now().UTC().AddDate(0, -30, 0)
	var arg any = past
	ph := "$"
	if db.Dialect() == "sqlite" {
		arg, ph = past.Format("2006-01-02T15:04:05.000000Z"), "?"
	}
	n := int64(0)
	for _, id := range ids {
		q := "UPDATE " + table + " SET updated_at = " + ph + "1 WHERE id = " + ph + "2"
		if ph == "?" {
			q = "UPDATE " + table + " SET updated_at = ? WHERE id = ?"
		}
		res, err := db.DB().DB.ExecContext(e.ctx, q, arg, id)
		must(t, "backdate", err)
		k, _ := res.RowsAffected()
		n += k
	}
	return n == int64(len(ids))
}

// testLeadRetention backdates leads and contacts and checks that the
// retention policy deletes or anonymises the inactive ones only.
func testLeadRetention(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.ctx
	app, err := crm.New(ctx, e.store, crm.Config{})
	must(t, "crm", err)
	capture := func(first string) *sales.Lead {
		l, err := app.Sales.Leads.Capture(ctx, sales.NewLead{FirstName: first, LastName: "Oldlead", Email: strings.ToLower(first) + "@old.example",
			Company: "Old Co", Source: "fair", AllowDuplicates: true})
		must(t, "lead", err)
		return l
	}
	old1, old2, busy, fresh := capture("Olga"), capture("Oscar"), capture("Busy"), capture("Fresh")
	_, err = app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindCall, Subject: "Still calling",
		Related: []storage.Ref{{Type: sales.ObjectLead, ID: busy.ID}}})
	must(t, "activity", err)
	oldContact := e.contact(ctx, contacts.NewContact{FirstName: "Ophelia", Email: "ophelia@old.example"})
	if !backdate(t, e, "crm_leads", old1.ID, old2.ID, busy.ID) || !backdate(t, e, "crm_contacts", oldContact.ID) {
		t.Skip("cannot backdate rows: row-level security hides them from an unscoped statement")
	}

	_, err = app.ApplyRetention(ctx, crm.RetentionPolicy{})
	wantFields(t, "retention without months", err, "contact_months")
	_, err = app.ApplyRetention(ctx, crm.RetentionPolicy{LeadMonths: -1})
	wantFields(t, "negative months", err, "lead_months")

	dry, err := app.ApplyRetention(ctx, crm.RetentionPolicy{LeadMonths: 24, DryRun: true})
	must(t, "dry run", err)
	if !slices.Equal(sorted(dry.Leads), sorted([]string{old1.ID, old2.ID})) || len(dry.Contacts) != 0 {
		t.Fatalf("dry run = %+v, want leads %s %s", dry, old1.ID, old2.ID)
	}
	if n := count(t, ctx, storage.TableOf[*sales.Lead](e.store)); n != 4 {
		t.Errorf("a dry run left %d leads", n)
	}

	// Anonymise one (the limit), then the other; a third run finds none.
	rep, err := app.ApplyRetention(ctx, crm.RetentionPolicy{LeadMonths: 24, Anonymise: true, Limit: 1})
	must(t, "anonymise one", err)
	if len(rep.Leads) != 1 {
		t.Fatalf("limit 1 handled %v", rep.Leads)
	}
	first, err := app.Sales.Leads.Get(ctx, rep.Leads[0])
	must(t, "anonymised lead", err)
	if first.FirstName != "" || first.Email != "" || first.Company != "Old Co" || !slices.Contains(first.Tags, contacts.TagAnonymised) {
		t.Errorf("anonymised lead = %+v", first)
	}
	h1, err := e.store.History(ctx, first.ID, storage.PageQuery{})
	must(t, "history", err)
	for _, ev := range h1.Items {
		if len(ev.Changes) > 0 {
			t.Errorf("lead event %s keeps values: %+v", ev.Type, ev.Changes)
		}
	}
	backdate(t, e, "crm_leads", first.ID)
	rep, err = app.ApplyRetention(ctx, crm.RetentionPolicy{LeadMonths: 24, Anonymise: true})
	must(t, "anonymise the rest", err)
	if len(rep.Leads) != 1 || rep.Leads[0] == first.ID {
		t.Errorf("second run = %v, want the other old lead only", rep.Leads)
	}

	// Delete mode: both old leads go (anonymised or not), busy and fresh stay.
	backdate(t, e, "crm_leads", old1.ID, old2.ID)
	rep, err = app.ApplyRetention(ctx, crm.RetentionPolicy{LeadMonths: 24, ContactMonths: 24})
	must(t, "delete", err)
	if len(rep.Leads) != 2 || !slices.Equal(rep.Contacts, []string{oldContact.ID}) {
		t.Errorf("delete run = %+v", rep)
	}
	for id, want := range map[string]error{old1.ID: storage.ErrNotFound, old2.ID: storage.ErrNotFound, busy.ID: nil, fresh.ID: nil} {
		_, err := app.Sales.Leads.Get(ctx, id)
		if !errors.Is(err, want) && (want != nil || err != nil) {
			t.Errorf("lead %s after retention: %v, want %v", id, err, want)
		}
	}
	if _, err := app.Contacts.Get(ctx, oldContact.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the old contact after retention: %v", err)
	}
	if db, ok := e.store.(interface{ ReadDB() *bun.DB }); ok {
		found, _ := ScanTables(t, db.ReadDB(), []string{"olga", "oscar", "ophelia"})
		for _, f := range found {
			t.Errorf("after retention: %s", f)
		}
	}

	// Contacts in anonymise mode are kept, and picked once.
	kept := e.contact(ctx, contacts.NewContact{FirstName: "Otto", Email: "otto@old.example"})
	backdate(t, e, "crm_contacts", kept.ID)
	rep, err = app.ApplyRetention(ctx, crm.RetentionPolicy{ContactMonths: 24, Anonymise: true})
	must(t, "anonymise contacts", err)
	if !slices.Equal(rep.Contacts, []string{kept.ID}) {
		t.Errorf("anonymised contacts = %v", rep.Contacts)
	}
	backdate(t, e, "crm_contacts", kept.ID)
	if rep, err = app.ApplyRetention(ctx, crm.RetentionPolicy{ContactMonths: 24, Anonymise: true}); err != nil || len(rep.Contacts) != 0 {
		t.Errorf("a second anonymising run = %+v, %v", rep, err)
	}
	if got, err := app.Contacts.Get(ctx, kept.ID); err != nil || got.Email != "" {
		t.Errorf("the anonymised contact = %+v, %v", got, err)
	}
	raw, _ := json.Marshal(rep)
	if !strings.Contains(string(raw), `"anonymised":true`) {
		t.Errorf("report = %s", raw)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// testPersonalDataExport checks that a person's access document is an
// export (issue 17 item 6): a member without the export right gets none
// (a rep exported everything about a contact before), a manager's leaves
// out the records outside its team's export scope, and the system's holds
// them all.
func testPersonalDataExport(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	rep, mgr := e.as(e.repA), e.as(e.mgr)
	ada := e.contact(rep, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	_, err := app.Sales.Pipelines.Default(e.sys) // made by the system on first use
	must(t, "pipeline", err)
	_, err = app.Sales.Opportunities.Create(rep, sales.NewOpportunity{Name: "Team X deal", ContactID: ada.ID})
	must(t, "team X deal", err)
	_, err = app.Sales.Opportunities.Create(e.sys, sales.NewOpportunity{Name: "Team Y deal", ContactID: ada.ID, OwnerID: e.repB.ID})
	must(t, "team Y deal", err)

	_, err = app.PersonalData(rep, ada.ID)
	wantErr(t, "a rep's access document", err, storage.ErrForbidden)
	deals := func(pd *contacts.PersonalData) []string {
		var out []string
		if ds, ok := pd.Related[sales.ObjectOpportunity].([]*sales.Opportunity); ok {
			for _, d := range ds {
				out = append(out, d.Name)
			}
		}
		slices.Sort(out)
		return out
	}
	pd, err := app.PersonalData(mgr, ada.ID)
	must(t, "the manager's access document", err)
	if got := deals(pd); !slices.Equal(got, []string{"Team X deal"}) || pd.Contact.ID != ada.ID {
		t.Errorf("the manager's document lists deals %v, want its team's only", got)
	}
	pd, err = app.PersonalData(e.sys, ada.ID)
	must(t, "the system's access document", err)
	if got := deals(pd); !slices.Equal(got, []string{"Team X deal", "Team Y deal"}) {
		t.Errorf("the system's document lists deals %v, want both", got)
	}
	// Lists elsewhere keep the read scope: the manager reads both deals.
	page, err := app.Sales.Opportunities.List(mgr, storage.ListQuery{})
	must(t, "the manager's deals", err)
	if len(page.Items) != 2 {
		t.Errorf("the manager reads %d deals, want 2", len(page.Items))
	}
}
