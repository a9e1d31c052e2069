-- Access control: record teams, members, teams, roles and shares.

ALTER TABLE crm_contacts ADD COLUMN team_id TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX crm_contacts_ws_owner ON crm_contacts (workspace_id, owner_id);
CREATE INDEX crm_contacts_ws_team ON crm_contacts (workspace_id, team_id);
ALTER TABLE crm_accounts ADD COLUMN team_id TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX crm_accounts_ws_owner ON crm_accounts (workspace_id, owner_id);
CREATE INDEX crm_accounts_ws_team ON crm_accounts (workspace_id, team_id);
ALTER TABLE crm_activities ADD COLUMN team_id TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX crm_activities_ws_owner ON crm_activities (workspace_id, owner_id);
CREATE INDEX crm_activities_ws_team ON crm_activities (workspace_id, team_id);

CREATE TABLE crm_members (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    external_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
    name         TEXT COLLATE "C" NOT NULL,
    email        TEXT COLLATE "C" NOT NULL DEFAULT '',
    active       BOOLEAN NOT NULL DEFAULT false,
    role         TEXT COLLATE "C" NOT NULL,
    team_ids     JSONB
);
CREATE UNIQUE INDEX crm_members_ws_id ON crm_members (workspace_id, id);
CREATE UNIQUE INDEX crm_members_external_id_uq ON crm_members (workspace_id, external_id) WHERE external_id <> '';
CREATE INDEX crm_members_ws_name ON crm_members (workspace_id, name, id);

CREATE TABLE crm_teams (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    description  TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_teams_ws_id ON crm_teams (workspace_id, id);
CREATE UNIQUE INDEX crm_teams_name_uq ON crm_teams (workspace_id, name);

CREATE TABLE crm_roles (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    description  TEXT COLLATE "C" NOT NULL DEFAULT '',
    permissions  JSONB
);
CREATE UNIQUE INDEX crm_roles_ws_id ON crm_roles (workspace_id, id);
CREATE UNIQUE INDEX crm_roles_name_uq ON crm_roles (workspace_id, name);

CREATE TABLE crm_shares (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    record_type  TEXT COLLATE "C" NOT NULL,
    record_id    TEXT COLLATE "C" NOT NULL,
    member_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    access       TEXT COLLATE "C" NOT NULL,
    owner_id     TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_shares_ws_id ON crm_shares (workspace_id, id);
CREATE UNIQUE INDEX crm_shares_with_uq ON crm_shares (workspace_id, record_id, member_id, team_id);
CREATE INDEX crm_shares_ws_member ON crm_shares (workspace_id, member_id);
CREATE INDEX crm_shares_ws_team ON crm_shares (workspace_id, team_id);
