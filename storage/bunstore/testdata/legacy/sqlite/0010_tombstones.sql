-- Tombstones of erased people: keyed hashes of their email addresses.

CREATE TABLE crm_tombstones (
    workspace_id TEXT NOT NULL,
    hash         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (workspace_id, hash)
);
