-- An opportunity's expected revenue (amount × probability / 100, rounded
-- down per deal), which the pipeline summary and the forecasts add up, and
-- the pipeline summary moved to the store's rollups: its rows are copied
-- over, as rollup "opportunity.pipeline" keyed by pipeline, stage and
-- currency.

ALTER TABLE crm_opportunities ADD COLUMN expected_revenue BIGINT NOT NULL DEFAULT 0;
UPDATE crm_opportunities SET expected_revenue = amount * probability / 100;

INSERT INTO crm_rollups (workspace_id, rollup, k1, k2, k3, n, s1, s2)
SELECT workspace_id, 'opportunity.pipeline', pipeline_id, stage, currency, deals, amount, weighted
FROM crm_pipeline_rollups WHERE deals <> 0;
DROP TABLE crm_pipeline_rollups;
