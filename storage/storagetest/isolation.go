package storagetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// testWorkspaceIsolation calls every service method (contacts, access,
// sales) and the store's own queries from workspace B with the IDs of
// workspace A: each is ErrNotFound (or finds nothing), B stays empty, and
// A's rows and events are unchanged afterwards.
func testWorkspaceIsolation(t *testing.T, h Harness) {
	e := newEnv(t, h)
	a := e.in("ws-a")
	b := e.in("ws-b")

	def, err := e.svc.Fields.Define(a, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "tier", Type: contacts.FieldText})
	must(t, "define", err)
	parent := e.account(a, contacts.NewAccount{Name: "Umbrella Holding", Domain: "umbrella.example"})
	acct := e.account(a, contacts.NewAccount{Name: "Umbrella Corp", ParentID: parent.ID})
	c := e.contact(a, contacts.NewContact{FirstName: "Albert", LastName: "Wesker", Email: "wesker@umbrella.example",
		AccountID: acct.ID, Tags: []string{"secret"}, Custom: map[string]any{"tier": "gold"}})
	act, err := e.svc.Activities.Log(a, contacts.NewActivity{Kind: contacts.KindNote, Subject: "Umbrella plans", ContactIDs: []string{c.ID}})
	must(t, "log", err)

	// Access control and sales records of A.
	acc := access.NewService(e.store)
	team, err := acc.CreateTeam(a, "Umbrella ops", "")
	must(t, "team", err)
	role, err := acc.DefineRole(a, access.NewRole{Name: "umbrella_agent",
		Permissions: storage.Permissions{storage.AnyType: {storage.ActionRead: storage.ScopeAll}},
		Fields:      storage.FieldRules{contacts.ObjectContact: {"email": storage.FieldHidden}}})
	must(t, "role", err)
	member, err := acc.CreateMember(a, access.NewMember{ExternalID: "u-wesker", Name: "Agent", Role: role.Name, TeamIDs: []string{team.ID}})
	must(t, "member", err)
	cref := storage.Ref{Type: contacts.ObjectContact, ID: c.ID}
	share, err := acc.Share(a, cref, access.ShareWith{MemberID: member.ID}, access.ShareRead)
	must(t, "share", err)
	sl := e.sales()
	pipe, err := sl.Pipelines.Default(a)
	must(t, "pipeline", err)
	lead, err := sl.Leads.Capture(a, sales.NewLead{FirstName: "Jill", Email: "jill@umbrella.example", Company: "Umbrella", AllowDuplicates: true})
	must(t, "lead", err)
	opp, err := sl.Opportunities.Create(a, sales.NewOpportunity{Name: "T-virus", AccountID: acct.ID, ContactID: c.ID,
		Amount: storage.Money{Amount: 100, Currency: "USD"}, ExpectedClose: time.Now()})
	must(t, "opportunity", err)
	quarter := sales.Period{From: time.Now().AddDate(0, -1, 0), To: time.Now().AddDate(0, 1, 0)}
	snap, err := sl.Forecasts.Take(a, "now", sales.ForecastQuery{Period: quarter})
	must(t, "snapshot", err)

	prod, err := sl.Products.Create(a, sales.NewProduct{SKU: "UMB-1", Name: "Antivirus"})
	must(t, "product", err)
	_, err = sl.PriceBooks.SetPrice(a, "", prod.ID, storage.Money{Amount: 500, Currency: "USD"})
	must(t, "price", err)
	book, err := sl.PriceBooks.Standard(a)
	must(t, "price book", err)
	quote, err := sl.Quotes.Create(a, sales.NewQuote{OpportunityID: opp.ID, Lines: []sales.NewLine{{ProductID: prod.ID, Quantity: 2}}})
	must(t, "quote", err)
	billed, err := sl.Quotes.Create(a, sales.NewQuote{OpportunityID: opp.ID, Lines: []sales.NewLine{{ProductID: prod.ID, Quantity: 1}}})
	must(t, "quote", err)
	_, err = sl.Quotes.Send(a, billed.ID)
	must(t, "send", err)
	_, err = sl.Quotes.Accept(a, billed.ID)
	must(t, "accept", err)
	inv, err := sl.Invoices.FromQuote(a, billed.ID, sales.InvoiceOptions{})
	must(t, "invoice", err)
	_, err = sl.Invoices.Issue(a, inv.ID)
	must(t, "issue", err)
	won, err := sl.Opportunities.Create(a, sales.NewOpportunity{Name: "Won", AccountID: acct.ID})
	must(t, "opportunity", err)
	_, err = sl.Opportunities.Win(a, won.ID)
	must(t, "win", err)
	proj, err := sl.Projects.FromOpportunity(a, won.ID, sales.NewProject{})
	must(t, "project", err)
	task, err := sl.Tasks.Create(a, sales.NewTask{Title: "Contain outbreak", Due: time.Now().Add(-time.Hour), ProjectID: proj.ID,
		Related: []storage.Ref{cref}})
	must(t, "task", err)
	order, _, err := sl.Orders.Record(a, sales.NewOrder{ExternalID: "umb-1", ContactID: c.ID, Currency: "USD",
		Lines: []sales.OrderLine{{Name: "Vaccine", Quantity: 1, UnitPrice: 100}}})
	must(t, "order", err)

	snapshot := func() any {
		t.Helper()
		gc, err := e.svc.Contacts.Get(a, c.ID)
		must(t, "get contact in A", err)
		ga, err := e.svc.Accounts.Get(a, acct.ID)
		must(t, "get account in A", err)
		gp, err := e.svc.Accounts.Get(a, parent.ID)
		must(t, "get parent in A", err)
		gt, err := e.svc.Activities.Get(a, act.ID)
		must(t, "get activity in A", err)
		gd, err := e.svc.Fields.Get(a, def.ID)
		must(t, "get field in A", err)
		gm, err := acc.GetMember(a, member.ID)
		must(t, "get member in A", err)
		gr, err := acc.Role(a, role.Name)
		must(t, "get role in A", err)
		gsh, err := acc.Shares(a, cref)
		must(t, "shares in A", err)
		gteams, err := acc.ListTeams(a, storage.ListQuery{})
		must(t, "teams in A", err)
		gl, err := sl.Leads.Get(a, lead.ID)
		must(t, "get lead in A", err)
		gpipe, err := sl.Pipelines.Get(a, pipe.ID)
		must(t, "get pipeline in A", err)
		gopp, err := sl.Opportunities.Get(a, opp.ID)
		must(t, "get opportunity in A", err)
		gsnap, err := sl.Forecasts.GetSnapshot(a, snap.ID)
		must(t, "get snapshot in A", err)
		gsum, err := sl.Forecasts.Summary(a, pipe.ID)
		must(t, "summary in A", err)
		var more []any
		for _, get := range []func() (any, error){
			func() (any, error) { return sl.Products.Get(a, prod.ID) },
			func() (any, error) { return sl.PriceBooks.Price(a, book.ID, prod.ID, "USD") },
			func() (any, error) { return sl.Quotes.Get(a, quote.ID) },
			func() (any, error) { return sl.Quotes.Get(a, billed.ID) },
			func() (any, error) { return sl.Invoices.Get(a, inv.ID) },
			func() (any, error) { return sl.Projects.Get(a, proj.ID) },
			func() (any, error) { return sl.Tasks.Get(a, task.ID) },
			func() (any, error) { return sl.Orders.Get(a, order.ID) },
		} {
			v, err := get()
			must(t, "get in A", err)
			more = append(more, v)
		}
		return []any{gc, ga, gp, gt, gd, gm, gr, gsh, gteams.Items, gl, gpipe, gopp, gsnap, gsum, more, e.events(a)}
	}
	before := snapshot()

	notFound := map[string]func(ctx context.Context) error{
		"Contacts.Get": func(ctx context.Context) error { _, err := e.svc.Contacts.Get(ctx, c.ID); return err },
		"Contacts.Update": func(ctx context.Context) error {
			_, err := e.svc.Contacts.Update(ctx, c.ID, contacts.UpdateContact{FirstName: ptr("Hacked")})
			return err
		},
		"Contacts.Update with version": func(ctx context.Context) error {
			_, err := e.svc.Contacts.Update(ctx, c.ID, contacts.UpdateContact{Version: c.Version, FirstName: ptr("Hacked")})
			return err
		},
		"Contacts.Delete":     func(ctx context.Context) error { return e.svc.Contacts.Delete(ctx, c.ID) },
		"Contacts.AddTags":    func(ctx context.Context) error { _, err := e.svc.Contacts.AddTags(ctx, c.ID, "pwned"); return err },
		"Contacts.RemoveTags": func(ctx context.Context) error { _, err := e.svc.Contacts.RemoveTags(ctx, c.ID, "secret"); return err },
		"Contacts.Timeline": func(ctx context.Context) error {
			_, err := e.svc.Contacts.Timeline(ctx, c.ID, storage.PageQuery{})
			return err
		},
		"Accounts.Get": func(ctx context.Context) error { _, err := e.svc.Accounts.Get(ctx, acct.ID); return err },
		"Accounts.Update": func(ctx context.Context) error {
			_, err := e.svc.Accounts.Update(ctx, acct.ID, contacts.UpdateAccount{Name: ptr("Hacked")})
			return err
		},
		"Accounts.Delete": func(ctx context.Context) error { return e.svc.Accounts.Delete(ctx, parent.ID) },
		"Accounts.Children": func(ctx context.Context) error {
			_, err := e.svc.Accounts.Children(ctx, parent.ID, storage.PageQuery{})
			return err
		},
		"Accounts.Contacts": func(ctx context.Context) error {
			_, err := e.svc.Accounts.Contacts(ctx, acct.ID, storage.PageQuery{})
			return err
		},
		"Accounts.Timeline": func(ctx context.Context) error {
			_, err := e.svc.Accounts.Timeline(ctx, acct.ID, storage.PageQuery{})
			return err
		},
		"Activities.Get": func(ctx context.Context) error { _, err := e.svc.Activities.Get(ctx, act.ID); return err },
		"Activities.Update": func(ctx context.Context) error {
			_, err := e.svc.Activities.Update(ctx, act.ID, contacts.UpdateActivity{Subject: ptr("Hacked")})
			return err
		},
		"Activities.Delete": func(ctx context.Context) error { return e.svc.Activities.Delete(ctx, act.ID) },
		"Fields.Get":        func(ctx context.Context) error { _, err := e.svc.Fields.Get(ctx, def.ID); return err },
		"Fields.Update": func(ctx context.Context) error {
			_, err := e.svc.Fields.Update(ctx, def.ID, contacts.UpdateFieldDef{Label: ptr("Hacked")})
			return err
		},
		"Fields.Delete": func(ctx context.Context) error { return e.svc.Fields.Delete(ctx, def.ID) },
		"Table.Update": func(ctx context.Context) error {
			forged := *c
			forged.FirstName = "Hacked"
			return storage.TableOf[*contacts.Contact](e.store).Update(ctx, c, &forged)
		},
		"Table.Delete": func(ctx context.Context) error { return storage.TableOf[*contacts.Contact](e.store).Delete(ctx, c) },

		"Access.GetMember": func(ctx context.Context) error { _, err := acc.GetMember(ctx, member.ID); return err },
		"Access.UpdateMember": func(ctx context.Context) error {
			_, err := acc.UpdateMember(ctx, member.ID, access.UpdateMember{Name: ptr("Hacked")})
			return err
		},
		"Access.Principal": func(ctx context.Context) error { _, err := acc.Principal(ctx, member.ID); return err },
		"Access.As":        func(ctx context.Context) error { _, err := acc.As(ctx, member.ID); return err },
		"Access.Role":      func(ctx context.Context) error { _, err := acc.Role(ctx, role.Name); return err },
		"Access.UpdateRole": func(ctx context.Context) error {
			_, err := acc.UpdateRole(ctx, role.Name, access.UpdateRole{Permissions: &storage.Permissions{}})
			return err
		},
		"Access.Share": func(ctx context.Context) error {
			_, err := acc.Share(ctx, cref, access.ShareWith{MemberID: member.ID}, access.ShareEdit)
			return err
		},
		"Access.Unshare": func(ctx context.Context) error { return acc.Unshare(ctx, share.ID) },

		"Leads.Get": func(ctx context.Context) error { _, err := sl.Leads.Get(ctx, lead.ID); return err },
		"Leads.Update": func(ctx context.Context) error {
			_, err := sl.Leads.Update(ctx, lead.ID, sales.UpdateLead{Score: ptr(99)})
			return err
		},
		"Leads.SetStatus": func(ctx context.Context) error {
			_, err := sl.Leads.SetStatus(ctx, lead.ID, sales.LeadWorking, "")
			return err
		},
		"Leads.Convert": func(ctx context.Context) error {
			_, err := sl.Leads.Convert(ctx, lead.ID, sales.ConvertOptions{})
			return err
		},
		"Pipelines.Get": func(ctx context.Context) error { _, err := sl.Pipelines.Get(ctx, pipe.ID); return err },
		"Pipelines.Update": func(ctx context.Context) error {
			_, err := sl.Pipelines.Update(ctx, pipe.ID, sales.UpdatePipeline{Name: ptr("Hacked")})
			return err
		},
		"Opportunities.Get": func(ctx context.Context) error { _, err := sl.Opportunities.Get(ctx, opp.ID); return err },
		"Opportunities.Update": func(ctx context.Context) error {
			_, err := sl.Opportunities.Update(ctx, opp.ID, sales.UpdateOpportunity{Name: ptr("Hacked")})
			return err
		},
		"Opportunities.MoveStage": func(ctx context.Context) error {
			_, err := sl.Opportunities.MoveStage(ctx, opp.ID, "proposal", sales.MoveOptions{})
			return err
		},
		"Opportunities.Win":    func(ctx context.Context) error { _, err := sl.Opportunities.Win(ctx, opp.ID); return err },
		"Opportunities.Lose":   func(ctx context.Context) error { _, err := sl.Opportunities.Lose(ctx, opp.ID, "x"); return err },
		"Opportunities.Delete": func(ctx context.Context) error { return sl.Opportunities.Delete(ctx, opp.ID) },
		"Forecasts.Summary":    func(ctx context.Context) error { _, err := sl.Forecasts.Summary(ctx, pipe.ID); return err },
		"Forecasts.GetSnapshot": func(ctx context.Context) error {
			_, err := sl.Forecasts.GetSnapshot(ctx, snap.ID)
			return err
		},
		"Forecasts.Compare": func(ctx context.Context) error { _, err := sl.Forecasts.Compare(ctx, snap.ID); return err },

		"Products.Get": func(ctx context.Context) error { _, err := sl.Products.Get(ctx, prod.ID); return err },
		"Products.Update": func(ctx context.Context) error {
			_, err := sl.Products.Update(ctx, prod.ID, sales.UpdateProduct{Name: ptr("Hacked")})
			return err
		},
		"PriceBooks.Get": func(ctx context.Context) error { _, err := sl.PriceBooks.Get(ctx, book.ID); return err },
		"Quotes.Get":     func(ctx context.Context) error { _, err := sl.Quotes.Get(ctx, quote.ID); return err },
		"Quotes.Update": func(ctx context.Context) error {
			_, err := sl.Quotes.Update(ctx, quote.ID, sales.UpdateQuote{Notes: ptr("Hacked")})
			return err
		},
		"Quotes.Send":   func(ctx context.Context) error { _, err := sl.Quotes.Send(ctx, quote.ID); return err },
		"Quotes.Accept": func(ctx context.Context) error { _, err := sl.Quotes.Accept(ctx, billed.ID); return err },
		"Quotes.Reject": func(ctx context.Context) error { _, err := sl.Quotes.Reject(ctx, billed.ID); return err },
		"Invoices.FromQuote": func(ctx context.Context) error {
			_, err := sl.Invoices.FromQuote(ctx, billed.ID, sales.InvoiceOptions{})
			return err
		},
		"Invoices.Get":   func(ctx context.Context) error { _, err := sl.Invoices.Get(ctx, inv.ID); return err },
		"Invoices.Issue": func(ctx context.Context) error { _, err := sl.Invoices.Issue(ctx, inv.ID); return err },
		"Invoices.Void":  func(ctx context.Context) error { _, err := sl.Invoices.Void(ctx, inv.ID); return err },
		"Invoices.Pay": func(ctx context.Context) error {
			_, err := sl.Invoices.RecordPayment(ctx, inv.ID, sales.Payment{Amount: 1})
			return err
		},
		"Tasks.Get":         func(ctx context.Context) error { _, err := sl.Tasks.Get(ctx, task.ID); return err },
		"Tasks.Complete":    func(ctx context.Context) error { _, err := sl.Tasks.Complete(ctx, task.ID); return err },
		"Tasks.Delete":      func(ctx context.Context) error { return sl.Tasks.Delete(ctx, task.ID) },
		"Projects.Get":      func(ctx context.Context) error { _, err := sl.Projects.Get(ctx, proj.ID); return err },
		"Projects.Progress": func(ctx context.Context) error { _, err := sl.Projects.Progress(ctx, proj.ID); return err },
		"Projects.FromOpportunity": func(ctx context.Context) error {
			_, err := sl.Projects.FromOpportunity(ctx, won.ID, sales.NewProject{})
			return err
		},
		"Projects.Update": func(ctx context.Context) error {
			_, err := sl.Projects.Update(ctx, proj.ID, sales.UpdateProject{Name: ptr("Hacked")})
			return err
		},
		"Orders.Get": func(ctx context.Context) error { _, err := sl.Orders.Get(ctx, order.ID); return err },
	}
	for _, action := range storage.Actions {
		notFound["Store.Check "+string(action)] = func(ctx context.Context) error { return e.store.Check(ctx, cref, action) }
	}
	for name, call := range notFound {
		wantErr(t, name+" from another workspace", call(b), storage.ErrNotFound)
	}

	// References across workspaces are refused as unknown records.
	_, err = e.svc.Contacts.Create(b, contacts.NewContact{FirstName: "Spy", AccountID: acct.ID})
	wantFields(t, "contact in B on A's account", err, "account_id")
	_, err = e.svc.Accounts.Create(b, contacts.NewAccount{Name: "Spy Corp", ParentID: acct.ID})
	wantFields(t, "account in B under A's account", err, "parent_id")
	_, err = e.svc.Activities.Log(b, contacts.NewActivity{Kind: contacts.KindNote, Subject: "spy", ContactIDs: []string{c.ID}})
	wantFields(t, "activity in B on A's contact", err, "contact_ids[0]")
	_, err = e.svc.Contacts.Create(b, contacts.NewContact{FirstName: "Spy", Custom: map[string]any{"tier": "gold"}})
	wantFields(t, "contact in B with A's custom field", err, "custom.tier")
	_, err = acc.CreateMember(b, access.NewMember{Name: "Spy", Role: role.Name, TeamIDs: []string{team.ID}})
	wantFields(t, "member in B with A's role and team", err, "role", "team_ids[0]")
	_, err = sl.Opportunities.Create(b, sales.NewOpportunity{Name: "Spy deal", PipelineID: pipe.ID, AccountID: acct.ID})
	wantFields(t, "deal in B in A's pipeline on A's account", err, "pipeline_id")
	_, err = sl.Leads.Convert(b, lead.ID, sales.ConvertOptions{AccountID: acct.ID})
	wantErr(t, "convert A's lead from B", err, storage.ErrNotFound)
	_, err = sl.PriceBooks.SetPrice(b, book.ID, prod.ID, storage.Money{Amount: 1, Currency: "USD"})
	wantFields(t, "price in A's book from B", err, "price_book_id")
	_, err = sl.Quotes.Create(b, sales.NewQuote{OpportunityID: opp.ID, Lines: []sales.NewLine{{ProductID: prod.ID, Quantity: 1}}})
	wantFields(t, "quote in B on A's deal and product", err, "opportunity_id", "lines[0].product_id")
	_, err = sl.Tasks.Create(b, sales.NewTask{Title: "Spy", ProjectID: proj.ID, Related: []storage.Ref{cref}})
	wantFields(t, "task in B on A's records", err, "related[0]", "project_id")
	_, _, err = sl.Orders.Record(b, sales.NewOrder{ExternalID: "spy", ContactID: c.ID, Currency: "USD",
		Lines: []sales.OrderLine{{Name: "x", Quantity: 1, UnitPrice: 1}}})
	wantFields(t, "order in B for A's contact", err, "contact_id")

	// Reads that find nothing.
	empty := map[string]func(ctx context.Context) int{
		"Contacts.List": func(ctx context.Context) int {
			p, err := e.svc.Contacts.List(ctx, storage.ListQuery{})
			must(t, "list", err)
			return len(p.Items)
		},
		"Contacts.Count": func(ctx context.Context) int {
			n, err := e.svc.Contacts.Count(ctx, nil)
			must(t, "count", err)
			return int(n)
		},
		"Accounts.List": func(ctx context.Context) int {
			p, err := e.svc.Accounts.List(ctx, storage.ListQuery{})
			must(t, "list", err)
			return len(p.Items)
		},
		"Activities.List": func(ctx context.Context) int {
			p, err := e.svc.Activities.List(ctx, storage.ListQuery{})
			must(t, "list", err)
			return len(p.Items)
		},
		"Fields.List": func(ctx context.Context) int {
			l, err := e.svc.Fields.List(ctx, contacts.ObjectContact)
			must(t, "list", err)
			return len(l)
		},
		"Search": func(ctx context.Context) int {
			r, err := e.svc.Search(ctx, "umbrella", 0)
			must(t, "search", err)
			return len(r)
		},
		"History": func(ctx context.Context) int {
			p, err := e.store.History(ctx, c.ID, storage.PageQuery{})
			must(t, "history", err)
			return len(p.Items)
		},
		"ChangeFeed": func(ctx context.Context) int { return len(e.events(ctx)) },
		"Access.ListMembers": func(ctx context.Context) int {
			p, err := acc.ListMembers(ctx, storage.ListQuery{})
			must(t, "list", err)
			return len(p.Items)
		},
		"Access.ListTeams": func(ctx context.Context) int {
			p, err := acc.ListTeams(ctx, storage.ListQuery{})
			must(t, "list", err)
			return len(p.Items)
		},
		"Access.Shares": func(ctx context.Context) int {
			l, err := acc.Shares(ctx, cref)
			must(t, "shares", err)
			return len(l)
		},
		"Leads.List": func(ctx context.Context) int {
			p, err := sl.Leads.List(ctx, storage.ListQuery{})
			must(t, "list", err)
			return len(p.Items)
		},
		"Leads.Duplicates": func(ctx context.Context) int {
			l, err := sl.Leads.Duplicates(ctx, &sales.Lead{Email: lead.Email, CompanyDomain: "umbrella.example"})
			must(t, "duplicates", err)
			return len(l)
		},
		"Pipelines.List": func(ctx context.Context) int {
			p, err := sl.Pipelines.List(ctx, storage.ListQuery{})
			must(t, "list", err)
			return len(p.Items)
		},
		"Opportunities.List": func(ctx context.Context) int {
			p, err := sl.Opportunities.List(ctx, storage.ListQuery{})
			must(t, "list", err)
			return len(p.Items)
		},
		"Store.Rollup": func(ctx context.Context) int {
			l, err := e.store.Rollup(ctx, sales.ObjectOpportunity, "pipeline", pipe.ID)
			must(t, "summary", err)
			return len(l)
		},
		"Forecasts.Compute": func(ctx context.Context) int {
			l, err := sl.Forecasts.Compute(ctx, sales.ForecastQuery{Period: quarter})
			must(t, "forecast", err)
			return len(l)
		},
		"Products.List": func(ctx context.Context) int {
			p, err := sl.Products.List(ctx, storage.ListQuery{})
			must(t, "list", err)
			return len(p.Items)
		},
		"Quotes.List": func(ctx context.Context) int {
			p, err := sl.Quotes.List(ctx, storage.ListQuery{})
			must(t, "list", err)
			return len(p.Items)
		},
		"Invoices.List": func(ctx context.Context) int {
			p, err := sl.Invoices.List(ctx, storage.ListQuery{})
			must(t, "list", err)
			return len(p.Items)
		},
		"Invoices.ExportJSON": func(ctx context.Context) int {
			var buf strings.Builder
			must(t, "export", sl.Invoices.ExportJSON(ctx, &buf, storage.ListQuery{}))
			return strings.Count(buf.String(), `"number"`)
		},
		"Tasks.Overdue": func(ctx context.Context) int {
			p, err := sl.Tasks.Overdue(ctx, "", time.Now(), storage.PageQuery{})
			must(t, "overdue", err)
			return len(p.Items)
		},
		"Projects.List": func(ctx context.Context) int {
			p, err := sl.Projects.List(ctx, storage.ListQuery{})
			must(t, "list", err)
			return len(p.Items)
		},
		"Orders.History": func(ctx context.Context) int {
			h, err := sl.Orders.History(ctx, cref)
			must(t, "history", err)
			return len(h)
		},
		"Filtered list": func(ctx context.Context) int {
			p, err := e.svc.Contacts.List(ctx, storage.ListQuery{Filter: storage.Eq("email", c.Email)})
			must(t, "list", err)
			return len(p.Items)
		},
	}
	for name, call := range empty {
		if n := call(a); n == 0 {
			t.Fatalf("%s in workspace A found nothing; the check is void", name)
		}
		if n := call(b); n != 0 {
			t.Fatalf("%s in workspace B found %d of A's records", name, n)
		}
	}

	if diff := cmp.Diff(before, snapshot()); diff != "" {
		t.Fatalf("calls from workspace B changed workspace A (-before +after):\n%s", diff)
	}
	if n := e.counts(b); n != (counts{}) {
		t.Fatalf("refused calls wrote in workspace B: %+v", n)
	}

	// Names are unique per workspace only, and an external ID of A's member
	// names nobody in C: syncing it creates C's own member.
	cc := e.in("ws-c")
	_, err = acc.CreateTeam(cc, team.Name, "")
	must(t, "team named as A's, in C", err)
	_, err = acc.DefineRole(cc, access.NewRole{Name: role.Name})
	must(t, "role named as A's, in C", err)
	synced, err := acc.SyncMember(cc, access.NewMember{ExternalID: member.ExternalID, Name: "Other", Role: access.RoleRep})
	must(t, "sync A's external ID in C", err)
	if synced.ID == member.ID || synced.Version != 1 {
		t.Errorf("sync in C touched A's member: %+v", synced)
	}
	_, err = sl.Pipelines.Create(cc, sales.NewPipeline{Name: pipe.Name})
	must(t, "pipeline named as A's, in C", err)
	_, err = sl.Products.Create(cc, sales.NewProduct{SKU: prod.SKU, Name: "Same SKU"})
	must(t, "product with A's SKU, in C", err)
	co, created, err := sl.Orders.Record(cc, sales.NewOrder{ExternalID: order.ExternalID, Currency: "USD",
		Lines: []sales.OrderLine{{Name: "x", Quantity: 1, UnitPrice: 1}}})
	must(t, "order with A's external ID, in C", err)
	if !created || co.ID == order.ID {
		t.Errorf("recording A's external ID in C returned A's order")
	}
	cq, err := sl.Quotes.Create(cc, sales.NewQuote{Name: "C's first", Currency: "USD", Lines: []sales.NewLine{{Description: "x", Quantity: 1,
		UnitPrice: &storage.Money{Amount: 1, Currency: "USD"}}}})
	must(t, "quote in C", err)
	if cq.Number != "Q-000001" {
		t.Errorf("C's first quote is %s: numbers are not per workspace", cq.Number)
	}
	if diff := cmp.Diff(before, snapshot()); diff != "" {
		t.Fatalf("writes in workspace C changed workspace A (-before +after):\n%s", diff)
	}
}
