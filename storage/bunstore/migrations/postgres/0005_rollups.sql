-- Rollups (storage.Rollup): running totals of record types, a row per
-- workspace, rollup ("<record type>.<name>") and up to three keys, with
-- the count of the records and up to three sums, kept in the transaction
-- of every write.

CREATE TABLE crm_rollups (
    workspace_id TEXT COLLATE "C" NOT NULL,
    rollup       TEXT COLLATE "C" NOT NULL,
    k1           TEXT COLLATE "C" NOT NULL DEFAULT '',
    k2           TEXT COLLATE "C" NOT NULL DEFAULT '',
    k3           TEXT COLLATE "C" NOT NULL DEFAULT '',
    n            BIGINT NOT NULL DEFAULT 0,
    s1           BIGINT NOT NULL DEFAULT 0,
    s2           BIGINT NOT NULL DEFAULT 0,
    s3           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, rollup, k1, k2, k3)
);
