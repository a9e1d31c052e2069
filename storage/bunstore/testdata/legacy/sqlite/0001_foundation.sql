-- Foundation: contacts, accounts, activities, custom field definitions,
-- the change log, the link index and the full-text search index.

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

CREATE TABLE crm_events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    tx_id        INTEGER NOT NULL DEFAULT 0,
    id           TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL,
    type         TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    actor        TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,
    changes      TEXT
);
CREATE INDEX crm_events_ws_seq ON crm_events (workspace_id, tx_id, seq);
CREATE INDEX crm_events_ws_subject ON crm_events (workspace_id, subject_id, seq);
CREATE INDEX crm_events_ws_subject_time ON crm_events (workspace_id, subject_id, occurred_at, id);

CREATE TABLE crm_links (
    workspace_id TEXT NOT NULL,
    from_type    TEXT NOT NULL,
    from_id      TEXT NOT NULL,
    to_type      TEXT NOT NULL,
    to_id        TEXT NOT NULL,
    PRIMARY KEY (from_id, to_type, to_id)
) WITHOUT ROWID;
CREATE INDEX crm_links_to ON crm_links (workspace_id, to_id, from_type, from_id);

CREATE TABLE crm_search_docs (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    record_type  TEXT NOT NULL,
    record_id    TEXT NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL
);
CREATE VIRTUAL TABLE crm_search USING fts5 (
    title, body,
    content = 'crm_search_docs', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER crm_search_docs_ai AFTER INSERT ON crm_search_docs BEGIN
    INSERT INTO crm_search (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER crm_search_docs_ad AFTER DELETE ON crm_search_docs BEGIN
    INSERT INTO crm_search (crm_search, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER crm_search_docs_au AFTER UPDATE ON crm_search_docs BEGIN
    INSERT INTO crm_search (crm_search, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO crm_search (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
