-- Contacts, accounts, activities and custom field definitions.
-- crm:legacy 1

CREATE TABLE crm_accounts (
    id                      TEXT PRIMARY KEY,
    workspace_id            TEXT NOT NULL,
    version                 INTEGER NOT NULL,
    created_at              TEXT NOT NULL,
    created_by              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    updated_by              TEXT NOT NULL,
    name                    TEXT NOT NULL,
    domain                  TEXT NOT NULL DEFAULT '',
    industry                TEXT NOT NULL DEFAULT '',
    employees               INTEGER NOT NULL DEFAULT 0,
    annual_revenue_amount   INTEGER NOT NULL DEFAULT 0,
    annual_revenue_currency TEXT NOT NULL DEFAULT '',
    parent_id               TEXT REFERENCES crm_accounts (id),
    phone                   TEXT NOT NULL DEFAULT '',
    addresses               TEXT,
    description             TEXT NOT NULL DEFAULT '',
    owner_id                TEXT NOT NULL DEFAULT '',
    tags                    TEXT,
    custom                  TEXT
);
CREATE UNIQUE INDEX crm_accounts_ws_id ON crm_accounts (workspace_id, id);
CREATE INDEX crm_accounts_ws_name ON crm_accounts (workspace_id, name, id);
CREATE INDEX crm_accounts_ws_domain ON crm_accounts (workspace_id, domain);
CREATE INDEX crm_accounts_ws_parent ON crm_accounts (workspace_id, parent_id);
CREATE INDEX crm_accounts_ws_created ON crm_accounts (workspace_id, created_at, id);

CREATE TABLE crm_contacts (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL,
    version         INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT NOT NULL,
    prefix          TEXT NOT NULL DEFAULT '',
    first_name      TEXT NOT NULL DEFAULT '',
    middle_name     TEXT NOT NULL DEFAULT '',
    last_name       TEXT NOT NULL DEFAULT '',
    suffix          TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    emails          TEXT,
    phones          TEXT,
    addresses       TEXT,
    job_title       TEXT NOT NULL DEFAULT '',
    department      TEXT NOT NULL DEFAULT '',
    social_profiles TEXT,
    account_id      TEXT REFERENCES crm_accounts (id),
    owner_id        TEXT NOT NULL DEFAULT '',
    lifecycle       TEXT NOT NULL DEFAULT '',
    source          TEXT NOT NULL DEFAULT '',
    tags            TEXT,
    custom          TEXT
);
CREATE UNIQUE INDEX crm_contacts_ws_id ON crm_contacts (workspace_id, id);
CREATE UNIQUE INDEX crm_contacts_email_uq ON crm_contacts (workspace_id, email) WHERE email <> '';
CREATE INDEX crm_contacts_ws_account ON crm_contacts (workspace_id, account_id);
CREATE INDEX crm_contacts_ws_name ON crm_contacts (workspace_id, last_name, first_name, id);
CREATE INDEX crm_contacts_ws_created ON crm_contacts (workspace_id, created_at, id);
CREATE INDEX crm_contacts_ws_updated ON crm_contacts (workspace_id, updated_at, id);

CREATE TABLE crm_activities (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL DEFAULT '',
    direction    TEXT NOT NULL DEFAULT '',
    occurred_at  TEXT NOT NULL,
    duration     INTEGER NOT NULL DEFAULT 0,
    outcome      TEXT NOT NULL DEFAULT '',
    participants TEXT,
    contact_ids  TEXT,
    account_id   TEXT,
    related      TEXT,
    owner_id     TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_activities_ws_id ON crm_activities (workspace_id, id);
CREATE INDEX crm_activities_ws_occurred ON crm_activities (workspace_id, occurred_at, id);

CREATE TABLE crm_field_defs (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    object       TEXT NOT NULL,
    name         TEXT NOT NULL,
    label        TEXT NOT NULL,
    type         TEXT NOT NULL,
    required     INTEGER NOT NULL DEFAULT 0,
    options      TEXT
);
CREATE UNIQUE INDEX crm_field_defs_ws_id ON crm_field_defs (workspace_id, id);
CREATE UNIQUE INDEX crm_field_defs_name_uq ON crm_field_defs (workspace_id, object, name);
