-- Dashboards (reporting.Dashboards): saved sets of widgets, each over a
-- report or a KPI, in one JSON column.

CREATE TABLE crm_dashboards (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    widgets      TEXT,
    owner_id     TEXT NOT NULL DEFAULT '',
    team_id      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_dashboards_ws_id ON crm_dashboards (workspace_id, id);
CREATE INDEX crm_dashboards_ws_name ON crm_dashboards (workspace_id, name, id);
CREATE INDEX crm_dashboards_ws_owner ON crm_dashboards (workspace_id, owner_id);
CREATE INDEX crm_dashboards_ws_team ON crm_dashboards (workspace_id, team_id);
