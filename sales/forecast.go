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

// Forecaster is the aggregate SQL of this package, run in the store, not
// by loading deals into Go.
type Forecaster interface {
	// Forecast sums the deals of q's period, within the context
	// principal's read scope.
	Forecast(ctx context.Context, q ForecastQuery) ([]ForecastRow, error)
	// PipelineSummary counts and sums the deals of pipelineID by stage
	// and currency, within the context principal's read scope.
	PipelineSummary(ctx context.Context, pipelineID string) ([]StageTotal, error)
}

// Forecasts computes, stores and compares forecasts.
type Forecasts struct{ s *Service }

// Compute returns the forecast q asks for, rows sorted by group and
// currency.
func (fs *Forecasts) Compute(ctx context.Context, q ForecastQuery) ([]ForecastRow, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	rows, err := fs.s.store.Forecast(ctx, q)
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
	p, err := fs.s.store.Pipelines().Get(ctx, pipelineID)
	if err != nil {
		return nil, err
	}
	rows, err := fs.s.store.PipelineSummary(ctx, pipelineID)
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
		return fs.s.store.Snapshots().Insert(ctx, snap)
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// GetSnapshot returns the snapshot with id.
func (fs *Forecasts) GetSnapshot(ctx context.Context, id string) (*Snapshot, error) {
	return fs.s.store.Snapshots().Get(ctx, id)
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
