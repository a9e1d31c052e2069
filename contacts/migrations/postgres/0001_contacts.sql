-- Contacts, accounts, activities and custom field definitions.
-- crm:legacy 1

CREATE TABLE crm_accounts (
    id                      TEXT COLLATE "C" PRIMARY KEY,
    workspace_id            TEXT COLLATE "C" NOT NULL,
    version                 BIGINT NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL,
    created_by              TEXT COLLATE "C" NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL,
    updated_by              TEXT COLLATE "C" NOT NULL,
    name                    TEXT COLLATE "C" NOT NULL,
    domain                  TEXT COLLATE "C" NOT NULL DEFAULT '',
    industry                TEXT COLLATE "C" NOT NULL DEFAULT '',
    employees               BIGINT NOT NULL DEFAULT 0,
    annual_revenue_amount   BIGINT NOT NULL DEFAULT 0,
    annual_revenue_currency TEXT COLLATE "C" NOT NULL DEFAULT '',
    parent_id               TEXT COLLATE "C" REFERENCES crm_accounts (id),
    phone                   TEXT COLLATE "C" NOT NULL DEFAULT '',
    addresses               JSONB,
    description             TEXT COLLATE "C" NOT NULL DEFAULT '',
    owner_id                TEXT COLLATE "C" NOT NULL DEFAULT '',
    tags                    JSONB,
    custom                  JSONB
);
CREATE UNIQUE INDEX crm_accounts_ws_id ON crm_accounts (workspace_id, id);
CREATE INDEX crm_accounts_ws_name ON crm_accounts (workspace_id, name, id);
CREATE INDEX crm_accounts_ws_domain ON crm_accounts (workspace_id, domain);
CREATE INDEX crm_accounts_ws_parent ON crm_accounts (workspace_id, parent_id);
CREATE INDEX crm_accounts_ws_created ON crm_accounts (workspace_id, created_at, id);

CREATE TABLE crm_contacts (
    id              TEXT COLLATE "C" PRIMARY KEY,
    workspace_id    TEXT COLLATE "C" NOT NULL,
    version         BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    created_by      TEXT COLLATE "C" NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    updated_by      TEXT COLLATE "C" NOT NULL,
    prefix          TEXT COLLATE "C" NOT NULL DEFAULT '',
    first_name      TEXT COLLATE "C" NOT NULL DEFAULT '',
    middle_name     TEXT COLLATE "C" NOT NULL DEFAULT '',
    last_name       TEXT COLLATE "C" NOT NULL DEFAULT '',
    suffix          TEXT COLLATE "C" NOT NULL DEFAULT '',
    email           TEXT COLLATE "C" NOT NULL DEFAULT '',
    emails          JSONB,
    phones          JSONB,
    addresses       JSONB,
    job_title       TEXT COLLATE "C" NOT NULL DEFAULT '',
    department      TEXT COLLATE "C" NOT NULL DEFAULT '',
    social_profiles JSONB,
    account_id      TEXT COLLATE "C" REFERENCES crm_accounts (id),
    owner_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    lifecycle       TEXT COLLATE "C" NOT NULL DEFAULT '',
    source          TEXT COLLATE "C" NOT NULL DEFAULT '',
    tags            JSONB,
    custom          JSONB
);
CREATE UNIQUE INDEX crm_contacts_ws_id ON crm_contacts (workspace_id, id);
CREATE UNIQUE INDEX crm_contacts_email_uq ON crm_contacts (workspace_id, email) WHERE email <> '';
CREATE INDEX crm_contacts_ws_account ON crm_contacts (workspace_id, account_id);
CREATE INDEX crm_contacts_ws_name ON crm_contacts (workspace_id, last_name, first_name, id);
CREATE INDEX crm_contacts_ws_created ON crm_contacts (workspace_id, created_at, id);
CREATE INDEX crm_contacts_ws_updated ON crm_contacts (workspace_id, updated_at, id);

CREATE TABLE crm_activities (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    kind         TEXT COLLATE "C" NOT NULL,
    subject      TEXT COLLATE "C" NOT NULL DEFAULT '',
    body         TEXT COLLATE "C" NOT NULL DEFAULT '',
    direction    TEXT COLLATE "C" NOT NULL DEFAULT '',
    occurred_at  TIMESTAMPTZ NOT NULL,
    duration     BIGINT NOT NULL DEFAULT 0,
    outcome      TEXT COLLATE "C" NOT NULL DEFAULT '',
    participants JSONB,
    contact_ids  JSONB,
    account_id   TEXT COLLATE "C",
    related      JSONB,
    owner_id     TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_activities_ws_id ON crm_activities (workspace_id, id);
CREATE INDEX crm_activities_ws_occurred ON crm_activities (workspace_id, occurred_at, id);

CREATE TABLE crm_field_defs (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    object       TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    label        TEXT COLLATE "C" NOT NULL,
    type         TEXT COLLATE "C" NOT NULL,
    required     BOOLEAN NOT NULL DEFAULT false,
    options      JSONB
);
CREATE UNIQUE INDEX crm_field_defs_ws_id ON crm_field_defs (workspace_id, id);
CREATE UNIQUE INDEX crm_field_defs_name_uq ON crm_field_defs (workspace_id, object, name);
