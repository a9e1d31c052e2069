package storagetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/mailtest"
	"github.com/crmkit/crm/reporting"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/workflow"
	"github.com/crmkit/crm/workflow/smtp"
)

// testReports checks saved reports and their runs on a hand-computed data
// set: won revenue and win rate by owner with the owners' names, by
// account with the accounts' names, by month of close in a date range;
// the same report as a rep covers its own deals only; a field hidden from
// a role is ErrForbidden to group or measure; bad definitions name every
// bad part; saved reports have a history.
func testReports(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	acme := e.account(ctx, contacts.NewAccount{Name: "Acme"})
	globex := e.account(ctx, contacts.NewAccount{Name: "Globex"})
	at := func(mo time.Month, d int) time.Time { return time.Date(2026, mo, d, 12, 0, 0, 0, time.UTC) }
	for _, d := range []struct {
		owner, account, stage string
		amount                int64
		created               time.Time
	}{
		{e.repA.ID, acme.ID, "closed_won", 1000, at(1, 10)},
		{e.repA.ID, acme.ID, "closed_lost", 500, at(1, 20)},
		{e.repA.ID, globex.ID, "closed_won", 3000, at(2, 5)},
		{e.repB.ID, globex.ID, "closed_won", 2000, at(2, 15)},
		{e.repB.ID, globex.ID, "proposal", 4000, at(3, 1)},
		{e.repB.ID, "", "closed_lost", 50, at(3, 2)},
	} {
		_, err := app.Sales.Opportunities.Create(storage.WithWriteTime(ctx, d.created), sales.NewOpportunity{Name: "Deal", OwnerID: d.owner,
			AccountID: d.account, Stage: d.stage, Amount: storage.Money{Amount: d.amount, Currency: "EUR"}})
		must(t, "deal", err)
	}
	byOwner := reporting.Report{Name: "Won revenue by rep", Object: sales.ObjectOpportunity, Where: "amount >= 100",
		GroupBy: []reporting.Grouping{{Field: "owner_id"}},
		Measures: []reporting.Measure{
			{Name: "deals", Op: storage.AggCount},
			{Name: "won", Op: storage.AggCount, Where: "stage == 'closed_won'"},
			{Name: "won_revenue", Op: storage.AggSum, Field: "amount", Where: "stage == 'closed_won'"},
			{Name: "win_rate", Op: storage.AggRatio, Of: [2]string{"won", "deals"}},
		},
		Sort: []reporting.Order{{By: "won_revenue", Desc: true}}}
	res, err := app.Reporting.Reports.Run(ctx, byOwner, reporting.Params{})
	must(t, "run by owner", err)
	want := &reporting.Result{
		Columns: []reporting.Column{{Name: "owner_id"}, {Name: "deals", Measure: true}, {Name: "won", Measure: true},
			{Name: "won_revenue", Measure: true}, {Name: "win_rate", Measure: true}},
		Rows: []reporting.Row{
			{Values: []any{e.repA.ID, int64(3), int64(2), int64(4000), 2.0 / 3}, Labels: []string{"Rep A"}},
			{Values: []any{e.repB.ID, int64(2), int64(1), int64(2000), 0.5}, Labels: []string{"Rep B"}},
		}}
	if d := gocmp.Diff(want, res); d != "" {
		t.Errorf("won revenue by rep (-want +got):\n%s", d)
	}

	// As rep A: its own deals only, and its own name.
	mine, err := app.Reporting.Reports.Run(e.as(e.repA), byOwner, reporting.Params{})
	must(t, "run as a rep", err)
	if len(mine.Rows) != 1 || mine.Rows[0].Values[0] != e.repA.ID || mine.Rows[0].Values[1] != int64(3) {
		t.Errorf("the report as rep A = %+v, want its 3 deals only", mine.Rows)
	}

	// By account and by month of creation, in a date range.
	byAccount := reporting.Report{Name: "By account and month", Object: sales.ObjectOpportunity, TimeZone: "Europe/Paris",
		GroupBy:  []reporting.Grouping{{Field: "account_id"}, {Field: "created_at", Bucket: storage.BucketMonth}},
		Measures: []reporting.Measure{{Name: "amount", Op: storage.AggSum, Field: "amount"}}}
	res, err = app.Reporting.Reports.Run(ctx, byAccount, reporting.Params{From: at(2, 1), To: at(3, 2)})
	must(t, "run by account", err)
	paris, _ := time.LoadLocation("Europe/Paris")
	feb, mar := time.Date(2026, 2, 1, 0, 0, 0, 0, paris), time.Date(2026, 3, 1, 0, 0, 0, 0, paris)
	wantRows := []reporting.Row{
		{Values: []any{globex.ID, feb, int64(5000)}, Labels: []string{"Globex", ""}},
		{Values: []any{globex.ID, mar, int64(4000)}, Labels: []string{"Globex", ""}},
	}
	if d := gocmp.Diff(wantRows, res.Rows, gocmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
		t.Errorf("by account and month in February and March (-want +got):\n%s", d)
	}

	// By a field of the related account.
	byIndustry := reporting.Report{Name: "By account name", Object: sales.ObjectOpportunity,
		GroupBy:  []reporting.Grouping{{Field: "account.name"}},
		Measures: []reporting.Measure{{Name: "deals", Op: storage.AggCount}, {Name: "amount", Op: storage.AggSum, Field: "amount"}}}
	res, err = app.Reporting.Reports.Run(ctx, byIndustry, reporting.Params{})
	must(t, "run by account name", err)
	wantByName := []reporting.Row{
		{Values: []any{"Acme", int64(2), int64(1500)}},
		{Values: []any{"Globex", int64(3), int64(9000)}},
		{Values: []any{nil, int64(1), int64(50)}},
	}
	if d := gocmp.Diff(wantByName, res.Rows); d != "" {
		t.Errorf("by account name (-want +got):\n%s", d)
	}
	// As rep B: its deals are with Globex (owned by rep A's team, which rep
	// B may not read: no value) and with no account.
	_, err = app.Accounts.Update(ctx, globex.ID, contacts.UpdateAccount{OwnerID: ptr(e.repA.ID)})
	must(t, "globex to rep A", err)
	res, err = app.Reporting.Reports.Run(e.as(e.repB), byIndustry, reporting.Params{})
	must(t, "run by account name as rep B", err)
	if d := gocmp.Diff([]reporting.Row{{Values: []any{nil, int64(3), int64(6050)}}}, res.Rows); d != "" {
		t.Errorf("by account name as rep B, who may not read Globex (-want +got):\n%s", d)
	}
	if _, err := app.Reporting.Reports.Run(ctx, reporting.Report{Name: "x", Object: sales.ObjectOpportunity,
		GroupBy: []reporting.Grouping{{Field: "spaceship.name"}}, Measures: []reporting.Measure{{Name: "n", Op: storage.AggCount}}}, reporting.Params{}); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("grouping by a field of no related record: %v, want ErrInvalid", err)
	}

	// A field hidden from a role: grouping or measuring it is forbidden.
	all := map[storage.Action]storage.Scope{storage.ActionRead: storage.ScopeAll}
	_, err = e.acc.DefineRole(ctx, access.NewRole{Name: "no_amounts", Permissions: storage.Permissions{storage.AnyType: all},
		Fields: storage.FieldRules{sales.ObjectOpportunity: {"amount": storage.FieldHidden}}})
	must(t, "role", err)
	m, err := e.acc.CreateMember(ctx, access.NewMember{Name: "No amounts", Role: "no_amounts"})
	must(t, "member", err)
	if _, err := app.Reporting.Reports.Run(e.as(m), byOwner, reporting.Params{}); !errors.Is(err, storage.ErrForbidden) {
		t.Errorf("measuring a hidden field: %v, want ErrForbidden", err)
	}
	if _, err := app.Reporting.Reports.Run(e.as(m), reporting.Report{Name: "x", Object: sales.ObjectOpportunity,
		GroupBy: []reporting.Grouping{{Field: "amount"}}, Measures: []reporting.Measure{{Name: "n", Op: storage.AggCount}}}, reporting.Params{}); !errors.Is(err, storage.ErrForbidden) {
		t.Errorf("grouping by a hidden field: %v, want ErrForbidden", err)
	}

	// Bad definitions name every bad part.
	_, err = app.Reporting.Reports.Create(ctx, reporting.Report{Object: sales.ObjectOpportunity, Where: "amount >",
		GroupBy:  []reporting.Grouping{{Field: "colour"}, {Field: "name", Bucket: storage.BucketMonth}, {Field: "stage"}},
		Measures: []reporting.Measure{{Name: "Deals", Op: storage.AggCount}, {Name: "r", Op: storage.AggRatio, Of: [2]string{"x", "Deals"}}},
		Sort:     []reporting.Order{{By: "nothing"}}, TimeZone: "Mars/Olympus", Limit: -1})
	wantFields(t, "a bad report", err, "name", "where", "group_by", "group_by[0].field", "group_by[1].bucket",
		"measures[0].name", "measures[1].of[0]", "sort[0].by", "limit", "time_zone")
	_, err = app.Reporting.Reports.Create(ctx, reporting.Report{Name: "x", Object: "spaceship", Measures: []reporting.Measure{{Name: "n", Op: storage.AggCount}}})
	wantFields(t, "a report on no type", err, "object")

	// Saved, changed, run, with a history.
	saved, err := app.Reporting.Reports.Create(ctx, byOwner)
	must(t, "save", err)
	byOwner.Where = "amount >= 1000"
	saved, err = app.Reporting.Reports.Update(ctx, saved.ID, saved.Version, byOwner)
	must(t, "update", err)
	res, err = app.Reporting.Reports.RunSaved(ctx, saved.ID, reporting.Params{})
	must(t, "run saved", err)
	if len(res.Rows) != 2 || res.Rows[0].Values[1] != int64(2) || res.Rows[1].Values[1] != int64(2) {
		t.Errorf("the saved report after its change = %+v, want 2 deals of 1,000 or more each", res.Rows)
	}
	hist, err := app.History(ctx, saved.ID, storage.PageQuery{})
	must(t, "history", err)
	if len(hist.Items) != 2 {
		t.Errorf("the saved report's history has %d events, want 2", len(hist.Items))
	}
	page, err := app.Reporting.Reports.List(ctx, storage.ListQuery{})
	must(t, "list", err)
	if len(page.Items) != 1 || page.Items[0].Name != "Won revenue by rep" {
		t.Errorf("saved reports = %+v", page.Items)
	}
}

// testReportMail checks send_report end to end: a rule on a weekly
// schedule mails a saved report, as a text and an HTML table, through
// workflow/smtp to a real SMTP server on localhost; a rule naming no
// report or no recipient is refused when saved.
func testReportMail(t *testing.T, h Harness) {
	srv := mailtest.Start(t, mailtest.Options{})
	mailer, err := smtp.New(smtp.Config{Host: srv.Host, Port: srv.Port, TLS: smtp.TLSNone, From: "Acme CRM <crm@acme.example>"})
	must(t, "mailer", err)
	f := newFlow(t, h, workflow.Config{Mailer: mailer})
	for _, amount := range []int64{1200, 3400} {
		_, err := f.app.Sales.Opportunities.Create(f.ctx, sales.NewOpportunity{Name: "Deal", Stage: "proposal",
			Amount: storage.Money{Amount: amount, Currency: "EUR"}})
		must(t, "deal", err)
	}
	rep, err := f.app.Reporting.Reports.Create(f.ctx, reporting.Report{Name: "Pipeline & stages", Object: sales.ObjectOpportunity,
		GroupBy: []reporting.Grouping{{Field: "stage"}}, Measures: []reporting.Measure{{Name: "amount", Op: storage.AggSum, Field: "amount"}}})
	must(t, "report", err)
	_, err = f.app.Workflow.Rules.Create(f.ctx, workflow.NewRule{Name: "Bad", Trigger: workflow.Trigger{Kind: workflow.OnSchedule, Cron: "0 9 * * 1"},
		Actions: []workflow.Action{workflow.NewAction(reporting.ActionSendReport, reporting.SendReportParams{Report: storage.NewID()})}})
	wantFields(t, "a send_report of no report to no one", err, "actions[0].params")
	r := f.rule(workflow.NewRule{Name: "Monday report", Enabled: true, Trigger: workflow.Trigger{Kind: workflow.OnSchedule, Cron: "0 9 * * 1"},
		Actions: []workflow.Action{workflow.NewAction(reporting.ActionSendReport, reporting.SendReportParams{Report: rep.ID, To: []string{"team@acme.example"}})}})
	f.settle() // the first scan starts the schedule
	f.clock.Add(8 * 24 * time.Hour)
	f.settle()
	runs := f.runs(r.ID)
	if len(runs) == 0 || runs[0].State != workflow.RunSucceeded {
		t.Fatalf("runs of the report rule: %+v", runs)
	}
	got := srv.Accepted()
	if len(got) == 0 {
		t.Fatal("no report was mailed")
	}
	m, err := got[0].Parse()
	must(t, "parse", err)
	if m.Subject != "Report: Pipeline & stages" || got[0].To[0] != "team@acme.example" ||
		!strings.Contains(m.Text, "Proposal") || !strings.Contains(m.Text, "4600") ||
		!strings.Contains(m.HTML, "<td>4600</td>") || !strings.Contains(m.HTML, "Pipeline &amp; stages") {
		t.Errorf("the mailed report: subject %q\ntext %q\nhtml %q", m.Subject, m.Text, m.HTML)
	}
}
