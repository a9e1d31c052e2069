-- Secrets kept apart from every record, event and feed (storage.Secrets):
-- webhook signing keys and credentials that rules name by reference.

CREATE TABLE crm_secrets (
    workspace_id TEXT NOT NULL,
    name         TEXT NOT NULL,
    value        TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
