-- The store's own tables: the change log, the link index and the
-- full-text search index.
-- crm:legacy 1

CREATE TABLE crm_events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx_id        BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    id           TEXT COLLATE "C" NOT NULL UNIQUE,
    workspace_id TEXT COLLATE "C" NOT NULL,
    type         TEXT COLLATE "C" NOT NULL,
    subject_type TEXT COLLATE "C" NOT NULL,
    subject_id   TEXT COLLATE "C" NOT NULL,
    actor        TEXT COLLATE "C" NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    changes      JSONB
);
CREATE INDEX crm_events_ws_seq ON crm_events (workspace_id, tx_id, seq);
CREATE INDEX crm_events_ws_subject ON crm_events (workspace_id, subject_id, seq);
CREATE INDEX crm_events_ws_subject_time ON crm_events (workspace_id, subject_id, occurred_at, id);

CREATE TABLE crm_links (
    workspace_id TEXT COLLATE "C" NOT NULL,
    from_type    TEXT COLLATE "C" NOT NULL,
    from_id      TEXT COLLATE "C" NOT NULL,
    to_type      TEXT COLLATE "C" NOT NULL,
    to_id        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (from_id, to_type, to_id)
);
CREATE INDEX crm_links_to ON crm_links (workspace_id, to_id, from_type, from_id);

CREATE TABLE crm_search (
    record_id    TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    record_type  TEXT COLLATE "C" NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    tsv          TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body)) STORED
);
CREATE INDEX crm_search_tsv ON crm_search USING GIN (tsv);
CREATE INDEX crm_search_ws ON crm_search (workspace_id, record_type);
