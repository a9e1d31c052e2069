-- Secrets kept apart from every record, event and feed (storage.Secrets):
-- webhook signing keys and credentials that rules name by reference.

CREATE TABLE crm_secrets (
    workspace_id TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    value        TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
