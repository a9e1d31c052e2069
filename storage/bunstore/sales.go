package bunstore

import (
	"context"
	"fmt"

	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
)

// The pipeline summary reads a rollup, not the opportunities: the table
// crm_pipeline_rollups keeps, per (workspace, pipeline, stage, currency),
// the count, the amount and the weighted amount of the deals there. Every
// write of an opportunity adjusts it in the write's transaction (rollOpp),
// so it is exact at every commit; migration 0005 filled it from the rows
// that existed. A principal whose read scope on opportunities is not "all"
// gets the same figures from a scan with its scope instead, since the
// rollup cannot know which deals it may see.

const rollupUpsert = `INSERT INTO crm_pipeline_rollups (workspace_id, pipeline_id, stage, currency, deals, amount, weighted)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (workspace_id, pipeline_id, stage, currency) DO UPDATE SET
deals = crm_pipeline_rollups.deals + excluded.deals,
amount = crm_pipeline_rollups.amount + excluded.amount,
weighted = crm_pipeline_rollups.weighted + excluded.weighted`

// weighted is a deal's amount × probability, rounded down to the minor
// unit: the rule of the SQL aggregates too.
func weighted(o *sales.Opportunity) int64 { return o.Amount.Amount * int64(o.Probability) / 100 }

// rollOpp moves an opportunity's figures in the rollup: prev's out, next's
// in (either may be nil, for a create or a delete).
func (s *Store) rollOpp(ctx context.Context, prev, next *sales.Opportunity) error {
	same := prev != nil && next != nil && prev.PipelineID == next.PipelineID && prev.Stage == next.Stage &&
		prev.Amount == next.Amount && prev.Probability == next.Probability
	if same {
		return nil
	}
	q := s.d.rebind(rollupUpsert)
	for _, r := range []struct {
		o    *sales.Opportunity
		sign int64
	}{{prev, -1}, {next, 1}} {
		if r.o == nil {
			continue
		}
		if _, err := s.exec(ctx, q, r.o.WorkspaceID, r.o.PipelineID, r.o.Stage, r.o.Amount.Currency,
			r.sign, r.sign*r.o.Amount.Amount, r.sign*weighted(r.o)); err != nil {
			return err
		}
	}
	return nil
}

// aggregatable refuses aggregates of opportunity fields hidden from the
// principal, and reports whether its read scope is all.
func (s *Store) aggregatable(ctx context.Context) (all bool, err error) {
	p, err := s.principal(ctx)
	if err != nil {
		return false, err
	}
	if p == nil {
		return true, nil
	}
	m := s.opps.c.maskOf(p)
	for _, f := range []string{"amount", "currency", "probability", "stage", "forecast_category", "expected_close", "closed_at"} {
		if m.access(f) == storage.FieldHidden {
			return false, fmt.Errorf("%w: opportunity field %s is hidden from role %s, so its totals are too", storage.ErrForbidden, f, p.Role)
		}
	}
	return p.Scope(sales.ObjectOpportunity, storage.ActionRead) == storage.ScopeAll, nil
}

// PipelineSummary implements sales.Forecaster.
func (s *Store) PipelineSummary(ctx context.Context, pipelineID string) ([]sales.StageTotal, error) {
	return reading(ctx, s, func(ctx context.Context) ([]sales.StageTotal, error) {
		all, err := s.aggregatable(ctx)
		if err != nil {
			return nil, err
		}
		ws := storage.WorkspaceFrom(ctx)
		var b sqlBuilder
		if all {
			b.add("SELECT stage, currency, deals, amount, weighted FROM crm_pipeline_rollups WHERE workspace_id = ? AND pipeline_id = ? AND deals <> 0", ws, pipelineID)
		} else {
			b.add("SELECT t.stage, t.currency, COUNT(*), CAST(SUM(t.amount) AS BIGINT), CAST(SUM(t.amount * t.probability / 100) AS BIGINT) FROM crm_opportunities t WHERE t.workspace_id = ? AND t.pipeline_id = ?", ws, pipelineID)
			if err := s.readable(ctx, s.opps.c, "t", &b); err != nil {
				return nil, err
			}
			b.add(" GROUP BY t.stage, t.currency")
		}
		rows, err := s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
		if err != nil {
			return nil, s.d.translate(err, sales.ObjectOpportunity)
		}
		defer rows.Close()
		var out []sales.StageTotal
		for rows.Next() {
			var r sales.StageTotal
			if err := rows.Scan(&r.Stage, &r.Currency, &r.Count, &r.Amount, &r.Weighted); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, rows.Err()
	})
}

// Forecast implements sales.Forecaster: one scan of the period's deals
// (indexed by expected close date), grouped in SQL.
func (s *Store) Forecast(ctx context.Context, q sales.ForecastQuery) ([]sales.ForecastRow, error) {
	return reading(ctx, s, func(ctx context.Context) ([]sales.ForecastRow, error) {
		if _, err := s.aggregatable(ctx); err != nil {
			return nil, err
		}
		grp := "''"
		switch q.GroupBy {
		case sales.GroupOwner, sales.GroupTeam, sales.GroupPipeline:
			grp = "t." + string(q.GroupBy)
		case sales.GroupNone:
		default:
			return nil, storage.Invalid("group_by", "%q is not a grouping", q.GroupBy)
		}
		from, to := s.d.timeArg(q.Period.From), s.d.timeArg(q.Period.To)
		var b sqlBuilder
		b.add("SELECT "+grp+", t.currency"+
			", CAST(SUM(CASE WHEN t.forecast_category = 'closed' THEN t.amount ELSE 0 END) AS BIGINT)"+
			", CAST(SUM(CASE WHEN t.forecast_category = 'commit' THEN t.amount ELSE 0 END) AS BIGINT)"+
			", CAST(SUM(CASE WHEN t.forecast_category = 'best_case' THEN t.amount ELSE 0 END) AS BIGINT)"+
			", CAST(SUM(CASE WHEN t.forecast_category = 'pipeline' THEN t.amount ELSE 0 END) AS BIGINT)"+
			", CAST(SUM(CASE WHEN t.forecast_category <> 'closed' THEN t.amount * t.probability / 100 ELSE 0 END) AS BIGINT)"+
			", COUNT(*) FROM crm_opportunities t WHERE t.workspace_id = ?"+
			" AND ((t.forecast_category = 'closed' AND t.closed_at >= ? AND t.closed_at < ?)"+
			" OR (t.forecast_category IN ('pipeline', 'best_case', 'commit') AND t.expected_close >= ? AND t.expected_close < ?))",
			storage.WorkspaceFrom(ctx), from, to, from, to)
		if q.PipelineID != "" {
			b.add(" AND t.pipeline_id = ?", q.PipelineID)
		}
		if err := s.readable(ctx, s.opps.c, "t", &b); err != nil {
			return nil, err
		}
		if grp == "''" {
			b.add(" GROUP BY t.currency")
		} else {
			b.add(" GROUP BY " + grp + ", t.currency")
		}
		rows, err := s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
		if err != nil {
			return nil, s.d.translate(err, sales.ObjectOpportunity)
		}
		defer rows.Close()
		var out []sales.ForecastRow
		for rows.Next() {
			var r sales.ForecastRow
			if err := rows.Scan(&r.Group, &r.Currency, &r.ClosedWon, &r.Commit, &r.BestCase, &r.Pipeline, &r.Weighted, &r.Deals); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, rows.Err()
	})
}

// PurchaseHistory implements sales.PurchaseHistorian: one grouped scan of
// the orders of a contact or an account (indexed), within the scope.
func (s *Store) PurchaseHistory(ctx context.Context, field, id string) ([]sales.Purchases, error) {
	if field != "contact_id" && field != "account_id" {
		return nil, storage.Invalid("field", "%q is not contact_id or account_id", field)
	}
	return reading(ctx, s, func(ctx context.Context) ([]sales.Purchases, error) {
		var b sqlBuilder
		b.add("SELECT t.currency, COUNT(*), CAST(SUM(t.total) AS BIGINT), MAX(t.ordered_at) FROM crm_orders t WHERE t.workspace_id = ? AND t."+field+" = ?",
			storage.WorkspaceFrom(ctx), id)
		if err := s.readable(ctx, s.orders.c, "t", &b); err != nil {
			return nil, err
		}
		b.add(" GROUP BY t.currency ORDER BY t.currency")
		rows, err := s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
		if err != nil {
			return nil, s.d.translate(err, sales.ObjectOrder)
		}
		defer rows.Close()
		var out []sales.Purchases
		for rows.Next() {
			var p sales.Purchases
			var last any
			if err := rows.Scan(&p.Currency, &p.Orders, &p.Spent, &last); err != nil {
				return nil, err
			}
			if p.Last, err = parseTime(last); err != nil {
				return nil, err
			}
			out = append(out, p)
		}
		return out, rows.Err()
	})
}
