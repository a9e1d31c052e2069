-- Live chat: conversations (service.Conversations) and their messages,
-- numbered per conversation so that a client resumes after the last one
-- it saw; the workspace's chat calendar and away text on its settings.

CREATE TABLE crm_conversations (
    id              TEXT COLLATE "C" PRIMARY KEY,
    workspace_id    TEXT COLLATE "C" NOT NULL,
    version         BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    created_by      TEXT COLLATE "C" NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    updated_by      TEXT COLLATE "C" NOT NULL,
    contact_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    visitor_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    verified        BOOLEAN NOT NULL DEFAULT FALSE,
    name            TEXT COLLATE "C" NOT NULL DEFAULT '',
    email           TEXT COLLATE "C" NOT NULL DEFAULT '',
    status          TEXT COLLATE "C" NOT NULL DEFAULT '',
    owner_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id         TEXT COLLATE "C" NOT NULL DEFAULT '',
    channel         TEXT COLLATE "C" NOT NULL DEFAULT '',
    started_at      TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    last_message_at TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    last_visitor_at TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    closed_at       TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    case_id         TEXT COLLATE "C" NOT NULL DEFAULT '',
    last_seq        BIGINT NOT NULL DEFAULT 0,
    token_hash      TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_conversations_ws_id ON crm_conversations (workspace_id, id);
CREATE INDEX crm_conversations_ws_contact ON crm_conversations (workspace_id, contact_id);
CREATE INDEX crm_conversations_ws_owner ON crm_conversations (workspace_id, owner_id, status);
CREATE INDEX crm_conversations_ws_team ON crm_conversations (workspace_id, team_id, status);
CREATE INDEX crm_conversations_ws_status ON crm_conversations (workspace_id, status, last_message_at, id);

CREATE TABLE crm_chat_messages (
    id              TEXT COLLATE "C" PRIMARY KEY,
    workspace_id    TEXT COLLATE "C" NOT NULL,
    version         BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    created_by      TEXT COLLATE "C" NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    updated_by      TEXT COLLATE "C" NOT NULL,
    conversation_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    seq             BIGINT NOT NULL DEFAULT 0,
    author          TEXT COLLATE "C" NOT NULL DEFAULT '',
    author_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    body            TEXT COLLATE "C" NOT NULL DEFAULT '',
    sent_at         TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    contact_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    owner_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id         TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_chat_messages_ws_id ON crm_chat_messages (workspace_id, id);
CREATE UNIQUE INDEX crm_chat_messages_ws_conversation_seq ON crm_chat_messages (workspace_id, conversation_id, seq);
CREATE INDEX crm_chat_messages_ws_contact ON crm_chat_messages (workspace_id, contact_id);
CREATE INDEX crm_chat_messages_ws_owner ON crm_chat_messages (workspace_id, owner_id);
CREATE INDEX crm_chat_messages_ws_team ON crm_chat_messages (workspace_id, team_id);

ALTER TABLE crm_service_settings ADD COLUMN chat_calendar_id TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE crm_service_settings ADD COLUMN chat_away_text TEXT COLLATE "C" NOT NULL DEFAULT '';
