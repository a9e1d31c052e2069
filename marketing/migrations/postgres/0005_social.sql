-- Social: posts scheduled to channels, and the mentions taken in.

CREATE TABLE crm_mkt_posts (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    channel           TEXT COLLATE "C" NOT NULL DEFAULT '',
    text              TEXT COLLATE "C" NOT NULL DEFAULT '',
    link              TEXT COLLATE "C" NOT NULL DEFAULT '',
    campaign_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    scheduled_at      TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    status            TEXT COLLATE "C" NOT NULL DEFAULT '',
    next_at           TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    published_at      TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    external_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    external_url      TEXT COLLATE "C" NOT NULL DEFAULT '',
    error             TEXT COLLATE "C" NOT NULL DEFAULT '',
    attempts          BIGINT NOT NULL DEFAULT 0,
    owner_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id           TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_posts_ws_id ON crm_mkt_posts (workspace_id, id);
-- The due posts: next_at is zero once nothing more happens to a post.
CREATE INDEX crm_mkt_posts_ws_next ON crm_mkt_posts (workspace_id, next_at, id);
CREATE INDEX crm_mkt_posts_ws_status ON crm_mkt_posts (workspace_id, status, scheduled_at);
CREATE INDEX crm_mkt_posts_ws_campaign ON crm_mkt_posts (workspace_id, campaign_id);
CREATE INDEX crm_mkt_posts_ws_owner ON crm_mkt_posts (workspace_id, owner_id);
CREATE INDEX crm_mkt_posts_ws_team ON crm_mkt_posts (workspace_id, team_id);

CREATE TABLE crm_mkt_mentions (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    channel           TEXT COLLATE "C" NOT NULL DEFAULT '',
    external_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    handle            TEXT COLLATE "C" NOT NULL DEFAULT '',
    author            TEXT COLLATE "C" NOT NULL DEFAULT '',
    text              TEXT COLLATE "C" NOT NULL DEFAULT '',
    url               TEXT COLLATE "C" NOT NULL DEFAULT '',
    at                TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    sentiment         TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_mentions_ws_id ON crm_mkt_mentions (workspace_id, id);
-- One mention per channel and external ID: taking one in again finds it.
CREATE UNIQUE INDEX crm_mkt_mentions_uq ON crm_mkt_mentions (workspace_id, channel, external_id);
CREATE INDEX crm_mkt_mentions_ws_contact ON crm_mkt_mentions (workspace_id, contact_id, at);
CREATE INDEX crm_mkt_mentions_ws_at ON crm_mkt_mentions (workspace_id, at, id);
