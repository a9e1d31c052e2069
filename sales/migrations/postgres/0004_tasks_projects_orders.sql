-- Tasks, projects and orders.
-- crm:legacy 7

CREATE TABLE crm_tasks (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    title             TEXT COLLATE "C" NOT NULL DEFAULT '',
    description       TEXT COLLATE "C" NOT NULL DEFAULT '',
    due               TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    all_day           BOOLEAN NOT NULL DEFAULT false,
    priority          TEXT COLLATE "C" NOT NULL DEFAULT '',
    status            TEXT COLLATE "C" NOT NULL DEFAULT '',
    owner_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
    reminder_at       TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    related           JSONB,
    project_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    completed_at      TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00'
);
CREATE UNIQUE INDEX crm_tasks_ws_id ON crm_tasks (workspace_id, id);
CREATE INDEX crm_tasks_ws_owner_status_due ON crm_tasks (workspace_id, owner_id, status, due);
CREATE INDEX crm_tasks_ws_status_due ON crm_tasks (workspace_id, status, due, id);
CREATE INDEX crm_tasks_ws_team ON crm_tasks (workspace_id, team_id);
CREATE INDEX crm_tasks_ws_project ON crm_tasks (workspace_id, project_id, status);
CREATE INDEX crm_tasks_ws_due ON crm_tasks (workspace_id, due, id);

CREATE TABLE crm_projects (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name              TEXT COLLATE "C" NOT NULL DEFAULT '',
    description       TEXT COLLATE "C" NOT NULL DEFAULT '',
    account_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    opportunity_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    status            TEXT COLLATE "C" NOT NULL DEFAULT '',
    start_date        TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    end_date          TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    milestones        JSONB,
    owner_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id           TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_projects_ws_id ON crm_projects (workspace_id, id);
CREATE INDEX crm_projects_ws_account ON crm_projects (workspace_id, account_id);
CREATE INDEX crm_projects_ws_owner ON crm_projects (workspace_id, owner_id);
CREATE INDEX crm_projects_ws_team ON crm_projects (workspace_id, team_id);
CREATE INDEX crm_projects_ws_name ON crm_projects (workspace_id, name, id);
CREATE UNIQUE INDEX crm_projects_opportunity_uq ON crm_projects (workspace_id, opportunity_id) WHERE opportunity_id <> '';

CREATE TABLE crm_orders (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    external_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    account_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    currency          TEXT COLLATE "C" NOT NULL DEFAULT '',
    lines             JSONB,
    total             BIGINT NOT NULL DEFAULT 0,
    status            TEXT COLLATE "C" NOT NULL DEFAULT '',
    ordered_at        TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    owner_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id           TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_orders_ws_id ON crm_orders (workspace_id, id);
CREATE INDEX crm_orders_ws_contact ON crm_orders (workspace_id, contact_id, currency);
CREATE INDEX crm_orders_ws_account ON crm_orders (workspace_id, account_id, currency);
CREATE INDEX crm_orders_ws_owner ON crm_orders (workspace_id, owner_id);
CREATE INDEX crm_orders_ws_team ON crm_orders (workspace_id, team_id);
CREATE INDEX crm_orders_ws_ordered ON crm_orders (workspace_id, ordered_at, id);
CREATE UNIQUE INDEX crm_orders_external_uq ON crm_orders (workspace_id, external_id);
