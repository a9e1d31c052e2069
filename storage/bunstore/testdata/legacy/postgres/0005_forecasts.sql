-- Forecasts: the pipeline rollup and forecast snapshots.

CREATE TABLE crm_pipeline_rollups (
    workspace_id TEXT COLLATE "C" NOT NULL,
    pipeline_id  TEXT COLLATE "C" NOT NULL,
    stage        TEXT COLLATE "C" NOT NULL,
    currency     TEXT COLLATE "C" NOT NULL,
    deals        BIGINT NOT NULL,
    amount       BIGINT NOT NULL,
    weighted     BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, pipeline_id, stage, currency)
);
INSERT INTO crm_pipeline_rollups (workspace_id, pipeline_id, stage, currency, deals, amount, weighted)
SELECT workspace_id, pipeline_id, stage, currency, COUNT(*), SUM(amount), SUM(amount * probability / 100)
FROM crm_opportunities GROUP BY workspace_id, pipeline_id, stage, currency;
CREATE INDEX crm_opportunities_ws_closed ON crm_opportunities (workspace_id, closed_at);

CREATE TABLE crm_forecast_snapshots (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    query        JSONB,
    figures      JSONB,
    taken_at     TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX crm_forecast_snapshots_ws_id ON crm_forecast_snapshots (workspace_id, id);
CREATE INDEX crm_forecast_snapshots_ws_taken ON crm_forecast_snapshots (workspace_id, taken_at, id);
