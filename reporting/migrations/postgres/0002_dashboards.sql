-- Dashboards (reporting.Dashboards): saved sets of widgets, each over a
-- report or a KPI, in one JSON column.

CREATE TABLE crm_dashboards (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL DEFAULT '',
    description  TEXT COLLATE "C" NOT NULL DEFAULT '',
    widgets      JSONB,
    owner_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id      TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_dashboards_ws_id ON crm_dashboards (workspace_id, id);
CREATE INDEX crm_dashboards_ws_name ON crm_dashboards (workspace_id, name, id);
CREATE INDEX crm_dashboards_ws_owner ON crm_dashboards (workspace_id, owner_id);
CREATE INDEX crm_dashboards_ws_team ON crm_dashboards (workspace_id, team_id);
