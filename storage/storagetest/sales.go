package storagetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

func (e *env) sales() *sales.Service {
	return sales.NewService(e.store, e.svc, sales.Options{DefaultRegion: "US"})
}

// testPipelines checks the default pipeline, stage validation and that a
// stage holding deals cannot be removed.
func testPipelines(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.sales()
	d1, err := s.Pipelines.Default(e.ctx)
	must(t, "default", err)
	d2, err := s.Pipelines.Default(e.ctx)
	must(t, "default again", err)
	if d1.ID != d2.ID || !d1.IsDefault || len(d1.Stages) != 6 {
		t.Errorf("default pipeline = %+v then %s; want one, created once, with the default stages", d1, d2.ID)
	}
	_, err = s.Pipelines.Create(e.ctx, sales.NewPipeline{Name: "Bad", Stages: []sales.Stage{
		{Key: "a", Probability: 150, Kind: sales.StageOpen}, {Key: "a", Kind: "maybe"}, {Key: "B c", Kind: sales.StageWon}}})
	wantFields(t, "bad stages", err, "stages[0].probability", "stages[1].key", "stages[1].kind", "stages[2].key", "stages")
	_, err = s.Pipelines.Create(e.ctx, sales.NewPipeline{Name: d1.Name})
	wantErr(t, "duplicate pipeline name", err, storage.ErrConflict)

	p, err := s.Pipelines.Create(e.ctx, sales.NewPipeline{Name: "Renewals", Default: true, Stages: []sales.Stage{
		{Key: "due", Probability: 60, Kind: sales.StageOpen}, {Key: "renewed", Probability: 100, Kind: sales.StageWon},
		{Key: "churned", Kind: sales.StageLost}}})
	must(t, "create", err)
	if d, err := s.Pipelines.Default(e.ctx); err != nil || d.ID != p.ID {
		t.Errorf("default after creating a new default = %v (%v), want %s", d, err, p.ID)
	}
	if old, err := s.Pipelines.Get(e.ctx, d1.ID); err != nil || old.IsDefault {
		t.Errorf("the old default is still default (%v)", err)
	}
	_, err = s.Opportunities.Create(e.ctx, sales.NewOpportunity{Name: "Renewal", PipelineID: p.ID})
	must(t, "opportunity", err)
	_, err = s.Pipelines.Update(e.ctx, p.ID, sales.UpdatePipeline{Stages: &[]sales.Stage{
		{Key: "renewed", Probability: 100, Kind: sales.StageWon}, {Key: "churned", Kind: sales.StageLost}, {Key: "late", Kind: sales.StageOpen}}})
	wantErr(t, "removing a stage that holds a deal", err, storage.ErrConflict)
	p2, err := s.Pipelines.Update(e.ctx, p.ID, sales.UpdatePipeline{Name: ptr("Renewals 2027"), Stages: &[]sales.Stage{
		{Key: "due", Probability: 60, Kind: sales.StageOpen}, {Key: "late", Probability: 30, Kind: sales.StageOpen},
		{Key: "renewed", Probability: 100, Kind: sales.StageWon}, {Key: "churned", Kind: sales.StageLost}}})
	must(t, "add a stage", err)
	if len(p2.Stages) != 4 || p2.Name != "Renewals 2027" {
		t.Errorf("updated pipeline = %+v", p2)
	}
}

// testLeadCapture checks capture's normalisation and its duplicate check
// against leads, contacts and accounts.
func testLeadCapture(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.sales()
	l, err := s.Leads.Capture(e.ctx, sales.NewLead{FirstName: " Ada ", LastName: "Lovelace", Email: "Ada@Analytical.example",
		Phone: "(415) 555-0100", Company: "Analytical Engines", Source: "web form", Campaign: "spring",
		UTM: sales.UTM{Source: "newsletter", Medium: "email"}, Score: 40})
	must(t, "capture", err)
	if l.FirstName != "Ada" || l.Email != "ada@analytical.example" || l.Phone != "+14155550100" ||
		l.CompanyDomain != "analytical.example" || l.Status != sales.LeadNew || l.UTM.Source != "newsletter" {
		t.Errorf("captured lead = %+v", l)
	}
	got, err := s.Leads.Get(e.ctx, l.ID)
	must(t, "get", err)
	if got.UTM != l.UTM || got.Score != 40 || got.Campaign != "spring" {
		t.Errorf("stored lead = %+v", got)
	}

	e.account(e.ctx, contacts.NewAccount{Name: "Babbage Ltd", Domain: "babbage.example"})
	e.contact(e.ctx, contacts.NewContact{FirstName: "Charles", Email: "charles@elsewhere.example", Phones: []contacts.Phone{{Number: "+1 212 555 0199"}}})
	for _, c := range []struct {
		in     sales.NewLead
		ref    string
		reason string
	}{
		{sales.NewLead{FirstName: "Ada", Email: "ada@analytical.example"}, sales.ObjectLead, "email"},
		{sales.NewLead{FirstName: "A.", Phone: "+1 415 555 0100", Email: "a@gmail.com"}, sales.ObjectLead, "phone"},
		{sales.NewLead{FirstName: "Charlie", Phone: "212 555 0199"}, contacts.ObjectContact, "phone"},
		{sales.NewLead{FirstName: "Charles", Email: "Charles@elsewhere.example"}, contacts.ObjectContact, "email"},
		{sales.NewLead{FirstName: "Henry", Website: "https://www.babbage.example/about"}, contacts.ObjectAccount, "company_domain"},
		{sales.NewLead{FirstName: "Luigi", Email: "luigi@analytical.example"}, sales.ObjectLead, "company_domain"},
	} {
		_, err := s.Leads.Capture(e.ctx, c.in)
		var de *sales.DuplicateError
		if !errors.As(err, &de) || !errors.Is(err, storage.ErrConflict) {
			t.Errorf("capture %+v: %v, want a *DuplicateError", c.in, err)
			continue
		}
		if !slices.ContainsFunc(de.Candidates, func(cd sales.Candidate) bool { return cd.Ref.Type == c.ref && cd.Reason == c.reason }) {
			t.Errorf("capture %+v: candidates %+v, want a %s matched by %s", c.in, de.Candidates, c.ref, c.reason)
		}
	}
	if n, err := s.Leads.List(e.ctx, storage.ListQuery{}); err != nil || len(n.Items) != 1 {
		t.Errorf("duplicates were written: %d leads (%v)", len(n.Items), err)
	}
	// A free mail domain says nothing about the company.
	g, err := s.Leads.Capture(e.ctx, sales.NewLead{FirstName: "Grace", Email: "grace@gmail.com"})
	must(t, "capture a free mail lead", err)
	if g.CompanyDomain != "" {
		t.Errorf("free mail lead has company domain %q", g.CompanyDomain)
	}
	_, err = s.Leads.Capture(e.ctx, sales.NewLead{FirstName: "Ada", Email: "ada@analytical.example", AllowDuplicates: true})
	must(t, "capture a duplicate on purpose", err)
	_, err = s.Leads.Capture(e.ctx, sales.NewLead{Email: "nope", Phone: "12", Website: "not a site"})
	wantFields(t, "bad lead", err, "email", "phone", "website")
	_, err = s.Leads.Capture(e.ctx, sales.NewLead{Source: "fair"})
	wantFields(t, "lead without name, email or company", err, "first_name")

	// Statuses, and their events.
	_, err = s.Leads.SetStatus(e.ctx, l.ID, sales.LeadDisqualified, "")
	wantFields(t, "disqualify without a reason", err, "reason")
	_, err = s.Leads.SetStatus(e.ctx, l.ID, "hot", "")
	wantFields(t, "unknown status", err, "status")
	_, err = s.Leads.SetStatus(e.ctx, l.ID, sales.LeadWorking, "")
	must(t, "working", err)
	q, err := s.Leads.SetStatus(e.ctx, l.ID, sales.LeadQualified, "")
	must(t, "qualify", err)
	if q.Status != sales.LeadQualified {
		t.Errorf("status = %s", q.Status)
	}
	hist, err := e.store.History(e.ctx, l.ID, storage.PageQuery{})
	must(t, "history", err)
	var types []string
	for _, ev := range hist.Items {
		types = append(types, ev.Type)
	}
	if !slices.Equal(types, []string{"lead.qualified", "lead.working", "lead.created"}) {
		t.Errorf("lead events = %v", types)
	}
}

// testLeadConvert checks conversion: what it creates and links, that it is
// all or nothing, and that it happens once.
func testLeadConvert(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.sales()
	l, err := s.Leads.Capture(e.ctx, sales.NewLead{FirstName: "Ada", LastName: "Lovelace", Email: "ada@analytical.example",
		Phone: "+1 415 555 0100", Company: "Analytical Engines", JobTitle: "CTO", Source: "fair"})
	must(t, "capture", err)

	// A failure half way (a stage the pipeline lacks) writes nothing.
	before := e.counts(e.ctx)
	_, err = s.Leads.Convert(e.ctx, l.ID, sales.ConvertOptions{CreateOpportunity: true, Opportunity: sales.NewOpportunity{Stage: "nowhere"}})
	wantFields(t, "convert with a bad stage", err, "opportunity.stage")
	after := e.counts(e.ctx)
	if after.Accounts != before.Accounts || after.Contacts != before.Contacts || after.Opportunities != before.Opportunities {
		t.Errorf("a failed conversion wrote: before %+v, after %+v", before, after)
	}
	if got, _ := s.Leads.Get(e.ctx, l.ID); got.Status != sales.LeadNew {
		t.Errorf("a failed conversion changed the lead: %s", got.Status)
	}

	res, err := s.Leads.Convert(e.ctx, l.ID, sales.ConvertOptions{CreateOpportunity: true,
		Opportunity: sales.NewOpportunity{Amount: storage.Money{Amount: 1200000, Currency: "EUR"}}})
	must(t, "convert", err)
	if res.Account == nil || res.Account.Name != "Analytical Engines" || res.Account.Domain != "analytical.example" {
		t.Errorf("account = %+v", res.Account)
	}
	c := res.Contact
	if c.Email != l.Email || c.AccountID != res.Account.ID || len(c.Phones) != 1 || c.Phones[0].Number != "+14155550100" ||
		c.Lifecycle != contacts.LifecycleOpportunity || c.JobTitle != "CTO" {
		t.Errorf("contact = %+v", c)
	}
	o := res.Opportunity
	if o == nil || o.AccountID != res.Account.ID || o.ContactID != c.ID || o.Stage != "prospecting" || o.Probability != 10 ||
		o.Name != "Analytical Engines deal" || o.Source != "fair" || o.Amount.Amount != 1200000 {
		t.Errorf("opportunity = %+v", o)
	}
	lv := res.Lead
	if lv.Status != sales.LeadConverted || lv.ConvertedAt.IsZero() || lv.ContactID != c.ID || lv.AccountID != res.Account.ID || lv.OpportunityID != o.ID {
		t.Errorf("converted lead = %+v", lv)
	}
	hist, err := e.store.History(e.ctx, l.ID, storage.PageQuery{Limit: 1})
	must(t, "history", err)
	if hist.Items[0].Type != "lead.converted" {
		t.Errorf("last lead event = %s", hist.Items[0].Type)
	}
	_, err = s.Leads.Convert(e.ctx, l.ID, sales.ConvertOptions{})
	wantErr(t, "convert twice", err, storage.ErrConflict)
	_, err = s.Leads.Update(e.ctx, l.ID, sales.UpdateLead{Score: ptr(5)})
	wantErr(t, "update a converted lead", err, storage.ErrConflict)

	// A second lead of the same company links the existing account and,
	// with a known email, the existing contact.
	l2, err := s.Leads.Capture(e.ctx, sales.NewLead{FirstName: "Ada", Email: "ada@analytical.example", AllowDuplicates: true})
	must(t, "capture", err)
	res2, err := s.Leads.Convert(e.ctx, l2.ID, sales.ConvertOptions{})
	must(t, "convert", err)
	if res2.Account.ID != res.Account.ID || res2.Contact.ID != c.ID || res2.Opportunity != nil {
		t.Errorf("second conversion = account %s contact %s opportunity %v; want the existing ones, no deal", res2.Account.ID, res2.Contact.ID, res2.Opportunity)
	}
	_, err = s.Leads.Convert(e.ctx, l2.ID, sales.ConvertOptions{})
	wantErr(t, "convert the second lead twice", err, storage.ErrConflict)
	l3, err := s.Leads.Capture(e.ctx, sales.NewLead{FirstName: "Solo", Email: "solo@gmail.com"})
	must(t, "capture", err)
	_, err = s.Leads.Convert(e.ctx, l3.ID, sales.ConvertOptions{AccountID: storage.NewID()})
	wantFields(t, "convert into an unknown account", err, "account_id")
	res3, err := s.Leads.Convert(e.ctx, l3.ID, sales.ConvertOptions{})
	must(t, "convert a lead without a company", err)
	if res3.Account != nil || res3.Contact.AccountID != "" {
		t.Errorf("a lead without a company got account %+v", res3.Account)
	}
}

// testOpportunityStages checks stage moves, their history and events,
// closing and reopening, and bad input.
func testOpportunityStages(t *testing.T, h Harness) {
	e := newEnv(t, h)
	s := e.sales()
	acct := e.account(e.ctx, contacts.NewAccount{Name: "Initech"})
	peter := e.contact(e.ctx, contacts.NewContact{FirstName: "Peter", AccountID: acct.ID})
	close := time.Date(2026, 12, 15, 17, 30, 0, 0, time.UTC)
	o, err := s.Opportunities.Create(e.ctx, sales.NewOpportunity{Name: "TPS licences", AccountID: acct.ID, ContactID: peter.ID,
		ContactRoles: []sales.ContactRole{{ContactID: peter.ID, Role: "decision maker"}},
		Amount:       storage.Money{Amount: 250000, Currency: "USD"}, ExpectedClose: close, Tags: []string{"Q4"}})
	must(t, "create", err)
	if o.Stage != "prospecting" || o.Probability != 10 || o.ForecastCategory != sales.ForecastPipeline ||
		!o.ExpectedClose.Equal(time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)) || len(o.StageHistory) != 1 {
		t.Errorf("new opportunity = %+v", o)
	}
	got, err := s.Opportunities.Get(e.ctx, o.ID)
	must(t, "get", err)
	if got.Amount != o.Amount || len(got.ContactRoles) != 1 || !got.ExpectedClose.Equal(o.ExpectedClose) {
		t.Errorf("stored opportunity = %+v", got)
	}

	_, err = s.Opportunities.MoveStage(e.ctx, o.ID, "proposal", sales.MoveOptions{})
	must(t, "move", err)
	won, err := s.Opportunities.Win(e.ctx, o.ID)
	must(t, "win", err)
	if won.Stage != "closed_won" || won.Probability != 100 || won.ForecastCategory != sales.ForecastClosed || won.ClosedAt.IsZero() || won.CycleLength() < 0 {
		t.Errorf("won = %+v", won)
	}
	re, err := s.Opportunities.MoveStage(e.ctx, o.ID, "negotiation", sales.MoveOptions{})
	must(t, "reopen", err)
	if !re.ClosedAt.IsZero() || re.ForecastCategory != sales.ForecastPipeline || re.Probability != 75 {
		t.Errorf("reopened = %+v", re)
	}
	lost, err := s.Opportunities.Lose(e.ctx, o.ID, "budget cut")
	must(t, "lose", err)
	if lost.LostReason != "budget cut" || lost.ForecastCategory != sales.ForecastOmitted || lost.Probability != 0 {
		t.Errorf("lost = %+v", lost)
	}
	h1 := lost.StageHistory
	var stages []string
	for i, v := range h1 {
		stages = append(stages, v.Stage)
		if i < len(h1)-1 && (v.LeftAt.IsZero() || v.LeftAt.Before(v.EnteredAt)) {
			t.Errorf("stay %d = %+v, want it left", i, v)
		}
	}
	if !slices.Equal(stages, []string{"prospecting", "proposal", "closed_won", "negotiation", "closed_lost"}) || !h1[len(h1)-1].LeftAt.IsZero() {
		t.Errorf("stage history = %+v", h1)
	}
	if lost.TimeInStage("proposal", time.Now()) <= 0 {
		t.Error("time in proposal is not positive")
	}
	hist, err := e.store.History(e.ctx, o.ID, storage.PageQuery{})
	must(t, "history", err)
	var types []string
	for _, ev := range hist.Items {
		types = append(types, ev.Type)
	}
	want := []string{"opportunity.lost", "opportunity.reopened", "opportunity.won", "opportunity.stage_changed", "opportunity.created"}
	if !slices.Equal(types, want) {
		t.Errorf("events = %v, want %v", types, want)
	}

	// A set probability survives stage moves until it is cleared.
	u, err := s.Opportunities.Update(e.ctx, o.ID, sales.UpdateOpportunity{Probability: ptr(35)})
	must(t, "set probability", err)
	u, err = s.Opportunities.MoveStage(e.ctx, u.ID, "proposal", sales.MoveOptions{})
	must(t, "move", err)
	if u.Probability != 35 {
		t.Errorf("probability after a move = %d, want the set 35", u.Probability)
	}
	u, err = s.Opportunities.Update(e.ctx, o.ID, sales.UpdateOpportunity{Probability: ptr(-1)})
	must(t, "clear probability", err)
	if u.Probability != 50 || u.ProbabilitySet {
		t.Errorf("cleared probability = %d (set %v), want the stage's 50", u.Probability, u.ProbabilitySet)
	}

	// Bad input.
	_, err = s.Opportunities.MoveStage(e.ctx, o.ID, "heaven", sales.MoveOptions{})
	wantFields(t, "unknown stage", err, "stage")
	_, err = s.Opportunities.Create(e.ctx, sales.NewOpportunity{Name: "", PipelineID: storage.NewID()})
	wantFields(t, "no name, unknown pipeline", err, "name", "pipeline_id")
	_, err = s.Opportunities.Create(e.ctx, sales.NewOpportunity{Name: "X", Amount: storage.Money{Amount: -5, Currency: "usd"},
		Probability: ptr(150), ForecastCategory: "maybe"})
	wantFields(t, "bad money, probability, category", err, "amount.currency", "amount.amount", "probability", "forecast_category")
	_, err = s.Opportunities.Create(e.ctx, sales.NewOpportunity{Name: "X", AccountID: storage.NewID(),
		ContactRoles: []sales.ContactRole{{ContactID: storage.NewID()}}})
	wantFields(t, "unknown account and contact", err, "account_id", "contact_roles[0].contact_id")
	if n, err := s.Opportunities.Count(e.ctx, nil); err != nil || n != 1 {
		t.Errorf("bad input wrote: %d opportunities (%v)", n, err)
	}
}
