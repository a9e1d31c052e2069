-- Assignment: agents' desk profiles and the rules routing new cases to
-- them.

CREATE TABLE crm_service_agents (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    member_id    TEXT NOT NULL DEFAULT '',
    skills       TEXT,
    capacity     INTEGER NOT NULL DEFAULT 0,
    calendar_id  TEXT NOT NULL DEFAULT '',
    available    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX crm_service_agents_ws_id ON crm_service_agents (workspace_id, id);
CREATE UNIQUE INDEX crm_service_agents_ws_member ON crm_service_agents (workspace_id, member_id);

CREATE TABLE crm_assignment_rules (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL,
    version        INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT NOT NULL,
    name           TEXT NOT NULL DEFAULT '',
    sort_order     INTEGER NOT NULL DEFAULT 0,
    condition_expr TEXT NOT NULL DEFAULT '',
    team_id        TEXT NOT NULL DEFAULT '',
    member_ids     TEXT,
    method         TEXT NOT NULL DEFAULT '',
    skills         TEXT,
    enabled        INTEGER NOT NULL DEFAULT 0,
    last_member_id TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_assignment_rules_ws_id ON crm_assignment_rules (workspace_id, id);
CREATE INDEX crm_assignment_rules_ws_position ON crm_assignment_rules (workspace_id, enabled, sort_order, name);

