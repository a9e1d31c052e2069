-- Retention: customers' RFM records, the workspace's quintile cut points,
-- churn models.

CREATE TABLE crm_ret_rfm (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    orders            BIGINT NOT NULL DEFAULT 0,
    spent             BIGINT NOT NULL DEFAULT 0,
    currency          TEXT COLLATE "C" NOT NULL DEFAULT '',
    first_at          TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    last_at           TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    r                 BIGINT NOT NULL DEFAULT 0,
    f                 BIGINT NOT NULL DEFAULT 0,
    m                 BIGINT NOT NULL DEFAULT 0,
    score             TEXT COLLATE "C" NOT NULL DEFAULT '',
    segment           TEXT COLLATE "C" NOT NULL DEFAULT '',
    interval_days     DOUBLE PRECISION NOT NULL DEFAULT 0,
    own_interval      BOOLEAN NOT NULL DEFAULT false,
    next_at           TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    churn_at          TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00'
);
CREATE UNIQUE INDEX crm_ret_rfm_ws_id ON crm_ret_rfm (workspace_id, id);
CREATE UNIQUE INDEX crm_ret_rfm_contact_uq ON crm_ret_rfm (workspace_id, contact_id);
CREATE INDEX crm_ret_rfm_ws_segment ON crm_ret_rfm (workspace_id, segment, id);
CREATE INDEX crm_ret_rfm_ws_next ON crm_ret_rfm (workspace_id, next_at, id);
CREATE INDEX crm_ret_rfm_ws_churn ON crm_ret_rfm (workspace_id, churn_at, id);

CREATE TABLE crm_ret_cuts (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    currency          TEXT COLLATE "C" NOT NULL DEFAULT '',
    customers         BIGINT NOT NULL DEFAULT 0,
    recency           JSONB,
    frequency         JSONB,
    monetary          JSONB,
    interval_days     DOUBLE PRECISION NOT NULL DEFAULT 0,
    churn_high        DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX crm_ret_cuts_ws_id ON crm_ret_cuts (workspace_id, id);

CREATE TABLE crm_ret_churn_models (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    features          JSONB,
    intercept         DOUBLE PRECISION NOT NULL DEFAULT 0,
    horizon_days      BIGINT NOT NULL DEFAULT 0,
    l2                DOUBLE PRECISION NOT NULL DEFAULT 0,
    metrics           JSONB,
    trained_at        TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00'
);
CREATE UNIQUE INDEX crm_ret_churn_models_ws_id ON crm_ret_churn_models (workspace_id, id);
CREATE INDEX crm_ret_churn_models_ws_trained ON crm_ret_churn_models (workspace_id, trained_at, id);
