-- The marketing module: subscription lists and subscriptions, the
-- suppression list, segments and their members, campaigns and their
-- members, campaign emails, one message per recipient, tracking hits.

CREATE TABLE crm_mkt_lists (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    key               TEXT NOT NULL DEFAULT '',
    name              TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL DEFAULT '',
    double_opt_in     INTEGER NOT NULL DEFAULT 0,
    purpose           TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_lists_ws_id ON crm_mkt_lists (workspace_id, id);

CREATE TABLE crm_mkt_subscriptions (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    list_id           TEXT NOT NULL DEFAULT '',
    contact_id        TEXT NOT NULL DEFAULT '',
    email             TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT '',
    source            TEXT NOT NULL DEFAULT '',
    requested_at      TEXT NOT NULL DEFAULT '',
    confirmed_at      TEXT NOT NULL DEFAULT '',
    unsubscribed_at   TEXT NOT NULL DEFAULT '',
    consent_id        TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_subscriptions_ws_id ON crm_mkt_subscriptions (workspace_id, id);

CREATE TABLE crm_mkt_suppressions (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    email             TEXT NOT NULL DEFAULT '',
    reason            TEXT NOT NULL DEFAULT '',
    detail            TEXT NOT NULL DEFAULT '',
    contact_id        TEXT NOT NULL DEFAULT '',
    at                TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_suppressions_ws_id ON crm_mkt_suppressions (workspace_id, id);

CREATE TABLE crm_mkt_segments (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name              TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL DEFAULT '',
    kind              TEXT NOT NULL DEFAULT '',
    where_expr        TEXT NOT NULL DEFAULT '',
    engaged           TEXT,
    include_segments  TEXT,
    exclude_segments  TEXT,
    owner_id          TEXT NOT NULL DEFAULT '',
    team_id           TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_segments_ws_id ON crm_mkt_segments (workspace_id, id);

CREATE TABLE crm_mkt_segment_members (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    segment_id        TEXT NOT NULL DEFAULT '',
    contact_id        TEXT NOT NULL DEFAULT '',
    entered_at        TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_segment_members_ws_id ON crm_mkt_segment_members (workspace_id, id);

CREATE TABLE crm_mkt_campaigns (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name              TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL DEFAULT '',
    type              TEXT NOT NULL DEFAULT '',
    channels          TEXT,
    status            TEXT NOT NULL DEFAULT '',
    budget_amount     INTEGER NOT NULL DEFAULT 0,
    budget_currency   TEXT NOT NULL DEFAULT '',
    cost_amount       INTEGER NOT NULL DEFAULT 0,
    cost_currency     TEXT NOT NULL DEFAULT '',
    start_date        TEXT NOT NULL DEFAULT '',
    end_date          TEXT NOT NULL DEFAULT '',
    utm_campaign      TEXT NOT NULL DEFAULT '',
    owner_id          TEXT NOT NULL DEFAULT '',
    team_id           TEXT NOT NULL DEFAULT '',
    custom            TEXT
);
CREATE UNIQUE INDEX crm_mkt_campaigns_ws_id ON crm_mkt_campaigns (workspace_id, id);

CREATE TABLE crm_mkt_campaign_members (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    campaign_id       TEXT NOT NULL DEFAULT '',
    contact_id        TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT '',
    responded_at      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_campaign_members_ws_id ON crm_mkt_campaign_members (workspace_id, id);

CREATE TABLE crm_mkt_emails (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    campaign_id       TEXT NOT NULL DEFAULT '',
    name              TEXT NOT NULL DEFAULT '',
    from_addr         TEXT NOT NULL DEFAULT '',
    reply_to          TEXT NOT NULL DEFAULT '',
    subject           TEXT NOT NULL DEFAULT '',
    html              TEXT NOT NULL DEFAULT '',
    text              TEXT NOT NULL DEFAULT '',
    segment_id        TEXT NOT NULL DEFAULT '',
    list_id           TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT '',
    no_open_tracking  INTEGER NOT NULL DEFAULT 0,
    no_click_tracking INTEGER NOT NULL DEFAULT 0,
    no_utm            INTEGER NOT NULL DEFAULT 0,
    rate_per_second   REAL NOT NULL DEFAULT 0,
    batch_size        INTEGER NOT NULL DEFAULT 0,
    error_threshold   REAL NOT NULL DEFAULT 0,
    send_cursor       TEXT NOT NULL DEFAULT '',
    claims            TEXT,
    sent_at           TEXT NOT NULL DEFAULT '',
    stop_reason       TEXT NOT NULL DEFAULT '',
    owner_id          TEXT NOT NULL DEFAULT '',
    team_id           TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_emails_ws_id ON crm_mkt_emails (workspace_id, id);

CREATE TABLE crm_mkt_messages (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    email_id          TEXT NOT NULL DEFAULT '',
    campaign_id       TEXT NOT NULL DEFAULT '',
    contact_id        TEXT NOT NULL DEFAULT '',
    address           TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT '',
    error             TEXT NOT NULL DEFAULT '',
    sent_at           TEXT NOT NULL DEFAULT '',
    opened_at         TEXT NOT NULL DEFAULT '',
    clicked_at        TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_messages_ws_id ON crm_mkt_messages (workspace_id, id);

CREATE TABLE crm_mkt_hits (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    message_id        TEXT NOT NULL DEFAULT '',
    email_id          TEXT NOT NULL DEFAULT '',
    campaign_id       TEXT NOT NULL DEFAULT '',
    contact_id        TEXT NOT NULL DEFAULT '',
    kind              TEXT NOT NULL DEFAULT '',
    url               TEXT NOT NULL DEFAULT '',
    at                TEXT NOT NULL DEFAULT '',
    bot               INTEGER NOT NULL DEFAULT 0,
    bot_reason        TEXT NOT NULL DEFAULT '',
    user_agent        TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_hits_ws_id ON crm_mkt_hits (workspace_id, id);

CREATE UNIQUE INDEX crm_mkt_lists_key_uq ON crm_mkt_lists (workspace_id, key);

CREATE UNIQUE INDEX crm_mkt_subscriptions_uq ON crm_mkt_subscriptions (workspace_id, list_id, contact_id);
CREATE INDEX crm_mkt_subscriptions_ws_contact ON crm_mkt_subscriptions (workspace_id, contact_id);
CREATE INDEX crm_mkt_subscriptions_ws_list_status ON crm_mkt_subscriptions (workspace_id, list_id, status, id);

CREATE UNIQUE INDEX crm_mkt_suppressions_email_uq ON crm_mkt_suppressions (workspace_id, email);
CREATE INDEX crm_mkt_suppressions_ws_contact ON crm_mkt_suppressions (workspace_id, contact_id);

CREATE INDEX crm_mkt_segments_ws_owner ON crm_mkt_segments (workspace_id, owner_id);
CREATE INDEX crm_mkt_segments_ws_team ON crm_mkt_segments (workspace_id, team_id);

CREATE UNIQUE INDEX crm_mkt_segment_members_uq ON crm_mkt_segment_members (workspace_id, segment_id, contact_id);
CREATE INDEX crm_mkt_segment_members_ws_segment ON crm_mkt_segment_members (workspace_id, segment_id, id);
CREATE INDEX crm_mkt_segment_members_ws_contact ON crm_mkt_segment_members (workspace_id, contact_id);

CREATE INDEX crm_mkt_campaigns_ws_owner ON crm_mkt_campaigns (workspace_id, owner_id);
CREATE INDEX crm_mkt_campaigns_ws_team ON crm_mkt_campaigns (workspace_id, team_id);
CREATE INDEX crm_mkt_campaigns_ws_status ON crm_mkt_campaigns (workspace_id, status, start_date);

CREATE UNIQUE INDEX crm_mkt_campaign_members_uq ON crm_mkt_campaign_members (workspace_id, campaign_id, contact_id);
CREATE INDEX crm_mkt_campaign_members_ws_contact ON crm_mkt_campaign_members (workspace_id, contact_id);
CREATE INDEX crm_mkt_campaign_members_ws_status ON crm_mkt_campaign_members (workspace_id, campaign_id, status);

CREATE INDEX crm_mkt_emails_ws_campaign ON crm_mkt_emails (workspace_id, campaign_id);
CREATE INDEX crm_mkt_emails_ws_owner ON crm_mkt_emails (workspace_id, owner_id);
CREATE INDEX crm_mkt_emails_ws_team ON crm_mkt_emails (workspace_id, team_id);

CREATE UNIQUE INDEX crm_mkt_messages_uq ON crm_mkt_messages (workspace_id, contact_id, email_id);
CREATE INDEX crm_mkt_messages_ws_email_status ON crm_mkt_messages (workspace_id, email_id, status, id);
CREATE INDEX crm_mkt_messages_ws_campaign ON crm_mkt_messages (workspace_id, campaign_id, status);

CREATE INDEX crm_mkt_hits_ws_message ON crm_mkt_hits (workspace_id, message_id);
CREATE INDEX crm_mkt_hits_ws_contact ON crm_mkt_hits (workspace_id, contact_id, kind, at);
CREATE INDEX crm_mkt_hits_ws_kind_at ON crm_mkt_hits (workspace_id, kind, at);
CREATE INDEX crm_mkt_hits_ws_campaign ON crm_mkt_hits (workspace_id, campaign_id, kind);
