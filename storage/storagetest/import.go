package storagetest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// hubspotCSV is a contact export with HubSpot's headers, a byte order
// mark, a row repeating an email, and bad rows of several kinds.
const hubspotCSV = "\ufeffFirst Name,Last Name,Email,Phone Number,Company Name,Lifecycle Stage,Tier,Score,Notes\n" +
	"Ada,Lovelace,ada@analytical.example,+1 415 555 0100,Analytical Engines,Customer,gold,10,first\n" +
	"Charles,Babbage,charles@analytical.example,,Analytical Engines,lead,,3.5,\n" +
	"Ada,King,ADA@analytical.example,,,,platinum,,repeat of row 2\n" +
	"Bad,Email,not-an-email,,,,,,\n" +
	"Ragged,Row,ragged@example.com\n" +
	"No,Key,,,,,,,\n" +
	"Bad,Score,score@example.com,,,,,lots,\n" +
	"Grace,Hopper,grace@navy.example,,US Navy,other,silver,7,\n"

func (e *env) importSetup(t *testing.T) {
	for _, d := range []contacts.NewFieldDef{{Object: contacts.ObjectContact, Name: "tier", Type: contacts.FieldText},
		{Object: contacts.ObjectContact, Name: "score", Label: "Score", Type: contacts.FieldNumber}} {
		_, err := e.svc.Fields.Define(e.ctx, d)
		must(t, "define", err)
	}
}

// testImport checks a best-effort import: automatic mapping, upsert by
// email, rows repeated in the file, accounts by company, the per-row
// report and the events.
func testImport(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.importSetup(t)
	var progress []int
	rep, err := e.svc.ImportContacts(e.ctx, strings.NewReader(hubspotCSV), contacts.ImportOptions{BatchSize: 3,
		Progress: func(p contacts.ImportProgress) { progress = append(progress, p.Rows) }})
	must(t, "import", err)
	if rep.Rows != 8 || rep.Created != 3 || rep.Updated != 1 || rep.Failed != 4 || rep.AccountsCreated != 2 {
		t.Errorf("report = %+v", rep)
	}
	wantRow := map[int]string{5: "Email", 6: "", 7: "Email", 8: "Score"}
	for _, re := range rep.Errors {
		col, ok := wantRow[re.Row]
		if !ok || col != re.Column {
			t.Errorf("row error %+v unexpected", re)
		}
		delete(wantRow, re.Row)
	}
	if len(wantRow) > 0 {
		t.Errorf("rows without their error: %v (errors %+v)", wantRow, rep.Errors)
	}
	if strings.Join(rep.IgnoredColumns, ",") != "Notes" || len(progress) != 3 || progress[2] != 8 {
		t.Errorf("ignored %v, progress %v", rep.IgnoredColumns, progress)
	}
	ada, err := e.svc.Contacts.List(e.ctx, storage.ListQuery{Filter: storage.Eq("email", "ada@analytical.example")})
	must(t, "list", err)
	if len(ada.Items) != 1 {
		t.Fatalf("%d contacts with Ada's email, want 1", len(ada.Items))
	}
	a := ada.Items[0]
	if a.LastName != "King" || a.Custom["tier"] != "platinum" || a.Custom["score"] != 10.0 || len(a.Phones) != 1 ||
		a.Lifecycle != contacts.LifecycleCustomer || a.AccountID == "" || a.Version != 2 {
		t.Errorf("merged Ada = %+v", a)
	}
	accts, err := e.svc.Accounts.List(e.ctx, storage.ListQuery{})
	must(t, "accounts", err)
	if len(accts.Items) != 2 {
		t.Errorf("%d accounts, want Analytical Engines and US Navy", len(accts.Items))
	}
	n := 0
	for _, ev := range e.events(e.ctx) {
		if ev.Type == "contact.created" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d contact.created events, want 3", n)
	}

	// Importing again updates; empty cells change nothing.
	again := "Email,Job Title,Tier\nada@analytical.example,Countess,\ngrace@navy.example,Rear Admiral,\n"
	rep, err = e.svc.ImportContacts(e.ctx, strings.NewReader(again), contacts.ImportOptions{})
	must(t, "import again", err)
	if rep.Created != 0 || rep.Updated != 2 || rep.Failed != 0 {
		t.Errorf("second report = %+v", rep)
	}
	a, err = e.svc.Contacts.Get(e.ctx, a.ID)
	must(t, "get", err)
	if a.JobTitle != "Countess" || a.Custom["tier"] != "platinum" || a.LastName != "King" {
		t.Errorf("after the second import Ada = %+v", a)
	}
}

// testImportModes checks all-or-nothing, dry runs, explicit mappings and
// malformed CSV.
func testImportModes(t *testing.T, h Harness) {
	e := newEnv(t, h)
	e.importSetup(t)
	before := e.counts(e.ctx)
	rep, err := e.svc.ImportContacts(e.ctx, strings.NewReader(hubspotCSV), contacts.ImportOptions{Mode: contacts.ImportAllOrNothing})
	must(t, "all or nothing", err)
	if !rep.RolledBack || rep.Failed != 4 {
		t.Errorf("all-or-nothing report = %+v", rep)
	}
	rep, err = e.svc.ImportContacts(e.ctx, strings.NewReader(hubspotCSV), contacts.ImportOptions{DryRun: true})
	must(t, "dry run", err)
	if !rep.DryRun || rep.Created != 3 || rep.Failed != 4 {
		t.Errorf("dry-run report = %+v", rep)
	}
	if after := e.counts(e.ctx); after != before {
		t.Errorf("all-or-nothing and dry run wrote: %+v → %+v", before, after)
	}

	_, err = e.svc.ImportContacts(e.ctx, strings.NewReader("E-mail,Nick\nx@example.com,X\n"),
		contacts.ImportOptions{Mapping: map[string]string{"E-mail": "email", "Nick": "nickname", "Missing": "first_name"}})
	wantFields(t, "bad mapping", err, "mapping.Nick", "mapping.Missing")
	_, err = e.svc.ImportContacts(e.ctx, strings.NewReader("Name\nX\n"), contacts.ImportOptions{})
	wantFields(t, "no key column", err, "mapping")
	_, err = e.svc.ImportContacts(e.ctx, strings.NewReader(""), contacts.ImportOptions{})
	wantFields(t, "empty file", err, "csv")

	bad := "Email,First Name\n" + "ok1@example.com,One\n" + "\"unterminated@example.com,Two\n" + "ok3@example.com,Three\n"
	rep, err = e.svc.ImportContacts(e.ctx, strings.NewReader(bad), contacts.ImportOptions{})
	must(t, "malformed csv", err)
	if rep.Failed != 1 || rep.Created < 1 || !strings.Contains(rep.Errors[0].Reason, "bad CSV") {
		t.Errorf("malformed csv report = %+v", rep)
	}
	latin1 := "Email,First Name\nlat@example.com,Jos\xe9\n"
	rep, err = e.svc.ImportContacts(e.ctx, strings.NewReader(latin1), contacts.ImportOptions{})
	must(t, "latin-1", err)
	if rep.Failed != 1 || rep.Errors[0].Column != "First Name" {
		t.Errorf("latin-1 report = %+v", rep)
	}
}

// testExport checks the export scope, the three formats, formula
// neutralising, and a vCard round trip into another workspace.
func testExport(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	_, err := e.svc.Fields.Define(e.sys, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "tier", Type: contacts.FieldText})
	must(t, "define", err)
	e.contact(e.as(e.repA), contacts.NewContact{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
		Phones: []contacts.Phone{{Number: "+1 415 555 0100"}}, JobTitle: "=HYPERLINK(\"x\")", Tags: []string{"vip"}, Custom: map[string]any{"tier": "gold"}})
	e.contact(e.as(e.repB), contacts.NewContact{FirstName: "Bob", LastName: "Other", Email: "bob@example.com"})

	var buf bytes.Buffer
	err = e.svc.ExportContacts(e.as(e.repA), &buf, contacts.ExportOptions{})
	wantErr(t, "a rep exports (the rep role may not)", err, storage.ErrForbidden)

	buf.Reset()
	must(t, "manager exports", e.svc.ExportContacts(e.as(e.mgr), &buf, contacts.ExportOptions{Format: contacts.ExportCSV}))
	recs, err := csv.NewReader(&buf).ReadAll()
	must(t, "read csv", err)
	if len(recs) != 2 || recs[1][1] != "Ada" {
		t.Fatalf("the manager of team X exported %v, want only team X's Ada", recs)
	}
	header := strings.Join(recs[0], ",")
	if !strings.Contains(header, "custom.tier") || recs[1][len(recs[1])-1] != "gold" || recs[1][5] != "'=HYPERLINK(\"x\")" {
		t.Errorf("csv = %v", recs)
	}

	buf.Reset()
	must(t, "json", e.svc.ExportContacts(e.sys, &buf, contacts.ExportOptions{Format: contacts.ExportJSON, Where: "'vip' in tags"}))
	var out []contacts.Contact
	must(t, "read json", json.Unmarshal(buf.Bytes(), &out))
	if len(out) != 1 || out[0].Email != "ada@example.com" {
		t.Errorf("json export with a filter = %+v", out)
	}

	buf.Reset()
	must(t, "vcard", e.svc.ExportContacts(e.sys, &buf, contacts.ExportOptions{Format: contacts.ExportVCard}))
	other := e.in("ws-vcard")
	rep, err := e.svc.ImportVCards(other, bytes.NewReader(buf.Bytes()))
	must(t, "import vcards", err)
	if rep.Created != 2 || rep.Failed != 0 {
		t.Errorf("vcard import report = %+v", rep)
	}
	got, err := e.svc.Contacts.List(other, storage.ListQuery{Filter: storage.Eq("email", "ada@example.com")})
	must(t, "list", err)
	if len(got.Items) != 1 || got.Items[0].LastName != "Lovelace" || len(got.Items[0].Phones) != 1 ||
		got.Items[0].Phones[0].Number != "+14155550100" || !slices.Equal(got.Items[0].Tags, []string{"vip"}) {
		t.Errorf("round-tripped Ada = %+v", got.Items)
	}
	rep, err = e.svc.ImportVCards(other, bytes.NewReader(buf.Bytes()))
	must(t, "import vcards again", err)
	if rep.Updated != 2 || rep.Created != 0 {
		t.Errorf("second vcard import = %+v", rep)
	}
}

// testConsentsPersonalData checks consents and their history, and the
// access-request document.
func testConsentsPersonalData(t *testing.T, h Harness) {
	e := newEnv(t, h)
	c := e.contact(e.ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	_, err := e.svc.Consents.Set(e.ctx, c.ID, contacts.ConsentChange{Purpose: "newsletter", Granted: true, Source: "web form"})
	must(t, "grant", err)
	_, err = e.svc.Consents.Set(e.ctx, c.ID, contacts.ConsentChange{Purpose: "newsletter", Granted: false, Source: "email link"})
	must(t, "withdraw", err)
	_, err = e.svc.Consents.Set(e.ctx, c.ID, contacts.ConsentChange{Purpose: "calls", Granted: true, LawfulBasis: contacts.BasisLegitimateInterests})
	must(t, "grant calls", err)
	_, err = e.svc.Consents.Set(e.ctx, c.ID, contacts.ConsentChange{Purpose: "Bad Purpose", LawfulBasis: "because"})
	wantFields(t, "bad consent", err, "purpose", "lawful_basis")
	_, err = e.svc.Consents.Set(e.ctx, storage.NewID(), contacts.ConsentChange{Purpose: "newsletter"})
	wantFields(t, "consent of an unknown contact", err, "contact_id")
	if ok, err := e.svc.Consents.Granted(e.ctx, c.ID, "newsletter"); err != nil || ok {
		t.Errorf("newsletter granted = %v (%v) after a withdrawal", ok, err)
	}
	if ok, err := e.svc.Consents.Granted(e.ctx, c.ID, "calls"); err != nil || !ok {
		t.Errorf("calls granted = %v (%v)", ok, err)
	}
	_, err = e.svc.Activities.Log(e.ctx, contacts.NewActivity{Kind: contacts.KindCall, Subject: "Intro", ContactIDs: []string{c.ID}})
	must(t, "activity", err)

	pd, err := e.svc.PersonalData(e.ctx, c.ID)
	must(t, "personal data", err)
	var types []string
	for _, ev := range pd.History {
		types = append(types, ev.Type)
	}
	slices.Sort(types)
	if pd.Contact.ID != c.ID || len(pd.Activities) != 1 || len(pd.Consents) != 2 ||
		!slices.Equal(types, []string{"consent.granted", "consent.granted", "consent.withdrawn", "contact.created"}) {
		t.Errorf("personal data: %d activities, %d consents, history %v", len(pd.Activities), len(pd.Consents), types)
	}
	b, err := json.Marshal(pd)
	must(t, "marshal", err)
	for _, want := range []string{"ada@example.com", "newsletter", "email link", "Intro"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the access-request document lacks %q", want)
		}
	}
}

// testDuplicates checks the duplicate scan's exact and fuzzy rules and
// that it does not pair what should stay apart.
func testDuplicates(t *testing.T, h Harness) {
	e := newEnv(t, h)
	_, err := e.svc.Fields.Define(e.ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "ext_id", Type: contacts.FieldText})
	must(t, "define", err)
	acme := e.account(e.ctx, contacts.NewAccount{Name: "Acme"})
	globex := e.account(e.ctx, contacts.NewAccount{Name: "Globex"})
	mk := func(in contacts.NewContact) string { return e.contact(e.ctx, in).ID }
	jon := mk(contacts.NewContact{FirstName: "Jon", LastName: "Smith", AccountID: acme.ID})
	john := mk(contacts.NewContact{FirstName: "John", LastName: "Smith", AccountID: acme.ID})
	mk(contacts.NewContact{FirstName: "John", LastName: "Smith", AccountID: globex.ID}) // same name, other company
	mk(contacts.NewContact{FirstName: "Mary", LastName: "Jones", AccountID: acme.ID})   // same company, other name
	p1 := mk(contacts.NewContact{FirstName: "Ann", Email: "ann@a.example"})
	p2 := mk(contacts.NewContact{FirstName: "Anne B", Emails: []contacts.EmailAddress{{Address: "ann@a.example"}}})
	t1 := mk(contacts.NewContact{FirstName: "Tel", Phones: []contacts.Phone{{Number: "+1 415 555 0111"}}})
	t2 := mk(contacts.NewContact{FirstName: "Other", Phones: []contacts.Phone{{Number: "+14155550111"}}})
	x1 := mk(contacts.NewContact{FirstName: "Ext", Custom: map[string]any{"ext_id": "E-7"}})
	x2 := mk(contacts.NewContact{FirstName: "Different", Custom: map[string]any{"ext_id": "E-7"}})

	pairs, err := e.svc.FindDuplicates(e.ctx, contacts.DuplicateOptions{KeyField: "ext_id"})
	must(t, "scan", err)
	got := map[[2]string]string{}
	for _, p := range pairs {
		got[[2]string{p.A, p.B}] = p.Rule
	}
	key := func(a, b string) [2]string { return [2]string{min(a, b), max(a, b)} }
	want := map[[2]string]string{key(jon, john): "name+company", key(p1, p2): "email", key(t1, t2): "phone", key(x1, x2): "custom.ext_id"}
	if len(got) != len(want) {
		t.Errorf("pairs = %+v, want %d", pairs, len(want))
	}
	for k, rule := range want {
		if got[k] != rule {
			t.Errorf("pair %v matched by %q, want %q", k, got[k], rule)
		}
	}
}

// testDuplicatesOnCreate checks the check before a create.
func testDuplicatesOnCreate(t *testing.T, h Harness) {
	e := newEnv(t, h)
	acme := e.account(e.ctx, contacts.NewAccount{Name: "Acme"})
	jon := e.contact(e.ctx, contacts.NewContact{FirstName: "Jonathan", LastName: "Smith", AccountID: acme.ID, Email: "jon@acme.example",
		Phones: []contacts.Phone{{Number: "+1 415 555 0123"}}})
	for _, c := range []struct {
		in   contacts.NewContact
		rule string
	}{
		{contacts.NewContact{FirstName: "J", Email: "JON@acme.example"}, "email"},
		{contacts.NewContact{FirstName: "X", Phones: []contacts.Phone{{Number: "(415) 555-0123"}}}, "phone"},
		{contacts.NewContact{FirstName: "Jonathon", LastName: "Smith", AccountID: acme.ID}, "name+company"},
	} {
		got, err := e.svc.Contacts.Duplicates(e.ctx, c.in)
		must(t, "duplicates", err)
		if len(got) != 1 || got[0].ContactID != jon.ID || got[0].Rule != c.rule {
			t.Errorf("duplicates of %+v = %+v, want Jonathan by %s", c.in, got, c.rule)
		}
	}
	got, err := e.svc.Contacts.Duplicates(e.ctx, contacts.NewContact{FirstName: "Mary", LastName: "Jones", AccountID: acme.ID, Email: "mary@acme.example"})
	must(t, "duplicates", err)
	if len(got) != 0 {
		t.Errorf("a different person has duplicates %+v", got)
	}
}
