package sales

import (
	"context"
	"slices"
	"time"

	"github.com/crmkit/crm/storage"
)

// Cohort is the customers whose first order fell in one month, and how
// many of them ordered again in each month after.
type Cohort struct {
	// Start is the month of the cohort's first orders, in the zone asked.
	Start time.Time `json:"start"`
	// Customers is how many contacts the cohort holds.
	Customers int64 `json:"customers"`
	// Active[k] is how many of them ordered in the k-th month after Start
	// (Active[0] is Customers), up to the last month of the range;
	// Retained[k] is Active[k] ÷ Customers.
	Active   []int64   `json:"active"`
	Retained []float64 `json:"retained"`
}

// Cohorts returns the retention table of the orders that count (neither
// cancelled nor refunded in full): customers by the month of their first
// order, from the month of from to the month before to, each with the
// share who ordered in each later month up to to. Months are cut in loc
// (nil is UTC); a customer's first order is its first ever, so a customer
// who first ordered before from is in no cohort. One statement reads the
// months in which each customer ordered.
func (ors *Orders) Cohorts(ctx context.Context, from, to time.Time, loc *time.Location) ([]Cohort, error) {
	if loc == nil {
		loc = time.UTC
	}
	if from.IsZero() || to.IsZero() || !from.Before(to) {
		return nil, storage.Invalid("from", "a cohort table needs a range, from before to")
	}
	rows, err := ors.s.store.Aggregate(ctx, ObjectOrder, storage.AggregateQuery{
		Filter: storage.And{storage.Not{Filter: storage.In("status", OrderCancelled, OrderRefunded)},
			storage.Ne("contact_id", ""), storage.Cmp{Field: "ordered_at", Op: storage.OpLt, Value: to}},
		GroupBy:  []string{"contact_id"},
		Groups:   []storage.Group{{Field: "ordered_at", Bucket: storage.BucketMonth}},
		Location: loc,
		Measures: []storage.Measure{{Op: storage.AggCount}},
	})
	if err != nil {
		return nil, err
	}
	months := func(a, b time.Time) int { return (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month()) }
	first := storage.BucketOf(from, storage.BucketMonth, loc, 0).(time.Time)
	last := storage.BucketOf(to.Add(-time.Nanosecond), storage.BucketMonth, loc, 0).(time.Time)
	span := months(first, last) + 1
	out := make([]Cohort, span)
	for i := range out {
		out[i] = Cohort{Start: time.Date(first.Year(), first.Month()+time.Month(i), 1, 0, 0, 0, 0, loc)}
		out[i].Active = make([]int64, span-i)
	}
	// Rows come ordered by contact, then month: each contact's first row
	// is its first month.
	for i := 0; i < len(rows); {
		contact := rows[i].Group[0]
		start, _ := rows[i].Group[1].(time.Time)
		c := months(first, start)
		for ; i < len(rows) && rows[i].Group[0] == contact; i++ {
			m, _ := rows[i].Group[1].(time.Time)
			if c >= 0 && c < span {
				if k := months(start, m); k >= 0 && k < len(out[c].Active) {
					out[c].Active[k]++
				}
			}
		}
	}
	for i := range out {
		out[i].Customers = out[i].Active[0]
		out[i].Retained = make([]float64, len(out[i].Active))
		for k, n := range out[i].Active {
			if out[i].Customers > 0 {
				out[i].Retained[k] = float64(n) / float64(out[i].Customers)
			}
		}
	}
	return slices.Clip(out), nil
}
