-- The service module: cases (service.Cases) with a gap-free number per
-- workspace, their threads of messages, and each workspace's settings
-- (its case statuses).

CREATE TABLE crm_cases (
    id                TEXT PRIMARY KEY,
    workspace_id      TEXT NOT NULL,
    version           INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    updated_by        TEXT NOT NULL,
    number            INTEGER NOT NULL DEFAULT 0,
    subject           TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL DEFAULT '',
    contact_id        TEXT NOT NULL DEFAULT '',
    account_id        TEXT NOT NULL DEFAULT '',
    channel           TEXT NOT NULL DEFAULT '',
    priority          TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT '',
    status_category   TEXT NOT NULL DEFAULT '',
    owner_id          TEXT NOT NULL DEFAULT '',
    team_id           TEXT NOT NULL DEFAULT '',
    tags              TEXT,
    custom            TEXT,
    first_response_at TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z',
    resolved_at       TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z',
    last_message_at   TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z',
    merged_into       TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_cases_ws_id ON crm_cases (workspace_id, id);
CREATE UNIQUE INDEX crm_cases__number_uq ON crm_cases (workspace_id, number);
CREATE INDEX crm_cases_ws_contact ON crm_cases (workspace_id, contact_id);
CREATE INDEX crm_cases_ws_account ON crm_cases (workspace_id, account_id);
CREATE INDEX crm_cases_ws_owner ON crm_cases (workspace_id, owner_id, status_category);
CREATE INDEX crm_cases_ws_team ON crm_cases (workspace_id, team_id, status_category);
CREATE INDEX crm_cases_ws_category ON crm_cases (workspace_id, status_category, priority, created_at);
CREATE INDEX crm_cases_ws_created ON crm_cases (workspace_id, created_at, id);

CREATE TABLE crm_case_messages (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    case_id      TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL DEFAULT '',
    direction    TEXT NOT NULL DEFAULT '',
    author_id    TEXT NOT NULL DEFAULT '',
    from_addr    TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL DEFAULT '',
    html         TEXT NOT NULL DEFAULT '',
    attachments  TEXT,
    message_id   TEXT NOT NULL DEFAULT '',
    in_reply_to  TEXT NOT NULL DEFAULT '',
    refs         TEXT,
    sent_at      TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z',
    contact_id   TEXT NOT NULL DEFAULT '',
    owner_id     TEXT NOT NULL DEFAULT '',
    team_id      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_case_messages_ws_id ON crm_case_messages (workspace_id, id);
CREATE INDEX crm_case_messages_ws_case ON crm_case_messages (workspace_id, case_id, sent_at, id);
CREATE INDEX crm_case_messages_ws_message_id ON crm_case_messages (workspace_id, message_id) WHERE message_id <> '';
CREATE INDEX crm_case_messages_ws_contact ON crm_case_messages (workspace_id, contact_id);
CREATE INDEX crm_case_messages_ws_owner ON crm_case_messages (workspace_id, owner_id);
CREATE INDEX crm_case_messages_ws_team ON crm_case_messages (workspace_id, team_id);

CREATE TABLE crm_service_settings (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    statuses     TEXT
);
CREATE UNIQUE INDEX crm_service_settings_ws_id ON crm_service_settings (workspace_id, id);
