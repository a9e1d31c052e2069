-- The knowledge base: article categories (a tree), articles with their
-- rendered HTML and helpfulness counts, the articles' versions (kept
-- append-only), and the helpfulness votes, one per voter and article.

CREATE TABLE crm_article_categories (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL DEFAULT '',
    slug         TEXT COLLATE "C" NOT NULL DEFAULT '',
    parent_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    description  TEXT COLLATE "C" NOT NULL DEFAULT '',
    sort_order   BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX crm_article_categories_ws_id ON crm_article_categories (workspace_id, id);
CREATE UNIQUE INDEX crm_article_categories_slug_uq ON crm_article_categories (workspace_id, slug);
CREATE INDEX crm_article_categories_ws_parent ON crm_article_categories (workspace_id, parent_id, sort_order, name);

CREATE TABLE crm_articles (
    id              TEXT COLLATE "C" PRIMARY KEY,
    workspace_id    TEXT COLLATE "C" NOT NULL,
    version         BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    created_by      TEXT COLLATE "C" NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    updated_by      TEXT COLLATE "C" NOT NULL,
    title           TEXT COLLATE "C" NOT NULL DEFAULT '',
    slug            TEXT COLLATE "C" NOT NULL DEFAULT '',
    summary         TEXT COLLATE "C" NOT NULL DEFAULT '',
    excerpt         TEXT COLLATE "C" NOT NULL DEFAULT '',
    body            TEXT COLLATE "C" NOT NULL DEFAULT '',
    html            TEXT COLLATE "C" NOT NULL DEFAULT '',
    category_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    tags            JSONB,
    status          TEXT COLLATE "C" NOT NULL DEFAULT '',
    owner_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id         TEXT COLLATE "C" NOT NULL DEFAULT '',
    published_at    TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    revision        BIGINT NOT NULL DEFAULT 0,
    helpful_votes   BIGINT NOT NULL DEFAULT 0,
    unhelpful_votes BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX crm_articles_ws_id ON crm_articles (workspace_id, id);
CREATE UNIQUE INDEX crm_articles_slug_uq ON crm_articles (workspace_id, slug);
CREATE INDEX crm_articles_ws_category ON crm_articles (workspace_id, category_id, status);
CREATE INDEX crm_articles_ws_status ON crm_articles (workspace_id, status, published_at, id);
CREATE INDEX crm_articles_ws_owner ON crm_articles (workspace_id, owner_id);
CREATE INDEX crm_articles_ws_team ON crm_articles (workspace_id, team_id);

CREATE TABLE crm_article_versions (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    article_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    number       BIGINT NOT NULL DEFAULT 0,
    title        TEXT COLLATE "C" NOT NULL DEFAULT '',
    body         TEXT COLLATE "C" NOT NULL DEFAULT '',
    note         TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_article_versions_ws_id ON crm_article_versions (workspace_id, id);
CREATE UNIQUE INDEX crm_article_versions__number_uq ON crm_article_versions (workspace_id, article_id, number);

CREATE TABLE crm_article_votes (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    article_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    voter        TEXT COLLATE "C" NOT NULL DEFAULT '',
    helpful      BOOLEAN NOT NULL DEFAULT FALSE,
    contact_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    member_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    visitor_key  TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_article_votes_ws_id ON crm_article_votes (workspace_id, id);
CREATE UNIQUE INDEX crm_article_votes__voter_uq ON crm_article_votes (workspace_id, article_id, voter);
CREATE INDEX crm_article_votes_ws_contact ON crm_article_votes (workspace_id, contact_id);
