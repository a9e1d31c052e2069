-- Access control: members, teams, roles and shares.
-- crm:legacy 2

CREATE TABLE crm_members (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    external_id  TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL,
    email        TEXT NOT NULL DEFAULT '',
    active       INTEGER NOT NULL DEFAULT 0,
    role         TEXT NOT NULL,
    team_ids     TEXT
);
CREATE UNIQUE INDEX crm_members_ws_id ON crm_members (workspace_id, id);
CREATE UNIQUE INDEX crm_members_external_id_uq ON crm_members (workspace_id, external_id) WHERE external_id <> '';
CREATE INDEX crm_members_ws_name ON crm_members (workspace_id, name, id);

CREATE TABLE crm_teams (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_teams_ws_id ON crm_teams (workspace_id, id);
CREATE UNIQUE INDEX crm_teams_name_uq ON crm_teams (workspace_id, name);

CREATE TABLE crm_roles (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    permissions  TEXT
);
CREATE UNIQUE INDEX crm_roles_ws_id ON crm_roles (workspace_id, id);
CREATE UNIQUE INDEX crm_roles_name_uq ON crm_roles (workspace_id, name);

CREATE TABLE crm_shares (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    record_type  TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    member_id    TEXT NOT NULL DEFAULT '',
    team_id      TEXT NOT NULL DEFAULT '',
    access       TEXT NOT NULL,
    owner_id     TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_shares_ws_id ON crm_shares (workspace_id, id);
CREATE UNIQUE INDEX crm_shares_with_uq ON crm_shares (workspace_id, record_id, member_id, team_id);
CREATE INDEX crm_shares_ws_member ON crm_shares (workspace_id, member_id);
CREATE INDEX crm_shares_ws_team ON crm_shares (workspace_id, team_id);
