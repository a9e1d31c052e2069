-- The reporting module: saved reports (reporting.Reports), one row each,
-- their definition in JSON columns.

CREATE TABLE crm_reports (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL DEFAULT '',
    description  TEXT COLLATE "C" NOT NULL DEFAULT '',
    object       TEXT COLLATE "C" NOT NULL DEFAULT '',
    where_expr   TEXT COLLATE "C" NOT NULL DEFAULT '',
    group_by     JSONB,
    measures     JSONB,
    having_conds JSONB,
    sort_by      JSONB,
    row_limit    BIGINT NOT NULL DEFAULT 0,
    date_field   TEXT COLLATE "C" NOT NULL DEFAULT '',
    time_zone    TEXT COLLATE "C" NOT NULL DEFAULT '',
    week_start   BIGINT NOT NULL DEFAULT 0,
    owner_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id      TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_reports_ws_id ON crm_reports (workspace_id, id);
CREATE INDEX crm_reports_ws_name ON crm_reports (workspace_id, name, id);
CREATE INDEX crm_reports_ws_owner ON crm_reports (workspace_id, owner_id);
CREATE INDEX crm_reports_ws_team ON crm_reports (workspace_id, team_id);
