package service

import (
	"context"
	"time"

	"github.com/crmkit/crm/storage"
)

// The names of the service KPIs (Service.KPIs).
const (
	KPIFirstResponse  = "first_response_time"
	KPIResolutionTime = "resolution_time"
	KPIOpenCases      = "open_cases"
	// The SLA KPIs, over the cases under an SLA policy.
	KPISLACompliance          = "sla_compliance"
	KPIFirstResponseBusiness  = "first_response_business_time"
	KPIResolutionBusinessTime = "resolution_business_time"
)

// KPIs returns the service KPIs (storage.KPIProvider), each computed in the
// store as the context's member over the cases it may read, in calendar
// time:
//
//   - first_response_time: the mean of first_response_at − created_at over
//     the cases first answered in the period, in seconds.
//   - resolution_time: the mean of resolved_at − created_at over the cases
//     resolved in the period (and not merged into another), in seconds.
//   - open_cases: the cases not resolved now, by priority (Group); the
//     period does not apply.
//   - sla_compliance: the share of the cases resolved in the period under
//     an SLA whose every clock was met: first response and resolution not
//     missed, no next response late.
//   - first_response_business_time and resolution_business_time: the
//     means of SLA.FirstResponseTime and SLA.ResolutionTime, in seconds of
//     the policies' working time, over the cases whose clock stopped in
//     the period (first answered, or resolved).
//   - csat, nps, ces: the survey scores (Surveys.Scores) of the surveys
//     answered in the period; csat as a ratio (0–1), nps and ces on their
//     own scales (storage.UnitScore).
func (s *Service) KPIs() []storage.KPI {
	span := func(field string, extra storage.Filter) func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
		return func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
			rows, err := s.store.Aggregate(ctx, ObjectCase, storage.AggregateQuery{
				Filter:   storage.And{storage.InPeriod(field, from, to), storage.Gt(field, time.Time{}), extra},
				Measures: []storage.Measure{{Op: storage.AggAvg, Field: field, Since: "created_at"}, {Op: storage.AggCount}}})
			if err != nil || len(rows) == 0 {
				return []storage.KPIValue{{}}, err
			}
			mean, ok := rows[0].Values[0].(float64)
			return []storage.KPIValue{{Value: mean, Valid: ok, Count: rows[0].Values[1].(int64)}}, nil
		}
	}
	// business averages the working time of a clock stopped in the period.
	business := func(at, state, took string) func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
		return func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
			rows, err := s.store.Aggregate(ctx, ObjectCase, storage.AggregateQuery{
				Filter: storage.And{storage.InPeriod(at, from, to), storage.In(state, string(SLAHit), string(SLAMissed)),
					storage.Eq("merged_into", "")},
				Measures: []storage.Measure{{Op: storage.AggAvg, Field: took}, {Op: storage.AggCount}}})
			if err != nil || len(rows) == 0 {
				return []storage.KPIValue{{}}, err
			}
			mean, ok := rows[0].Values[0].(float64)
			return []storage.KPIValue{{Value: mean / float64(time.Second), Valid: ok, Count: rows[0].Values[1].(int64)}}, nil
		}
	}
	return append([]storage.KPI{
		{Name: KPISLACompliance, Title: "SLA compliance", Unit: storage.UnitRatio,
			Formula: "cases resolved in the period under an SLA with no clock missed ÷ cases resolved in the period under an SLA",
			Compute: func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
				met := storage.And{storage.Ne("sla_first_response", string(SLAMissed)), storage.Ne("sla_resolution", string(SLAMissed)),
					storage.Eq("sla_next_responses_missed", 0)}
				rows, err := s.store.Aggregate(ctx, ObjectCase, storage.AggregateQuery{
					Filter: storage.And{storage.InPeriod("resolved_at", from, to), storage.Gt("resolved_at", time.Time{}),
						storage.Ne("sla_policy_id", ""), storage.Eq("merged_into", "")},
					Measures: []storage.Measure{{Op: storage.AggCount, Where: met}, {Op: storage.AggCount}, {Op: storage.AggRatio, Of: [2]int{0, 1}}}})
				if err != nil || len(rows) == 0 {
					return []storage.KPIValue{{}}, err
				}
				ratio, ok := rows[0].Values[2].(float64)
				return []storage.KPIValue{{Value: ratio, Valid: ok, Count: rows[0].Values[1].(int64)}}, nil
			}},
		{Name: KPIFirstResponseBusiness, Title: "First response time (business hours)", Unit: storage.UnitSeconds,
			Formula: "mean working time from creation to first reply, in the SLA's calendar, cases first answered in the period",
			Compute: business("first_response_at", "sla_first_response", "sla_first_response_time")},
		{Name: KPIResolutionBusinessTime, Title: "Resolution time (business hours)", Unit: storage.UnitSeconds,
			Formula: "mean working time from creation to resolution less the time paused, in the SLA's calendar, cases resolved in the period",
			Compute: business("resolved_at", "sla_resolution", "sla_resolution_time")},
		{Name: KPIFirstResponse, Title: "First response time", Unit: storage.UnitSeconds,
			Formula: "mean of first_response_at − created_at, cases first answered in the period (first_response_at)",
			Compute: span("first_response_at", nil)},
		{Name: KPIResolutionTime, Title: "Resolution time", Unit: storage.UnitSeconds,
			Formula: "mean of resolved_at − created_at, cases resolved in the period (resolved_at), merged ones left out",
			Compute: span("resolved_at", storage.Eq("merged_into", ""))},
		{Name: KPIOpenCases, Title: "Open cases", Unit: storage.UnitCount,
			Formula: "cases not resolved now, by priority",
			Compute: func(ctx context.Context, _, _ time.Time) ([]storage.KPIValue, error) {
				rows, err := s.store.Aggregate(ctx, ObjectCase, storage.AggregateQuery{
					Filter:  storage.Ne("status_category", string(StatusResolved)),
					GroupBy: []string{"priority"}, Measures: []storage.Measure{{Op: storage.AggCount}}})
				if err != nil {
					return nil, err
				}
				var out []storage.KPIValue
				for _, p := range []Priority{PriorityUrgent, PriorityHigh, PriorityNormal, PriorityLow} {
					v := storage.KPIValue{Group: string(p), Label: string(p), Valid: true}
					for _, r := range rows {
						if r.Group[0] == string(p) {
							v.Count = r.Values[0].(int64)
						}
					}
					v.Value = float64(v.Count)
					out = append(out, v)
				}
				return out, nil
			}},
	}, s.surveyKPIs()...)
}
