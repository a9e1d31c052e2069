-- Predictive lead scores: the models trained on a workspace's won and lost
-- deals, and each score's prediction.

CREATE TABLE crm_mkt_models (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    features          TEXT,
    intercept         REAL NOT NULL DEFAULT 0,
    window_days       INTEGER NOT NULL DEFAULT 0,
    l2                REAL NOT NULL DEFAULT 0,
    metrics           TEXT,
    trained_at        TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_models_ws_id ON crm_mkt_models (workspace_id, id);
CREATE INDEX crm_mkt_models_ws_trained ON crm_mkt_models (workspace_id, trained_at, id);

ALTER TABLE crm_mkt_scores ADD COLUMN predicted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crm_mkt_scores ADD COLUMN model_id TEXT NOT NULL DEFAULT '';
