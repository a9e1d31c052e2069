package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testobjects"
	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/marketing/retention"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow"
)

// ErasedNeedles are the personal data SeedErasure writes and erasure must
// remove, lower-case.
var ErasedNeedles = []string{"zz-erase@forget.example", "zebedee", "forgetme", "14155550177"}

// SeedErasure writes a person into every place personal data goes (the
// contact and its updates, an activity, a consent, a lead, the search
// index) and erases it with crm.CRM.Erase. It returns the app.
func SeedErasure(t testing.TB, store Store, ctx context.Context) *crm.CRM {
	t.Helper()
	app, err := crm.New(ctx, store, crm.Config{Modules: []storage.Module{testobjects.Module()},
		Workflow: workflow.Config{Workspaces: []string{storage.WorkspaceFrom(ctx)}}}) // as row-level security needs
	must(t, "crm", err)
	// Workflow rules, made before the data: one renders the person into a
	// task, one leaves a run waiting (its data the whole event), one
	// fails (a webhook the guard refuses), so that erasure meets the
	// engine's copies: runs, jobs and what rules wrote.
	for _, r := range []workflow.NewRule{
		{Name: "Call the new contact", Actions: []workflow.Action{workflow.CreateTask(workflow.TaskParams{
			Title: "Call {{.first_name}} at {{.email}}", Description: "Ask {{.last_name}} about {{.job_title}}"})}},
		{Name: "Wait a week", Actions: []workflow.Action{workflow.Wait(7 * 24 * time.Hour), workflow.AddTag("week-old")}},
		{Name: "Tell the host", Actions: []workflow.Action{workflow.CallWebhook(workflow.WebhookParams{URL: "http://127.0.0.1:9/{{.email}}"})}},
	} {
		r.Enabled = true
		r.Trigger = workflow.Trigger{Kind: workflow.OnEvent, Object: contacts.ObjectContact, Events: []string{"created"}}
		_, err := app.Workflow.Rules.Create(ctx, r)
		must(t, "rule "+r.Name, err)
	}
	_, err = app.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "nickname", Type: contacts.FieldText})
	must(t, "define", err)
	c, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Zebedee", LastName: "Forgetme", Email: "zz-erase@forget.example",
		Phones: []contacts.Phone{{Number: "+1 415 555 0177"}}, Custom: map[string]any{"nickname": "Zebedee the forgetme"}})
	must(t, "contact", err)
	_, err = app.Contacts.Update(ctx, c.ID, contacts.UpdateContact{JobTitle: ptr("Forgetme's job")})
	must(t, "update", err)
	_, err = app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindCall, Subject: "Call with Zebedee Forgetme",
		Body: "Called 14155550177", ContactIDs: []string{c.ID}})
	must(t, "activity", err)
	_, err = app.Consents.Set(ctx, c.ID, contacts.ConsentChange{Purpose: "newsletter", Granted: true, Source: "Zebedee's form"})
	must(t, "consent", err)
	_, err = app.Sales.Leads.Capture(ctx, sales.NewLead{FirstName: "Zebedee", LastName: "Forgetme", Email: "zz-erase@forget.example", AllowDuplicates: true})
	must(t, "lead", err)
	// A record of someone else, to show the scan sees data, and two
	// activities about it that the person took part in, named by its ID
	// and by its email alone.
	keeper, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Keeper", Email: "keeper@stay.example"})
	must(t, "other contact", err)
	meeting, err := app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindMeeting, Subject: "Keeper's review", ContactIDs: []string{keeper.ID},
		Participants: []contacts.Participant{{Name: "Keeper", Email: "keeper@stay.example", ContactID: keeper.ID},
			{Name: "Zebedee Forgetme", Email: "zz-erase@forget.example", ContactID: c.ID}}})
	must(t, "meeting the person took part in", err)
	_, err = app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindEmail, Subject: "Minutes", ContactIDs: []string{keeper.ID},
		Participants: []contacts.Participant{{Name: "Z. Forgetme", Email: "ZZ-Erase@forget.example"}}})
	must(t, "email the person took part in", err)
	seeded := append(seedReferring(t, ctx, app, c), seedMarketing(t, ctx, store, app, c)...)
	// Every registered type that holds personal data is seeded above (the
	// contacts module's and the leads, by their modules' own code) or
	// here: a module whose type names a person and that this list lacks
	// fails, so that the scan below covers it.
	for _, ty := range store.Types() {
		pd := ty.Options().Personal
		if !pd.None && !slices.Contains(append([]string{contacts.ObjectContact, contacts.ObjectActivity, contacts.ObjectConsent, sales.ObjectLead}, seeded...), ty.Name()) {
			t.Errorf("record type %s may hold personal data and SeedErasure seeds none: add it to seedReferring", ty.Name())
		}
	}
	if _, err := app.Workflow.Drain(ctx); err != nil {
		t.Fatalf("drain: %v", err)
	}
	runs, err := app.Workflow.Runs(ctx, workflow.RunQuery{PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
	must(t, "runs", err)
	states := map[workflow.RunState]int{}
	for _, r := range runs.Items {
		states[r.State]++
	}
	if states[workflow.RunWaiting] == 0 || states[workflow.RunFailed] == 0 || states[workflow.RunSucceeded] == 0 {
		t.Errorf("runs before the erasure by state = %v, want waiting, failed and succeeded ones", states)
	}
	er, err := app.Erase(ctx, c.ID)
	must(t, "erase", err)
	if er.Activities != 1 || er.Consents != 1 || er.Participations != 2 {
		t.Errorf("erasure = %+v", er)
	}
	kept, err := app.Activities.Get(ctx, meeting.ID)
	must(t, "the meeting stays", err)
	if len(kept.Participants) != 1 || kept.Participants[0].ContactID != keeper.ID {
		t.Errorf("the meeting's participants after the erasure = %+v, want Keeper alone", kept.Participants)
	}
	return app
}

// seedReferring writes a record of every registered type that names the
// person c in its PersonalData.ContactField: deals, quotes, invoices and
// orders (kept by the erasure, with the contact's ID alone), and the host
// module's vehicles (deleted by it, their driver's name is personal) and
// driver profiles (deleted by it). It
// returns the types it seeded.
func seedReferring(t testing.TB, ctx context.Context, app *crm.CRM, c *contacts.Contact) []string {
	t.Helper()
	_, err := app.Sales.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Fleet renewal", ContactID: c.ID,
		Amount: storage.Money{Amount: 50000, Currency: "EUR"}})
	must(t, "deal", err)
	eur := storage.Money{Amount: 1000, Currency: "EUR"}
	q, err := app.Sales.Quotes.Create(ctx, sales.NewQuote{Name: "Renewal", ContactID: c.ID, Currency: "EUR",
		Lines: []sales.NewLine{{Description: "Service plan", Quantity: 1, UnitPrice: &eur}}})
	must(t, "quote", err)
	_, err = app.Sales.Quotes.Send(ctx, q.ID)
	must(t, "send", err)
	_, err = app.Sales.Quotes.Accept(ctx, q.ID)
	must(t, "accept", err)
	_, err = app.Sales.Invoices.FromQuote(ctx, q.ID, sales.InvoiceOptions{})
	must(t, "invoice", err)
	_, _, err = app.Sales.Orders.Record(ctx, sales.NewOrder{ExternalID: "shop-9", ContactID: c.ID, Currency: "EUR",
		Lines: []sales.OrderLine{{Name: "Tyres", Quantity: 4, UnitPrice: 9000}}})
	must(t, "order", err)
	_, err = app.Retention.RFM.Refresh(ctx) // the order makes the person a customer
	must(t, "rfm", err)
	vs, err := crm.ObjectsOf[*testobjects.Vehicle](app)
	must(t, "vehicles", err)
	_, err = vs.Create(ctx, &testobjects.Vehicle{VIN: "ZZ0FORGET", Model: "Vivaro", ContactID: c.ID, DriverName: "Zebedee Forgetme"})
	must(t, "vehicle", err)
	profiles, err := crm.ObjectsOf[*testobjects.DriverProfile](app)
	must(t, "driver profiles", err)
	_, err = profiles.Create(ctx, &testobjects.DriverProfile{ContactID: c.ID, LicenseClass: "C", Points: 2})
	must(t, "driver profile", err)
	cs, err := app.Service.Cases.Create(ctx, service.NewCase{Subject: "Zebedee Forgetme's tyres", ContactID: c.ID, Channel: service.ChannelEmail})
	must(t, "case", err)
	_, err = app.Service.Cases.AddMessage(ctx, cs.ID, service.NewMessage{From: "Zebedee Forgetme <" + c.Email + ">",
		Body: "Zebedee here: my tyres.", MessageID: "forgetme-1@forget.example"})
	must(t, "case message", err)
	_, _, err = app.Service.Conversations.Start(ctx, service.NewConversation{ContactID: c.ID, Name: "Zebedee Forgetme", Email: c.Email,
		Message: "Zebedee here, about my tyres."})
	must(t, "conversation", err)
	// An answered survey, written through the generic path (a request
	// needs the module's key, an answer its signed link).
	surveys, err := crm.ObjectsOf[*service.SurveyRequest](app)
	must(t, "surveys", err)
	_, err = surveys.Create(ctx, &service.SurveyRequest{Kind: service.SurveyCSAT, ContactID: c.ID, CaseID: cs.ID,
		ExpiresAt: storage.Now().Add(time.Hour), AnsweredAt: storage.Now(), Score: 5, Comment: "Zebedee Forgetme is pleased"})
	must(t, "survey", err)
	kb, err := app.Service.Articles.Create(ctx, service.NewArticle{Title: "Tyre pressure", Body: "Check it monthly.", Status: service.ArticlePublic})
	must(t, "article", err)
	_, err = app.Service.Articles.Vote(ctx, kb.ID, service.Voter{ContactID: c.ID}, true)
	must(t, "article vote", err)
	return []string{sales.ObjectOpportunity, sales.ObjectQuote, sales.ObjectInvoice, sales.ObjectOrder, testobjects.ObjectVehicle,
		testobjects.ObjectDriverProfile, service.ObjectCase, service.ObjectMessage, service.ObjectConversation, service.ObjectChatMessage,
		service.ObjectSurvey, service.ObjectArticleVote, retention.ObjectRFM}
}

// seedMarketing writes the marketing records of the person c: a
// subscription (under the consent purpose SeedErasure granted, so the
// person keeps one consent), a suppression, memberships of a segment and a
// campaign, a message with a tracking hit and a form post (written
// through the generic path: sending needs a mailer, posting a signed link)
// and a social mention. It returns the types it seeded.
func seedMarketing(t testing.TB, ctx context.Context, store Store, app *crm.CRM, c *contacts.Contact) []string {
	t.Helper()
	m := app.Marketing
	l, err := m.Lists.Create(ctx, marketing.NewList{Key: "zz_news", Name: "News", Purpose: "newsletter"})
	must(t, "list", err)
	_, err = m.Lists.Subscribe(ctx, l.ID, c.ID, marketing.SubscribeOptions{Source: "Zebedee's form"})
	must(t, "subscribe", err)
	_, err = m.Suppressions.Add(ctx, c.Email, marketing.SuppressManual, "Zebedee Forgetme asked")
	must(t, "suppress", err)
	seg, err := m.Segments.Create(ctx, marketing.NewSegment{Name: "VIP", Kind: marketing.SegmentStatic})
	must(t, "segment", err)
	must(t, "segment member", m.Segments.Add(ctx, seg.ID, c.ID))
	camp, err := m.Campaigns.Create(ctx, marketing.NewCampaign{Name: "Spring"})
	must(t, "campaign", err)
	must(t, "campaign member", m.Campaigns.AddMembers(ctx, camp.ID, c.ID))
	msg := &marketing.Message{EmailID: storage.NewID(), CampaignID: camp.ID, ContactID: c.ID, Address: c.Email,
		Status: marketing.MessageFailed, Error: "550 no mailbox zz-erase@forget.example"}
	must(t, "message", storage.TableOf[*marketing.Message](store).Insert(ctx, msg))
	must(t, "hit", storage.TableOf[*marketing.Hit](store).Insert(ctx, &marketing.Hit{MessageID: msg.ID, CampaignID: camp.ID,
		ContactID: c.ID, Kind: marketing.HitClick, URL: "https://shop.example/forgetme", At: storage.Now(), UserAgent: "Zebedee's phone"}))
	must(t, "form post", storage.TableOf[*marketing.FormPost](store).Insert(ctx, &marketing.FormPost{FormID: storage.NewID(),
		ContactID: c.ID, Values: map[string]string{"email": c.Email, "name": "Zebedee"}, At: storage.Now()}))
	must(t, "score", storage.TableOf[*marketing.Score](store).Insert(ctx, &marketing.Score{ContactID: c.ID, Fit: 10, Total: 10, Band: "cold"}))
	_, err = m.Social.Mention(ctx, marketing.NewMention{Channel: "twitter", ExternalID: "tw-forgetme", Handle: "@zebedee_forgetme",
		Author: "Zebedee Forgetme", Text: "Zebedee loves it", URL: "https://twitter.example/zebedee/1", ContactID: c.ID})
	must(t, "mention", err)
	return []string{marketing.ObjectSubscription, marketing.ObjectSuppression, marketing.ObjectSegmentMember,
		marketing.ObjectCampaignMember, marketing.ObjectMessage, marketing.ObjectHit, marketing.ObjectFormPost, marketing.ObjectScore,
		marketing.ObjectMention}
}

// testErase erases a person and scans every table of the store for their
// email, names and phone.
func testErase(t *testing.T, h Harness) {
	e := newEnv(t, h)
	app := SeedErasure(t, e.store, e.ctx)
	if hits, err := app.Search(e.ctx, "zebedee", 10); err != nil || len(hits) != 0 {
		t.Errorf("search still finds the erased person: %v (%v)", hits, err)
	}
	db, ok := e.store.(interface{ ReadDB() *bun.DB })
	if !ok {
		t.Skip("the store gives no database to scan")
	}
	found, rows := ScanTables(t, db.ReadDB(), ErasedNeedles)
	for _, f := range found {
		t.Error(f)
	}
	if !strings.Contains(rows, "keeper@stay.example") {
		t.Log("the scan saw no rows (row-level security hides them from an unscoped query)")
	}

	// With a tombstone key, an erased address can be refused by imports.
	ctx := e.in("ws-tomb")
	svc := contacts.NewService(e.store, contacts.Options{TombstoneKey: []byte("secret")})
	c, err := svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "Gone", Email: "gone@example.com"})
	must(t, "contact", err)
	er, err := svc.Erase(ctx, c.ID)
	must(t, "erase", err)
	if erased, err := svc.Erased(ctx, "Gone@Example.com"); err != nil || !er.Tombstone || !erased {
		t.Errorf("tombstone %v, erased %v (%v)", er.Tombstone, erased, err)
	}
	rep, err := svc.ImportContacts(ctx, strings.NewReader("Email,First Name\ngone@example.com,Back\nnew@example.com,New\n"),
		contacts.ImportOptions{SkipErased: true})
	must(t, "import", err)
	if rep.Created != 1 || rep.Failed != 1 || !strings.Contains(rep.Errors[0].Reason, "erased") {
		t.Errorf("import of an erased address = %+v", rep)
	}
	_, err = svc.Erase(ctx, c.ID)
	wantErr(t, "erase twice", err, storage.ErrNotFound)
}

// ScanTables reads every row of every table of db's current schema and
// returns where any needle occurs (case-insensitive), and a sample of the
// text it read.
func ScanTables(t testing.TB, db *bun.DB, needles []string) (found []string, sample string) {
	t.Helper()
	ctx := context.Background()
	q := "SELECT name FROM sqlite_master WHERE type = 'table'"
	if db.Dialect().Name().String() == "pg" {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	}
	rows, err := db.DB.QueryContext(ctx, q)
	must(t, "tables", err)
	var tables []string
	for rows.Next() {
		var n string
		must(t, "scan", rows.Scan(&n))
		tables = append(tables, n)
	}
	rows.Close()
	var all strings.Builder
	for _, tb := range tables {
		rs, err := db.DB.QueryContext(ctx, "SELECT * FROM "+tb)
		must(t, "select "+tb, err)
		cols, _ := rs.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rs.Next() {
			must(t, "scan "+tb, rs.Scan(ptrs...))
			for i, v := range vals {
				var s string
				switch v := v.(type) {
				case []byte:
					s = string(v)
				default:
					s = fmt.Sprint(v)
				}
				low := strings.ToLower(s)
				all.WriteString(low)
				all.WriteByte(' ')
				for _, n := range needles {
					if strings.Contains(low, n) {
						found = append(found, fmt.Sprintf("%s.%s holds %q", tb, cols[i], n))
					}
				}
			}
		}
		rs.Close()
	}
	return found, all.String()
}

// testRetention backdates contacts and checks that the retention policy
// erases the inactive ones only.
func testRetention(t *testing.T, h Harness) {
	e := newEnv(t, h)
	db, ok := e.store.(interface {
		DB() *bun.DB
		Dialect() string
	})
	if !ok {
		t.Skip("the store gives no database to backdate rows in")
	}
	old := e.contact(e.ctx, contacts.NewContact{FirstName: "Old", Email: "old@example.com"})
	busy := e.contact(e.ctx, contacts.NewContact{FirstName: "Old but busy"})
	fresh := e.contact(e.ctx, contacts.NewContact{FirstName: "Fresh"})
	_, err := e.svc.Activities.Log(e.ctx, contacts.NewActivity{Kind: contacts.KindNote, Subject: "Still talking", ContactIDs: []string{busy.ID}})
	must(t, "activity", err)
	past := time.Now().UTC().AddDate(0, -30, 0)
	var arg any = past
	q := "UPDATE crm_contacts SET updated_at = $1 WHERE id IN ($2, $3)"
	if db.Dialect() == "sqlite" {
		arg, q = past.Format("2006-01-02T15:04:05.000000Z"), "UPDATE crm_contacts SET updated_at = ? WHERE id IN (?, ?)"
	}
	res, err := db.DB().DB.ExecContext(e.ctx, q, arg, old.ID, busy.ID)
	if err != nil {
		t.Fatalf("backdate: %v", err)
	}
	if n, _ := res.RowsAffected(); n != 2 {
		t.Skip("cannot backdate rows: row-level security hides them from an unscoped statement")
	}
	_, err = e.svc.ApplyRetention(e.ctx, contacts.RetentionPolicy{})
	wantFields(t, "retention without months", err, "inactive_months")
	dry, err := e.svc.ApplyRetention(e.ctx, contacts.RetentionPolicy{InactiveMonths: 24, DryRun: true})
	must(t, "dry run", err)
	if len(dry.Contacts) != 1 || dry.Contacts[0] != old.ID {
		t.Fatalf("retention would erase %v, want only %s", dry.Contacts, old.ID)
	}
	rep, err := e.svc.ApplyRetention(e.ctx, contacts.RetentionPolicy{InactiveMonths: 24})
	must(t, "retention", err)
	if len(rep.Contacts) != 1 {
		t.Errorf("retention erased %v", rep.Contacts)
	}
	for id, want := range map[string]error{old.ID: storage.ErrNotFound, busy.ID: nil, fresh.ID: nil} {
		_, err := e.svc.Contacts.Get(e.ctx, id)
		if !errors.Is(err, want) && (want != nil || err != nil) {
			t.Errorf("contact %s after retention: %v, want %v", id, err, want)
		}
	}
}

// testEraseSharedActivity checks that erasing a person keeps an activity
// it shared with another contact (a meeting of two), without the person,
// where it was deleted before and the other contact lost its meeting; an
// activity of the person alone goes.
func testEraseSharedActivity(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	gone := e.contact(ctx, contacts.NewContact{FirstName: "Gone", Email: "gone@example.com"})
	stays := e.contact(ctx, contacts.NewContact{FirstName: "Stays"})
	meeting, err := app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindMeeting, Subject: "Kick-off", ContactIDs: []string{gone.ID, stays.ID}})
	must(t, "meeting", err)
	note, err := app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindNote, Subject: "About Gone", ContactIDs: []string{gone.ID}})
	must(t, "note", err)
	er, err := app.Erase(ctx, gone.ID)
	must(t, "erase", err)
	got, err := app.Activities.Get(ctx, meeting.ID)
	must(t, "the shared meeting after the erasure", err)
	if len(got.ContactIDs) != 1 || got.ContactIDs[0] != stays.ID {
		t.Errorf("the shared meeting's contacts = %v, want only %s", got.ContactIDs, stays.ID)
	}
	_, err = app.Activities.Get(ctx, note.ID)
	wantErr(t, "the person's own note", err, storage.ErrNotFound)
	if er.Activities != 1 || er.Participations != 1 {
		t.Errorf("erasure = %+v, want 1 activity deleted and 1 kept without the person", er)
	}
}
