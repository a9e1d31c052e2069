-- Social: posts scheduled to channels, and the mentions taken in.

CREATE TABLE crm_mkt_posts (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    channel           TEXT NOT NULL DEFAULT '',
    text              TEXT NOT NULL DEFAULT '',
    link              TEXT NOT NULL DEFAULT '',
    campaign_id       TEXT NOT NULL DEFAULT '',
    scheduled_at      TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT '',
    next_at           TEXT NOT NULL DEFAULT '',
    published_at      TEXT NOT NULL DEFAULT '',
    external_id       TEXT NOT NULL DEFAULT '',
    external_url      TEXT NOT NULL DEFAULT '',
    error             TEXT NOT NULL DEFAULT '',
    attempts          INTEGER NOT NULL DEFAULT 0,
    owner_id          TEXT NOT NULL DEFAULT '',
    team_id           TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_posts_ws_id ON crm_mkt_posts (workspace_id, id);
-- The due posts: next_at is zero once nothing more happens to a post.
CREATE INDEX crm_mkt_posts_ws_next ON crm_mkt_posts (workspace_id, next_at, id);
CREATE INDEX crm_mkt_posts_ws_status ON crm_mkt_posts (workspace_id, status, scheduled_at);
CREATE INDEX crm_mkt_posts_ws_campaign ON crm_mkt_posts (workspace_id, campaign_id);
CREATE INDEX crm_mkt_posts_ws_owner ON crm_mkt_posts (workspace_id, owner_id);
CREATE INDEX crm_mkt_posts_ws_team ON crm_mkt_posts (workspace_id, team_id);

CREATE TABLE crm_mkt_mentions (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    channel           TEXT NOT NULL DEFAULT '',
    external_id       TEXT NOT NULL DEFAULT '',
    handle            TEXT NOT NULL DEFAULT '',
    author            TEXT NOT NULL DEFAULT '',
    text              TEXT NOT NULL DEFAULT '',
    url               TEXT NOT NULL DEFAULT '',
    at                TEXT NOT NULL DEFAULT '',
    contact_id        TEXT NOT NULL DEFAULT '',
    sentiment         TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_mentions_ws_id ON crm_mkt_mentions (workspace_id, id);
-- One mention per channel and external ID: taking one in again finds it.
CREATE UNIQUE INDEX crm_mkt_mentions_uq ON crm_mkt_mentions (workspace_id, channel, external_id);
CREATE INDEX crm_mkt_mentions_ws_contact ON crm_mkt_mentions (workspace_id, contact_id, at);
CREATE INDEX crm_mkt_mentions_ws_at ON crm_mkt_mentions (workspace_id, at, id);
