-- Live chat: conversations (service.Conversations) and their messages,
-- numbered per conversation so that a client resumes after the last one
-- it saw; the workspace's chat calendar and away text on its settings.

CREATE TABLE crm_conversations (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL,
    version         INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT NOT NULL,
    contact_id      TEXT NOT NULL DEFAULT '',
    visitor_id      TEXT NOT NULL DEFAULT '',
    verified        INTEGER NOT NULL DEFAULT 0,
    name            TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT '',
    owner_id        TEXT NOT NULL DEFAULT '',
    team_id         TEXT NOT NULL DEFAULT '',
    channel         TEXT NOT NULL DEFAULT '',
    started_at      TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z',
    last_message_at TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z',
    last_visitor_at TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z',
    closed_at       TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z',
    case_id         TEXT NOT NULL DEFAULT '',
    last_seq        INTEGER NOT NULL DEFAULT 0,
    token_hash      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_conversations_ws_id ON crm_conversations (workspace_id, id);
CREATE INDEX crm_conversations_ws_contact ON crm_conversations (workspace_id, contact_id);
CREATE INDEX crm_conversations_ws_owner ON crm_conversations (workspace_id, owner_id, status);
CREATE INDEX crm_conversations_ws_team ON crm_conversations (workspace_id, team_id, status);
CREATE INDEX crm_conversations_ws_status ON crm_conversations (workspace_id, status, last_message_at, id);

CREATE TABLE crm_chat_messages (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL,
    version         INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT NOT NULL,
    conversation_id TEXT NOT NULL DEFAULT '',
    seq             INTEGER NOT NULL DEFAULT 0,
    author          TEXT NOT NULL DEFAULT '',
    author_id       TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL DEFAULT '',
    sent_at         TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z',
    contact_id      TEXT NOT NULL DEFAULT '',
    owner_id        TEXT NOT NULL DEFAULT '',
    team_id         TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_chat_messages_ws_id ON crm_chat_messages (workspace_id, id);
CREATE UNIQUE INDEX crm_chat_messages_ws_conversation_seq ON crm_chat_messages (workspace_id, conversation_id, seq);
CREATE INDEX crm_chat_messages_ws_contact ON crm_chat_messages (workspace_id, contact_id);
CREATE INDEX crm_chat_messages_ws_owner ON crm_chat_messages (workspace_id, owner_id);
CREATE INDEX crm_chat_messages_ws_team ON crm_chat_messages (workspace_id, team_id);

ALTER TABLE crm_service_settings ADD COLUMN chat_calendar_id TEXT NOT NULL DEFAULT '';
ALTER TABLE crm_service_settings ADD COLUMN chat_away_text TEXT NOT NULL DEFAULT '';
