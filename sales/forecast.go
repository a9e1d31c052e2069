package sales

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crm/storage"
)

// Period is a half-open range of time [From, To).
type Period struct {
	From, To time.Time
}

// Month returns the calendar month of year, in UTC.
func Month(year int, month time.Month) Period {
	from := time.Date(year, month, 1, 0, 0, 0, 0, time.UTC)
	return Period{From: from, To: from.AddDate(0, 1, 0)}
}

// Quarter returns quarter q (1–4) of year, in UTC.
func Quarter(year, q int) Period {
	from := time.Date(year, time.Month(3*(q-1)+1), 1, 0, 0, 0, 0, time.UTC)
	return Period{From: from, To: from.AddDate(0, 3, 0)}
}

// Grouping is what forecast rows are grouped by.
type Grouping string

// The groupings of a forecast.
const (
	GroupNone     Grouping = ""
	GroupOwner    Grouping = "owner_id"
	GroupTeam     Grouping = "team_id"
	GroupPipeline Grouping = "pipeline_id"
)

// ForecastQuery asks for a forecast.
type ForecastQuery struct {
	// Period selects open deals by expected close date and won deals by
	// close date.
	Period Period
	// GroupBy groups the rows; GroupNone gives one row per currency.
	GroupBy Grouping
	// PipelineID, when set, limits the forecast to one pipeline.
	PipelineID string
}

// ForecastRow is the forecast of one group in one currency. Amounts are in
// the currency's minor units. Each category counts only its own deals:
// best case does not include commit (add them for the cumulative figure).
type ForecastRow struct {
	Group    string `json:"group"`
	Currency string `json:"currency"`
	// ClosedWon sums the deals won in the period.
	ClosedWon int64 `json:"closed_won"`
	// Commit, BestCase and Pipeline sum the open deals expected to close in
	// the period, by forecast category.
	Commit   int64 `json:"commit"`
	BestCase int64 `json:"best_case"`
	Pipeline int64 `json:"pipeline"`
	// Weighted sums amount × probability of those open deals (rounded down
	// to the minor unit, per deal).
	Weighted int64 `json:"weighted"`
	// Deals counts the deals the row sums (won and open).
	Deals int64 `json:"deals"`
}

// StageTotal is the pipeline summary of one stage in one currency.
type StageTotal struct {
	Stage    string `json:"stage"`
	Currency string `json:"currency"`
	Count    int64  `json:"count"`
	Amount   int64  `json:"amount"`
	// Weighted is Σ amount × probability / 100, each deal rounded down.
	Weighted int64 `json:"weighted"`
}

// Forecasts computes, stores and compares forecasts.
type Forecasts struct{ s *Service }

// Compute returns the forecast q asks for, rows sorted by group and
// currency.
func (fs *Forecasts) Compute(ctx context.Context, q ForecastQuery) ([]ForecastRow, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	rows, err := fs.forecast(ctx, q)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rows, func(a, b ForecastRow) int {
		return strings.Compare(a.Group+"\x00"+a.Currency, b.Group+"\x00"+b.Currency)
	})
	return rows, nil
}

func (q ForecastQuery) check() error {
	var v storage.ValidationError
	if q.Period.From.IsZero() || q.Period.To.IsZero() || !q.Period.To.After(q.Period.From) {
		v.Add("period", "needs From before To")
	}
	switch q.GroupBy {
	case GroupNone, GroupOwner, GroupTeam, GroupPipeline:
	default:
		v.Add("group_by", "%q is not owner_id, team_id or pipeline_id", q.GroupBy)
	}
	return v.Err()
}

// Summary returns the pipeline summary by stage, in the pipeline's stage
// order, then by currency.
func (fs *Forecasts) Summary(ctx context.Context, pipelineID string) ([]StageTotal, error) {
	p, err := fs.s.t.pipelines.Get(ctx, pipelineID)
	if err != nil {
		return nil, err
	}
	rows, err := fs.summary(ctx, pipelineID)
	if err != nil {
		return nil, err
	}
	order := map[string]int{}
	for i, st := range p.Stages {
		order[st.Key] = i
	}
	slices.SortFunc(rows, func(a, b StageTotal) int {
		if d := order[a.Stage] - order[b.Stage]; d != 0 {
			return d
		}
		return strings.Compare(a.Currency, b.Currency)
	})
	return rows, nil
}

// forecast sums the deals of q's period in one aggregate of the store,
// within the principal's read scope: open deals by expected close date,
// won ones by close date, each forecast category a conditional sum.
func (fs *Forecasts) forecast(ctx context.Context, q ForecastQuery) ([]ForecastRow, error) {
	in := func(field string) storage.Filter {
		return storage.And{storage.Cmp{Field: field, Op: storage.OpGe, Value: q.Period.From},
			storage.Cmp{Field: field, Op: storage.OpLt, Value: q.Period.To}}
	}
	category := func(c ForecastCategory) storage.Filter { return storage.Eq("forecast_category", string(c)) }
	filter := storage.And{storage.Or{
		storage.And{category(ForecastClosed), in("closed_at")},
		storage.And{storage.Cmp{Field: "forecast_category", Op: storage.OpIn,
			Value: []string{string(ForecastPipeline), string(ForecastBestCase), string(ForecastCommit)}}, in("expected_close")},
	}}
	if q.PipelineID != "" {
		filter = append(filter, storage.Eq("pipeline_id", q.PipelineID))
	}
	group := []string{"currency"}
	if q.GroupBy != GroupNone {
		group = []string{string(q.GroupBy), "currency"}
	}
	sum := func(field string, where storage.Filter) storage.Measure {
		return storage.Measure{Op: storage.AggSum, Field: field, Where: where}
	}
	rows, err := fs.s.store.Aggregate(ctx, ObjectOpportunity, storage.AggregateQuery{Filter: filter, GroupBy: group,
		Measures: []storage.Measure{
			sum("amount", category(ForecastClosed)),
			sum("amount", category(ForecastCommit)),
			sum("amount", category(ForecastBestCase)),
			sum("amount", category(ForecastPipeline)),
			sum("expected_revenue", storage.Cmp{Field: "forecast_category", Op: storage.OpNe, Value: string(ForecastClosed)}),
			{Op: storage.AggCount},
		}})
	if err != nil {
		return nil, err
	}
	out := make([]ForecastRow, len(rows))
	for i, r := range rows {
		f := &out[i]
		f.Currency, _ = r.Group[len(r.Group)-1].(string)
		if len(r.Group) == 2 {
			f.Group, _ = r.Group[0].(string)
		}
		for j, dst := range []*int64{&f.ClosedWon, &f.Commit, &f.BestCase, &f.Pipeline, &f.Weighted, &f.Deals} {
			*dst, _ = r.Values[j].(int64)
		}
	}
	return out, nil
}

// summary reads the pipeline's rollup: counts and sums by stage and
// currency, exact at every commit (see Module).
func (fs *Forecasts) summary(ctx context.Context, pipelineID string) ([]StageTotal, error) {
	rows, err := fs.s.store.Rollup(ctx, ObjectOpportunity, rollupPipeline, pipelineID)
	if err != nil {
		return nil, err
	}
	out := make([]StageTotal, len(rows))
	for i, r := range rows {
		out[i] = StageTotal{Stage: r.Keys[1], Currency: r.Keys[2], Count: r.Count, Amount: r.Sums[0], Weighted: r.Sums[1]}
	}
	return out, nil
}

// Snapshot is a forecast stored as it was at one time, to compare with
// later ("what we forecast for Q3 on 1 July against now").
type Snapshot struct {
	storage.Meta
	Name    string        `bun:"name,notnull" json:"name"`
	Query   ForecastQuery `bun:"query" json:"query"`
	Rows    []ForecastRow `bun:"figures" json:"rows"`
	TakenAt time.Time     `bun:"taken_at,notnull" json:"taken_at"`
}

// RecordType returns "forecast_snapshot".
func (*Snapshot) RecordType() string { return ObjectSnapshot }

// Take computes the forecast q asks for and stores it as a snapshot.
func (fs *Forecasts) Take(ctx context.Context, name string, q ForecastQuery) (*Snapshot, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxTextLen {
		return nil, storage.Invalid("name", "is required, at most %d characters", MaxTextLen)
	}
	var snap *Snapshot
	err := fs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		rows, err := fs.Compute(ctx, q)
		if err != nil {
			return err
		}
		snap = &Snapshot{Name: name, Query: q, Rows: rows, TakenAt: storage.Now()}
		return fs.s.t.snapshots.Insert(ctx, snap)
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// GetSnapshot returns the snapshot with id.
func (fs *Forecasts) GetSnapshot(ctx context.Context, id string) (*Snapshot, error) {
	return fs.s.t.snapshots.Get(ctx, id)
}

// Change is the difference of one forecast row between a snapshot and now
// (or another snapshot): Now minus Then, per figure.
type Change struct {
	Group, Currency string
	Then, Now       ForecastRow
	Delta           ForecastRow
}

// Compare returns, for every group and currency in either, the snapshot's
// row, the current forecast of the same query, and their difference.
func (fs *Forecasts) Compare(ctx context.Context, snapshotID string) ([]Change, error) {
	snap, err := fs.GetSnapshot(ctx, snapshotID)
	if err != nil {
		return nil, err
	}
	now, err := fs.Compute(ctx, snap.Query)
	if err != nil {
		return nil, err
	}
	return Diff(snap.Rows, now), nil
}

// Diff pairs the rows of two forecasts by group and currency, sorted.
func Diff(then, now []ForecastRow) []Change {
	key := func(r ForecastRow) string { return r.Group + "\x00" + r.Currency }
	byKey := map[string]*Change{}
	var keys []string
	get := func(r ForecastRow) *Change {
		k := key(r)
		c := byKey[k]
		if c == nil {
			c = &Change{Group: r.Group, Currency: r.Currency}
			byKey[k] = c
			keys = append(keys, k)
		}
		return c
	}
	for _, r := range then {
		get(r).Then = r
	}
	for _, r := range now {
		get(r).Now = r
	}
	slices.Sort(keys)
	out := make([]Change, 0, len(keys))
	for _, k := range keys {
		c := byKey[k]
		c.Delta = ForecastRow{Group: c.Group, Currency: c.Currency,
			ClosedWon: c.Now.ClosedWon - c.Then.ClosedWon, Commit: c.Now.Commit - c.Then.Commit,
			BestCase: c.Now.BestCase - c.Then.BestCase, Pipeline: c.Now.Pipeline - c.Then.Pipeline,
			Weighted: c.Now.Weighted - c.Then.Weighted, Deals: c.Now.Deals - c.Then.Deals}
		out = append(out, *c)
	}
	return out
}
