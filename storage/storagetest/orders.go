package storagetest

import (
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow"
)

// testOrderLifecycle checks what a shop does with an order after it is
// placed: recorded again with new data it is updated, its status moves
// (each move its own event, which a workflow rule on orders acts on), it
// is refunded in part and in full, or cancelled, and the purchase history
// (count, net total, last order, average) stays exact; an order takes its
// contact's owner, so the rep who owns the customer sees what it bought.
func testOrderLifecycle(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	s := e.sales()
	repCtx := e.as(e.repA)
	c := e.contact(e.sys, contacts.NewContact{FirstName: "Buyer", OwnerID: e.repA.ID, TeamID: e.teamX.ID})
	wf := workflow.Config{}
	if h.RowLevelSecurity {
		wf.Workspaces = []string{storage.WorkspaceFrom(e.sys)}
	}
	app, err := crm.New(e.sys, e.store, crm.Config{Workflow: wf})
	must(t, "crm.New", err)
	for _, r := range []struct{ name, event string }{{"Notify the warehouse", "created"}, {"Ship it", "paid"}} {
		_, err = app.Workflow.Rules.Create(e.sys, workflow.NewRule{Name: r.name, Enabled: true,
			Trigger: workflow.Trigger{Kind: workflow.OnEvent, Object: sales.ObjectOrder, Events: []string{r.event}},
			Actions: []workflow.Action{workflow.CreateTask(workflow.TaskParams{Title: r.name + " {{.external_id}}"})}})
		must(t, "a rule on orders", err)
	}

	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	line := func(price int64) []sales.OrderLine {
		return []sales.OrderLine{{Name: "Tea", Quantity: 1, UnitPrice: price}}
	}
	o, created, err := s.Orders.Record(e.sys, sales.NewOrder{ExternalID: "o-1", ContactID: c.ID, Currency: "EUR", OrderedAt: at, Lines: line(1000)})
	must(t, "record", err)
	if !created || o.Status != sales.OrderPlaced || o.OwnerID != e.repA.ID || o.TeamID != e.teamX.ID {
		t.Fatalf("recorded order = %+v, want placed, owned by the contact's owner", o)
	}
	// Recorded again with new data: updated, not ignored.
	o2, created, err := s.Orders.Record(e.sys, sales.NewOrder{ExternalID: "o-1", ContactID: c.ID, Currency: "EUR", OrderedAt: at,
		Status: sales.OrderPaid, Lines: line(1200)})
	must(t, "record again", err)
	if created || o2.ID != o.ID || o2.Total != 1200 || o2.Status != sales.OrderPaid || o2.Version != 2 {
		t.Fatalf("recorded again with new data = %+v (created %v)", o2, created)
	}
	same, _, err := s.Orders.Record(e.sys, sales.NewOrder{ExternalID: "o-1", ContactID: c.ID, Currency: "EUR", OrderedAt: at,
		Status: sales.OrderPaid, Lines: line(1200)})
	must(t, "record the same", err)
	if same.Version != 2 {
		t.Errorf("recording an unchanged order wrote it (version %d)", same.Version)
	}
	_, err = s.Orders.Update(e.sys, o.ID, 0, sales.UpdateOrder{Status: ptr(sales.OrderShipped)})
	must(t, "ship", err)
	_, err = s.Orders.Update(e.sys, o.ID, 0, sales.UpdateOrder{Status: ptr("lost in the post")})
	wantFields(t, "an unknown status", err, "status")

	for i, price := range []int64{500, 300} {
		_, _, err := s.Orders.Record(e.sys, sales.NewOrder{ExternalID: "o-" + string(rune('2'+i)), ContactID: c.ID, Currency: "EUR",
			OrderedAt: at.AddDate(0, 0, i+1), Status: sales.OrderPaid, Lines: line(price)})
		must(t, "record", err)
	}
	history := func() sales.Purchases {
		t.Helper()
		hs, err := s.Orders.History(repCtx, storage.Ref{Type: contacts.ObjectContact, ID: c.ID})
		must(t, "history as the rep", err)
		if len(hs) != 1 {
			t.Fatalf("history = %+v", hs)
		}
		return hs[0]
	}
	if got := history(); got.Orders != 3 || got.Spent != 2000 || got.Average != 667 || !got.Last.Equal(at.AddDate(0, 0, 2)) {
		t.Errorf("history of three orders = %+v", got)
	}
	// A partial refund lowers the net; a full one and a cancel drop the
	// order.
	page, err := s.Orders.List(e.sys, storage.ListQuery{Filter: storage.Eq("external_id", "o-2")})
	must(t, "o-2", err)
	o3 := page.Items[0]
	_, err = s.Orders.Refund(e.sys, o.ID, 200)
	must(t, "partial refund", err)
	_, err = s.Orders.Refund(e.sys, o.ID, 2000)
	wantFields(t, "refunding more than is left", err, "amount")
	if got := history(); got.Orders != 3 || got.Spent != 1800 {
		t.Errorf("after a partial refund = %+v", got)
	}
	r, err := s.Orders.Refund(e.sys, o.ID, 1000)
	must(t, "full refund", err)
	if r.Status != sales.OrderRefunded || r.Refunded != 1200 {
		t.Errorf("refunded in full = %+v", r)
	}
	_, err = s.Orders.Cancel(e.sys, o3.ID)
	must(t, "cancel", err)
	if got := history(); got.Orders != 1 || got.Spent != 300 || got.Average != 300 || !got.Last.Equal(at.AddDate(0, 0, 2)) {
		t.Errorf("after a refund and a cancel = %+v", got)
	}
	_, err = s.Orders.Refund(e.sys, o3.ID, 1)
	wantErr(t, "refunding a cancelled order", err, storage.ErrConflict)

	// Each status move is its own event.
	var types []string
	hist, err := e.store.History(e.sys, o.ID, storage.PageQuery{Limit: 20})
	must(t, "order history", err)
	for i := len(hist.Items) - 1; i >= 0; i-- {
		types = append(types, hist.Items[i].Type)
	}
	want := []string{"order.created", "order.paid", "order.shipped", "order.updated", "order.refunded"}
	if len(types) != len(want) {
		t.Fatalf("order events = %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("order events = %v, want %v", types, want)
		}
	}
	// The rules on orders ran: one per order recorded, one for the order
	// paid after it was recorded (those recorded paid are created).
	e.sync()
	_, err = app.Workflow.Drain(e.sys)
	must(t, "drain", err)
	if n := count(t, e.sys, storage.TableOf[*sales.Task](e.store)); n != 4 {
		t.Errorf("the rules on orders made %d tasks, want 4", n)
	}
}
