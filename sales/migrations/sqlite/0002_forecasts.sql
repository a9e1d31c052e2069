-- Forecasts: the pipeline rollup and forecast snapshots.
-- crm:legacy 5

CREATE TABLE crm_pipeline_rollups (
    workspace_id TEXT NOT NULL,
    pipeline_id  TEXT NOT NULL,
    stage        TEXT NOT NULL,
    currency     TEXT NOT NULL,
    deals        INTEGER NOT NULL,
    amount       INTEGER NOT NULL,
    weighted     INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, pipeline_id, stage, currency)
);
INSERT INTO crm_pipeline_rollups (workspace_id, pipeline_id, stage, currency, deals, amount, weighted)
SELECT workspace_id, pipeline_id, stage, currency, COUNT(*), SUM(amount), SUM(amount * probability / 100)
FROM crm_opportunities GROUP BY workspace_id, pipeline_id, stage, currency;
CREATE INDEX crm_opportunities_ws_closed ON crm_opportunities (workspace_id, closed_at);

CREATE TABLE crm_forecast_snapshots (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name         TEXT NOT NULL,
    query        TEXT,
    figures      TEXT,
    taken_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX crm_forecast_snapshots_ws_id ON crm_forecast_snapshots (workspace_id, id);
CREATE INDEX crm_forecast_snapshots_ws_taken ON crm_forecast_snapshots (workspace_id, taken_at, id);
