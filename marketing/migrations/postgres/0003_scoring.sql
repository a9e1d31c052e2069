-- Lead scoring: the workspace's rules and each contact's score.

CREATE TABLE crm_mkt_scoring_rules (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name              TEXT COLLATE "C" NOT NULL DEFAULT '',
    kind              TEXT COLLATE "C" NOT NULL DEFAULT '',
    where_expr        TEXT COLLATE "C" NOT NULL DEFAULT '',
    behaviour         TEXT COLLATE "C" NOT NULL DEFAULT '',
    points            BIGINT NOT NULL DEFAULT 0,
    half_life_days    BIGINT NOT NULL DEFAULT 0,
    max_points        BIGINT NOT NULL DEFAULT 0,
    enabled           BOOLEAN NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX crm_mkt_scoring_rules_ws_id ON crm_mkt_scoring_rules (workspace_id, id);

CREATE TABLE crm_mkt_scores (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    fit               BIGINT NOT NULL DEFAULT 0,
    behaviour         BIGINT NOT NULL DEFAULT 0,
    total             BIGINT NOT NULL DEFAULT 0,
    band              TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_scores_ws_id ON crm_mkt_scores (workspace_id, id);
CREATE UNIQUE INDEX crm_mkt_scores_contact_uq ON crm_mkt_scores (workspace_id, contact_id);
CREATE INDEX crm_mkt_scores_ws_total ON crm_mkt_scores (workspace_id, total, id);
