package storagetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

// testAggregateBuckets checks the groupings of reports on a hand-computed
// data set: time buckets in a zone across both daylight-saving changes
// (day, week from Sunday and from Monday, month, quarter, year, weekday,
// month of year), a zero time as no value, a custom field's values,
// measures of a custom number, ratios, having, sort and limit.
func testAggregateBuckets(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	ctx := e.sys
	paris, err := time.LoadLocation("Europe/Paris")
	must(t, "zone", err)
	for _, d := range []contacts.NewFieldDef{
		{Object: contacts.ObjectContact, Name: "tier", Label: "Tier", Type: contacts.FieldText},
		{Object: contacts.ObjectContact, Name: "score", Label: "Score", Type: contacts.FieldNumber},
	} {
		_, err := e.svc.Fields.Define(ctx, d)
		must(t, "define "+d.Name, err)
	}
	utc := func(mo time.Month, d, h, m int) time.Time { return time.Date(2026, mo, d, h, m, 0, 0, time.UTC) }
	for _, c := range []struct {
		at    time.Time
		tier  string
		score float64
	}{
		{utc(3, 28, 22, 30), "gold", 10},   // Sat 23:30 CET in Paris
		{utc(3, 28, 23, 30), "gold", 20},   // Sun 00:30 CET
		{utc(3, 29, 1, 30), "silver", 5},   // Sun 03:30 CEST, after the change
		{utc(10, 24, 21, 30), "", 1},       // Sat 23:30 CEST
		{utc(10, 24, 22, 30), "silver", 7}, // Sun 00:30 CEST
		{utc(10, 25, 0, 30), "gold", 3},    // Sun 02:30 CEST, before the change back
	} {
		custom := map[string]any{"score": c.score}
		if c.tier != "" {
			custom["tier"] = c.tier
		}
		_, err := e.svc.Contacts.Create(storage.WithWriteTime(ctx, c.at), contacts.NewContact{FirstName: "P", Custom: custom})
		must(t, "contact", err)
	}
	count := []storage.Measure{{Op: storage.AggCount}}
	type row = []any
	run := func(what string, q storage.AggregateQuery) []row {
		t.Helper()
		rows, err := e.store.Aggregate(ctx, contacts.ObjectContact, q)
		must(t, what, err)
		var out []row
		for _, r := range rows {
			out = append(out, append(slices.Clone(r.Group), r.Values...))
		}
		return out
	}
	local := func(mo time.Month, d int) time.Time { return time.Date(2026, mo, d, 0, 0, 0, 0, paris) }
	day := func(loc *time.Location, mo time.Month, d int) time.Time {
		return time.Date(2026, mo, d, 0, 0, 0, 0, loc)
	}
	for _, c := range []struct {
		what string
		q    storage.AggregateQuery
		want []row
	}{
		{"days in Paris", storage.AggregateQuery{Location: paris, Groups: []storage.Group{{Field: "created_at", Bucket: storage.BucketDay}}, Measures: count},
			[]row{{local(3, 28), int64(1)}, {local(3, 29), int64(2)}, {local(10, 24), int64(1)}, {local(10, 25), int64(2)}}},
		{"days in UTC", storage.AggregateQuery{Groups: []storage.Group{{Field: "created_at", Bucket: storage.BucketDay}}, Measures: count},
			[]row{{day(time.UTC, 3, 28), int64(2)}, {day(time.UTC, 3, 29), int64(1)}, {day(time.UTC, 10, 24), int64(2)}, {day(time.UTC, 10, 25), int64(1)}}},
		{"weeks from Sunday", storage.AggregateQuery{Location: paris, Groups: []storage.Group{{Field: "created_at", Bucket: storage.BucketWeek}}, Measures: count},
			[]row{{local(3, 22), int64(1)}, {local(3, 29), int64(2)}, {local(10, 18), int64(1)}, {local(10, 25), int64(2)}}},
		{"weeks from Monday", storage.AggregateQuery{Location: paris, WeekStart: time.Monday, Groups: []storage.Group{{Field: "created_at", Bucket: storage.BucketWeek}}, Measures: count},
			[]row{{local(3, 23), int64(3)}, {local(10, 19), int64(3)}}},
		{"months", storage.AggregateQuery{Location: paris, Groups: []storage.Group{{Field: "created_at", Bucket: storage.BucketMonth}}, Measures: count},
			[]row{{local(3, 1), int64(3)}, {local(10, 1), int64(3)}}},
		{"quarters and years", storage.AggregateQuery{Location: paris, Groups: []storage.Group{{Field: "created_at", Bucket: storage.BucketYear}, {Field: "created_at", Bucket: storage.BucketQuarter}}, Measures: count},
			[]row{{local(1, 1), local(1, 1), int64(3)}, {local(1, 1), local(10, 1), int64(3)}}},
		{"weekdays", storage.AggregateQuery{Location: paris, Groups: []storage.Group{{Field: "created_at", Bucket: storage.BucketWeekday}}, Measures: count},
			[]row{{int64(0), int64(4)}, {int64(6), int64(2)}}},
		{"months of the year", storage.AggregateQuery{Location: paris, Groups: []storage.Group{{Field: "created_at", Bucket: storage.BucketMonthOfYear}}, Measures: count},
			[]row{{int64(3), int64(3)}, {int64(10), int64(3)}}},
		{"a zero time", storage.AggregateQuery{Groups: []storage.Group{{Field: "last_activity_at", Bucket: storage.BucketMonth}}, Measures: count},
			[]row{{nil, int64(6)}}},
		{"a custom field, its numbers, a ratio", storage.AggregateQuery{Groups: []storage.Group{{Field: "custom.tier"}}, Measures: []storage.Measure{
			{Op: storage.AggCount}, {Op: storage.AggSum, Field: "custom.score"}, {Op: storage.AggMax, Field: "custom.score"},
			{Op: storage.AggRatio, Of: [2]int{1, 0}}, {Op: storage.AggCountDistinct, Field: "custom.tier"}}},
			[]row{{"gold", int64(3), 33.0, 20.0, 11.0, int64(1)}, {"silver", int64(2), 12.0, 7.0, 6.0, int64(1)}, {nil, int64(1), 1.0, 1.0, 1.0, int64(0)}}},
		{"having, sort, limit", storage.AggregateQuery{Groups: []storage.Group{{Field: "custom.tier"}}, Measures: []storage.Measure{
			{Op: storage.AggCount}, {Op: storage.AggSum, Field: "custom.score"}},
			Having: []storage.Having{{Measure: 0, Op: storage.OpGe, Value: 2}}, Sort: []storage.AggSort{{Column: 2, Desc: true}}, Limit: 1},
			[]row{{"gold", int64(3), 33.0}}},
		{"sorted by a group, descending", storage.AggregateQuery{Groups: []storage.Group{{Field: "custom.tier"}}, Measures: count,
			Sort: []storage.AggSort{{Column: 0, Desc: true}}},
			[]row{{"silver", int64(2)}, {"gold", int64(3)}, {nil, int64(1)}}},
	} {
		if got := run(c.what, c.q); !gocmp.Equal(got, c.want, gocmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })) {
			t.Errorf("%s:\n got %v\nwant %v", c.what, got, c.want)
		}
	}
	for what, q := range map[string]storage.AggregateQuery{
		"a bucket of a text field": {Groups: []storage.Group{{Field: "first_name", Bucket: storage.BucketDay}}, Measures: count},
		"an unknown bucket":        {Groups: []storage.Group{{Field: "created_at", Bucket: "fortnight"}}, Measures: count},
		"the local zone":           {Location: time.Local, Groups: []storage.Group{{Field: "created_at", Bucket: storage.BucketDay}}, Measures: count},
		"a ratio of a later one":   {Measures: []storage.Measure{{Op: storage.AggRatio, Of: [2]int{0, 1}}, {Op: storage.AggCount}}},
		"a sort past the columns":  {Measures: count, Sort: []storage.AggSort{{Column: 3}}},
		"having on no measure":     {Measures: count, Having: []storage.Having{{Measure: 2, Op: storage.OpGt}}},
	} {
		if _, err := e.store.Aggregate(ctx, contacts.ObjectContact, q); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", what, err)
		}
	}
}

// testAggregateDifferential runs random reports (groupings, buckets,
// measures with conditions, ratios, having, sort, limit) over random deals,
// as the system and as a rep whose read scope is its own deals, and
// compares each result with the same figures computed in Go over the
// deals the principal lists: 0 mismatches.
func testAggregateDifferential(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	s := e.sales()
	ctx := e.sys
	rng := rand.New(rand.NewPCG(42, uint64(len(t.Name()))))
	paris, err := time.LoadLocation("Europe/Paris")
	must(t, "zone", err)
	p, err := s.Pipelines.Default(ctx)
	must(t, "pipeline", err)
	owners := []string{e.repA.ID, e.repB.ID, e.mgr.ID}
	sources := []string{"", "web", "referral", "event"}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const deals = 240
	for i := range deals {
		in := sales.NewOpportunity{Name: fmt.Sprint("deal ", i), Amount: storage.Money{Amount: int64(rng.IntN(5)) * int64(rng.IntN(20000)), Currency: []string{"EUR", "USD"}[rng.IntN(2)]},
			Stage: p.Stages[rng.IntN(len(p.Stages))].Key, OwnerID: owners[rng.IntN(len(owners))], Source: sources[rng.IntN(len(sources))]}
		if rng.IntN(4) > 0 {
			in.ExpectedClose = base.AddDate(0, 0, rng.IntN(700))
		}
		at := base.Add(time.Duration(rng.Int64N(int64(700 * 24 * time.Hour))))
		o, err := s.Opportunities.Create(storage.WithWriteTime(ctx, at), in)
		must(t, "deal", err)
		// Stays in further stages, for the reports over them (Each); whole
		// seconds, since SQLite compares their times to the millisecond.
		for range rng.IntN(3) {
			at = at.Add(time.Duration(1+rng.IntN(30*86400)) * time.Second).Truncate(time.Second)
			_, err := s.Opportunities.MoveStage(storage.WithWriteTime(ctx, at), o.ID, p.Stages[rng.IntN(len(p.Stages))].Key, sales.MoveOptions{})
			must(t, "move", err)
		}
	}
	fields := []string{"stage", "owner_id", "source", "currency"}
	times := []string{"created_at", "expected_close", "closed_at"}
	buckets := []storage.TimeBucket{storage.BucketDay, storage.BucketWeek, storage.BucketMonth, storage.BucketQuarter,
		storage.BucketYear, storage.BucketWeekday, storage.BucketMonthOfYear}
	each := false // the query being made is over the stays (Each)
	conds := func() storage.Filter {
		switch rng.IntN(5) {
		case 0:
			return storage.Gt("amount", int64(rng.IntN(50000)))
		case 1:
			return storage.Eq("source", sources[rng.IntN(len(sources))])
		case 2:
			return storage.Eq("stage", p.Stages[rng.IntN(len(p.Stages))].Key)
		case 3:
			if each {
				return storage.Eq("stage_history.stage", p.Stages[rng.IntN(len(p.Stages))].Key)
			}
		}
		return nil
	}
	random := func() storage.AggregateQuery {
		each = rng.IntN(3) == 0
		fields, times := fields, times
		var q storage.AggregateQuery
		if each {
			q.Each = "stage_history"
			fields = append(slices.Clone(fields), "stage_history.stage")
			times = append(slices.Clone(times), "stage_history.entered_at", "stage_history.left_at")
		}
		q.Filter, q.WeekStart = conds(), time.Weekday(rng.IntN(7))
		if rng.IntN(2) == 0 {
			q.Location = paris
		}
		for range rng.IntN(3) {
			if rng.IntN(2) == 0 {
				q.Groups = append(q.Groups, storage.Group{Field: fields[rng.IntN(len(fields))]})
			} else {
				q.Groups = append(q.Groups, storage.Group{Field: times[rng.IntN(len(times))], Bucket: buckets[rng.IntN(len(buckets))]})
			}
		}
		for range 1 + rng.IntN(3) {
			m := storage.Measure{}
			switch rng.IntN(8) {
			case 6:
				m.Op, m.Field = storage.AggCountDistinct, "id"
			case 7:
				m.Op, m.Field, m.Since = storage.AggAvg, "closed_at", "created_at"
				if each {
					m.Field, m.Since = "stage_history.left_at", "stage_history.entered_at"
				}
			case 0:
				m.Op = storage.AggCount
			case 1:
				m.Op, m.Field = storage.AggCountDistinct, "owner_id"
			case 2:
				m.Op, m.Field = storage.AggSum, "amount"
			case 3:
				m.Op, m.Field = storage.AggAvg, "probability"
			case 4:
				m.Op, m.Field = storage.AggMin, "amount"
			case 5:
				m.Op, m.Field = storage.AggMax, "amount"
			}
			if rng.IntN(3) == 0 {
				m.Where = conds()
			}
			q.Measures = append(q.Measures, m)
		}
		if rng.IntN(3) == 0 {
			q.Measures = append(q.Measures, storage.Measure{Op: storage.AggRatio, Of: [2]int{rng.IntN(len(q.Measures)), rng.IntN(len(q.Measures))}})
		}
		if rng.IntN(3) == 0 {
			q.Having = []storage.Having{{Measure: rng.IntN(len(q.Measures)), Op: []storage.Op{storage.OpGt, storage.OpGe, storage.OpLt, storage.OpNe}[rng.IntN(4)],
				Value: float64(rng.IntN(3) * rng.IntN(20000))}}
		}
		cols := len(q.Groups) + len(q.Measures)
		for range rng.IntN(3) {
			q.Sort = append(q.Sort, storage.AggSort{Column: rng.IntN(cols), Desc: rng.IntN(2) == 0})
		}
		if rng.IntN(3) == 0 {
			q.Limit = 1 + rng.IntN(10)
		}
		return q
	}
	reports := 250
	if testing.Short() {
		reports = 50
	}
	mismatches := 0
	for _, who := range []struct {
		name string
		ctx  context.Context
	}{{"system", ctx}, {"rep", e.as(e.repA)}} {
		c := who.ctx
		var all []*sales.Opportunity
		err := storage.Each(c, storage.TableOf[*sales.Opportunity](e.store), storage.ListQuery{}, func(o *sales.Opportunity) error {
			all = append(all, o)
			return nil
		})
		must(t, "deals", err)
		for i := range reports {
			q := random()
			got, err := e.store.Aggregate(c, sales.ObjectOpportunity, q)
			must(t, fmt.Sprintf("%s report %d %+v", who.name, i, q), err)
			want := aggregateInGo(all, q)
			nearSpans(got, want, q)
			if !sameRows(got, want) {
				mismatches++
				if mismatches <= 5 {
					t.Errorf("%s report %d %+v:\n  sql %v\n   go %v", who.name, i, q, got, want)
				}
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d of %d reports differ from the Go computation", mismatches, 2*reports)
	}
}

// nearSpans makes the spans of got that are within a millisecond of
// want's equal to them, and the ratios of spans within a relative 1e-6:
// SQLite measures time to the millisecond (julianday).
func nearSpans(got, want []storage.AggregateRow, q storage.AggregateQuery) {
	span := func(j int) bool { return q.Measures[j].Since != "" }
	for i := range min(len(got), len(want)) {
		for j, m := range q.Measures {
			g, ok1 := got[i].Values[j].(float64)
			w, ok2 := want[i].Values[j].(float64)
			switch {
			case !ok1 || !ok2:
			case span(j) && math.Abs(g-w) <= 1e-3,
				m.Op == storage.AggRatio && (span(m.Of[0]) || span(m.Of[1])) && math.Abs(g-w) <= 1e-6*math.Abs(w):
				got[i].Values[j] = w
			}
		}
	}
}

// sameRows compares aggregate rows, floats within a relative 1e-9.
func sameRows(a, b []storage.AggregateRow) bool {
	return gocmp.Equal(a, b, cmpopts.EquateEmpty(), cmpopts.EquateApprox(1e-9, 1e-9),
		gocmp.Comparer(func(x, y time.Time) bool { return x.Equal(y) }))
}

// aggregateInGo computes q over the deals all, as the store defines it.
func aggregateInGo(all []*sales.Opportunity, q storage.AggregateQuery) []storage.AggregateRow {
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	// A row is a deal, or with Each one of its stays.
	type row struct {
		*sales.Opportunity
		stay *sales.StageVisit
	}
	var rows0 []row
	for _, o := range all {
		if q.Each == "" {
			rows0 = append(rows0, row{Opportunity: o})
			continue
		}
		for i := range o.StageHistory {
			rows0 = append(rows0, row{o, &o.StageHistory[i]})
		}
	}
	value := func(o row, f string) any {
		switch f {
		case "id":
			return o.ID
		case "stage_history.stage":
			return o.stay.Stage
		case "stage_history.entered_at":
			return o.stay.EnteredAt
		case "stage_history.left_at":
			return o.stay.LeftAt
		case "stage":
			return o.Stage
		case "owner_id":
			return o.OwnerID
		case "source":
			return o.Source
		case "currency":
			return o.Amount.Currency
		case "amount":
			return o.Amount.Amount
		case "probability":
			return int64(o.Probability)
		case "created_at":
			return o.CreatedAt
		case "expected_close":
			return o.ExpectedClose
		case "closed_at":
			return o.ClosedAt
		}
		panic(f)
	}
	match := func(o row, f storage.Filter) bool {
		if f == nil {
			return true
		}
		c := f.(storage.Cmp)
		v := value(o, c.Field)
		switch c.Op {
		case storage.OpGt:
			return v.(int64) > c.Value.(int64)
		case storage.OpEq:
			return v == c.Value
		}
		panic(c.Op)
	}
	type group struct {
		key  []any
		deal []row
	}
	var groups []*group
	for _, o := range rows0 {
		if !match(o, q.Filter) {
			continue
		}
		key := make([]any, len(q.Groups))
		for i, g := range q.Groups {
			v := value(o, g.Field)
			if g.Bucket != "" {
				v = storage.BucketOf(v.(time.Time), g.Bucket, loc, q.WeekStart)
			}
			key[i] = v
		}
		i := slices.IndexFunc(groups, func(g *group) bool { return gocmp.Equal(g.key, key) })
		if i < 0 {
			groups = append(groups, &group{key: key})
			i = len(groups) - 1
		}
		groups[i].deal = append(groups[i].deal, o)
	}
	var rows []storage.AggregateRow
	for _, g := range groups {
		r := storage.AggregateRow{Group: g.key, Values: make([]any, len(q.Measures))}
		for i, m := range q.Measures {
			if m.Op == storage.AggRatio {
				num, den := toFloat(r.Values[m.Of[0]]), toFloat(r.Values[m.Of[1]])
				if num != nil && den != nil && *den != 0 {
					r.Values[i] = *num / *den
				}
				continue
			}
			var vals []any
			n := int64(0)
			for _, o := range g.deal {
				if !match(o, m.Where) {
					continue
				}
				n++
				if m.Since != "" {
					to, from := value(o, m.Field).(time.Time), value(o, m.Since).(time.Time)
					if !to.IsZero() && !from.IsZero() {
						vals = append(vals, to.Sub(from).Seconds())
					}
					continue
				}
				if m.Field != "" {
					if v := value(o, m.Field); v != "" {
						vals = append(vals, v)
					}
				}
			}
			switch {
			case m.Since != "":
				if len(vals) > 0 {
					sum := 0.0
					for _, v := range vals {
						sum += v.(float64)
					}
					r.Values[i] = sum / float64(len(vals))
				}
				continue
			}
			switch m.Op {
			case storage.AggCount:
				r.Values[i] = n
			case storage.AggCountDistinct:
				seen := map[any]bool{}
				for _, v := range vals {
					seen[v] = true
				}
				r.Values[i] = int64(len(seen))
			case storage.AggSum:
				sum := int64(0)
				for _, v := range vals {
					sum += v.(int64)
				}
				r.Values[i] = sum
			case storage.AggAvg:
				if len(vals) > 0 {
					sum := 0.0
					for _, v := range vals {
						sum += float64(v.(int64))
					}
					r.Values[i] = sum / float64(len(vals))
				}
			case storage.AggMin, storage.AggMax:
				for _, v := range vals {
					x := v.(int64)
					if r.Values[i] == nil {
						r.Values[i] = x
						continue
					}
					if cur := r.Values[i].(int64); m.Op == storage.AggMin && x < cur || m.Op == storage.AggMax && x > cur {
						r.Values[i] = x
					}
				}
			}
		}
		keep := true
		for _, h := range q.Having {
			v := toFloat(r.Values[h.Measure])
			if v == nil {
				keep = false
				continue
			}
			switch h.Op {
			case storage.OpGt:
				keep = keep && *v > h.Value
			case storage.OpGe:
				keep = keep && *v >= h.Value
			case storage.OpLt:
				keep = keep && *v < h.Value
			case storage.OpNe:
				keep = keep && *v != h.Value
			}
		}
		if keep {
			rows = append(rows, r)
		}
	}
	order := slices.Clone(q.Sort)
	if len(order) == 0 {
		for i := range q.Groups {
			order = append(order, storage.AggSort{Column: i})
		}
	}
	for i := range q.Groups {
		if !slices.ContainsFunc(order, func(o storage.AggSort) bool { return o.Column == i }) {
			order = append(order, storage.AggSort{Column: i})
		}
	}
	at := func(r storage.AggregateRow, c int) any {
		if c < len(r.Group) {
			return r.Group[c]
		}
		return r.Values[c-len(r.Group)]
	}
	slices.SortStableFunc(rows, func(a, b storage.AggregateRow) int {
		for _, o := range order {
			x, y := at(a, o.Column), at(b, o.Column)
			if (x == nil) != (y == nil) {
				if x == nil {
					return 1
				}
				return -1
			}
			if x == nil {
				continue
			}
			c := compareAny(x, y)
			if o.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	if q.Limit > 0 && len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	return rows
}

func toFloat(v any) *float64 {
	switch x := v.(type) {
	case int64:
		f := float64(x)
		return &f
	case float64:
		return &x
	}
	return nil
}

func compareAny(x, y any) int {
	switch a := x.(type) {
	case string:
		return cmp.Compare(a, y.(string))
	case time.Time:
		return a.Compare(y.(time.Time))
	}
	fx, fy := toFloat(x), toFloat(y)
	if fx != nil && fy != nil {
		// Sums of floats differ in their last bits between SQL and Go:
		// values that close are a tie, broken by the groups.
		if math.Abs(*fx-*fy) <= 1e-9*math.Max(1, math.Max(math.Abs(*fx), math.Abs(*fy))) {
			return 0
		}
		return cmp.Compare(*fx, *fy)
	}
	panic(fmt.Sprintf("compare %T", x))
}
