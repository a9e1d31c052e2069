-- The marketing module: subscription lists and subscriptions, the
-- suppression list, segments and their members, campaigns and their
-- members, campaign emails, one message per recipient, tracking hits.

CREATE TABLE crm_mkt_lists (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    key               TEXT COLLATE "C" NOT NULL DEFAULT '',
    name              TEXT COLLATE "C" NOT NULL DEFAULT '',
    description       TEXT COLLATE "C" NOT NULL DEFAULT '',
    double_opt_in     BOOLEAN NOT NULL DEFAULT false,
    purpose           TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_lists_ws_id ON crm_mkt_lists (workspace_id, id);

CREATE TABLE crm_mkt_subscriptions (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    list_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    email             TEXT COLLATE "C" NOT NULL DEFAULT '',
    status            TEXT COLLATE "C" NOT NULL DEFAULT '',
    source            TEXT COLLATE "C" NOT NULL DEFAULT '',
    requested_at      TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    confirmed_at      TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    unsubscribed_at   TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    consent_id        TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_subscriptions_ws_id ON crm_mkt_subscriptions (workspace_id, id);

CREATE TABLE crm_mkt_suppressions (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    email             TEXT COLLATE "C" NOT NULL DEFAULT '',
    reason            TEXT COLLATE "C" NOT NULL DEFAULT '',
    detail            TEXT COLLATE "C" NOT NULL DEFAULT '',
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    at                TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00'
);
CREATE UNIQUE INDEX crm_mkt_suppressions_ws_id ON crm_mkt_suppressions (workspace_id, id);

CREATE TABLE crm_mkt_segments (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name              TEXT COLLATE "C" NOT NULL DEFAULT '',
    description       TEXT COLLATE "C" NOT NULL DEFAULT '',
    kind              TEXT COLLATE "C" NOT NULL DEFAULT '',
    where_expr        TEXT COLLATE "C" NOT NULL DEFAULT '',
    engaged           JSONB,
    include_segments  JSONB,
    exclude_segments  JSONB,
    owner_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id           TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_segments_ws_id ON crm_mkt_segments (workspace_id, id);

CREATE TABLE crm_mkt_segment_members (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    segment_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    entered_at        TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00'
);
CREATE UNIQUE INDEX crm_mkt_segment_members_ws_id ON crm_mkt_segment_members (workspace_id, id);

CREATE TABLE crm_mkt_campaigns (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name              TEXT COLLATE "C" NOT NULL DEFAULT '',
    description       TEXT COLLATE "C" NOT NULL DEFAULT '',
    type              TEXT COLLATE "C" NOT NULL DEFAULT '',
    channels          JSONB,
    status            TEXT COLLATE "C" NOT NULL DEFAULT '',
    budget_amount     BIGINT NOT NULL DEFAULT 0,
    budget_currency   TEXT COLLATE "C" NOT NULL DEFAULT '',
    cost_amount       BIGINT NOT NULL DEFAULT 0,
    cost_currency     TEXT COLLATE "C" NOT NULL DEFAULT '',
    start_date        TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    end_date          TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    utm_campaign      TEXT COLLATE "C" NOT NULL DEFAULT '',
    owner_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
    custom            JSONB
);
CREATE UNIQUE INDEX crm_mkt_campaigns_ws_id ON crm_mkt_campaigns (workspace_id, id);

CREATE TABLE crm_mkt_campaign_members (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    campaign_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    status            TEXT COLLATE "C" NOT NULL DEFAULT '',
    responded_at      TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00'
);
CREATE UNIQUE INDEX crm_mkt_campaign_members_ws_id ON crm_mkt_campaign_members (workspace_id, id);

CREATE TABLE crm_mkt_emails (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    campaign_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    name              TEXT COLLATE "C" NOT NULL DEFAULT '',
    from_addr         TEXT COLLATE "C" NOT NULL DEFAULT '',
    reply_to          TEXT COLLATE "C" NOT NULL DEFAULT '',
    subject           TEXT COLLATE "C" NOT NULL DEFAULT '',
    html              TEXT COLLATE "C" NOT NULL DEFAULT '',
    text              TEXT COLLATE "C" NOT NULL DEFAULT '',
    segment_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    list_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
    status            TEXT COLLATE "C" NOT NULL DEFAULT '',
    no_open_tracking  BOOLEAN NOT NULL DEFAULT false,
    no_click_tracking BOOLEAN NOT NULL DEFAULT false,
    no_utm            BOOLEAN NOT NULL DEFAULT false,
    rate_per_second   DOUBLE PRECISION NOT NULL DEFAULT 0,
    batch_size        BIGINT NOT NULL DEFAULT 0,
    error_threshold   DOUBLE PRECISION NOT NULL DEFAULT 0,
    send_cursor       TEXT COLLATE "C" NOT NULL DEFAULT '',
    claims            JSONB,
    sent_at           TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    stop_reason       TEXT COLLATE "C" NOT NULL DEFAULT '',
    owner_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id           TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_emails_ws_id ON crm_mkt_emails (workspace_id, id);

CREATE TABLE crm_mkt_messages (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    email_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    campaign_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    address           TEXT COLLATE "C" NOT NULL DEFAULT '',
    status            TEXT COLLATE "C" NOT NULL DEFAULT '',
    error             TEXT COLLATE "C" NOT NULL DEFAULT '',
    sent_at           TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    opened_at         TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    clicked_at        TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00'
);
CREATE UNIQUE INDEX crm_mkt_messages_ws_id ON crm_mkt_messages (workspace_id, id);

CREATE TABLE crm_mkt_hits (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    message_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    email_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    campaign_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    kind              TEXT COLLATE "C" NOT NULL DEFAULT '',
    url               TEXT COLLATE "C" NOT NULL DEFAULT '',
    at                TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    bot               BOOLEAN NOT NULL DEFAULT false,
    bot_reason        TEXT COLLATE "C" NOT NULL DEFAULT '',
    user_agent        TEXT COLLATE "C" NOT NULL DEFAULT ''
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
