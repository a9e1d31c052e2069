package sales

import (
	"context"
	"time"

	"github.com/crmkit/crm/storage"
)

// FunnelStep is one step of a pipeline's funnel.
type FunnelStep struct {
	Stage string `json:"stage"`
	Name  string `json:"name"`
	// Count is how many of the deals reached this stage or a later one
	// (their stage history holds a stay in it, or in a later step).
	Count int64 `json:"count"`
	// Conversion is Count ÷ the previous step's Count (1 for the first
	// step; 0 after a step of none); DropOff is 1 − Conversion.
	Conversion float64 `json:"conversion"`
	DropOff    float64 `json:"drop_off"`
	// FromFirst is Count ÷ the first step's Count.
	FromFirst float64 `json:"from_first"`
}

// Funnel returns the funnel of the pipeline id ("" for the default): its
// open stages in order, then its won stages, each with the deals that
// reached it, over the deals created in [from, to) (zero bounds are open)
// that the member may read. A lost deal counts in the steps it passed. One
// statement computes every step (a count per step over the stage
// histories).
func (ops *Opportunities) Funnel(ctx context.Context, id string, from, to time.Time) ([]FunnelStep, error) {
	var v storage.ValidationError
	p, err := ops.pipeline(ctx, &v, id)
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var steps []Stage
	for _, kind := range []StageKind{StageOpen, StageWon} {
		for _, st := range p.Stages {
			if st.Kind == kind {
				steps = append(steps, st)
			}
		}
	}
	filter := storage.And{storage.Eq("pipeline_id", p.ID)}
	if f := storage.InPeriod("created_at", from, to); f != nil {
		filter = append(filter, f)
	}
	q := storage.AggregateQuery{Filter: filter}
	for i := range steps {
		var reached storage.Or
		for _, later := range steps[i:] {
			reached = append(reached, storage.Cmp{Field: "stage_history", Op: storage.OpContains, Value: map[string]string{"stage": later.Key}})
		}
		q.Measures = append(q.Measures, storage.Measure{Op: storage.AggCount, Where: reached})
	}
	rows, err := ops.s.store.Aggregate(ctx, ObjectOpportunity, q)
	if err != nil {
		return nil, err
	}
	out := make([]FunnelStep, len(steps))
	for i, st := range steps {
		out[i] = FunnelStep{Stage: st.Key, Name: st.Name}
		if len(rows) > 0 {
			out[i].Count = rows[0].Values[i].(int64)
		}
		switch {
		case i == 0:
			out[i].Conversion = 1
		case out[i-1].Count > 0:
			out[i].Conversion = float64(out[i].Count) / float64(out[i-1].Count)
		}
		out[i].DropOff = 1 - out[i].Conversion
		if out[0].Count > 0 {
			out[i].FromFirst = float64(out[i].Count) / float64(out[0].Count)
		}
	}
	return out, nil
}
