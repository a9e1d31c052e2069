-- Tasks, projects and orders.

CREATE TABLE crm_tasks (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    title             TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL DEFAULT '',
    due               TEXT NOT NULL DEFAULT '',
    all_day           INTEGER NOT NULL DEFAULT 0,
    priority          TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT '',
    owner_id          TEXT NOT NULL DEFAULT '',
    team_id           TEXT NOT NULL DEFAULT '',
    reminder_at       TEXT NOT NULL DEFAULT '',
    related           TEXT,
    project_id        TEXT NOT NULL DEFAULT '',
    completed_at      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_tasks_ws_id ON crm_tasks (workspace_id, id);
CREATE INDEX crm_tasks_ws_owner_status_due ON crm_tasks (workspace_id, owner_id, status, due);
CREATE INDEX crm_tasks_ws_status_due ON crm_tasks (workspace_id, status, due, id);
CREATE INDEX crm_tasks_ws_team ON crm_tasks (workspace_id, team_id);
CREATE INDEX crm_tasks_ws_project ON crm_tasks (workspace_id, project_id, status);
CREATE INDEX crm_tasks_ws_due ON crm_tasks (workspace_id, due, id);

CREATE TABLE crm_projects (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name              TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL DEFAULT '',
    account_id        TEXT NOT NULL DEFAULT '',
    opportunity_id    TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT '',
    start_date        TEXT NOT NULL DEFAULT '',
    end_date          TEXT NOT NULL DEFAULT '',
    milestones        TEXT,
    owner_id          TEXT NOT NULL DEFAULT '',
    team_id           TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_projects_ws_id ON crm_projects (workspace_id, id);
CREATE INDEX crm_projects_ws_account ON crm_projects (workspace_id, account_id);
CREATE INDEX crm_projects_ws_owner ON crm_projects (workspace_id, owner_id);
CREATE INDEX crm_projects_ws_team ON crm_projects (workspace_id, team_id);
CREATE INDEX crm_projects_ws_name ON crm_projects (workspace_id, name, id);
CREATE UNIQUE INDEX crm_projects_opportunity_uq ON crm_projects (workspace_id, opportunity_id) WHERE opportunity_id <> '';

CREATE TABLE crm_orders (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    external_id       TEXT NOT NULL DEFAULT '',
    contact_id        TEXT NOT NULL DEFAULT '',
    account_id        TEXT NOT NULL DEFAULT '',
    currency          TEXT NOT NULL DEFAULT '',
    lines             TEXT,
    total             INTEGER NOT NULL DEFAULT 0,
    status            TEXT NOT NULL DEFAULT '',
    ordered_at        TEXT NOT NULL DEFAULT '',
    owner_id          TEXT NOT NULL DEFAULT '',
    team_id           TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_orders_ws_id ON crm_orders (workspace_id, id);
CREATE INDEX crm_orders_ws_contact ON crm_orders (workspace_id, contact_id, currency);
CREATE INDEX crm_orders_ws_account ON crm_orders (workspace_id, account_id, currency);
CREATE INDEX crm_orders_ws_owner ON crm_orders (workspace_id, owner_id);
CREATE INDEX crm_orders_ws_team ON crm_orders (workspace_id, team_id);
CREATE INDEX crm_orders_ws_ordered ON crm_orders (workspace_id, ordered_at, id);
CREATE UNIQUE INDEX crm_orders_external_uq ON crm_orders (workspace_id, external_id);
