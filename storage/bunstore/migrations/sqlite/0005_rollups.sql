-- Rollups (storage.Rollup): running totals of record types, a row per
-- workspace, rollup ("<record type>.<name>") and up to three keys, with
-- the count of the records and up to three sums, kept in the transaction
-- of every write.

CREATE TABLE crm_rollups (
    workspace_id TEXT NOT NULL,
    rollup       TEXT NOT NULL,
    k1           TEXT NOT NULL DEFAULT '',
    k2           TEXT NOT NULL DEFAULT '',
    k3           TEXT NOT NULL DEFAULT '',
    n            INTEGER NOT NULL DEFAULT 0,
    s1           INTEGER NOT NULL DEFAULT 0,
    s2           INTEGER NOT NULL DEFAULT 0,
    s3           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, rollup, k1, k2, k3)
);
