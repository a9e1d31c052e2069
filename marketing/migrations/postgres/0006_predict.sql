-- Predictive lead scores: the models trained on a workspace's won and lost
-- deals, and each score's prediction.

CREATE TABLE crm_mkt_models (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    features          JSONB,
    intercept         DOUBLE PRECISION NOT NULL DEFAULT 0,
    window_days       BIGINT NOT NULL DEFAULT 0,
    l2                DOUBLE PRECISION NOT NULL DEFAULT 0,
    metrics           JSONB,
    trained_at        TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00'
);
CREATE UNIQUE INDEX crm_mkt_models_ws_id ON crm_mkt_models (workspace_id, id);
CREATE INDEX crm_mkt_models_ws_trained ON crm_mkt_models (workspace_id, trained_at, id);

ALTER TABLE crm_mkt_scores ADD COLUMN predicted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE crm_mkt_scores ADD COLUMN model_id TEXT COLLATE "C" NOT NULL DEFAULT '';
