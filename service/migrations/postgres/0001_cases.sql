-- The service module: cases (service.Cases) with a gap-free number per
-- workspace, their threads of messages, and each workspace's settings
-- (its case statuses).

CREATE TABLE crm_cases (
    id                TEXT COLLATE "C" PRIMARY KEY,
    workspace_id      TEXT COLLATE "C" NOT NULL,
    version           BIGINT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    created_by        TEXT COLLATE "C" NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    updated_by        TEXT COLLATE "C" NOT NULL,
    number            BIGINT NOT NULL DEFAULT 0,
    subject           TEXT COLLATE "C" NOT NULL DEFAULT '',
    description       TEXT COLLATE "C" NOT NULL DEFAULT '',
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    account_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    channel           TEXT COLLATE "C" NOT NULL DEFAULT '',
    priority          TEXT COLLATE "C" NOT NULL DEFAULT '',
    status            TEXT COLLATE "C" NOT NULL DEFAULT '',
    status_category   TEXT COLLATE "C" NOT NULL DEFAULT '',
    owner_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
    tags              JSONB,
    custom            JSONB,
    first_response_at TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    resolved_at       TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    last_message_at   TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    merged_into       TEXT COLLATE "C" NOT NULL DEFAULT ''
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
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    case_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    kind         TEXT COLLATE "C" NOT NULL DEFAULT '',
    direction    TEXT COLLATE "C" NOT NULL DEFAULT '',
    author_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    from_addr    TEXT COLLATE "C" NOT NULL DEFAULT '',
    body         TEXT COLLATE "C" NOT NULL DEFAULT '',
    html         TEXT COLLATE "C" NOT NULL DEFAULT '',
    attachments  JSONB,
    message_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    in_reply_to  TEXT COLLATE "C" NOT NULL DEFAULT '',
    refs         JSONB,
    sent_at      TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    contact_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    owner_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id      TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_case_messages_ws_id ON crm_case_messages (workspace_id, id);
CREATE INDEX crm_case_messages_ws_case ON crm_case_messages (workspace_id, case_id, sent_at, id);
CREATE INDEX crm_case_messages_ws_message_id ON crm_case_messages (workspace_id, message_id) WHERE message_id <> '';
CREATE INDEX crm_case_messages_ws_contact ON crm_case_messages (workspace_id, contact_id);
CREATE INDEX crm_case_messages_ws_owner ON crm_case_messages (workspace_id, owner_id);
CREATE INDEX crm_case_messages_ws_team ON crm_case_messages (workspace_id, team_id);

CREATE TABLE crm_service_settings (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    statuses     JSONB
);
CREATE UNIQUE INDEX crm_service_settings_ws_id ON crm_service_settings (workspace_id, id);
