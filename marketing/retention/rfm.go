package retention

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

// The standard RFM segments (Segment), named by the recency score R and
// FM, the mean of the frequency and monetary scores rounded half up:
//
//	R \ FM   1               2                   3                   4          5
//	5        new             potential_loyalist  potential_loyalist  champions  champions
//	4        promising       potential_loyalist  potential_loyalist  champions  champions
//	3        about_to_sleep  about_to_sleep      need_attention      loyal      loyal
//	2        hibernating     hibernating         at_risk             at_risk    cant_lose
//	1        lost            lost                at_risk             at_risk    cant_lose
const (
	SegmentChampions     = "champions"
	SegmentLoyal         = "loyal"
	SegmentPotential     = "potential_loyalist"
	SegmentNew           = "new"
	SegmentPromising     = "promising"
	SegmentNeedAttention = "need_attention"
	SegmentAboutToSleep  = "about_to_sleep"
	SegmentAtRisk        = "at_risk"
	SegmentCantLose      = "cant_lose"
	SegmentHibernating   = "hibernating"
	SegmentLost          = "lost"
)

// segmentGrid is the table above, by R-1 and FM-1.
var segmentGrid = [5][5]string{
	{SegmentLost, SegmentLost, SegmentAtRisk, SegmentAtRisk, SegmentCantLose},
	{SegmentHibernating, SegmentHibernating, SegmentAtRisk, SegmentAtRisk, SegmentCantLose},
	{SegmentAboutToSleep, SegmentAboutToSleep, SegmentNeedAttention, SegmentLoyal, SegmentLoyal},
	{SegmentPromising, SegmentPotential, SegmentPotential, SegmentChampions, SegmentChampions},
	{SegmentNew, SegmentPotential, SegmentPotential, SegmentChampions, SegmentChampions},
}

// SegmentOf returns the standard segment of the scores r, f and m (each
// 1–5): the grid above, by r and the mean of f and m rounded half up.
func SegmentOf(r, f, m int) string {
	fm := (f + m + 1) / 2
	return segmentGrid[clamp(r)-1][clamp(fm)-1]
}

func clamp(s int) int { return min(max(s, 1), 5) }

// RFM is a customer's recency, frequency and monetary value: what its
// orders and won deals add up to, each scored 1–5 by the quintiles of the
// workspace's customers (Cuts), its standard segment, and the dates its
// churn risk reads (Churn). There is one per contact who bought anything;
// the store writes it only when a purchase or the workspace's cut points
// change it, never because time passed, so "rfm.segment == 'at_risk'"
// selects the same customers until they buy again or others do. A
// contact's record extends the contact in expressions (ExtensionName).
type RFM struct {
	storage.Meta
	ContactID string `bun:"contact_id,notnull" json:"contact_id"`
	// Orders is the frequency: the contact's orders that count (neither
	// cancelled nor refunded in full) and its won deals.
	Orders int64 `bun:"orders,notnull" json:"orders"`
	// Spent is the monetary value in Currency's minor units: those orders'
	// totals net of refunds and the won deals' amounts, in Currency only.
	Spent    int64  `bun:"spent,notnull" json:"spent"`
	Currency string `bun:"currency,notnull" json:"currency"`
	// FirstAt and LastAt are the first and the latest purchase (an order's
	// ordered_at, a won deal's closed_at).
	FirstAt time.Time `bun:"first_at,notnull" json:"first_at"`
	LastAt  time.Time `bun:"last_at,notnull" json:"last_at"`
	// R, F and M are the recency, frequency and monetary scores, 1 (the
	// lowest fifth of the workspace's customers) to 5 (the highest).
	R int `bun:"r,notnull" json:"r"`
	F int `bun:"f,notnull" json:"f"`
	M int `bun:"m,notnull" json:"m"`
	// Score is the three scores as digits, such as "545".
	Score string `bun:"score,notnull" json:"score"`
	// Segment is the standard segment of the scores (SegmentOf).
	Segment string `bun:"segment,notnull" json:"segment"`
	// IntervalDays is the mean time between the contact's purchases, in
	// days: (LastAt − FirstAt) / (Orders − 1). For a contact with one
	// purchase it is the median of the workspace's repeat buyers (or
	// Options.Interval), and OwnInterval is false.
	IntervalDays float64 `bun:"interval_days,notnull" json:"interval_days"`
	OwnInterval  bool    `bun:"own_interval,notnull" json:"own_interval"`
	// NextAt is when the next purchase is expected: LastAt + the interval.
	// A time trigger "3 days after next_at" acts when it is late.
	NextAt time.Time `bun:"next_at,notnull" json:"next_at"`
	// ChurnAt is when the churn risk reaches Options.ChurnHigh if the
	// contact buys nothing until then (Churn.RiskAt); "rfm.churn_at <
	// now()" selects the customers at high risk now, and a win-back starts
	// at it.
	ChurnAt time.Time `bun:"churn_at,notnull" json:"churn_at"`
}

// RecordType returns "customer_rfm".
func (*RFM) RecordType() string { return ObjectRFM }

// Links returns the contact, whose timeline shows changes of the record.
func (r *RFM) Links() []storage.Ref {
	return []storage.Ref{{Type: contacts.ObjectContact, ID: r.ContactID}}
}

// Cuts are a workspace's RFM quintile cut points: a value above the k-th
// cut point of its list (k = 1…4) scores at least k+1. The k-th cut point
// is the value of the customer at rank ⌈k·n/5⌉ of n in ascending order,
// so ties score alike. RFMs.Refresh recomputes them; between refreshes
// RFMs.Sync scores changed customers against them.
type Cuts struct {
	storage.Meta
	Currency  string      `bun:"currency,notnull" json:"currency"`
	Customers int64       `bun:"customers,notnull" json:"customers"`
	Recency   []time.Time `bun:"recency" json:"recency"`
	Frequency []int64     `bun:"frequency" json:"frequency"`
	Monetary  []int64     `bun:"monetary" json:"monetary"`
	// IntervalDays is the median of the repeat buyers' mean intervals
	// between purchases, in days: the interval of one-time buyers.
	IntervalDays float64 `bun:"interval_days,notnull" json:"interval_days"`
	// ChurnHigh is Options.ChurnHigh when they were computed: the churn
	// dates of the records depend on it.
	ChurnHigh float64 `bun:"churn_high,notnull" json:"churn_high"`
}

// RecordType returns "rfm_cuts".
func (*Cuts) RecordType() string { return ObjectCuts }

// cutsOf returns the four quintile cut points of vals, which it sorts.
func cutsOf[T cmp.Ordered](vals []T) []T {
	slices.Sort(vals)
	n := len(vals)
	out := make([]T, 4)
	for k := 1; k <= 4; k++ {
		i := (k*n + 4) / 5 // ⌈k·n/5⌉
		out[k-1] = vals[max(i, 1)-1]
	}
	return out
}

// quintile scores v against cut points: 1 + how many it is above.
func quintile[T cmp.Ordered](v T, cuts []T) int {
	s := 1
	for _, c := range cuts {
		if v > c {
			s++
		}
	}
	return s
}

// purchases is what a customer's orders and won deals add up to.
type purchases struct {
	contact     string
	count       int64
	spent       int64
	first, last time.Time
}

// add merges o into p.
func (p *purchases) add(o purchases) {
	p.count += o.count
	p.spent += o.spent
	if p.first.IsZero() || (!o.first.IsZero() && o.first.Before(p.first)) {
		p.first = o.first
	}
	if o.last.After(p.last) {
		p.last = o.last
	}
}

// ownInterval is p's mean interval between purchases in days, and false
// with fewer than two purchases.
func (p purchases) ownInterval() (float64, bool) {
	if p.count < 2 {
		return 0, false
	}
	return p.last.Sub(p.first).Hours() / 24 / float64(p.count-1), true
}

// scorer scores customers against a workspace's cut points.
type scorer struct {
	cuts    *Cuts
	recency []int64 // the recency cut points in microseconds
	high    float64
}

func newScorer(c *Cuts, high float64) scorer {
	sc := scorer{cuts: c, high: high}
	for _, t := range c.Recency {
		sc.recency = append(sc.recency, t.UnixMicro())
	}
	return sc
}

// rfmOf scores p, with the churn dates at the risk high.
func (sc scorer) rfmOf(p purchases) *RFM {
	cuts := sc.cuts
	r := &RFM{ContactID: p.contact, Orders: p.count, Spent: p.spent, Currency: cuts.Currency,
		FirstAt: storage.Truncate(p.first), LastAt: storage.Truncate(p.last)}
	if len(sc.recency) == 4 && len(cuts.Frequency) == 4 && len(cuts.Monetary) == 4 {
		r.R = quintile(r.LastAt.UnixMicro(), sc.recency)
		r.F = quintile(p.count, cuts.Frequency)
		r.M = quintile(p.spent, cuts.Monetary)
	} else {
		r.R, r.F, r.M = 1, 1, 1
	}
	r.Score = string([]byte{byte('0' + r.R), byte('0' + r.F), byte('0' + r.M)})
	r.Segment = SegmentOf(r.R, r.F, r.M)
	r.IntervalDays, r.OwnInterval = p.ownInterval()
	if !r.OwnInterval {
		r.IntervalDays = cuts.IntervalDays
	}
	r.IntervalDays = math.Round(r.IntervalDays*1000) / 1000
	iv := days(r.IntervalDays)
	r.NextAt = storage.Truncate(r.LastAt.Add(iv))
	r.ChurnAt = storage.Truncate(r.LastAt.Add(time.Duration(float64(iv) * (1 + math.Log(1/(1-sc.high))))))
	return r
}

// days is n days as a duration.
func days(n float64) time.Duration { return time.Duration(n * float64(24*time.Hour)) }

// same reports whether two RFM records hold the same values.
func same(a, b *RFM) bool {
	return a.Orders == b.Orders && a.Spent == b.Spent && a.Currency == b.Currency && a.FirstAt.Equal(b.FirstAt) &&
		a.LastAt.Equal(b.LastAt) && a.R == b.R && a.F == b.F && a.M == b.M && a.Score == b.Score && a.Segment == b.Segment &&
		a.IntervalDays == b.IntervalDays && a.OwnInterval == b.OwnInterval && a.NextAt.Equal(b.NextAt) && a.ChurnAt.Equal(b.ChurnAt)
}

// inputFields are the fields of a stored RFM record that, with the cut
// points, determine all the others.
var inputFields = []string{"contact_id", "orders", "spent", "currency", "first_at", "last_at", "r", "f", "m", "interval_days", "own_interval"}

// sameInputs reports whether two RFM records agree on inputFields.
func sameInputs(a, b *RFM) bool {
	return a.Orders == b.Orders && a.Spent == b.Spent && a.Currency == b.Currency && a.FirstAt.Equal(b.FirstAt) &&
		a.LastAt.Equal(b.LastAt) && a.R == b.R && a.F == b.F && a.M == b.M && a.IntervalDays == b.IntervalDays &&
		a.OwnInterval == b.OwnInterval
}

// RFMs keeps customers' RFM records.
type RFMs struct{ s *Service }

// Get returns the RFM record of a contact, ErrNotFound when it bought
// nothing.
func (rs *RFMs) Get(ctx context.Context, contactID string) (*RFM, error) {
	r, err := storage.First(ctx, rs.s.t.rfm, storage.Eq("contact_id", contactID))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("%w: contact %s has no RFM record (no purchase)", storage.ErrNotFound, contactID)
	}
	return r, err
}

// List returns a page of RFM records matching q.
func (rs *RFMs) List(ctx context.Context, q storage.ListQuery) (storage.Page[*RFM], error) {
	return rs.s.t.rfm.List(ctx, q)
}

// Cuts returns the workspace's cut points, ErrNotFound before the first
// Refresh.
func (rs *RFMs) Cuts(ctx context.Context) (*Cuts, error) {
	c, err := storage.First(ctx, rs.s.t.cuts, nil)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("%w: no RFM cut points before the first refresh", storage.ErrNotFound)
	}
	return c, err
}

// countingOrders selects the orders that count for RFM.
var countingOrders = storage.And{storage.Ne("contact_id", ""),
	storage.Not{Filter: storage.In("status", sales.OrderCancelled, sales.OrderRefunded)}}

// wonDeals selects the won deals of contacts.
var wonDeals = storage.And{storage.Ne("contact_id", ""), storage.Eq("forecast_category", string(sales.ForecastClosed))}

// currency returns the currency of monetary values: Options.Currency, or
// the one of most of the workspace's counting orders ("" without any).
func (rs *RFMs) currency(ctx context.Context) (string, error) {
	if rs.s.opts.Currency != "" {
		return rs.s.opts.Currency, nil
	}
	rows, err := rs.s.store.Aggregate(ctx, sales.ObjectOrder, storage.AggregateQuery{Filter: countingOrders,
		GroupBy: []string{"currency"}, Measures: []storage.Measure{{Op: storage.AggCount}},
		Sort: []storage.AggSort{{Column: 1, Desc: true}, {Column: 0}}, Limit: 1})
	if err != nil || len(rows) == 0 {
		return "", err
	}
	c, _ := rows[0].Group[0].(string)
	return c, nil
}

// purchasesOf returns what the contacts among (all when nil) bought, by
// contact in ID order, with monetary values in currency.
func (rs *RFMs) purchasesOf(ctx context.Context, currency string, among []string) ([]purchases, error) {
	return rs.purchasesIn(ctx, currency, among, time.Time{}, time.Time{})
}

// purchasesIn is purchasesOf counting only the purchases from from (when
// set) and before to (when set).
func (rs *RFMs) purchasesIn(ctx context.Context, currency string, among []string, from, to time.Time) ([]purchases, error) {
	of := func(f storage.Filter, at string) storage.Filter {
		and := storage.And{f}
		if among != nil {
			and = append(and, storage.In("contact_id", among...))
		}
		if !from.IsZero() {
			and = append(and, storage.Ge(at, from))
		}
		if !to.IsZero() {
			and = append(and, storage.Lt(at, to))
		}
		return and
	}
	inCur := storage.Eq("currency", currency)
	orders, err := rs.s.store.Aggregate(ctx, sales.ObjectOrder, storage.AggregateQuery{Filter: of(countingOrders, "ordered_at"),
		GroupBy: []string{"contact_id"}, Measures: []storage.Measure{{Op: storage.AggCount},
			{Op: storage.AggSum, Field: "total", Where: inCur}, {Op: storage.AggSum, Field: "refunded", Where: inCur},
			{Op: storage.AggMin, Field: "ordered_at"}, {Op: storage.AggMax, Field: "ordered_at"}}})
	if err != nil {
		return nil, err
	}
	deals, err := rs.s.store.Aggregate(ctx, sales.ObjectOpportunity, storage.AggregateQuery{Filter: of(wonDeals, "closed_at"),
		GroupBy: []string{"contact_id"}, Measures: []storage.Measure{{Op: storage.AggCount},
			{Op: storage.AggSum, Field: "amount", Where: inCur},
			{Op: storage.AggMin, Field: "closed_at"}, {Op: storage.AggMax, Field: "closed_at"}}})
	if err != nil {
		return nil, err
	}
	out := make([]purchases, 0, len(orders)+len(deals)/4)
	i, j := 0, 0
	for i < len(orders) || j < len(deals) {
		var p purchases
		switch {
		case j == len(deals) || (i < len(orders) && key(orders[i]) < key(deals[j])):
			p = orderPurchases(orders[i])
			i++
		case i == len(orders) || key(deals[j]) < key(orders[i]):
			p = dealPurchases(deals[j])
			j++
		default:
			p = orderPurchases(orders[i])
			p.add(dealPurchases(deals[j]))
			i, j = i+1, j+1
		}
		if p.count > 0 && !p.last.IsZero() {
			out = append(out, p)
		}
	}
	return out, nil
}

func key(r storage.AggregateRow) string { s, _ := r.Group[0].(string); return s }

func num(v any) int64 { n, _ := v.(int64); return n }

func at(v any) time.Time { t, _ := v.(time.Time); return t }

func orderPurchases(r storage.AggregateRow) purchases {
	v := r.Values
	return purchases{contact: key(r), count: num(v[0]), spent: num(v[1]) - num(v[2]), first: at(v[3]), last: at(v[4])}
}

func dealPurchases(r storage.AggregateRow) purchases {
	v := r.Values
	return purchases{contact: key(r), count: num(v[0]), spent: num(v[1]), first: at(v[2]), last: at(v[3])}
}

// cutsFrom computes the cut points of ps.
func (rs *RFMs) cutsFrom(currency string, ps []purchases) *Cuts {
	c := &Cuts{Currency: currency, Customers: int64(len(ps)), ChurnHigh: rs.s.opts.ChurnHigh}
	if len(ps) == 0 {
		c.IntervalDays = rs.s.opts.Interval.Hours() / 24
		return c
	}
	last := make([]int64, len(ps))
	freq := make([]int64, len(ps))
	spent := make([]int64, len(ps))
	var intervals []float64
	for i, p := range ps {
		last[i], freq[i], spent[i] = storage.Truncate(p.last).UnixMicro(), p.count, p.spent
		if iv, ok := p.ownInterval(); ok {
			intervals = append(intervals, iv)
		}
	}
	c.Frequency, c.Monetary = cutsOf(freq), cutsOf(spent)
	for _, us := range cutsOf(last) {
		c.Recency = append(c.Recency, time.UnixMicro(us).UTC())
	}
	if len(intervals) == 0 {
		c.IntervalDays = rs.s.opts.Interval.Hours() / 24
	} else {
		slices.Sort(intervals)
		n := len(intervals)
		c.IntervalDays = intervals[n/2]
		if n%2 == 0 {
			c.IntervalDays = (intervals[n/2-1] + intervals[n/2]) / 2
		}
		c.IntervalDays = math.Round(c.IntervalDays*1000) / 1000
	}
	return c
}

// sameCuts reports whether two cut point sets score alike.
func sameCuts(a, b *Cuts) bool {
	return a.Currency == b.Currency && a.Customers == b.Customers && a.IntervalDays == b.IntervalDays && a.ChurnHigh == b.ChurnHigh &&
		slices.EqualFunc(a.Recency, b.Recency, time.Time.Equal) && slices.Equal(a.Frequency, b.Frequency) &&
		slices.Equal(a.Monetary, b.Monetary)
}

// RefreshResult says what a refresh wrote.
type RefreshResult struct {
	// Customers is how many contacts have an RFM record.
	Customers int
	// Created, Updated and Deleted count the records written.
	Created, Updated, Deleted int
}

// writeBatch bounds the records written in one transaction.
const writeBatch = 1000

// Refresh brings the context's workspace's RFM up to date: it follows the
// change feed first (Sync: the customers whose orders or deals changed are
// rescored), then recomputes the cut points from every customer's orders
// and won deals (two grouped aggregates); when they moved, every record is
// compared against the new ones and those whose scores changed are
// written (Rescore). A record changes with purchases and cut points,
// never with the clock alone, so a Refresh with no purchase since the last
// one reads the aggregates and writes nothing; run it daily, or after an
// import of orders.
func (rs *RFMs) Refresh(ctx context.Context) (RefreshResult, error) {
	ctx = storage.AsSystem(ctx)
	var synced RefreshResult
	if _, err := rs.sync(ctx, &synced); err != nil {
		return synced, err
	}
	res, err := rs.refresh(ctx, false)
	res.Created, res.Updated, res.Deleted = res.Created+synced.Created, res.Updated+synced.Updated, res.Deleted+synced.Deleted
	return res, err
}

// Rescore is Refresh comparing every stored record with what its
// customer's purchases and the cut points make it, whether or not the cut
// points moved: for a host that changes orders or deals around the store
// (in SQL of its own, so the change feed does not show it), or after
// restoring the records from a backup.
func (rs *RFMs) Rescore(ctx context.Context) (RefreshResult, error) {
	return rs.refresh(storage.AsSystem(ctx), true)
}

// refresh recomputes the cut points and, when they moved or all is set,
// compares every stored record and writes those that changed.
func (rs *RFMs) refresh(ctx context.Context, all bool) (RefreshResult, error) {
	var res RefreshResult
	currency, err := rs.currency(ctx)
	if err != nil {
		return res, err
	}
	ps, err := rs.purchasesOf(ctx, currency, nil)
	if err != nil {
		return res, err
	}
	cuts, moved, err := rs.saveCuts(ctx, rs.cutsFrom(currency, ps))
	if err != nil {
		return res, err
	}
	// With the cut points as they were, a record's inputs decide the
	// rest: read only them (the records written are read whole).
	q := storage.ListQuery{PageQuery: storage.PageQuery{Limit: storage.MaxLimit}, Sort: []storage.Sort{{Field: "contact_id"}}}
	unchanged := same
	if !moved {
		q.Fields, unchanged = inputFields, sameInputs
	}
	sc := newScorer(cuts, rs.s.opts.ChurnHigh)
	res.Customers = len(ps)
	if !moved && !all {
		return res, nil // Sync rescored who bought since against the same cut points
	}
	// Walk the stored records in contact order beside ps.
	var batch []*RFM
	var prevs []*RFM
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := rs.write(ctx, prevs, batch, &res)
		batch, prevs = batch[:0], prevs[:0]
		return err
	}
	i := 0
	err = storage.Each(ctx, rs.s.t.rfm, q, func(prev *RFM) error {
		for i < len(ps) && ps[i].contact < prev.ContactID {
			batch, prevs = append(batch, sc.rfmOf(ps[i])), append(prevs, nil)
			i++
		}
		var next *RFM
		if i < len(ps) && ps[i].contact == prev.ContactID {
			next = sc.rfmOf(ps[i])
			i++
			if unchanged(prev, next) {
				return nil
			}
		}
		batch, prevs = append(batch, next), append(prevs, prev)
		if len(batch) >= writeBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	for ; i < len(ps); i++ {
		batch, prevs = append(batch, sc.rfmOf(ps[i])), append(prevs, nil)
		if len(batch) >= writeBatch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	return res, flush()
}

// saveCuts stores c as the workspace's cut points unless they are the
// same, and returns the stored ones and whether they moved.
func (rs *RFMs) saveCuts(ctx context.Context, c *Cuts) (*Cuts, bool, error) {
	prev, err := storage.First(ctx, rs.s.t.cuts, nil)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return c, true, rs.s.t.cuts.Insert(ctx, c)
	case err != nil:
		return nil, false, err
	case sameCuts(prev, c):
		return prev, false, nil
	}
	c.Meta = prev.Meta
	return c, true, rs.s.t.cuts.Update(ctx, prev, c)
}

// write applies one batch in a transaction: next nil deletes prev, prev
// nil inserts next, both update. The records of prevs may have been read
// in part (their ID and version matter): they are read again whole.
func (rs *RFMs) write(ctx context.Context, prevs, nexts []*RFM, res *RefreshResult) error {
	return rs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		var ids []string
		for _, p := range prevs {
			if p != nil {
				ids = append(ids, p.ID)
			}
		}
		whole := map[string]*RFM{}
		if len(ids) > 0 {
			stored, err := storage.All(ctx, rs.s.t.rfm, storage.In("id", ids...))
			if err != nil {
				return err
			}
			for _, r := range stored {
				whole[r.ID] = r
			}
		}
		var inserts []*RFM
		for k, next := range nexts {
			prev := prevs[k]
			if prev != nil {
				if prev = whole[prev.ID]; prev == nil || prev.Version != prevs[k].Version {
					return fmt.Errorf("%w: the RFM record of contact %s changed during the refresh", storage.ErrStale, prevs[k].ContactID)
				}
			}
			switch {
			case prev == nil:
				inserts = append(inserts, next)
			case next == nil:
				if err := rs.s.t.rfm.Delete(ctx, prev); err != nil {
					return err
				}
				res.Deleted++
			default:
				next.Meta = prev.Meta
				if err := rs.s.t.rfm.Update(ctx, prev, next); err != nil {
					return err
				}
				res.Updated++
			}
		}
		res.Created += len(inserts)
		return storage.InsertMany(ctx, rs.s.store, rs.s.t.rfm, inserts)
	})
}

// syncCursor names the feed cursor of RFMs.Sync.
const syncCursor = "retention.rfm"

// feedBatch is how many events Sync reads at a time.
const feedBatch = 500

// Sync brings the RFM records of the context's workspace up to date with
// the changes committed since its last call: it follows the change feed
// (its own cursor, shared by every process on the database, which take
// turns) and rescores, against the stored cut points, the contacts whose
// orders or deals changed (both contacts of an order or deal moved from one
// to another, as a merge does), each batch in one transaction with its
// cursor. The first Sync of a workspace without cut points is a Refresh.
// It returns how many events it read. Run it after writes, or on a ticker.
func (rs *RFMs) Sync(ctx context.Context) (int, error) {
	var res RefreshResult
	return rs.sync(storage.AsSystem(ctx), &res)
}

// sync is Sync, counting what it writes in res.
func (rs *RFMs) sync(ctx context.Context, res *RefreshResult) (int, error) {
	ws := storage.WorkspaceFrom(ctx)
	q := rs.s.store.Queue()
	total := 0
	for {
		n := 0
		err := rs.s.store.RunInTx(ctx, func(ctx context.Context) error {
			cursor, err := q.LockCursor(ctx, ws, syncCursor)
			if err != nil {
				return err
			}
			feed, err := q.EventsAfter(ctx, ws, cursor, feedBatch)
			if err != nil {
				return err
			}
			n = len(feed.Events)
			ids, err := rs.touched(ctx, feed.Events)
			if err != nil {
				return err
			}
			if len(ids) > 0 {
				if err := rs.update(ctx, ids, res); err != nil {
					return err
				}
			}
			return q.SetCursor(ctx, ws, syncCursor, feed.Cursor)
		})
		total += n
		if err != nil || n < feedBatch {
			return total, err
		}
	}
}

// touched returns the contacts whose purchases events may change, sorted:
// those an event's changes name (before and after), and the contacts of
// the orders and deals changed in other fields (a status, an amount).
func (rs *RFMs) touched(ctx context.Context, events []storage.Event) ([]string, error) {
	ids := map[string]bool{}
	others := map[string][]string{}
	for _, ev := range events {
		switch ev.Subject.Type {
		case sales.ObjectOrder, sales.ObjectOpportunity:
			c, ok := ev.Change("contact_id")
			if !ok {
				others[ev.Subject.Type] = append(others[ev.Subject.Type], ev.Subject.ID)
				continue
			}
			for _, raw := range [][]byte{c.Old, c.New} {
				var id string
				if json.Unmarshal(raw, &id) == nil && id != "" {
					ids[id] = true
				}
			}
		}
	}
	add := func(id string) error {
		if id != "" {
			ids[id] = true
		}
		return nil
	}
	err := contactsOf(ctx, rs.s.t.orders, others[sales.ObjectOrder], func(o *sales.Order) error { return add(o.ContactID) })
	if err == nil {
		err = contactsOf(ctx, rs.s.t.deals, others[sales.ObjectOpportunity], func(o *sales.Opportunity) error { return add(o.ContactID) })
	}
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(ids)), nil
}

// contactsOf calls fn with each record of tbl among ids, read with its
// contact_id only.
func contactsOf[T storage.Record](ctx context.Context, tbl storage.Table[T], ids []string, fn func(T) error) error {
	for chunk := range slices.Chunk(ids, storage.MaxLimit) {
		err := storage.Each(ctx, tbl, storage.ListQuery{Filter: storage.In("id", chunk...), Fields: []string{"contact_id"},
			PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}, fn)
		if err != nil {
			return err
		}
	}
	return nil
}

// update rescores the contacts ids against the stored cut points (a
// Refresh when there are none), in the context's transaction.
func (rs *RFMs) update(ctx context.Context, ids []string, res *RefreshResult) error {
	cuts, err := storage.First(ctx, rs.s.t.cuts, nil)
	if err == nil && cuts.ChurnHigh != rs.s.opts.ChurnHigh {
		err = storage.ErrNotFound // options changed: rescore everyone
	}
	if errors.Is(err, storage.ErrNotFound) {
		all, err := rs.refresh(ctx, true)
		res.Created, res.Updated, res.Deleted = res.Created+all.Created, res.Updated+all.Updated, res.Deleted+all.Deleted
		return err
	}
	if err != nil {
		return err
	}
	sc := newScorer(cuts, rs.s.opts.ChurnHigh)
	for chunk := range slices.Chunk(ids, storage.MaxLimit) {
		ps, err := rs.purchasesOf(ctx, cuts.Currency, chunk)
		if err != nil {
			return err
		}
		byContact := map[string]purchases{}
		for _, p := range ps {
			byContact[p.contact] = p
		}
		stored, err := storage.All(ctx, rs.s.t.rfm, storage.In("contact_id", chunk...))
		if err != nil {
			return err
		}
		var prevs, nexts []*RFM
		for _, prev := range stored {
			p, ok := byContact[prev.ContactID]
			delete(byContact, prev.ContactID)
			var next *RFM
			if ok {
				if next = sc.rfmOf(p); same(prev, next) {
					continue
				}
			}
			prevs, nexts = append(prevs, prev), append(nexts, next)
		}
		for _, id := range slices.Sorted(maps.Keys(byContact)) {
			prevs, nexts = append(prevs, nil), append(nexts, sc.rfmOf(byContact[id]))
		}
		if err := rs.write(ctx, prevs, nexts, res); err != nil {
			return err
		}
	}
	return nil
}
