-- Assignment: agents' desk profiles and the rules routing new cases to
-- them.

CREATE TABLE crm_service_agents (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    member_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    skills       JSONB,
    capacity     BIGINT NOT NULL DEFAULT 0,
    calendar_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
    available    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX crm_service_agents_ws_id ON crm_service_agents (workspace_id, id);
CREATE UNIQUE INDEX crm_service_agents_ws_member ON crm_service_agents (workspace_id, member_id);

CREATE TABLE crm_assignment_rules (
    id             TEXT COLLATE "C" PRIMARY KEY,
    workspace_id   TEXT COLLATE "C" NOT NULL,
    version        BIGINT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    created_by     TEXT COLLATE "C" NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    updated_by     TEXT COLLATE "C" NOT NULL,
    name           TEXT COLLATE "C" NOT NULL DEFAULT '',
    sort_order     BIGINT NOT NULL DEFAULT 0,
    condition_expr TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    member_ids     JSONB,
    method         TEXT COLLATE "C" NOT NULL DEFAULT '',
    skills         JSONB,
    enabled        BOOLEAN NOT NULL DEFAULT FALSE,
    last_member_id TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_assignment_rules_ws_id ON crm_assignment_rules (workspace_id, id);
CREATE INDEX crm_assignment_rules_ws_position ON crm_assignment_rules (workspace_id, enabled, sort_order, name);

