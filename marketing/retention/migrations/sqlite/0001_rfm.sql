-- Retention: customers' RFM records, the workspace's quintile cut points,
-- churn models.

CREATE TABLE crm_ret_rfm (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    contact_id        TEXT NOT NULL DEFAULT '',
    orders            INTEGER NOT NULL DEFAULT 0,
    spent             INTEGER NOT NULL DEFAULT 0,
    currency          TEXT NOT NULL DEFAULT '',
    first_at          TEXT NOT NULL DEFAULT '',
    last_at           TEXT NOT NULL DEFAULT '',
    r                 INTEGER NOT NULL DEFAULT 0,
    f                 INTEGER NOT NULL DEFAULT 0,
    m                 INTEGER NOT NULL DEFAULT 0,
    score             TEXT NOT NULL DEFAULT '',
    segment           TEXT NOT NULL DEFAULT '',
    interval_days     REAL NOT NULL DEFAULT 0,
    own_interval      INTEGER NOT NULL DEFAULT 0,
    next_at           TEXT NOT NULL DEFAULT '',
    churn_at          TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_ret_rfm_ws_id ON crm_ret_rfm (workspace_id, id);
CREATE UNIQUE INDEX crm_ret_rfm_contact_uq ON crm_ret_rfm (workspace_id, contact_id);
CREATE INDEX crm_ret_rfm_ws_segment ON crm_ret_rfm (workspace_id, segment, id);
CREATE INDEX crm_ret_rfm_ws_next ON crm_ret_rfm (workspace_id, next_at, id);
CREATE INDEX crm_ret_rfm_ws_churn ON crm_ret_rfm (workspace_id, churn_at, id);

CREATE TABLE crm_ret_cuts (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    currency          TEXT NOT NULL DEFAULT '',
    customers         INTEGER NOT NULL DEFAULT 0,
    recency           TEXT,
    frequency         TEXT,
    monetary          TEXT,
    interval_days     REAL NOT NULL DEFAULT 0,
    churn_high        REAL NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX crm_ret_cuts_ws_id ON crm_ret_cuts (workspace_id, id);

CREATE TABLE crm_ret_churn_models (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    features          TEXT,
    intercept         REAL NOT NULL DEFAULT 0,
    horizon_days      INTEGER NOT NULL DEFAULT 0,
    l2                REAL NOT NULL DEFAULT 0,
    metrics           TEXT,
    trained_at        TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_ret_churn_models_ws_id ON crm_ret_churn_models (workspace_id, id);
CREATE INDEX crm_ret_churn_models_ws_trained ON crm_ret_churn_models (workspace_id, trained_at, id);
