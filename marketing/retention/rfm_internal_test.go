package retention

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRFMByHand scores five customers whose figures were worked out by
// hand: the cut points, each score, the segment, the interval and the
// churn dates and risks.
func TestRFMByHand(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	now := day("2026-06-01")
	ps := []purchases{
		// A: three orders, 15 days apart.
		{contact: "a", count: 3, spent: 20000, first: day("2026-04-25"), last: day("2026-05-25")},
		// B: one order, recent.
		{contact: "b", count: 1, spent: 3000, first: day("2026-05-28"), last: day("2026-05-28")},
		// C: two large orders, 60 days apart.
		{contact: "c", count: 2, spent: 100000, first: day("2026-01-01"), last: day("2026-03-02")},
		// D: one small order, long ago.
		{contact: "d", count: 1, spent: 1000, first: day("2025-12-01"), last: day("2025-12-01")},
		// E: four orders, 10 days apart.
		{contact: "e", count: 4, spent: 10000, first: day("2026-02-01"), last: day("2026-03-03")},
	}
	rs := &RFMs{s: &Service{opts: Options{Interval: 90 * 24 * time.Hour, ChurnHigh: 0.7}}}
	cuts := rs.cutsFrom("USD", ps)
	// n = 5: the k-th cut point is the value at rank k.
	want := &Cuts{Currency: "USD", Customers: 5,
		Recency:      []time.Time{day("2025-12-01"), day("2026-03-02"), day("2026-03-03"), day("2026-05-25")},
		Frequency:    []int64{1, 1, 2, 3},
		Monetary:     []int64{1000, 3000, 10000, 20000},
		IntervalDays: 15, // the median of 15 (A), 60 (C) and 10 (E)
		ChurnHigh:    0.7,
	}
	if d := cmp.Diff(want, cuts); d != "" {
		t.Fatalf("cuts (-want +got):\n%s", d)
	}
	sc := newScorer(cuts, 0.7)
	type row struct {
		R, F, M    int
		Score, Seg string
		Interval   float64
		Own        bool
		Next       time.Time
		Risk       float64
		High       bool
	}
	// churn_at is last + interval × (1 + ln(1/0.3)) = last + 2.2040 intervals.
	wantRows := map[string]row{
		"a": {4, 4, 4, "444", SegmentChampions, 15, true, day("2026-06-09"), 0, false},
		"b": {5, 1, 2, "512", SegmentPotential, 15, false, day("2026-06-12"), 0, false},
		// 91 days since, due after 60: 1 − e^(−31/60).
		"c": {2, 3, 5, "235", SegmentAtRisk, 60, true, day("2026-05-01"), 1 - math.Exp(-31.0/60), false},
		// 182 days since, due after 15: 1 − e^(−167/15).
		"d": {1, 1, 1, "111", SegmentLost, 15, false, day("2025-12-16"), 1 - math.Exp(-167.0/15), true},
		// 90 days since, due after 10: 1 − e^(−8).
		"e": {3, 5, 3, "353", SegmentLoyal, 10, true, day("2026-03-13"), 1 - math.Exp(-8), true},
	}
	churn := &Churn{s: rs.s}
	for _, p := range ps {
		r := sc.rfmOf(p)
		risk := churn.riskOf(r, now)
		got := row{r.R, r.F, r.M, r.Score, r.Segment, r.IntervalDays, r.OwnInterval, r.NextAt, risk.Risk, risk.High}
		w := wantRows[p.contact]
		if d := cmp.Diff(w, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })); d != "" {
			t.Errorf("%s (-want +got):\n%s", p.contact, d)
		}
		wantChurn := r.LastAt.Add(time.Duration(r.IntervalDays * 2.203972804325936 * float64(24*time.Hour)))
		if d := r.ChurnAt.Sub(wantChurn); d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("%s: churn_at %v, want %v", p.contact, r.ChurnAt, wantChurn)
		}
		if high := !now.Before(r.ChurnAt); high != risk.High {
			t.Errorf("%s: high risk %v, but now past churn_at is %v", p.contact, risk.High, high)
		}
	}
}

// TestSegmentGrid checks every cell of the segment grid against its
// definition.
func TestSegmentGrid(t *testing.T) {
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			for m := 1; m <= 5; m++ {
				fm := int(math.Floor(float64(f+m)/2 + 0.5))
				var want string
				switch {
				case r >= 4 && fm >= 4:
					want = SegmentChampions
				case r == 3 && fm >= 4:
					want = SegmentLoyal
				case r >= 4 && fm >= 2:
					want = SegmentPotential
				case r == 5:
					want = SegmentNew
				case r == 4:
					want = SegmentPromising
				case r == 3 && fm == 3:
					want = SegmentNeedAttention
				case r == 3:
					want = SegmentAboutToSleep
				case fm == 5:
					want = SegmentCantLose
				case fm >= 3:
					want = SegmentAtRisk
				case r == 2:
					want = SegmentHibernating
				default:
					want = SegmentLost
				}
				if got := SegmentOf(r, f, m); got != want {
					t.Errorf("SegmentOf(%d, %d, %d) = %s, want %s", r, f, m, got, want)
				}
			}
		}
	}
}

// TestCutsOfTies checks that ties score alike and that few customers
// still give four cut points.
func TestCutsOfTies(t *testing.T) {
	c := cutsOf([]int64{1, 1, 1, 1, 1, 1, 2, 3})
	for _, v := range []int64{1, 1} {
		if s := quintile(v, c); s != 1 {
			t.Errorf("1 scores %d among mostly ones, want 1", s)
		}
	}
	if s := quintile(int64(3), c); s != 5 {
		t.Errorf("the largest scores %d, want 5 (cuts %v)", s, c)
	}
	one := cutsOf([]int64{7})
	if len(one) != 4 || quintile(int64(7), one) != 1 {
		t.Errorf("one customer: cuts %v", one)
	}
}
