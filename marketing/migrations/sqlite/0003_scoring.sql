-- Lead scoring: the workspace's rules and each contact's score.

CREATE TABLE crm_mkt_scoring_rules (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name              TEXT NOT NULL DEFAULT '',
    kind              TEXT NOT NULL DEFAULT '',
    where_expr        TEXT NOT NULL DEFAULT '',
    behaviour         TEXT NOT NULL DEFAULT '',
    points            INTEGER NOT NULL DEFAULT 0,
    half_life_days    INTEGER NOT NULL DEFAULT 0,
    max_points        INTEGER NOT NULL DEFAULT 0,
    enabled           INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX crm_mkt_scoring_rules_ws_id ON crm_mkt_scoring_rules (workspace_id, id);

CREATE TABLE crm_mkt_scores (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    contact_id        TEXT NOT NULL DEFAULT '',
    fit               INTEGER NOT NULL DEFAULT 0,
    behaviour         INTEGER NOT NULL DEFAULT 0,
    total             INTEGER NOT NULL DEFAULT 0,
    band              TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_scores_ws_id ON crm_mkt_scores (workspace_id, id);
CREATE UNIQUE INDEX crm_mkt_scores_contact_uq ON crm_mkt_scores (workspace_id, contact_id);
CREATE INDEX crm_mkt_scores_ws_total ON crm_mkt_scores (workspace_id, total, id);
