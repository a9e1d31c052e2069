-- Look-ups by value (an account's domain, the contacts of an account) list
-- their matches in ID order. With the ID as the index's last column the
-- index gives that order, so that SQLite, which has no statistics here,
-- takes it instead of walking the whole workspace in ID order through
-- (workspace_id, id) to skip a sort.
-- crm:legacy 16

DROP INDEX crm_accounts_ws_domain;
DROP INDEX crm_contacts_ws_account;
CREATE INDEX crm_accounts_ws_domain ON crm_accounts (workspace_id, domain, id);
CREATE INDEX crm_contacts_ws_account ON crm_contacts (workspace_id, account_id, id);

-- A workspace's duplicate rules (contacts.DuplicateRules): one row at most
-- per workspace, which the unique index on workspace_id keeps when two
-- first saves race.

CREATE TABLE crm_duplicate_rules (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    email        INTEGER NOT NULL DEFAULT 0,
    phone        INTEGER NOT NULL DEFAULT 0,
    key_field    TEXT NOT NULL DEFAULT '',
    fuzzy        INTEGER NOT NULL DEFAULT 0,
    threshold    REAL NOT NULL DEFAULT 0,
    fuzzy_scope  TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_duplicate_rules_workspace_uq ON crm_duplicate_rules (workspace_id);
CREATE UNIQUE INDEX crm_duplicate_rules_ws_id ON crm_duplicate_rules (workspace_id, id);
