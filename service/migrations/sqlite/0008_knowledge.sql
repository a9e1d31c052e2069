-- The knowledge base: article categories (a tree), articles with their
-- rendered HTML and helpfulness counts, the articles' versions (kept
-- append-only), and the helpfulness votes, one per voter and article.

CREATE TABLE crm_article_categories (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    slug         TEXT NOT NULL DEFAULT '',
    parent_id    TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    sort_order   INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX crm_article_categories_ws_id ON crm_article_categories (workspace_id, id);
CREATE UNIQUE INDEX crm_article_categories_slug_uq ON crm_article_categories (workspace_id, slug);
CREATE INDEX crm_article_categories_ws_parent ON crm_article_categories (workspace_id, parent_id, sort_order, name);

CREATE TABLE crm_articles (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL,
    version         INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT NOT NULL,
    title           TEXT NOT NULL DEFAULT '',
    slug            TEXT NOT NULL DEFAULT '',
    summary         TEXT NOT NULL DEFAULT '',
    excerpt         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL DEFAULT '',
    html            TEXT NOT NULL DEFAULT '',
    category_id     TEXT NOT NULL DEFAULT '',
    tags            TEXT,
    status          TEXT NOT NULL DEFAULT '',
    owner_id        TEXT NOT NULL DEFAULT '',
    team_id         TEXT NOT NULL DEFAULT '',
    published_at    TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z',
    revision        INTEGER NOT NULL DEFAULT 0,
    helpful_votes   INTEGER NOT NULL DEFAULT 0,
    unhelpful_votes INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX crm_articles_ws_id ON crm_articles (workspace_id, id);
CREATE UNIQUE INDEX crm_articles_slug_uq ON crm_articles (workspace_id, slug);
CREATE INDEX crm_articles_ws_category ON crm_articles (workspace_id, category_id, status);
CREATE INDEX crm_articles_ws_status ON crm_articles (workspace_id, status, published_at, id);
CREATE INDEX crm_articles_ws_owner ON crm_articles (workspace_id, owner_id);
CREATE INDEX crm_articles_ws_team ON crm_articles (workspace_id, team_id);

CREATE TABLE crm_article_versions (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    article_id   TEXT NOT NULL DEFAULT '',
    number       INTEGER NOT NULL DEFAULT 0,
    title        TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL DEFAULT '',
    note         TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_article_versions_ws_id ON crm_article_versions (workspace_id, id);
CREATE UNIQUE INDEX crm_article_versions__number_uq ON crm_article_versions (workspace_id, article_id, number);

CREATE TABLE crm_article_votes (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    article_id   TEXT NOT NULL DEFAULT '',
    voter        TEXT NOT NULL DEFAULT '',
    helpful      INTEGER NOT NULL DEFAULT 0,
    contact_id   TEXT NOT NULL DEFAULT '',
    member_id    TEXT NOT NULL DEFAULT '',
    visitor_key  TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_article_votes_ws_id ON crm_article_votes (workspace_id, id);
CREATE UNIQUE INDEX crm_article_votes__voter_uq ON crm_article_votes (workspace_id, article_id, voter);
CREATE INDEX crm_article_votes_ws_contact ON crm_article_votes (workspace_id, contact_id);
