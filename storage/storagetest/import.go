package storagetest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
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

// wantRowErrors fails unless rep has one error for each row of want, on
// the column want gives ("" for the whole row), and no other.
func wantRowErrors(t *testing.T, rep *contacts.ImportReport, want map[int]string) {
	t.Helper()
	for _, re := range rep.Errors {
		if col, ok := want[re.Row]; !ok || col != re.Column {
			t.Errorf("row error %+v unexpected", re)
		}
		delete(want, re.Row)
	}
	if len(want) > 0 {
		t.Errorf("rows without their error: %v (errors %+v)", want, rep.Errors)
	}
}

// wantDryModes runs an import dry and all or nothing (with bad rows):
// each must report created, updated and failed rows, and write nothing.
func (e *env) wantDryModes(t *testing.T, run func(contacts.ImportOptions) (*contacts.ImportReport, error), created, updated, failed int) {
	t.Helper()
	before := e.counts(e.ctx)
	for _, o := range []contacts.ImportOptions{{DryRun: true}, {Mode: contacts.ImportAllOrNothing}} {
		rep, err := run(o)
		must(t, "import", err)
		if rep.Created != created || rep.Updated != updated || rep.Failed != failed || rep.DryRun != o.DryRun || rep.RolledBack == o.DryRun {
			t.Errorf("%+v: report = %+v", o, rep)
		}
	}
	if after := e.counts(e.ctx); after != before {
		t.Errorf("dry run and all or nothing wrote: %+v → %+v", before, after)
	}
}

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
	wantRowErrors(t, rep, map[int]string{5: "Email", 6: "", 7: "Email", 8: "Score"})
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
	_, err = e.svc.ImportContacts(e.ctx, strings.NewReader("Email\n"), contacts.ImportOptions{BatchSize: contacts.MaxImportBatch + 1})
	wantFields(t, "batch too large", err, "batch_size")

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
	// A bad phone number is reported on its column (the contact's field is
	// phones[0].number), and the other rows load.
	rep, err = e.svc.ImportContacts(e.ctx, strings.NewReader("Email,Phone Number\nph1@example.com,(415) 555-0100\nph2@example.com,call me maybe\n"),
		contacts.ImportOptions{})
	must(t, "bad phone", err)
	if rep.Created != 1 || rep.Failed != 1 {
		t.Errorf("bad phone report = %+v", rep)
	}
	wantRowErrors(t, rep, map[int]string{3: "Phone Number"})

	// A failure that is not about a row (here the check of erased
	// addresses, which needs a tombstone key the service lacks) ends the
	// import with an error in every mode, writing nothing, instead of
	// failing every row in the report.
	before = e.counts(e.ctx)
	for _, o := range []contacts.ImportOptions{{SkipErased: true}, {SkipErased: true, Mode: contacts.ImportAllOrNothing}, {SkipErased: true, DryRun: true}} {
		rep, err := e.svc.ImportContacts(e.ctx, strings.NewReader("Email\nx1@example.com\nx2@example.com\n"), o)
		if err == nil {
			t.Errorf("%+v: an import that cannot check its rows reported %+v, want an error", o, rep)
		}
	}
	if after := e.counts(e.ctx); after != before {
		t.Errorf("a failed import wrote: %+v → %+v", before, after)
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
	// A meeting about someone else that Ada took part in, named by her
	// address alone.
	other := e.contact(e.ctx, contacts.NewContact{FirstName: "Charles"})
	_, err = e.svc.Activities.Log(e.ctx, contacts.NewActivity{Kind: contacts.KindMeeting, Subject: "Engine review", ContactIDs: []string{other.ID},
		Participants: []contacts.Participant{{Name: "Ada", Email: "ADA@example.com"}}})
	must(t, "meeting", err)

	pd, err := e.svc.PersonalData(e.ctx, c.ID)
	must(t, "personal data", err)
	var types []string
	for _, ev := range pd.History {
		types = append(types, ev.Type)
	}
	slices.Sort(types)
	if pd.Contact.ID != c.ID || len(pd.Activities) != 2 || len(pd.Consents) != 2 ||
		!slices.Equal(types, []string{"consent.granted", "consent.granted", "consent.withdrawn", "contact.created"}) {
		t.Errorf("personal data: %d activities, %d consents, history %v", len(pd.Activities), len(pd.Consents), types)
	}
	b, err := json.Marshal(pd)
	must(t, "marshal", err)
	for _, want := range []string{"ada@example.com", "newsletter", "email link", "Intro", "Engine review"} {
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

// extIDCSV has six contacts keyed by an external ID; the fourth has the
// email of the second, which the storage refuses when the batch is
// written (the look-up is by external ID, so only the unique index sees
// it).
const extIDCSV = "External ID,Email,First Name\n" +
	"E1,one@example.com,One\nE2,two@example.com,Two\nE3,three@example.com,Three\n" +
	"E4,TWO@example.com,Four\nE5,five@example.com,Five\nE6,six@example.com,Six\n"

// testImportBatchFailure checks that a row the storage refuses within a
// batch costs only itself, in every mode.
func testImportBatchFailure(t *testing.T, h Harness) {
	e := newEnv(t, h)
	_, err := e.svc.Fields.Define(e.ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "ext_id", Label: "External ID", Type: contacts.FieldText})
	must(t, "define", err)
	opts := contacts.ImportOptions{Key: "custom.ext_id", BatchSize: 10}
	before := e.counts(e.ctx)
	for _, mode := range []struct {
		name   string
		mode   contacts.ImportMode
		dry    bool
		writes bool
	}{{"dry run", contacts.ImportBestEffort, true, false}, {"all or nothing", contacts.ImportAllOrNothing, false, false},
		{"best effort", contacts.ImportBestEffort, false, true}} {
		o := opts
		o.Mode, o.DryRun = mode.mode, mode.dry
		rep, err := e.svc.ImportContacts(e.ctx, strings.NewReader(extIDCSV), o)
		must(t, mode.name, err)
		if rep.Created != 5 || rep.Failed != 1 || len(rep.Errors) != 1 || rep.Errors[0].Row != 5 || rep.Errors[0].Column != "Email" {
			t.Errorf("%s: report = %+v, want 5 created and row 5 failed on Email", mode.name, rep)
		}
		if mode.writes {
			continue
		}
		if after := e.counts(e.ctx); after != before {
			t.Errorf("%s wrote: %+v → %+v", mode.name, before, after)
		}
	}
	after := e.counts(e.ctx)
	if after.Contacts != before.Contacts+5 || after.Events != before.Events+5 {
		t.Errorf("best effort: %+v → %+v, want 5 contacts with their events", before, after)
	}
	for _, name := range []string{"One", "Two", "Three", "Five", "Six"} {
		if hits, err := e.svc.Search(e.ctx, name, 5); err != nil || len(hits) != 1 {
			t.Errorf("search %s: %d hits (%v), want 1", name, len(hits), err)
		}
	}
	if hits, err := e.svc.Search(e.ctx, "four", 5); err != nil || len(hits) != 0 {
		t.Errorf("the refused row left a search document: %v (%v)", hits, err)
	}
}

// testImportReadsFieldsOnce checks that an import reads the custom field
// definitions once: a definition deleted after the first batch still
// reads the later rows' cells.
func testImportReadsFieldsOnce(t *testing.T, h Harness) {
	e := newEnv(t, h)
	d, err := e.svc.Fields.Define(e.ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "tier", Type: contacts.FieldText})
	must(t, "define", err)
	deleted := false
	rep, err := e.svc.ImportContacts(e.ctx, strings.NewReader("Email,Tier\na@example.com,gold\nb@example.com,silver\nc@example.com,bronze\n"),
		contacts.ImportOptions{BatchSize: 1, Progress: func(contacts.ImportProgress) {
			if !deleted {
				must(t, "delete the field", e.svc.Fields.Delete(e.ctx, d.ID))
				deleted = true
			}
		}})
	must(t, "import", err)
	if rep.Created != 3 || rep.Failed != 0 {
		t.Errorf("report = %+v, want 3 created with the definitions read at the start", rep)
	}
}

// companiesCSV is a HubSpot company export: an existing company by its
// website, a new one, a domain repeated, and bad rows.
const companiesCSV = "Company name,Company Domain Name,Industry,Number of Employees,Annual Revenue,Currency,External ID\n" +
	"Acme Corp,https://www.acme.example/about,Manufacturing,\"1,200\",,,A-1\n" +
	"Globex,globex.example,Energy,300,\"1,250,000.50\",eur,A-2\n" +
	"Globex Europe,GLOBEX.example,,,,,\n" +
	"Initech,initech.example,,many,,,A-4\n" +
	"Umbrella,umbrella.example,,,500,,A-5\n" +
	"Hooli,hooli.example,,,12.345,EUR,A-6\n" +
	"Nameless,,,,,,A-7\n" +
	",piedpiper.example,,,,,A-8\n"

// testImportAccounts checks the account import: automatic mapping of a
// company export, upsert by domain and by an external ID, amounts, the
// per-row report and the modes.
func testImportAccounts(t *testing.T, h Harness) {
	e := newEnv(t, h)
	_, err := e.svc.Fields.Define(e.ctx, contacts.NewFieldDef{Object: contacts.ObjectAccount, Name: "ext_id", Label: "External ID", Type: contacts.FieldText})
	must(t, "define", err)
	acme := e.account(e.ctx, contacts.NewAccount{Name: "Acme", Domain: "acme.example"})
	e.wantDryModes(t, func(o contacts.ImportOptions) (*contacts.ImportReport, error) {
		return e.svc.ImportAccounts(e.ctx, strings.NewReader(companiesCSV), o)
	}, 1, 2, 5)
	var progress []contacts.ImportProgress
	rep, err := e.svc.ImportAccounts(e.ctx, strings.NewReader(companiesCSV), contacts.ImportOptions{BatchSize: 4, Total: 8,
		Progress: func(p contacts.ImportProgress) { progress = append(progress, p) }})
	must(t, "import", err)
	if rep.Rows != 8 || rep.Created != 1 || rep.Updated != 2 || rep.Failed != 5 || len(progress) != 2 || progress[1] != (contacts.ImportProgress{Rows: 8, Total: 8}) {
		t.Errorf("report = %+v, progress %v", rep, progress)
	}
	wantRowErrors(t, rep, map[int]string{5: "Number of Employees", 6: "Annual Revenue", 7: "Annual Revenue", 8: "Company Domain Name", 9: "Company name"})
	got, err := e.svc.Accounts.Get(e.ctx, acme.ID)
	must(t, "get", err)
	if got.Name != "Acme Corp" || got.Employees != 1200 || got.Industry != "Manufacturing" || got.Custom["ext_id"] != "A-1" || got.Version != 2 {
		t.Errorf("Acme after the import = %+v", got)
	}
	page, err := e.svc.Accounts.List(e.ctx, storage.ListQuery{Filter: storage.Eq("domain", "globex.example")})
	must(t, "list", err)
	if len(page.Items) != 1 {
		t.Fatalf("%d accounts with globex.example, want 1", len(page.Items))
	}
	g := page.Items[0]
	if g.Name != "Globex Europe" || g.AnnualRevenue != (storage.Money{Amount: 125000050, Currency: "EUR"}) || g.Employees != 300 || g.Version != 2 {
		t.Errorf("Globex = %+v", g)
	}

	// By external ID: the row's domain changes, the key does not.
	rep, err = e.svc.ImportAccounts(e.ctx, strings.NewReader("External ID,Name,Website,Employees\nA-1,,acme-corp.example,1300\nA-9,New Co,new.example,5\n"),
		contacts.ImportOptions{Key: "custom.ext_id", Mapping: map[string]string{"External ID": "custom.ext_id", "Name": "name", "Website": "domain", "Employees": "employees"}})
	must(t, "import by external ID", err)
	if rep.Created != 1 || rep.Updated != 1 || rep.Failed != 0 {
		t.Errorf("import by external ID = %+v", rep)
	}
	got, err = e.svc.Accounts.Get(e.ctx, acme.ID)
	must(t, "get", err)
	if got.Domain != "acme-corp.example" || got.Employees != 1300 {
		t.Errorf("Acme after the import by external ID = %+v", got)
	}
	_, err = e.svc.ImportAccounts(e.ctx, strings.NewReader("Name\nX\n"), contacts.ImportOptions{Key: "name"})
	wantFields(t, "a key that is not a key", err, "key")
}

// leadsCSV has an existing lead, a converted one, a new lead with a
// website, a repeat, and bad rows.
const leadsCSV = "First Name,Last Name,Email,Company,Website,Lead Source,Lead Score\n" +
	"Ada,Lovelace,ada@analytical.example,Analytical Engines,,fair,40\n" +
	"Conv,Erted,conv@example.com,Done,,,\n" +
	"Grace,Hopper,grace@gmail.com,Navy,navy.example,web,10\n" +
	"Grace,Hopper,GRACE@gmail.com,,,,12\n" +
	"Bad,Score,bad@example.com,,,,lots\n" +
	"No,Email,,,,,\n"

// testImportLeads checks the lead import: upsert by email, converted leads
// left alone, the company domain, the per-row report and the modes.
func testImportLeads(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.sales()
	ada, err := s.Leads.Capture(e.ctx, sales.NewLead{FirstName: "Ada", Email: "ada@analytical.example", Score: 5})
	must(t, "capture", err)
	conv, err := s.Leads.Capture(e.ctx, sales.NewLead{FirstName: "Conv", Email: "conv@example.com"})
	must(t, "capture", err)
	_, err = s.Leads.Convert(e.ctx, conv.ID, sales.ConvertOptions{})
	must(t, "convert", err)
	e.wantDryModes(t, func(o contacts.ImportOptions) (*contacts.ImportReport, error) {
		return s.Leads.Import(e.ctx, strings.NewReader(leadsCSV), o)
	}, 1, 2, 3)
	rep, err := s.Leads.Import(e.ctx, strings.NewReader(leadsCSV), contacts.ImportOptions{})
	must(t, "import", err)
	if rep.Rows != 6 || rep.Created != 1 || rep.Updated != 2 || rep.Failed != 3 {
		t.Errorf("report = %+v", rep)
	}
	wantRowErrors(t, rep, map[int]string{3: "", 6: "Lead Score", 7: "Email"})
	got, err := s.Leads.Get(e.ctx, ada.ID)
	must(t, "get", err)
	if got.LastName != "Lovelace" || got.Score != 40 || got.Source != "fair" || got.CompanyDomain != "analytical.example" || got.Version != 2 {
		t.Errorf("Ada after the import = %+v", got)
	}
	page, err := s.Leads.List(e.ctx, storage.ListQuery{Filter: storage.Eq("email", "grace@gmail.com")})
	must(t, "list", err)
	if len(page.Items) != 1 || page.Items[0].Score != 12 || page.Items[0].CompanyDomain != "navy.example" || page.Items[0].Status != sales.LeadNew {
		t.Errorf("Grace = %+v", page.Items)
	}
	n := 0
	for _, ev := range e.events(e.ctx) {
		if ev.Type == "lead.created" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d lead.created events, want Ada's, Conv's and Grace's", n)
	}
}
