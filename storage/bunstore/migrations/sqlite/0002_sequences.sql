-- Gap-free number sequences (quote and invoice numbers).
-- crm:legacy 6

CREATE TABLE crm_sequences (
    workspace_id TEXT NOT NULL,
    name         TEXT NOT NULL,
    value        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
