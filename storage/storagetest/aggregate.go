package storagetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// testAggregate checks every function of the store's aggregates
// (storage.Aggregator) on deals: grouped, with a condition per measure,
// without groups (no row for no record), within a member's read scope
// (the same figures as the deals it lists, added up in Go), and its
// refusals of bad queries.
func testAggregate(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	s := e.sales()
	ctx := e.sys
	day := func(d int) time.Time { return time.Date(2027, 3, d, 0, 0, 0, 0, time.UTC) }
	prob := func(p int) *int { return &p }
	for _, in := range []sales.NewOpportunity{
		{Name: "A", Amount: storage.Money{Amount: 100, Currency: "USD"}, OwnerID: e.repA.ID, Probability: prob(10), ExpectedClose: day(3)},
		{Name: "B", Amount: storage.Money{Amount: 200, Currency: "USD"}, OwnerID: e.repB.ID, Probability: prob(50), ExpectedClose: day(9)},
		{Name: "C", Amount: storage.Money{Amount: 300, Currency: "EUR"}, OwnerID: e.repA.ID, Probability: prob(0), ExpectedClose: day(5)},
		{Name: "D", Amount: storage.Money{Amount: 400, Currency: "EUR"}, OwnerID: e.repA.ID, Probability: prob(25), ExpectedClose: day(1)},
	} {
		_, err := s.Opportunities.Create(ctx, in)
		must(t, "deal "+in.Name, err)
	}
	q := storage.AggregateQuery{GroupBy: []string{"currency"}, Measures: []storage.Measure{
		{Op: storage.AggCount},
		{Op: storage.AggCountDistinct, Field: "owner_id"},
		{Op: storage.AggSum, Field: "amount"},
		{Op: storage.AggAvg, Field: "amount"},
		{Op: storage.AggMin, Field: "amount"},
		{Op: storage.AggMax, Field: "expected_close"},
		{Op: storage.AggSum, Field: "amount", Where: storage.Eq("owner_id", e.repA.ID)},
		{Op: storage.AggCount, Where: storage.Gt("probability", 0)},
		{Op: storage.AggSum, Field: "expected_revenue"},
	}}
	rows, err := e.store.Aggregate(ctx, sales.ObjectOpportunity, q)
	must(t, "aggregate", err)
	want := []storage.AggregateRow{
		{Group: []any{"EUR"}, Values: []any{int64(2), int64(1), int64(700), 350.0, int64(300), day(5), int64(700), int64(1), int64(100)}},
		{Group: []any{"USD"}, Values: []any{int64(2), int64(2), int64(300), 150.0, int64(100), day(9), int64(100), int64(2), int64(110)}},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("aggregate by currency (-want +got):\n%s", diff)
	}

	// No groups: one row of everything, none of nothing.
	all, err := e.store.Aggregate(ctx, sales.ObjectOpportunity, storage.AggregateQuery{Measures: []storage.Measure{{Op: storage.AggSum, Field: "amount"}}})
	must(t, "aggregate without groups", err)
	if len(all) != 1 || all[0].Values[0] != int64(1000) {
		t.Errorf("the sum of every deal = %+v, want 1000", all)
	}
	none, err := e.store.Aggregate(ctx, sales.ObjectOpportunity, storage.AggregateQuery{Filter: storage.Eq("currency", "GBP"),
		Measures: []storage.Measure{{Op: storage.AggCount}}})
	must(t, "aggregate of nothing", err)
	if len(none) != 0 {
		t.Errorf("an aggregate of no deal = %+v, want no row", none)
	}

	// A member's aggregates are those of the deals it may read.
	for _, m := range []*access.Member{e.repA, e.repB, e.mgr} {
		name := m.Name
		mctx := e.as(m)
		page, err := s.Opportunities.List(mctx, storage.ListQuery{})
		must(t, "list as "+name, err)
		var sum int64
		for _, o := range page.Items {
			sum += o.Amount.Amount
		}
		got, err := e.store.Aggregate(mctx, sales.ObjectOpportunity, storage.AggregateQuery{Measures: []storage.Measure{
			{Op: storage.AggSum, Field: "amount"}, {Op: storage.AggCount}}})
		must(t, "aggregate as "+name, err)
		if len(page.Items) == 0 {
			if len(got) != 0 {
				t.Errorf("%s reads no deal but aggregates %+v", name, got)
			}
			continue
		}
		if len(got) != 1 || got[0].Values[0] != sum || got[0].Values[1] != int64(len(page.Items)) {
			t.Errorf("%s aggregates %+v, but lists %d deals worth %d", name, got, len(page.Items), sum)
		}
	}

	// Bad queries.
	for name, bad := range map[string]storage.AggregateQuery{
		"no measure":      {GroupBy: []string{"currency"}},
		"unknown field":   {Measures: []storage.Measure{{Op: storage.AggSum, Field: "shoe_size"}}},
		"sum of text":     {Measures: []storage.Measure{{Op: storage.AggSum, Field: "name"}}},
		"group by a list": {GroupBy: []string{"tags"}, Measures: []storage.Measure{{Op: storage.AggCount}}},
		"unknown op":      {Measures: []storage.Measure{{Op: "median", Field: "amount"}}},
		"sum of nothing":  {Measures: []storage.Measure{{Op: storage.AggSum}}},
	} {
		_, err := e.store.Aggregate(ctx, sales.ObjectOpportunity, bad)
		wantErr(t, name, err, storage.ErrInvalid)
	}
	_, err = e.store.Aggregate(ctx, "spaceship", storage.AggregateQuery{Measures: []storage.Measure{{Op: storage.AggCount}}})
	wantErr(t, "an unregistered type", err, storage.ErrInvalid)
}
