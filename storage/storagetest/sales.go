package storagetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
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

	// Created in a closed stage, a deal is created and closed at one
	// instant: its cycle is never negative.
	wsClosed := e.in("ws-closed-at-once")
	for range 20 {
		c, err := s.Opportunities.Create(wsClosed, sales.NewOpportunity{Name: "Closed at once", Stage: "closed_won",
			Amount: storage.Money{Amount: 100, Currency: "USD"}})
		must(t, "create won", err)
		stored, err := s.Opportunities.Get(wsClosed, c.ID)
		must(t, "get won", err)
		for _, d := range []*sales.Opportunity{c, stored} {
			if !d.ClosedAt.Equal(d.CreatedAt) || !d.StageHistory[0].EnteredAt.Equal(d.CreatedAt) || d.CycleLength() != 0 {
				t.Fatalf("created won: created %v, closed %v, entered %v", d.CreatedAt, d.ClosedAt, d.StageHistory[0].EnteredAt)
			}
		}
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

// oracleSummary computes a pipeline summary in Go from the deals ctx can
// list: what the store's rollup or scan must equal.
func oracleSummary(t *testing.T, ctx context.Context, s *sales.Service, pipelineID string) map[[2]string]sales.StageTotal {
	t.Helper()
	out := map[[2]string]sales.StageTotal{}
	for cursor := ""; ; {
		page, err := s.Opportunities.List(ctx, storage.ListQuery{Filter: storage.Eq("pipeline_id", pipelineID), PageQuery: storage.PageQuery{Limit: 100, Cursor: cursor}})
		must(t, "list", err)
		for _, o := range page.Items {
			k := [2]string{o.Stage, o.Amount.Currency}
			r := out[k]
			r.Stage, r.Currency = k[0], k[1]
			r.Count++
			r.Amount += o.Amount.Amount
			r.Weighted += o.Amount.Amount * int64(o.Probability) / 100
			out[k] = r
		}
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}

func checkSummary(t *testing.T, what string, ctx context.Context, s *sales.Service, pipelineID string) {
	t.Helper()
	want := oracleSummary(t, ctx, s, pipelineID)
	got, err := s.Forecasts.Summary(ctx, pipelineID)
	must(t, "summary", err)
	gm := map[[2]string]sales.StageTotal{}
	for _, r := range got {
		gm[[2]string{r.Stage, r.Currency}] = r
	}
	if !maps.Equal(gm, want) {
		t.Errorf("%s: summary = %v, want %v", what, gm, want)
	}
}

// testForecast checks the pipeline summary (rollup and scoped scan) and the
// forecast against sums computed in Go, and snapshots.
func testForecast(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	s := e.sales()
	ctx := e.sys
	p, err := s.Pipelines.Default(ctx)
	must(t, "pipeline", err)
	now := time.Now().UTC()
	q := sales.Quarter(now.Year(), int(now.Month()-1)/3+1)
	inQ := q.From.AddDate(0, 1, 3)
	owners := []string{e.repA.ID, e.repB.ID, e.mgr.ID}
	var ids []string
	for i := range 30 {
		cur := []string{"USD", "EUR"}[i%2]
		close := inQ
		if i%5 == 0 {
			close = q.To.AddDate(0, 1, 0) // outside the quarter
		}
		in := sales.NewOpportunity{Name: fmt.Sprint("Deal ", i), Amount: storage.Money{Amount: int64(1000 + 37*i), Currency: cur},
			Stage: p.Stages[i%4].Key, ExpectedClose: close, OwnerID: owners[i%3]}
		if i%7 == 0 {
			in.ForecastCategory = sales.ForecastCommit
		}
		if i%11 == 0 {
			in.ForecastCategory = sales.ForecastBestCase
		}
		o, err := s.Opportunities.Create(ctx, in)
		must(t, "create", err)
		ids = append(ids, o.ID)
	}
	checkSummary(t, "after creates", ctx, s, p.ID)
	// Moves, wins, losses, amount and probability changes, deletes: the
	// rollup follows every write.
	for i, id := range ids {
		switch i % 6 {
		case 0:
			_, err = s.Opportunities.Win(ctx, id)
		case 1:
			_, err = s.Opportunities.Lose(ctx, id, "price")
		case 2:
			_, err = s.Opportunities.MoveStage(ctx, id, "negotiation", sales.MoveOptions{})
		case 3:
			_, err = s.Opportunities.Update(ctx, id, sales.UpdateOpportunity{Amount: &storage.Money{Amount: 99999, Currency: "GBP"}, Probability: ptr(33)})
		case 4:
			err = s.Opportunities.Delete(ctx, id)
		}
		must(t, "change", err)
	}
	checkSummary(t, "after changes", ctx, s, p.ID)
	checkSummary(t, "a rep's scoped summary", e.as(e.repA), s, p.ID)

	// The forecast, against Go.
	want := map[[2]string]sales.ForecastRow{}
	all, err := s.Opportunities.List(ctx, storage.ListQuery{PageQuery: storage.PageQuery{Limit: 100}})
	must(t, "list", err)
	for _, o := range all.Items {
		k := [2]string{o.OwnerID, o.Amount.Currency}
		r := want[k]
		r.Group, r.Currency = k[0], k[1]
		in := func(t time.Time) bool { return !t.Before(q.From) && t.Before(q.To) }
		switch {
		case o.ForecastCategory == sales.ForecastClosed && in(o.ClosedAt):
			r.ClosedWon += o.Amount.Amount
		case o.ForecastCategory != sales.ForecastClosed && o.ForecastCategory != sales.ForecastOmitted && in(o.ExpectedClose):
			switch o.ForecastCategory {
			case sales.ForecastCommit:
				r.Commit += o.Amount.Amount
			case sales.ForecastBestCase:
				r.BestCase += o.Amount.Amount
			default:
				r.Pipeline += o.Amount.Amount
			}
			r.Weighted += o.Amount.Amount * int64(o.Probability) / 100
		default:
			continue
		}
		r.Deals++
		want[k] = r
	}
	rows, err := s.Forecasts.Compute(ctx, sales.ForecastQuery{Period: q, GroupBy: sales.GroupOwner, PipelineID: p.ID})
	must(t, "forecast", err)
	got := map[[2]string]sales.ForecastRow{}
	for _, r := range rows {
		got[[2]string{r.Group, r.Currency}] = r
	}
	if !maps.Equal(got, want) || len(got) == 0 {
		t.Errorf("forecast = %v, want %v", got, want)
	}
	_, err = s.Forecasts.Compute(ctx, sales.ForecastQuery{Period: sales.Period{From: q.To, To: q.From}, GroupBy: "color"})
	wantFields(t, "bad forecast query", err, "period", "group_by")

	// Snapshots: taken, then compared with a changed present.
	snap, err := s.Forecasts.Take(ctx, "Quarter at start", sales.ForecastQuery{Period: q})
	must(t, "take", err)
	_, err = s.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Late deal", Amount: storage.Money{Amount: 5000, Currency: "USD"},
		ExpectedClose: inQ, ForecastCategory: sales.ForecastCommit})
	must(t, "create", err)
	changes, err := s.Forecasts.Compare(ctx, snap.ID)
	must(t, "compare", err)
	for _, c := range changes {
		if c.Currency == "USD" && (c.Delta.Commit != 5000 || c.Delta.Deals != 1) {
			t.Errorf("USD change = %+v, want commit +5000 in one deal", c.Delta)
		}
		if c.Currency != "USD" && c.Delta != (sales.ForecastRow{Currency: c.Currency}) {
			t.Errorf("%s changed: %+v", c.Currency, c.Delta)
		}
	}

	// Totals of a field hidden from a role are refused.
	_, err = e.acc.DefineRole(e.sys, access.NewRole{Name: "no_amounts",
		Permissions: storage.Permissions{storage.AnyType: {storage.ActionRead: storage.ScopeAll}},
		Fields:      storage.FieldRules{sales.ObjectOpportunity: {"amount": storage.FieldHidden}}})
	must(t, "role", err)
	m, err := e.acc.CreateMember(e.sys, access.NewMember{Name: "Blind", Role: "no_amounts"})
	must(t, "member", err)
	_, err = s.Forecasts.Summary(e.as(m), p.ID)
	wantErr(t, "summary with hidden amounts", err, storage.ErrForbidden)
	_, err = s.Forecasts.Compute(e.as(m), sales.ForecastQuery{Period: q})
	wantErr(t, "forecast with hidden amounts", err, storage.ErrForbidden)
}
