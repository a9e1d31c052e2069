package sales

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// The names of the sales KPIs (Service.KPIs).
const (
	KPIWinRate            = "win_rate"
	KPIAverageDealSize    = "average_deal_size"
	KPISalesCycle         = "sales_cycle"
	KPIPipelineVelocity   = "pipeline_velocity"
	KPILeadConversionRate = "lead_conversion_rate"
	KPIActivitiesPerRep   = "activities_per_rep"
	KPICustomerValue      = "customer_lifetime_value"
	KPIForecastAccuracy   = "forecast_accuracy"
	KPITimeInStage        = "time_in_stage"
	KPIStageConversion    = "stage_conversion"
	KPIQuotaAttainment    = "quota_attainment"
)

// KPIs returns the sales KPIs (storage.KPIProvider), each computed in the
// store as the context's member over the deals or leads it may read:
//
//   - win_rate: won ÷ (won + lost), over the deals whose closed_at is in
//     the period; won and lost are the stages of those kinds in each
//     deal's pipeline.
//   - average_deal_size: the mean amount of the deals won in the period,
//     per currency.
//   - sales_cycle: the mean of closed_at − created_at over the deals won
//     in the period, in seconds.
//   - pipeline_velocity: open deals × average deal size × win rate ÷ sales
//     cycle in days, per currency: what the pipeline is expected to bring
//     in per day. The open deals are those open now; the other three are
//     the period's.
//   - lead_conversion_rate: leads converted ÷ leads, over the leads whose
//     created_at is in the period.
//   - activities_per_rep: activities ÷ the members who own one, over the
//     activities whose occurred_at is in the period.
//   - customer_lifetime_value: what customers spent, net of refunds, ÷ the
//     customers who did, over the orders that count (neither cancelled nor
//     refunded in full) ordered in the period, per currency: over all time,
//     the historical lifetime value.
//   - forecast_accuracy: the revenue won in the period ÷ what the period's
//     first forecast snapshot (Forecasts.Take of exactly that period, all
//     pipelines, no grouping) forecast, won by then plus commit, per
//     currency; no value without such a snapshot.
//   - time_in_stage: per stage of each pipeline, the mean of left_at −
//     entered_at over the stays in it (StageHistory) that ended in the
//     period, in seconds; a stay not ended yet does not count.
//   - stage_conversion: per step of each pipeline's funnel (Funnel), the
//     share of the deals that reached the step before it that reached it
//     too, over the deals created in the period.
//   - quota_attainment: per quota (Quotas) whose period starts in the
//     period, the revenue won in its currency by deals closed in the
//     quota's period, owned by its member (or in its team, for a team's
//     quota) ÷ its target; Group the quota's ID, Label the name of who
//     it is for.
//
// The KPIs per stage give one value per stage, Group "<pipeline
// id>/<stage key>" and Label "<pipeline name>: <stage name>", in the
// pipelines' order of names and stages.
func (s *Service) KPIs() []storage.KPI {
	return []storage.KPI{
		{Name: KPIWinRate, Title: "Win rate", Unit: storage.UnitRatio,
			Formula: "won ÷ (won + lost), deals closed in the period (closed_at)",
			Compute: func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
				o, err := s.outcomes(ctx, from, to, false, false, true)
				if err != nil {
					return nil, err
				}
				var won, closed int64
				for _, c := range o {
					won += c.won
					closed += c.won + c.lost
				}
				return []storage.KPIValue{ratio(float64(won), float64(closed), closed)}, nil
			}},
		{Name: KPIAverageDealSize, Title: "Average deal size", Unit: storage.UnitMoney,
			Formula: "mean amount of the deals won in the period (closed_at), per currency",
			Compute: func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
				o, err := s.outcomes(ctx, from, to, true, false, false)
				if err != nil {
					return nil, err
				}
				var out []storage.KPIValue
				for _, c := range o {
					out = append(out, storage.KPIValue{Group: c.currency, Value: c.avgAmount, Valid: c.won > 0, Count: c.won})
				}
				return out, nil
			}},
		{Name: KPISalesCycle, Title: "Sales cycle", Unit: storage.UnitSeconds,
			Formula: "mean of closed_at − created_at over the deals won in the period (closed_at)",
			Compute: func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
				o, err := s.outcomes(ctx, from, to, false, true, false)
				if err != nil {
					return nil, err
				}
				var sum float64
				var n int64
				for _, c := range o {
					sum += c.avgCycle * float64(c.won)
					n += c.won
				}
				return []storage.KPIValue{ratio(sum, float64(n), n)}, nil
			}},
		{Name: KPIPipelineVelocity, Title: "Pipeline velocity", Unit: storage.UnitMoneyPerDay,
			Formula: "open deals × average deal size × win rate ÷ sales cycle (days), per currency; open deals now, the rest over the period",
			Compute: func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
				return s.velocity(ctx, from, to)
			}},
		{Name: KPILeadConversionRate, Title: "Lead conversion rate", Unit: storage.UnitRatio,
			Formula: "leads converted ÷ leads, leads created in the period (created_at)",
			Compute: func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
				rows, err := s.store.Aggregate(ctx, ObjectLead, storage.AggregateQuery{Filter: storage.InPeriod("created_at", from, to),
					Measures: []storage.Measure{{Op: storage.AggCount}, {Op: storage.AggCount, Where: storage.Eq("status", string(LeadConverted))}}})
				if err != nil || len(rows) == 0 {
					return []storage.KPIValue{{}}, err
				}
				all, conv := rows[0].Values[0].(int64), rows[0].Values[1].(int64)
				return []storage.KPIValue{ratio(float64(conv), float64(all), all)}, nil
			}},
		{Name: KPIActivitiesPerRep, Title: "Activities per rep", Unit: storage.UnitCount,
			Formula: "activities ÷ members who own one, activities in the period (occurred_at)",
			Compute: func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
				rows, err := s.store.Aggregate(ctx, contacts.ObjectActivity, storage.AggregateQuery{
					Filter:   storage.And{storage.InPeriod("occurred_at", from, to), storage.Ne("owner_id", "")},
					Measures: []storage.Measure{{Op: storage.AggCount}, {Op: storage.AggCountDistinct, Field: "owner_id"}}})
				if err != nil || len(rows) == 0 {
					return []storage.KPIValue{{}}, err
				}
				n, reps := rows[0].Values[0].(int64), rows[0].Values[1].(int64)
				return []storage.KPIValue{ratio(float64(n), float64(reps), n)}, nil
			}},
		{Name: KPIForecastAccuracy, Title: "Forecast accuracy", Unit: storage.UnitRatio,
			Formula: "won revenue of the period ÷ its first snapshot's forecast (won by then + commit), per currency",
			Compute: s.forecastAccuracy},
		{Name: KPITimeInStage, Title: "Time in stage", Unit: storage.UnitSeconds,
			Formula: "mean of left_at − entered_at over the stays in each stage that ended in the period (left_at)",
			Compute: s.timeInStage},
		{Name: KPIStageConversion, Title: "Stage conversion", Unit: storage.UnitRatio,
			Formula: "deals that reached a step ÷ deals that reached the step before, per step of each pipeline's funnel, deals created in the period",
			Compute: s.stageConversion},
		{Name: KPIQuotaAttainment, Title: "Quota attainment", Unit: storage.UnitRatio,
			Formula: "won revenue in the quota's period and currency, by its member or team ÷ its target, quotas starting in the period",
			Compute: s.quotaAttainment},
		{Name: KPICustomerValue, Title: "Customer lifetime value", Unit: storage.UnitMoney,
			Formula: "net spent (total − refunded) ÷ customers, orders that count ordered in the period, per currency",
			Compute: func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
				rows, err := s.store.Aggregate(ctx, ObjectOrder, storage.AggregateQuery{
					Filter: storage.And{storage.InPeriod("ordered_at", from, to), storage.Ne("contact_id", ""),
						storage.Not{Filter: storage.In("status", OrderCancelled, OrderRefunded)}},
					GroupBy: []string{"currency"},
					Measures: []storage.Measure{{Op: storage.AggSum, Field: "total"}, {Op: storage.AggSum, Field: "refunded"},
						{Op: storage.AggCountDistinct, Field: "contact_id"}}})
				if err != nil {
					return nil, err
				}
				var out []storage.KPIValue
				for _, r := range rows {
					cur, _ := r.Group[0].(string)
					net, customers := r.Values[0].(int64)-r.Values[1].(int64), r.Values[2].(int64)
					v := ratio(float64(net), float64(customers), customers)
					v.Group = cur
					out = append(out, v)
				}
				return out, nil
			}},
	}
}

// outcome is what the deals of one currency closed in a period came to.
type outcome struct {
	currency            string
	won, lost           int64
	avgAmount, avgCycle float64
}

// outcomes reads, in one statement, the won (and with lost, the lost)
// deals closed in [from, to) by currency: counts, the won deals' mean
// amount and cycle. Only the deals counted are read: the closed stages are
// in the statement's WHERE clause.
//
// Only the figures asked for are measured, so that a member from whom
// amounts are hidden still gets the win rate and the cycle.
func (s *Service) outcomes(ctx context.Context, from, to time.Time, amounts, cycles, lost bool) ([]outcome, error) {
	won, lostStages, err := s.closedStages(ctx)
	if err != nil {
		return nil, err
	}
	// With lost deals read too, the won deals' figures are conditional.
	var closed storage.Filter = won
	var ofWon storage.Filter
	measures := []storage.Measure{{Op: storage.AggCount}}
	if lost {
		closed, ofWon = storage.Or{won, lostStages}, won
		measures = []storage.Measure{{Op: storage.AggCount, Where: won}, {Op: storage.AggCount, Where: lostStages}}
	}
	if amounts {
		measures = append(measures, storage.Measure{Op: storage.AggAvg, Field: "amount", Where: ofWon})
	}
	if cycles {
		measures = append(measures, storage.Measure{Op: storage.AggAvg, Field: "closed_at", Since: "created_at", Where: ofWon})
	}
	q := storage.AggregateQuery{
		Filter:   storage.And{storage.InPeriod("closed_at", from, to), storage.Gt("closed_at", time.Time{}), closed},
		Measures: measures,
	}
	if amounts {
		q.GroupBy = []string{"currency"} // amounts add up within a currency only
	}
	rows, err := s.store.Aggregate(ctx, ObjectOpportunity, q)
	if err != nil {
		return nil, err
	}
	out := make([]outcome, len(rows))
	for i, r := range rows {
		var cur string
		if amounts {
			cur, _ = r.Group[0].(string)
		}
		out[i] = outcome{currency: cur, won: r.Values[0].(int64)}
		k := 1
		if lost {
			out[i].lost = r.Values[1].(int64)
			k = 2
		}
		if amounts {
			out[i].avgAmount, _ = r.Values[k].(float64)
			k++
		}
		if cycles {
			out[i].avgCycle, _ = r.Values[k].(float64)
		}
	}
	return out, nil
}

// velocity is pipeline_velocity: the open deals by currency (now) with the
// period's outcomes.
func (s *Service) velocity(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
	o, err := s.outcomes(ctx, from, to, true, true, true)
	if err != nil {
		return nil, err
	}
	rows, err := s.store.Aggregate(ctx, ObjectOpportunity, storage.AggregateQuery{Filter: storage.Eq("closed_at", time.Time{}),
		GroupBy: []string{"currency"}, Measures: []storage.Measure{{Op: storage.AggCount}}})
	if err != nil {
		return nil, err
	}
	var won, closed int64
	var cycle float64
	for _, c := range o {
		won += c.won
		closed += c.won + c.lost
		cycle += c.avgCycle * float64(c.won)
	}
	var out []storage.KPIValue
	for _, r := range rows {
		cur, _ := r.Group[0].(string)
		open := r.Values[0].(int64)
		v := storage.KPIValue{Group: cur, Count: open}
		i := slices.IndexFunc(o, func(c outcome) bool { return c.currency == cur })
		if i >= 0 && o[i].won > 0 && closed > 0 && cycle > 0 {
			days := cycle / float64(won) / 86400
			v.Value = float64(open) * o[i].avgAmount * (float64(won) / float64(closed)) / days
			v.Valid = true
		}
		out = append(out, v)
	}
	return out, nil
}

// closedStages returns the filters of won and of lost deals: in each
// pipeline of the workspace, its stages of that kind.
func (s *Service) closedStages(ctx context.Context) (won, lost storage.Filter, err error) {
	var w, l storage.Or
	err = storage.Each(ctx, s.t.pipelines, storage.ListQuery{}, func(p *Pipeline) error {
		var wk, lk []any
		for _, st := range p.Stages {
			switch st.Kind {
			case StageWon:
				wk = append(wk, st.Key)
			case StageLost:
				lk = append(lk, st.Key)
			}
		}
		if len(wk) > 0 {
			w = append(w, storage.And{storage.Eq("pipeline_id", p.ID), storage.Cmp{Field: "stage", Op: storage.OpIn, Value: wk}})
		}
		if len(lk) > 0 {
			l = append(l, storage.And{storage.Eq("pipeline_id", p.ID), storage.Cmp{Field: "stage", Op: storage.OpIn, Value: lk}})
		}
		return nil
	})
	none := storage.Eq("id", "") // no deal: a workspace without such stages
	if len(w) == 0 {
		w = storage.Or{none}
	}
	if len(l) == 0 {
		l = storage.Or{none}
	}
	return w, l, err
}

// quotaAttainment is quota_attainment: the quotas, then one statement per
// distinct quota period over the won deals closed in it, by owner, team
// and currency.
func (s *Service) quotaAttainment(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
	var quotas []*Quota
	err := storage.Each(ctx, s.t.quotas, storage.ListQuery{Filter: storage.InPeriod("period_from", from, to),
		Sort: []storage.Sort{{Field: "period_from"}}}, func(q *Quota) error {
		quotas = append(quotas, q)
		return nil
	})
	if err != nil || len(quotas) == 0 {
		return nil, err
	}
	won, _, err := s.closedStages(ctx)
	if err != nil {
		return nil, err
	}
	type key struct{ owner, team, currency string }
	type figures struct{ sum, n int64 }
	periods := map[Period]map[key]figures{}
	for _, q := range quotas {
		p := Period{From: q.From, To: q.To}
		if _, done := periods[p]; done {
			continue
		}
		rows, err := s.store.Aggregate(ctx, ObjectOpportunity, storage.AggregateQuery{
			Filter:   storage.And{storage.InPeriod("closed_at", p.From, p.To), won},
			GroupBy:  []string{"owner_id", "team_id", "currency"},
			Measures: []storage.Measure{{Op: storage.AggSum, Field: "amount"}, {Op: storage.AggCount}}})
		if err != nil {
			return nil, err
		}
		m := map[key]figures{}
		for _, r := range rows {
			owner, _ := r.Group[0].(string)
			team, _ := r.Group[1].(string)
			cur, _ := r.Group[2].(string)
			sum, _ := r.Values[0].(int64)
			m[key{owner, team, cur}] = figures{sum, r.Values[1].(int64)}
		}
		periods[p] = m
	}
	names, err := s.holders(ctx, quotas)
	if err != nil {
		return nil, err
	}
	out := make([]storage.KPIValue, len(quotas))
	for i, q := range quotas {
		var got figures
		for k, f := range periods[Period{From: q.From, To: q.To}] {
			if k.currency == q.Target.Currency && (q.OwnerID != "" && k.owner == q.OwnerID || q.OwnerID == "" && k.team == q.TeamID) {
				got.sum += f.sum
				got.n += f.n
			}
		}
		who := names[q.TeamID]
		if q.OwnerID != "" {
			who = names[q.OwnerID]
		}
		out[i] = storage.KPIValue{Group: q.ID, Label: who, Value: float64(got.sum) / float64(q.Target.Amount), Valid: true, Count: got.n}
	}
	return out, nil
}

// holders returns the names of the members and teams the quotas are for,
// by ID, as the member reads them (the ID where it may not).
func (s *Service) holders(ctx context.Context, quotas []*Quota) (map[string]string, error) {
	var members, teams []string
	for _, q := range quotas {
		if q.OwnerID != "" {
			members = append(members, q.OwnerID)
		} else {
			teams = append(teams, q.TeamID)
		}
	}
	names := map[string]string{}
	for _, id := range append(slices.Clone(members), teams...) {
		names[id] = id
	}
	if err := nameAll(ctx, storage.TableOf[*access.Member](s.store), members, names, func(m *access.Member) string { return m.Name }); err != nil {
		return nil, err
	}
	if err := nameAll(ctx, storage.TableOf[*access.Team](s.store), teams, names, func(t *access.Team) string { return t.Name }); err != nil {
		return nil, err
	}
	return names, nil
}

// nameAll sets names[id] to the name of each record of tbl with one of
// ids that the member may read.
func nameAll[T storage.Record](ctx context.Context, tbl storage.Table[T], ids []string, names map[string]string, name func(T) string) error {
	if len(ids) == 0 {
		return nil
	}
	err := storage.Each(ctx, tbl, storage.ListQuery{Filter: storage.In("id", ids...)}, func(r T) error {
		names[r.RecordMeta().ID] = name(r)
		return nil
	})
	if errors.Is(err, storage.ErrForbidden) {
		return nil
	}
	return err
}

// timeInStage is time_in_stage: one statement over the stays of the deals
// (AggregateQuery.Each), grouped by pipeline and stage.
func (s *Service) timeInStage(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
	ended := storage.Not{Filter: storage.Cmp{Field: "stage_history.left_at", Op: storage.OpEmpty}}
	rows, err := s.store.Aggregate(ctx, ObjectOpportunity, storage.AggregateQuery{Each: "stage_history",
		Filter:   storage.And{ended, storage.InPeriod("stage_history.left_at", from, to)},
		GroupBy:  []string{"pipeline_id", "stage_history.stage"},
		Measures: []storage.Measure{{Op: storage.AggAvg, Field: "stage_history.left_at", Since: "stage_history.entered_at"}, {Op: storage.AggCount}}})
	if err != nil {
		return nil, err
	}
	stays := map[[2]string]storage.KPIValue{}
	for _, r := range rows {
		pid, _ := r.Group[0].(string)
		key, _ := r.Group[1].(string)
		mean, ok := r.Values[0].(float64)
		stays[[2]string{pid, key}] = storage.KPIValue{Value: mean, Valid: ok, Count: r.Values[1].(int64)}
	}
	return s.perStage(ctx, func(p *Pipeline, st Stage) (storage.KPIValue, bool) {
		v, ok := stays[[2]string{p.ID, st.Key}]
		return v, ok
	})
}

// stageConversion is stage_conversion: each pipeline's funnel.
func (s *Service) stageConversion(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
	steps := map[[2]string]storage.KPIValue{}
	err := storage.Each(ctx, s.t.pipelines, storage.ListQuery{}, func(p *Pipeline) error {
		f, err := s.Opportunities.Funnel(ctx, p.ID, from, to)
		for i, st := range f {
			v := storage.KPIValue{Value: st.Conversion, Count: st.Count, Valid: i == 0 && st.Count > 0 || i > 0 && f[i-1].Count > 0}
			if !v.Valid {
				v.Value = 0
			}
			steps[[2]string{p.ID, st.Stage}] = v
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.perStage(ctx, func(p *Pipeline, st Stage) (storage.KPIValue, bool) {
		v, ok := steps[[2]string{p.ID, st.Key}]
		return v, ok
	})
}

// perStage returns the values of a KPI per stage in the pipelines' order
// (by name) and their stages', each named, leaving out the stages value
// gives none for.
func (s *Service) perStage(ctx context.Context, value func(*Pipeline, Stage) (storage.KPIValue, bool)) ([]storage.KPIValue, error) {
	var out []storage.KPIValue
	err := storage.Each(ctx, s.t.pipelines, storage.ListQuery{Sort: []storage.Sort{{Field: "name"}}}, func(p *Pipeline) error {
		for _, st := range p.Stages {
			if v, ok := value(p, st); ok {
				v.Group, v.Label = p.ID+"/"+st.Key, p.Name+": "+st.Name
				out = append(out, v)
			}
		}
		return nil
	})
	return out, err
}

// ratio is num ÷ den as a KPI value of n records, none when den is 0.
func ratio(num, den float64, n int64) storage.KPIValue {
	if den == 0 {
		return storage.KPIValue{Count: n}
	}
	return storage.KPIValue{Value: num / den, Valid: true, Count: n}
}

// forecastAccuracy is the forecast_accuracy KPI.
func (s *Service) forecastAccuracy(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
	if from.IsZero() || to.IsZero() {
		return nil, nil
	}
	var first *Snapshot
	err := storage.Each(ctx, s.t.snapshots, storage.ListQuery{Sort: []storage.Sort{{Field: "taken_at"}}}, func(snap *Snapshot) error {
		q := snap.Query
		if first == nil && q.Period.From.Equal(from) && q.Period.To.Equal(to) && q.GroupBy == GroupNone && q.PipelineID == "" {
			first = snap
		}
		return nil
	})
	if err != nil || first == nil {
		return nil, err
	}
	now, err := s.Forecasts.Compute(ctx, first.Query)
	if err != nil {
		return nil, err
	}
	var out []storage.KPIValue
	for _, then := range first.Rows {
		forecast := then.ClosedWon + then.Commit
		v := storage.KPIValue{Group: then.Currency}
		for _, r := range now {
			if r.Currency == then.Currency {
				v = ratio(float64(r.ClosedWon), float64(forecast), r.Deals)
				v.Group = then.Currency
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// FieldLabels names the stages of deals (storage.FieldLabeler): the
// values of an opportunity's stage and of its stays' stage
// (stage_history.stage) by the names their pipelines give them, from the
// pipelines the member may read; a key named differently in two pipelines
// gets both names ("Proposal / Offer").
func (s *Service) FieldLabels(ctx context.Context, recordType, field string, values []string) (map[string]string, error) {
	if recordType != ObjectOpportunity || field != "stage" && field != "stage_history.stage" {
		return nil, nil
	}
	names := map[string][]string{}
	err := storage.Each(ctx, s.t.pipelines, storage.ListQuery{Sort: []storage.Sort{{Field: "name"}}}, func(p *Pipeline) error {
		for _, st := range p.Stages {
			if slices.Contains(values, st.Key) && !slices.Contains(names[st.Key], st.Name) {
				names[st.Key] = append(names[st.Key], st.Name)
			}
		}
		return nil
	})
	out := make(map[string]string, len(names))
	for k, n := range names {
		out[k] = strings.Join(n, " / ")
	}
	return out, err
}
