package marketing

import (
	"context"
	"time"

	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

// The names of the marketing KPIs (Service.KPIs).
const (
	KPICostPerLead = "cost_per_lead"
	KPICampaignROI = "campaign_roi"
)

// KPIs returns the marketing KPIs (storage.KPIProvider), over the
// campaigns whose start date is in the period, as the context's member:
//
//   - cost_per_lead: the campaigns' actual cost ÷ the leads credited to
//     them (a lead whose campaign is one of them), per currency of cost.
//   - campaign_roi: (revenue − cost) ÷ cost, per currency of cost, where
//     revenue is the amount of the won deals converted from those leads
//     and cost the campaigns' actual cost.
//
// Each is a few aggregate statements: leads and deals are read in the
// store (deals through a semi-join on their leads), never listed.
func (s *Service) KPIs() []storage.KPI {
	return []storage.KPI{
		{Name: KPICostPerLead, Title: "Cost per lead", Unit: storage.UnitMoney,
			Formula: "actual cost of the campaigns started in the period ÷ their leads, per currency",
			Compute: func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
				return s.campaignKPI(ctx, from, to, false)
			}},
		{Name: KPICampaignROI, Title: "Campaign ROI", Unit: storage.UnitRatio,
			Formula: "(won revenue of the deals converted from their leads − actual cost) ÷ actual cost, campaigns started in the period, per currency",
			Compute: func(ctx context.Context, from, to time.Time) ([]storage.KPIValue, error) {
				return s.campaignKPI(ctx, from, to, true)
			}},
	}
}

// campaignKPI computes cost per lead, or ROI, per currency of cost.
func (s *Service) campaignKPI(ctx context.Context, from, to time.Time, roi bool) ([]storage.KPIValue, error) {
	started := storage.InPeriod("start_date", from, to)
	costs, err := s.store.Aggregate(ctx, ObjectCampaign, storage.AggregateQuery{Filter: storage.And{started, storage.Gt("cost_amount", 0)},
		GroupBy: []string{"cost_currency"}, Measures: []storage.Measure{{Op: storage.AggSum, Field: "cost_amount"}, {Op: storage.AggCount}}})
	if err != nil {
		return nil, err
	}
	var out []storage.KPIValue
	for _, c := range costs {
		cur, _ := c.Group[0].(string)
		cost := c.Values[0].(int64)
		// The leads of the campaigns of this currency that were started in
		// the period.
		ofCampaigns := storage.Within{Field: "campaign", Type: ObjectCampaign, Select: "id",
			Filter: storage.And{started, storage.Eq("cost_currency", cur)}}
		if !roi {
			n, err := storage.TableOf[*sales.Lead](s.store).Count(ctx, ofCampaigns)
			if err != nil {
				return nil, err
			}
			v := storage.KPIValue{Group: cur, Count: n}
			if n > 0 {
				v.Value, v.Valid = float64(cost)/float64(n), true
			}
			out = append(out, v)
			continue
		}
		rows, err := s.store.Aggregate(ctx, sales.ObjectOpportunity, storage.AggregateQuery{
			Filter: storage.And{storage.Eq("forecast_category", string(sales.ForecastClosed)), storage.Gt("closed_at", time.Time{}),
				storage.Eq("currency", cur),
				storage.Within{Field: "id", Type: sales.ObjectLead, Select: "opportunity_id", Filter: ofCampaigns}},
			Measures: []storage.Measure{{Op: storage.AggSum, Field: "amount"}, {Op: storage.AggCount}}})
		if err != nil {
			return nil, err
		}
		var revenue, won int64
		if len(rows) > 0 {
			revenue, won = rows[0].Values[0].(int64), rows[0].Values[1].(int64)
		}
		out = append(out, storage.KPIValue{Group: cur, Value: float64(revenue-cost) / float64(cost), Valid: true, Count: won})
	}
	return out, nil
}
