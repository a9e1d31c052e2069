package storagetest

import (
	"fmt"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
)

// testFunnelCohorts checks a pipeline's funnel (deals that reached each
// stage or a later one, skipped stages and lost deals included) and the
// cohort table of orders (first-order month × months since, cancelled
// orders and customers who first ordered before the range left out), both
// on hand-computed data.
func testFunnelCohorts(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	s := app.Sales
	for _, path := range [][]string{
		{"prospecting", "qualification", "proposal", "closed_won"},
		{"prospecting", "qualification", "closed_lost"},
		{"prospecting"},
		{"proposal"},
	} {
		o, err := s.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Deal", Stage: path[0]})
		must(t, "deal", err)
		for _, st := range path[1:] {
			_, err = s.Opportunities.MoveStage(ctx, o.ID, st, sales.MoveOptions{})
			must(t, "move", err)
		}
	}
	steps, err := s.Opportunities.Funnel(ctx, "", time.Time{}, time.Time{})
	must(t, "funnel", err)
	want := []sales.FunnelStep{
		{Stage: "prospecting", Name: "Prospecting", Count: 4, Conversion: 1, DropOff: 0, FromFirst: 1},
		{Stage: "qualification", Name: "Qualification", Count: 3, Conversion: 0.75, DropOff: 0.25, FromFirst: 0.75},
		{Stage: "proposal", Name: "Proposal", Count: 2, Conversion: 2.0 / 3, DropOff: 1.0 / 3, FromFirst: 0.5},
		{Stage: "negotiation", Name: "Negotiation", Count: 1, Conversion: 0.5, DropOff: 0.5, FromFirst: 0.25},
		{Stage: "closed_won", Name: "Closed won", Count: 1, Conversion: 1, DropOff: 0, FromFirst: 0.25},
	}
	if d := gocmp.Diff(want, steps, cmpopts.EquateApprox(0, 1e-9)); d != "" {
		t.Errorf("funnel (-want +got):\n%s", d)
	}

	day := func(y int, mo time.Month, d int) time.Time { return time.Date(y, mo, d, 12, 0, 0, 0, time.UTC) }
	n := 0
	order := func(c *contacts.Contact, at time.Time, status string) {
		t.Helper()
		n++
		_, _, err := s.Orders.Record(ctx, sales.NewOrder{ExternalID: fmt.Sprint("o", n), ContactID: c.ID, Currency: "EUR", OrderedAt: at,
			Status: status, Lines: []sales.OrderLine{{Name: "Tea", Quantity: 1, UnitPrice: 100}}})
		must(t, "order", err)
	}
	c1, c2, c3, c4, c5 := e.contact(ctx, contacts.NewContact{FirstName: "C1"}), e.contact(ctx, contacts.NewContact{FirstName: "C2"}),
		e.contact(ctx, contacts.NewContact{FirstName: "C3"}), e.contact(ctx, contacts.NewContact{FirstName: "C4"}), e.contact(ctx, contacts.NewContact{FirstName: "C5"})
	order(c1, day(2026, 1, 10), "")
	order(c1, day(2026, 2, 3), "")
	order(c1, day(2026, 3, 20), "")
	order(c2, day(2026, 1, 15), "")
	order(c2, day(2026, 3, 1), "")
	order(c3, day(2026, 2, 2), "")
	order(c3, day(2026, 2, 20), "")
	order(c4, day(2025, 12, 5), "")
	order(c4, day(2026, 1, 7), "")
	order(c5, day(2026, 1, 20), sales.OrderCancelled)
	order(c5, day(2026, 2, 10), "")
	order(c1, day(2026, 4, 2), "") // after the range
	cohorts, err := s.Orders.Cohorts(ctx, day(2026, 1, 1).Truncate(24*time.Hour), day(2026, 4, 1).Truncate(24*time.Hour), nil)
	must(t, "cohorts", err)
	month := func(m time.Month) time.Time { return time.Date(2026, m, 1, 0, 0, 0, 0, time.UTC) }
	wantC := []sales.Cohort{
		{Start: month(1), Customers: 2, Active: []int64{2, 1, 2}, Retained: []float64{1, 0.5, 1}},
		{Start: month(2), Customers: 2, Active: []int64{2, 0}, Retained: []float64{1, 0}},
		{Start: month(3), Customers: 0, Active: []int64{0}, Retained: []float64{0}},
	}
	if d := gocmp.Diff(wantC, cohorts); d != "" {
		t.Errorf("cohorts (-want +got):\n%s", d)
	}
}
