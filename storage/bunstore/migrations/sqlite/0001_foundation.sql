-- The store's own tables: the change log, the link index and the
-- full-text search index.
-- crm:legacy 1

CREATE TABLE crm_events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    tx_id        INTEGER NOT NULL DEFAULT 0,
    id           TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL,
    type         TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    actor        TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,
    changes      TEXT
);
CREATE INDEX crm_events_ws_seq ON crm_events (workspace_id, tx_id, seq);
CREATE INDEX crm_events_ws_subject ON crm_events (workspace_id, subject_id, seq);
CREATE INDEX crm_events_ws_subject_time ON crm_events (workspace_id, subject_id, occurred_at, id);

CREATE TABLE crm_links (
    workspace_id TEXT NOT NULL,
    from_type    TEXT NOT NULL,
    from_id      TEXT NOT NULL,
    to_type      TEXT NOT NULL,
    to_id        TEXT NOT NULL,
    PRIMARY KEY (from_id, to_type, to_id)
) WITHOUT ROWID;
CREATE INDEX crm_links_to ON crm_links (workspace_id, to_id, from_type, from_id);

CREATE TABLE crm_search_docs (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    record_type  TEXT NOT NULL,
    record_id    TEXT NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL
);
CREATE VIRTUAL TABLE crm_search USING fts5 (
    title, body,
    content = 'crm_search_docs', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER crm_search_docs_ai AFTER INSERT ON crm_search_docs BEGIN
    INSERT INTO crm_search (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER crm_search_docs_ad AFTER DELETE ON crm_search_docs BEGIN
    INSERT INTO crm_search (crm_search, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER crm_search_docs_au AFTER UPDATE ON crm_search_docs BEGIN
    INSERT INTO crm_search (crm_search, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO crm_search (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
