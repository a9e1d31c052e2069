-- Gap-free number sequences (quote and invoice numbers).
-- crm:legacy 6

CREATE TABLE crm_sequences (
    workspace_id TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    value        BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
