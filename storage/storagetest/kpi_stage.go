package storagetest

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/crmkit/crm/reporting"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// testStageKPIs checks the KPIs per stage against their formulas on a
// hand-computed data set: time in stage (the stays of the deals, ended in
// the period, one written in a zone other than UTC) and stage conversion,
// as the system and as a rep; a report over the stays; and a member from
// whom stage_history is hidden.
func testStageKPIs(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app := hostApp(t, h, e)
	ctx := e.sys
	paris, err := time.LoadLocation("Europe/Paris")
	must(t, "zone", err)
	day := func(mo time.Month, d int) time.Time {
		if mo == 12 {
			return time.Date(2025, mo, d, 9, 0, 0, 0, time.UTC)
		}
		return time.Date(2026, mo, d, 9, 0, 0, 0, time.UTC)
	}
	type move struct {
		stage string
		at    time.Time
	}
	deal := func(owner string, created time.Time, moves ...move) {
		t.Helper()
		o, err := app.Sales.Opportunities.Create(storage.WithWriteTime(ctx, created), sales.NewOpportunity{Name: "Deal", OwnerID: owner})
		must(t, "deal", err)
		for _, m := range moves {
			_, err = app.Sales.Opportunities.MoveStage(storage.WithWriteTime(ctx, m.at), o.ID, m.stage, sales.MoveOptions{})
			must(t, "move", err)
		}
	}
	a, b := e.repA.ID, e.repB.ID
	// Prospecting 2 days, qualification 5 (left at 10:00 in Paris, 09:00
	// UTC), proposal 2, won.
	deal(a, day(1, 1), move{"qualification", day(1, 3)}, move{"proposal", day(1, 8).In(paris)}, move{"closed_won", day(1, 10)})
	// Prospecting 4 days, qualification 1, lost.
	deal(b, day(1, 2), move{"qualification", day(1, 6)}, move{"closed_lost", day(1, 7)})
	// Prospecting 5 days, ended in December; qualification not ended.
	deal(a, day(12, 20), move{"qualification", day(12, 25)})
	// Still in prospecting.
	deal(b, day(1, 5))
	jan := reporting.Params{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	p, err := app.Sales.Pipelines.Default(ctx)
	must(t, "pipeline", err)
	const dayS = 86400.0
	type want struct {
		stage string
		value float64
		n     int64
	}
	check := func(what string, got []storage.KPIValue, wants []want) {
		t.Helper()
		if len(got) != len(wants) {
			t.Fatalf("%s = %+v, want %d stages", what, got, len(wants))
		}
		for i, w := range wants {
			g := got[i]
			st := stageNamed(p, w.stage)
			if g.Group != p.ID+"/"+w.stage || g.Label != p.Name+": "+st.Name || !g.Valid ||
				math.Abs(g.Value-w.value) > 1e-6*math.Max(1, w.value) || g.Count != w.n {
				t.Errorf("%s[%d] = %+v, want %s %v of %d", what, i, g, w.stage, w.value, w.n)
			}
		}
	}
	kpi := func(c *accessEnv, as *access.Member, name string) []storage.KPIValue {
		t.Helper()
		cx := ctx
		if as != nil {
			cx = c.as(as)
		}
		v, err := app.Reporting.KPI(cx, name, jan)
		must(t, name, err)
		return v
	}
	check("time in stage", kpi(e, nil, sales.KPITimeInStage), []want{
		{"prospecting", 3 * dayS, 2}, {"qualification", 3 * dayS, 2}, {"proposal", 2 * dayS, 1}})
	check("time in stage as rep A", kpi(e, e.repA, sales.KPITimeInStage), []want{
		{"prospecting", 2 * dayS, 1}, {"qualification", 5 * dayS, 1}, {"proposal", 2 * dayS, 1}})
	// Deals created in January: 1, 2 and 4 reached prospecting, 1 and 2
	// qualification, 1 the rest.
	check("stage conversion", kpi(e, nil, sales.KPIStageConversion), []want{
		{"prospecting", 1, 3}, {"qualification", 2.0 / 3, 2}, {"proposal", 0.5, 1}, {"negotiation", 1, 1}, {"closed_won", 1, 1}})

	// A report over the stays: per stage, how many and the longest.
	res, err := app.Reporting.Reports.Run(ctx, reporting.Report{Name: "Stays", Object: sales.ObjectOpportunity, Each: "stage_history",
		Where:   "stage_history.left_at >= date('2026-01-01')",
		GroupBy: []reporting.Grouping{{Field: "stage_history.stage"}},
		Measures: []reporting.Measure{{Name: "stays", Op: storage.AggCount},
			{Name: "longest", Op: storage.AggMax, Field: "stage_history.left_at", Since: "stage_history.entered_at"}}}, reporting.Params{})
	must(t, "report over stays", err)
	got := map[string][2]any{}
	for _, r := range res.Rows {
		key, _ := r.Values[0].(string)
		got[key] = [2]any{r.Values[1], r.Values[2]}
		if want := stageNamed(p, key).Name; len(r.Labels) == 0 || r.Labels[0] != want {
			t.Errorf("stay of %s labelled %v, want %q", key, r.Labels, want)
		}
	}
	for key, w := range map[string][2]any{"prospecting": {int64(2), 4 * dayS}, "qualification": {int64(2), 5 * dayS}, "proposal": {int64(1), 2 * dayS}} {
		if g := got[key]; g[0] != w[0] || g[1] == nil || math.Abs(g[1].(float64)-w[1].(float64)) > 1e-3 {
			t.Errorf("stays of %s = %v, want %v", key, g, w)
		}
	}
	if len(got) != 3 {
		t.Errorf("stays by stage = %v, want 3 stages", got)
	}

	// A member from whom the stage history is hidden cannot measure it.
	all := map[storage.Action]storage.Scope{storage.ActionRead: storage.ScopeAll}
	_, err = e.acc.DefineRole(ctx, access.NewRole{Name: "no_history", Permissions: storage.Permissions{storage.AnyType: all},
		Fields: storage.FieldRules{sales.ObjectOpportunity: {"stage_history": storage.FieldHidden}}})
	must(t, "role", err)
	m, err := e.acc.CreateMember(ctx, access.NewMember{Name: "No history", Role: "no_history"})
	must(t, "member", err)
	if _, err := app.Reporting.KPI(e.as(m), sales.KPITimeInStage, jan); !errors.Is(err, storage.ErrForbidden) {
		t.Errorf("time in stage without the stage history: %v, want ErrForbidden", err)
	}
	for what, q := range map[string]storage.AggregateQuery{
		"a list of texts":   {Each: "tags", Measures: []storage.Measure{{Op: storage.AggCount}}},
		"no such field":     {Each: "stays", Measures: []storage.Measure{{Op: storage.AggCount}}},
		"no such key":       {Each: "stage_history", GroupBy: []string{"stage_history.mood"}, Measures: []storage.Measure{{Op: storage.AggCount}}},
		"a key without one": {GroupBy: []string{"stage_history.stage"}, Measures: []storage.Measure{{Op: storage.AggCount}}},
	} {
		if _, err := e.store.Aggregate(ctx, sales.ObjectOpportunity, q); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", what, err)
		}
	}
}

// stageNamed returns the stage of p with key.
func stageNamed(p *sales.Pipeline, key string) sales.Stage {
	for _, st := range p.Stages {
		if st.Key == key {
			return st
		}
	}
	return sales.Stage{}
}
