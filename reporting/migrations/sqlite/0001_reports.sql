-- The reporting module: saved reports (reporting.Reports), one row each,
-- their definition in JSON columns.

CREATE TABLE crm_reports (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    object       TEXT NOT NULL DEFAULT '',
    where_expr   TEXT NOT NULL DEFAULT '',
    group_by     TEXT,
    measures     TEXT,
    having_conds TEXT,
    sort_by      TEXT,
    row_limit    INTEGER NOT NULL DEFAULT 0,
    date_field   TEXT NOT NULL DEFAULT '',
    time_zone    TEXT NOT NULL DEFAULT '',
    week_start   INTEGER NOT NULL DEFAULT 0,
    owner_id     TEXT NOT NULL DEFAULT '',
    team_id      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_reports_ws_id ON crm_reports (workspace_id, id);
CREATE INDEX crm_reports_ws_name ON crm_reports (workspace_id, name, id);
CREATE INDEX crm_reports_ws_owner ON crm_reports (workspace_id, owner_id);
CREATE INDEX crm_reports_ws_team ON crm_reports (workspace_id, team_id);
