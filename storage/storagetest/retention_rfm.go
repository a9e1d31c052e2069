package storagetest

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/marketing/retention"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow"
)

// testRetentionRFM computes RFM from orders and a won deal worked out by
// hand (refunds, a cancelled order and an order in another currency
// included), keeps it current from the change feed, and checks that a
// refresh with nothing bought writes nothing.
func testRetentionRFM(t *testing.T, h Harness) {
	e := newEnv(t, h)
	n := storage.Truncate(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	clock := &fakeClock{t: n}
	wf := workflow.Config{Now: clock.Now}
	if h.RowLevelSecurity {
		wf.Workspaces = []string{storage.WorkspaceFrom(e.ctx)}
	}
	app, err := crm.New(e.ctx, e.store, crm.Config{Workflow: wf, Retention: retention.Options{Now: clock.Now}})
	must(t, "crm.New", err)
	ctx := e.ctx
	rfm := app.Retention.RFM
	ago := func(days float64) time.Time { return n.Add(-time.Duration(days * float64(24*time.Hour))) }
	ext := 0
	order := func(c *contacts.Contact, daysAgo float64, amount int64, currency, status string) *sales.Order {
		t.Helper()
		ext++
		o, _, err := app.Sales.Orders.Record(ctx, sales.NewOrder{ExternalID: name(ext), ContactID: c.ID, Currency: currency,
			Status: status, OrderedAt: ago(daysAgo), Lines: []sales.OrderLine{{Name: "Tea", Quantity: 1, UnitPrice: amount}}})
		must(t, "order", err)
		return o
	}
	mk := func(first string) *contacts.Contact { return e.contact(ctx, contacts.NewContact{FirstName: first}) }
	a, b, c, d, ee, f, g := mk("A"), mk("B"), mk("C"), mk("D"), mk("E"), mk("F"), mk("G")

	// A: three orders 15 days apart, the latest refunded in part.
	refunded := order(a, 7, 10000, "USD", "")
	_, err = app.Sales.Orders.Refund(ctx, refunded.ID, 2000)
	must(t, "refund", err)
	order(a, 22, 5000, "USD", "")
	order(a, 37, 5000, "USD", "")
	// B: one order, a cancelled one, and a deal won now.
	order(b, 4, 3000, "USD", "")
	order(b, 2, 9900, "USD", sales.OrderCancelled)
	_, err = app.Sales.Opportunities.Create(storage.WithWriteTime(ctx, n), sales.NewOpportunity{Name: "Deal", ContactID: b.ID,
		Stage: "closed_won", Amount: storage.Money{Amount: 2000, Currency: "USD"}})
	must(t, "won deal", err)
	// C: two large orders 60 days apart; D: one small order long ago.
	order(c, 151, 50000, "USD", "")
	order(c, 91, 50000, "USD", "")
	order(d, 182, 1000, "USD", "")
	// E: four orders 10 days apart; G: one in euros; F buys nothing.
	for _, days := range []float64{120, 110, 100, 90} {
		order(ee, days, 2500, "USD", "")
	}
	order(g, 1, 1000, "EUR", "")

	res, err := rfm.Refresh(ctx)
	must(t, "refresh", err)
	if res.Customers != 6 || res.Created != 6 || res.Updated != 0 {
		t.Fatalf("refresh = %+v, want 6 customers created", res)
	}
	cuts, err := rfm.Cuts(ctx)
	must(t, "cuts", err)
	// Six customers: the k-th cut point is the value at rank ⌈6k/5⌉ (2, 3, 4, 5).
	if cuts.Currency != "USD" || cuts.IntervalDays != 12.5 ||
		!timesEqual(cuts.Recency, []time.Time{ago(91), ago(90), ago(7), ago(1)}) ||
		!slicesEqual(cuts.Frequency, []int64{1, 2, 2, 3}) || !slicesEqual(cuts.Monetary, []int64{1000, 5000, 10000, 18000}) {
		t.Fatalf("cuts = %+v", cuts)
	}
	type want struct {
		orders   int64
		spent    int64
		score    string
		segment  string
		interval float64
		own      bool
	}
	check := func(who *contacts.Contact, w want) *retention.RFM {
		t.Helper()
		r, err := rfm.Get(ctx, who.ID)
		must(t, "get "+who.FirstName, err)
		if r.Orders != w.orders || r.Spent != w.spent || r.Score != w.score || r.Segment != w.segment ||
			math.Abs(r.IntervalDays-w.interval) > 1e-9 || r.OwnInterval != w.own {
			t.Errorf("%s: %+v, want %+v", who.FirstName, r, w)
		}
		return r
	}
	check(a, want{3, 18000, "344", retention.SegmentLoyal, 15, true})
	check(b, want{2, 5000, "522", retention.SegmentPotential, 4, true})
	rc := check(c, want{2, 100000, "125", retention.SegmentAtRisk, 60, true})
	rd := check(d, want{1, 1000, "111", retention.SegmentLost, 12.5, false})
	check(ee, want{4, 10000, "253", retention.SegmentAtRisk, 10, true})
	check(g, want{1, 0, "411", retention.SegmentPromising, 12.5, false})
	if _, err := rfm.Get(ctx, f.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("F bought nothing, but has an RFM record (%v)", err)
	}
	if !rc.NextAt.Equal(ago(31)) || !rd.NextAt.Equal(ago(182-12.5)) {
		t.Errorf("next_at: C %v, D %v", rc.NextAt, rd.NextAt)
	}

	// A contact's RFM record extends it in expressions: lists, counts and
	// segments filter on it, and a contact without one has none.
	whose := func(src string) []string {
		t.Helper()
		page, err := app.Contacts.Where(ctx, src, storage.ListQuery{Sort: []storage.Sort{{Field: "first_name"}}})
		must(t, "where "+src, err)
		var names []string
		for _, c := range page.Items {
			names = append(names, c.FirstName)
		}
		return names
	}
	for src, want := range map[string][]string{
		"rfm.segment == 'at_risk'":            {"C", "E"},
		"rfm.r >= 4 && rfm.orders >= 2":       {"B"},
		"rfm.segment == nil":                  {"F"},
		"rfm.own_interval == false":           {"D", "G"},
		"!(rfm.segment in ['lost', 'loyal'])": {"B", "C", "E", "F", "G"},
	} {
		if got := whose(src); !slicesEqual(got, want) {
			t.Errorf("%s: %v, want %v", src, got, want)
		}
	}

	// Churn: C bought 91 days ago and buys every 60: 1 − e^(−31/60).
	risk, err := app.Retention.Churn.Risk(ctx, c.ID)
	must(t, "risk", err)
	if math.Abs(risk.Risk-(1-math.Exp(-31.0/60))) > 1e-9 || risk.High || !risk.OwnInterval || math.Abs(risk.Overdue-91.0/60) > 1e-9 {
		t.Errorf("C's risk = %+v", risk)
	}
	if risk, err := app.Retention.Churn.Risk(ctx, d.ID); err != nil || !risk.High || risk.OwnInterval {
		t.Errorf("D's risk = %+v, %v; want high, by the workspace's interval", risk, err)
	}

	// Nothing bought: a refresh writes nothing, whatever the clock says.
	clock.Add(30 * 24 * time.Hour)
	res, err = rfm.Refresh(ctx)
	must(t, "refresh again", err)
	if res.Created+res.Updated+res.Deleted != 0 {
		t.Errorf("a refresh with nothing bought wrote %+v", res)
	}

	// Kept from the feed: D orders again; the order refunded in full
	// drops out of A's figures; F's first order gives it a record.
	_, err = rfm.Sync(ctx) // the history so far
	must(t, "sync", err)
	order(d, -29, 4000, "USD", "") // the clock is 30 days on
	_, err = app.Sales.Orders.Refund(ctx, refunded.ID, 8000)
	must(t, "refund the rest", err)
	order(f, -30, 500, "USD", "")
	_, err = rfm.Sync(ctx)
	must(t, "sync", err)
	check(d, want{2, 5000, "522", retention.SegmentPotential, 182 + 29, true})
	check(a, want{2, 10000, "323", retention.SegmentNeedAttention, 15, true})
	check(f, want{1, 500, "511", retention.SegmentNew, 12.5, false})
	// After a refresh (the new cut points), what the feed kept equals a
	// full recompute.
	_, err = rfm.Refresh(ctx)
	must(t, "refresh", err)
	res, err = rfm.Rescore(ctx)
	must(t, "rescore", err)
	if res.Created+res.Updated+res.Deleted != 0 {
		t.Errorf("a full rescore after syncs wrote %+v", res)
	}
	// The next sync reads the records the last one wrote, and writes
	// nothing more.
	_, err = rfm.Sync(ctx)
	must(t, "sync", err)
	if n, err := rfm.Sync(ctx); err != nil || n != 0 {
		t.Errorf("a sync with nothing new read %d events (%v)", n, err)
	}
}

func timesEqual(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// testRetentionWinBack runs the win-back sequence: customers enter when
// their churn risk turns high (a time trigger at churn_at), get its steps,
// and leave when they order again.
func testRetentionWinBack(t *testing.T, h Harness) {
	e := newEnv(t, h)
	n := storage.Now()
	clock := &fakeClock{t: n}
	wf := workflow.Config{Now: clock.Now}
	if h.RowLevelSecurity {
		wf.Workspaces = []string{storage.WorkspaceFrom(e.ctx)}
	}
	app, err := crm.New(e.ctx, e.store, crm.Config{Workflow: wf, Retention: retention.Options{Now: clock.Now}})
	must(t, "crm.New", err)
	f := &flow{env: e, app: app, clock: clock}
	ctx := f.ctx
	ext := 0
	order := func(c *contacts.Contact, at time.Time) {
		t.Helper()
		ext++
		_, _, err := app.Sales.Orders.Record(ctx, sales.NewOrder{ExternalID: name(ext), ContactID: c.ID, Currency: "USD",
			OrderedAt: at, Lines: []sales.OrderLine{{Name: "Coffee", Quantity: 1, UnitPrice: 1500}}})
		must(t, "order", err)
	}
	// Stays and Returns buy every 10 days, the last time 10 days ago:
	// high risk 2.2 intervals after it, 12 days from now. Weekly buys every
	// 30 days, the last time yesterday.
	stays, returns := e.contact(ctx, contacts.NewContact{FirstName: "Stays"}), e.contact(ctx, contacts.NewContact{FirstName: "Returns"})
	yearly := e.contact(ctx, contacts.NewContact{FirstName: "Monthly"})
	day := 24 * time.Hour
	for _, c := range []*contacts.Contact{stays, returns} {
		order(c, n.Add(-20*day))
		order(c, n.Add(-10*day))
	}
	order(yearly, n.Add(-31*day))
	order(yearly, n.Add(-1*day))
	_, err = app.Retention.RFM.Refresh(ctx)
	must(t, "refresh", err)

	_, err = retention.WinBack{Name: "Win back"}.Rules()
	wantFields(t, "a win-back without steps", err, "steps")
	rules, err := retention.WinBack{Name: "Win back", When: "orders >= 2", Steps: []workflow.Action{
		workflow.AddTag("winback1"), workflow.Wait(7 * 24 * time.Hour), workflow.AddTag("winback2")}}.Rules()
	must(t, "win-back rules", err)
	for _, r := range rules {
		_, err := app.Workflow.Rules.Create(ctx, workflow.NewRule{Name: r.Name, Enabled: r.Enabled, Trigger: r.Trigger,
			Condition: r.Condition, Actions: r.Actions, Exit: r.Exit})
		must(t, "save rule "+r.Name, err)
	}
	settle := func() {
		t.Helper()
		for range 5 {
			_, err := app.Retention.RFM.Sync(ctx)
			must(t, "rfm sync", err)
			f.settle()
		}
	}
	tags := func(c *contacts.Contact) []string { return f.contactNow(c.ID).Tags }
	settle()
	if got := tags(stays); slices.Contains(got, "winback1") {
		t.Fatalf("entered before the risk turned high: %v", got)
	}
	clock.Add(13 * day)
	settle()
	for _, c := range []*contacts.Contact{stays, returns} {
		if got := tags(c); !slices.Contains(got, "winback1") {
			t.Fatalf("%s did not enter at high risk: tags %v", c.FirstName, got)
		}
	}
	if got := tags(yearly); slices.Contains(got, "winback1") {
		t.Errorf("a customer on time entered: %v", got)
	}
	order(returns, clock.Now())
	settle()
	clock.Add(8 * day)
	settle()
	if got := tags(stays); !slices.Contains(got, "winback2") {
		t.Errorf("Stays did not get step 2: %v", got)
	}
	if got := tags(returns); slices.Contains(got, "winback2") {
		t.Errorf("Returns got step 2 after ordering: %v", got)
	}
}

// testRetentionChurnModel trains the churn model on customers who kept
// buying and customers who stopped before the cut-off, and checks that it
// beats the base rate on the held-out ones and explains its predictions.
func testRetentionChurnModel(t *testing.T, h Harness) {
	e := newEnv(t, h)
	n := storage.Now()
	clock := &fakeClock{t: n}
	app, err := crm.New(e.ctx, e.store, crm.Config{Retention: retention.Options{Now: clock.Now}})
	must(t, "crm.New", err)
	ctx := e.ctx
	_, err = app.Retention.Churn.Train(ctx, retention.TrainChurn{HorizonDays: -1})
	wantFields(t, "a bad horizon", err, "horizon_days")
	_, err = app.Retention.Churn.Train(ctx, retention.TrainChurn{})
	wantFields(t, "no customers", err, "examples")

	day := 24 * time.Hour
	var orders []*sales.Order
	kind := map[string]int{}
	for i := range 150 {
		contact := storage.NewID()
		kind[contact] = i % 5
		interval := time.Duration(10+(i%4)*5) * day
		last := map[int]time.Time{0: n, 1: n, 2: n.Add(-200 * day), 3: n.Add(-200 * day), 4: n.Add(-100 * day)}[i%5]
		for at := n.Add(-300*day + time.Duration(i)*time.Hour); !at.After(last); at = at.Add(interval) {
			orders = append(orders, &sales.Order{ExternalID: storage.NewID(), ContactID: contact, Currency: "USD", Total: 2000 + int64(i)*10,
				Status: sales.OrderPaid, OrderedAt: at})
		}
	}
	must(t, "orders", storage.InsertMany(ctx, e.store, storage.TableOf[*sales.Order](e.store), orders))
	_, err = app.Retention.RFM.Refresh(ctx)
	must(t, "refresh", err)
	m, err := app.Retention.Churn.Train(ctx, retention.TrainChurn{})
	must(t, "train", err)
	mt := m.Metrics
	if mt.Train+mt.Test != 150 || mt.Test == 0 || mt.Accuracy <= mt.Baseline || mt.AUC < 0.8 {
		t.Fatalf("metrics = %+v: want every customer an example and held-out accuracy above the base rate", mt)
	}
	if got, err := app.Retention.Churn.Model(ctx); err != nil || got.ID != m.ID {
		t.Fatalf("model = %v, %v", got, err)
	}
	// Predictions now: those who kept buying are unlikely to stop; those
	// silent for 200 days are likely to.
	for contact, k := range kind {
		if k == 4 {
			continue
		}
		p, err := app.Retention.Churn.Predict(ctx, contact)
		must(t, "predict", err)
		sum := p.Intercept
		for _, c := range p.Contributions {
			sum += c.Points
		}
		if math.Abs(sum-p.Logit) > 1e-9 || len(p.Contributions) != 4 {
			t.Fatalf("contributions %+v do not add up to the log-odds %v", p.Contributions, p.Logit)
		}
		if stays := k < 2; stays && p.Probability > 0.5 || !stays && p.Probability < 0.5 {
			t.Errorf("kind %d: chance of churn %.2f", k, p.Probability)
		}
	}
}
