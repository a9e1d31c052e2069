// Command quickstart shows the CRM at work on an embedded SQLite file: it
// creates accounts, contacts and activities, searches, prints a contact's
// timeline and the audit history of a change, shows two members with
// different roles seeing different data, runs a deal through the sales
// cycle, prints a report of the pipeline, takes a customer's email in as a
// case with its SLA clock, routes and answers it, asks for a CSAT score,
// and reads the change feed.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/reporting"
	"github.com/crmkit/crm/reporting/chart"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/service/bizhours"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/sqlite"
	"github.com/crmkit/crm/workflow/send"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "crm-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "crm.db")

	start := time.Now()
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer store.Close()
	// The desk's replies go to an outbox here; a real host gives the
	// service an SMTP mailer (workflow/smtp).
	outbox := &outbox{}
	app, err := crm.New(ctx, store, crm.Config{DefaultPhoneRegion: "GB",
		Service: service.Options{Mailer: outbox, From: "Acme Support <help@acme.example>",
			// A CSAT survey goes out when a case is solved, by a link
			// signed with Key (keep a real key secret and stable).
			CSATOnResolve: true, BaseURL: "http://localhost:8080/service", Key: []byte("quickstart-survey-key-32-bytes-!")}})
	if err != nil {
		return err
	}
	// Work in the "acme" workspace, as the user "alice".
	ctx = crm.WithActor(crm.WithWorkspace(ctx, "acme"), "alice")
	fmt.Printf("Opened %s (SQLite, migrated) in %v\n\n", path, time.Since(start).Round(time.Millisecond))

	// A custom field for contacts.
	if _, err := app.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "tier",
		Type: contacts.FieldEnum, Options: []string{"gold", "silver", "bronze"}}); err != nil {
		return err
	}

	// Accounts, one the subsidiary of another.
	analytical, err := app.Accounts.Create(ctx, contacts.NewAccount{Name: "Analytical Engines Ltd",
		Domain: "https://www.analytical.example/", Industry: "Computing", Employees: 120,
		AnnualRevenue: storage.Money{Amount: 1250000000, Currency: "GBP"}})
	if err != nil {
		return err
	}
	difference, err := app.Accounts.Create(ctx, contacts.NewAccount{Name: "Difference Works",
		Domain: "difference.example", Industry: "Computing", ParentID: analytical.ID})
	if err != nil {
		return err
	}
	fmt.Println("Accounts")
	for _, a := range []*contacts.Account{analytical, difference} {
		fmt.Printf("  %-24s %-22s revenue %s\n", a.Name, a.Domain, a.AnnualRevenue)
	}

	// Contacts: emails are stored lower-case, phones in E.164.
	ada, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", LastName: "Lovelace",
		Email: "Ada@Analytical.example", Phones: []contacts.Phone{{Number: "020 7946 0958", Label: "work"}},
		JobTitle: "Analyst", AccountID: analytical.ID, Lifecycle: contacts.LifecycleLead,
		Tags: []string{"vip", "math"}, Custom: map[string]any{"tier": "gold"}})
	if err != nil {
		return err
	}
	charles, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Charles", LastName: "Babbage",
		Email: "charles@difference.example", JobTitle: "Engineer", AccountID: difference.ID})
	if err != nil {
		return err
	}
	fmt.Println("\nContacts")
	for _, c := range []*contacts.Contact{ada, charles} {
		phone := ""
		if len(c.Phones) > 0 {
			phone = c.Phones[0].Number
		}
		fmt.Printf("  %-18s %-28s %-14s %v\n", c.Name(), c.Email, phone, c.Tags)
	}

	// Bad input is refused with every bad field named, and nothing is written.
	_, err = app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ghost", Email: "not-an-email",
		Custom: map[string]any{"tier": "platinum", "shoe_size": 42}})
	var verr *crm.ValidationError
	if errors.As(err, &verr) {
		fmt.Println("\nRefused an invalid contact:")
		for _, f := range verr.Fields {
			fmt.Printf("  %-16s %s\n", f.Field, f.Reason)
		}
	}
	_, err = app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada again", Email: "ada@analytical.example"})
	fmt.Printf("  duplicate email: %v (ErrConflict: %t)\n", err, errors.Is(err, crm.ErrConflict))

	// Activities: the communication history.
	day := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for _, a := range []contacts.NewActivity{
		{Kind: contacts.KindCall, Subject: "Intro call", Direction: contacts.Outbound, OccurredAt: day,
			Duration: 25 * time.Minute, Outcome: "connected", ContactIDs: []string{ada.ID}},
		{Kind: contacts.KindEmail, Subject: "Notes on the engine", Direction: contacts.Inbound,
			OccurredAt: day.Add(48 * time.Hour), ContactIDs: []string{ada.ID}},
		{Kind: contacts.KindMeeting, Subject: "Design review", OccurredAt: day.Add(96 * time.Hour),
			Duration: time.Hour, ContactIDs: []string{ada.ID, charles.ID}},
	} {
		if _, err := app.Activities.Log(ctx, a); err != nil {
			return err
		}
	}

	// An update as another user: version checked, change recorded.
	bob := crm.WithActor(ctx, "bob")
	customer := contacts.LifecycleCustomer
	title := "Lead Analyst"
	ada, err = app.Contacts.Update(bob, ada.ID, contacts.UpdateContact{Version: ada.Version,
		Lifecycle: &customer, JobTitle: &title, Custom: map[string]any{"tier": "silver"}})
	if err != nil {
		return err
	}
	_, err = app.Contacts.Update(ctx, ada.ID, contacts.UpdateContact{Version: 1, JobTitle: &title})
	fmt.Printf("\nAn update from a stale read: ErrStale: %t\n", errors.Is(err, crm.ErrStale))

	// Full-text search over people and companies.
	for _, q := range []string{"ada", "analyt", "engineer babb"} {
		res, err := app.Search(ctx, q, 5)
		if err != nil {
			return err
		}
		var names []string
		for _, r := range res {
			names = append(names, fmt.Sprintf("%s %q", r.Ref.Type, r.Title))
		}
		fmt.Printf("Search %-16q → %s\n", q, strings.Join(names, ", "))
	}

	// A filtered, sorted list.
	page, err := app.Contacts.List(ctx, crm.ListQuery{
		Filter: storage.And{storage.HasTag("vip"), storage.Eq("custom.tier", "silver")},
		Sort:   []storage.Sort{{Field: "last_name"}},
	})
	if err != nil {
		return err
	}
	fmt.Printf("\nVIP contacts of tier silver: %d (%s)\n", len(page.Items), page.Items[0].Name())

	// The contact's timeline: activities and changes, newest first.
	tl, err := app.Contacts.Timeline(ctx, ada.ID, crm.PageQuery{Limit: 10})
	if err != nil {
		return err
	}
	fmt.Printf("\nTimeline of %s\n", ada.Name())
	for _, e := range tl.Items {
		if e.Activity != nil {
			fmt.Printf("  %s  %-8s %s\n", e.At.Format("2006-01-02 15:04"), e.Activity.Kind, e.Activity.Subject)
		} else {
			fmt.Printf("  %s  %-8s %s by %s\n", e.At.Format("2006-01-02 15:04"), "change", e.Event.Type, e.Event.Actor)
		}
	}

	// The audit history of the contact: who changed what.
	hist, err := app.History(ctx, ada.ID, crm.PageQuery{})
	if err != nil {
		return err
	}
	fmt.Printf("\nAudit history of %s\n", ada.Name())
	for _, e := range hist.Items {
		fmt.Printf("  %s  %-16s by %-6s", e.OccurredAt.Format("15:04:05"), e.Type, e.Actor)
		var parts []string
		for _, c := range e.Changes {
			if c.Old == nil {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s: %s → %s", c.Field, c.Old, c.New))
		}
		if len(parts) == 0 {
			parts = append(parts, fmt.Sprintf("%d fields set", len(e.Changes)))
		}
		fmt.Println(strings.Join(parts, "; "))
	}

	// Access control: two members with different roles see different data.
	// (The calls above carried no member, so they acted as the system.)
	north, err := app.Access.CreateTeam(ctx, "North", "Northern sales")
	if err != nil {
		return err
	}
	rita, err := app.Access.CreateMember(ctx, access.NewMember{Name: "Rita Rep", Role: access.RoleRep, TeamIDs: []string{north.ID}})
	if err != nil {
		return err
	}
	vera, err := app.Access.CreateMember(ctx, access.NewMember{Name: "Vera Viewer", Role: access.RoleReadOnly})
	if err != nil {
		return err
	}
	asRita, err := app.As(ctx, rita.ID)
	if err != nil {
		return err
	}
	asVera, err := app.As(ctx, vera.ID)
	if err != nil {
		return err
	}
	if _, err := app.Contacts.Create(asRita, contacts.NewContact{FirstName: "Grace", LastName: "Hopper", Email: "grace@navy.example"}); err != nil {
		return err
	}
	fmt.Println("\nAccess control")
	for _, who := range []struct {
		name string
		ctx  context.Context
	}{{"Rita (rep, team North)", asRita}, {"Vera (read-only)", asVera}} {
		page, err := app.Contacts.List(who.ctx, crm.ListQuery{Sort: []storage.Sort{{Field: "last_name"}}})
		if err != nil {
			return err
		}
		var names []string
		for _, c := range page.Items {
			names = append(names, c.Name())
		}
		fmt.Printf("  %-24s sees %d contacts: %s\n", who.name, len(page.Items), strings.Join(names, ", "))
	}
	_, err = app.Contacts.Get(asRita, ada.ID)
	fmt.Printf("  Rita reads Ada Lovelace:    ErrNotFound: %t\n", errors.Is(err, crm.ErrNotFound))
	chief := "Chief Analyst"
	_, err = app.Contacts.Update(asVera, ada.ID, contacts.UpdateContact{JobTitle: &chief})
	fmt.Printf("  Vera updates Ada Lovelace:  ErrForbidden: %t\n", errors.Is(err, crm.ErrForbidden))

	// Sales: a lead from a web form, a duplicate caught, the lead converted
	// into an account, a contact and a deal, and the deal won.
	fmt.Println("\nSales")
	lead, err := app.Sales.Leads.Capture(ctx, sales.NewLead{FirstName: "Mary", LastName: "Somerville",
		Email: "mary@somerville.example", Company: "Somerville Instruments", Source: "web form",
		UTM: sales.UTM{Source: "newsletter", Campaign: "autumn"}})
	if err != nil {
		return err
	}
	_, err = app.Sales.Leads.Capture(ctx, sales.NewLead{FirstName: "M.", LastName: "Somerville", Email: "Mary@Somerville.example"})
	var dup *sales.DuplicateError
	if errors.As(err, &dup) {
		fmt.Printf("  Capturing her again finds %d candidate: %s %q (same %s)\n", len(dup.Candidates),
			dup.Candidates[0].Ref.Type, dup.Candidates[0].Name, dup.Candidates[0].Reason)
	}
	if _, err := app.Sales.Leads.SetStatus(ctx, lead.ID, sales.LeadQualified, ""); err != nil {
		return err
	}
	conv, err := app.Sales.Leads.Convert(ctx, lead.ID, sales.ConvertOptions{CreateOpportunity: true,
		Opportunity: sales.NewOpportunity{Name: "Orrery for the Academy", Amount: storage.Money{Amount: 4_800_000, Currency: "EUR"},
			ExpectedClose: time.Now().AddDate(0, 2, 0)}})
	if err != nil {
		return err
	}
	deal := conv.Opportunity
	fmt.Printf("  Converted: account %q, contact %q, deal %q (%s) in stage %s at %d%%\n",
		conv.Account.Name, conv.Contact.Name(), deal.Name, deal.Amount, deal.Stage, deal.Probability)
	for _, stage := range []string{"qualification", "proposal", "negotiation"} {
		if deal, err = app.Sales.Opportunities.MoveStage(ctx, deal.ID, stage, sales.MoveOptions{}); err != nil {
			return err
		}
	}
	orrery, err := app.Sales.Products.Create(ctx, sales.NewProduct{SKU: "ORR-7", Name: "Brass orrery, 7 planets"})
	if err != nil {
		return err
	}
	if _, err := app.Sales.PriceBooks.SetPrice(ctx, "", orrery.ID, storage.Money{Amount: 2_250_000, Currency: "EUR"}); err != nil {
		return err
	}
	quote, err := app.Sales.Quotes.Create(ctx, sales.NewQuote{OpportunityID: deal.ID, ValidUntil: time.Now().AddDate(0, 1, 0),
		Lines: []sales.NewLine{
			{ProductID: orrery.ID, Quantity: 2, Discount: 5, TaxRate: 19},
			{Description: "Installation", Quantity: 1.5, UnitPrice: &storage.Money{Amount: 80_000, Currency: "EUR"}, TaxRate: 19},
		}})
	if err != nil {
		return err
	}
	if _, err := app.Sales.Quotes.Send(ctx, quote.ID); err != nil {
		return err
	}
	if quote, err = app.Sales.Quotes.Accept(ctx, quote.ID); err != nil {
		return err
	}
	fmt.Printf("  Quote %s %s: net %s + tax %s = %s\n", quote.Number, quote.Status,
		storage.Money{Amount: quote.Net, Currency: quote.Currency}, storage.Money{Amount: quote.Tax, Currency: quote.Currency},
		storage.Money{Amount: quote.Total, Currency: quote.Currency})
	if deal, err = app.Sales.Opportunities.Win(ctx, deal.ID); err != nil {
		return err
	}
	inv, err := app.Sales.Invoices.FromQuote(ctx, quote.ID, sales.InvoiceOptions{TermDays: 14})
	if err != nil {
		return err
	}
	if _, err := app.Sales.Invoices.Issue(ctx, inv.ID); err != nil {
		return err
	}
	if inv, err = app.Sales.Invoices.RecordPayment(ctx, inv.ID, sales.Payment{Amount: inv.Total, Method: "transfer"}); err != nil {
		return err
	}
	fmt.Printf("  Invoice %s for %s: %s\n", inv.Number, storage.Money{Amount: inv.Total, Currency: inv.Currency}, inv.Status)
	var stages []string
	for _, v := range deal.StageHistory {
		stages = append(stages, v.Stage)
	}
	fmt.Printf("  Won: %s, forecast %s, stages %s\n", deal.Amount, deal.ForecastCategory, strings.Join(stages, " → "))

	// A report: the pipeline by stage, one SQL statement, as any member
	// may run it (it covers what the member may read).
	for _, d := range []sales.NewOpportunity{
		{Name: "Tables for the Navy", Stage: "proposal", Amount: storage.Money{Amount: 1_250_000, Currency: "EUR"}},
		{Name: "Engine study", Stage: "proposal", Amount: storage.Money{Amount: 300_000, Currency: "EUR"}},
		{Name: "Loom cards", Stage: "closed_lost", Amount: storage.Money{Amount: 90_000, Currency: "EUR"}},
	} {
		if _, err := app.Sales.Opportunities.Create(ctx, d); err != nil {
			return err
		}
	}
	res, err := app.Reporting.Reports.Run(ctx, reporting.Report{Name: "Pipeline by stage", Object: sales.ObjectOpportunity,
		GroupBy: []reporting.Grouping{{Field: "stage"}},
		Measures: []reporting.Measure{
			{Name: "deals", Op: storage.AggCount},
			{Name: "amount", Op: storage.AggSum, Field: "amount"},
			{Name: "weighted", Op: storage.AggSum, Field: "expected_revenue"},
		},
		Sort: []reporting.Order{{By: "amount", Desc: true}}}, reporting.Params{})
	if err != nil {
		return err
	}
	fmt.Println("\nReport: pipeline by stage")
	for _, r := range res.Rows {
		fmt.Printf("  %-12s %d deals  %12s  weighted %12s\n", r.Values[0], r.Values[1],
			storage.Money{Amount: r.Values[2].(int64), Currency: "EUR"}, storage.Money{Amount: r.Values[3].(int64), Currency: "EUR"})
	}
	// A dashboard of KPIs and charts, drawn to one SVG.
	byStage := &reporting.Report{Name: "Deals by stage", Object: sales.ObjectOpportunity,
		GroupBy: []reporting.Grouping{{Field: "stage"}}, Measures: []reporting.Measure{{Name: "deals", Op: storage.AggCount}}}
	panels, err := app.Reporting.Dashboards.RenderDashboard(ctx, reporting.Dashboard{Name: "Sales", Widgets: []reporting.Widget{
		{Title: "Win rate", Kind: chart.Number, KPI: sales.KPIWinRate},
		{Title: "Average deal size", Kind: chart.Number, KPI: sales.KPIAverageDealSize},
		{Title: "Deals by stage", Kind: chart.Bar, Report: byStage},
		{Title: "Share of deals", Kind: chart.Pie, Report: byStage},
	}})
	if err != nil {
		return err
	}
	svg := filepath.Join(os.TempDir(), "crm-quickstart-dashboard.svg")
	if err := os.WriteFile(svg, reporting.SVG("Sales", panels), 0o644); err != nil {
		return err
	}
	fmt.Printf("  KPIs: win rate %s, average deal size %s; dashboard written to %s\n",
		kpiText(panels[0]), kpiText(panels[1]), svg)

	// Customer service: an email becomes a case with an SLA clock in
	// business hours; the desk answers, and the customer's answer threads
	// back by its headers.
	office, err := app.Service.Calendars.Create(ctx, service.NewCalendar{Name: "London office", TimeZone: "Europe/London",
		Week: bizhours.MondayToFriday(bizhours.Interval{Start: bizhours.At(9, 0), End: bizhours.At(17, 30)})})
	if err != nil {
		return err
	}
	if _, err := app.Service.SLAPolicies.Create(ctx, service.NewSLAPolicy{Name: "Standard", Enabled: true, CalendarID: office.ID,
		Targets: []service.SLATarget{{FirstResponse: 4 * time.Hour, NextResponse: 2 * time.Hour, Resolution: 16 * time.Hour}}}); err != nil {
		return err
	}
	// New cases go round robin to the desk's agents on duty.
	grace, err := app.Access.CreateMember(ctx, access.NewMember{Name: "Grace", Email: "grace@acme.example", Role: access.RoleRep})
	if err != nil {
		return err
	}
	if _, err := app.Service.Agents.Set(ctx, service.NewAgent{MemberID: grace.ID, Available: true, Capacity: 20}); err != nil {
		return err
	}
	if _, err := app.Service.AssignmentRules.Create(ctx, service.NewAssignmentRule{Name: "Desk", Enabled: true,
		MemberIDs: []string{grace.ID}}); err != nil {
		return err
	}
	in, err := app.Service.Cases.Ingest(ctx, strings.NewReader("From: Ada Lovelace <ada@analytical.example>\r\n"+
		"To: help@acme.example\r\nSubject: The engine stopped\r\nMessage-ID: <ada-1@analytical.example>\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\nIt stopped at card 42. Can you help?\r\n"))
	if err != nil {
		return err
	}
	c := in.Case
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		return err
	}
	fmt.Println("\nCustomer service")
	fmt.Printf("  %s %q opened by email from %s, %s, routed to %s; first response due %s, resolution due %s (business hours)\n",
		c.Ref(), c.Subject, in.Message.From, c.Status, grace.Name, c.SLA.FirstResponseDue.In(london).Format("Mon 15:04 MST"),
		c.SLA.ResolutionDue.In(london).Format("Mon 02 Jan 15:04 MST"))
	if c.OwnerID != grace.ID {
		return fmt.Errorf("case %s not routed to Grace", c.Ref())
	}
	reply, err := app.Service.Cases.Reply(ctx, c.ID, service.NewReply{Text: "Please send us the card."})
	if err != nil {
		return err
	}
	sent := outbox.sent[len(outbox.sent)-1]
	fmt.Printf("  replied: %q to %s, In-Reply-To %s\n", sent.Subject, sent.To[0], sent.Headers["In-Reply-To"])
	back, err := app.Service.Cases.Ingest(ctx, strings.NewReader("From: ada@analytical.example\r\nSubject: Re: The engine stopped\r\n"+
		"Message-ID: <ada-2@analytical.example>\r\nIn-Reply-To: <"+reply.MessageID+">\r\n\r\nCard attached.\r\n"))
	if err != nil {
		return err
	}
	fmt.Printf("  the customer answered: next response due %s\n", back.Case.SLA.NextResponseDue.In(london).Format("Mon 15:04 MST"))
	c, err = app.Service.Cases.SetStatus(ctx, back.Case.ID, "solved")
	if err != nil {
		return err
	}
	fmt.Printf("  the answer joined %s by its %s; solved: first response %s, resolution %s\n",
		back.Case.Ref(), back.ThreadedBy, c.SLA.FirstResponseState, c.SLA.ResolutionState)
	// Solving it mailed Ada a CSAT survey; she answers through its link
	// (service/surveyweb serves the form), once.
	surveys, err := app.Service.Surveys.List(ctx, crm.ListQuery{Filter: crm.Eq("case_id", c.ID)})
	if err != nil || len(surveys.Items) != 1 {
		return fmt.Errorf("the case's survey: %v", err)
	}
	link, err := app.Service.Surveys.Link(ctx, surveys.Items[0].ID)
	if err != nil {
		return err
	}
	fmt.Printf("  CSAT survey mailed: %q\n", outbox.sent[len(outbox.sent)-1].Subject)
	if _, err := app.Service.Surveys.Answer(ctx, link[strings.LastIndex(link, "/")+1:], 5, "Quick and kind."); err != nil {
		return err
	}
	csat, err := app.Service.Surveys.Scores(ctx, service.ScoreQuery{Kind: service.SurveyCSAT})
	if err != nil || len(csat) != 1 {
		return fmt.Errorf("CSAT: %v", err)
	}
	fmt.Printf("  Ada answered 5: CSAT %.0f%% over %d answer\n", csat[0].Value, csat[0].Answers)

	// The change feed a host application would consume.
	feed, err := app.Changes(ctx, "", 100)
	if err != nil {
		return err
	}
	fmt.Printf("\nChange feed: %d events, oldest first\n", len(feed.Events))
	for i, e := range feed.Events {
		if i == 8 {
			fmt.Printf("  … and %d more\n", len(feed.Events)-i)
			break
		}
		fmt.Printf("  %-24s %-13s %s by %s\n", e.Type, e.Subject.Type, e.OccurredAt.Format("15:04:05"), e.Actor)
	}
	fmt.Printf("Done in %v\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// outbox is a mailer that keeps what it sends.
type outbox struct{ sent []send.Message }

// Send keeps m.
func (o *outbox) Send(_ context.Context, m send.Message) error {
	o.sent = append(o.sent, m)
	return nil
}

// kpiText is a KPI panel's first value for the console.
func kpiText(p reporting.Panel) string {
	if len(p.KPI) == 0 || !p.KPI[0].Valid {
		return "–"
	}
	v := p.KPI[0]
	if p.Widget.KPI == sales.KPIWinRate {
		return fmt.Sprintf("%.0f%%", 100*v.Value)
	}
	return storage.Money{Amount: int64(v.Value), Currency: v.Group}.String()
}
