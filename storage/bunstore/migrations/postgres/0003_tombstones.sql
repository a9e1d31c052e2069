-- Tombstones of erased people: keyed hashes of their email addresses.
-- crm:legacy 10

CREATE TABLE crm_tombstones (
    workspace_id TEXT COLLATE "C" NOT NULL,
    hash         TEXT COLLATE "C" NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, hash)
);
