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
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    email        BOOLEAN NOT NULL DEFAULT false,
    phone        BOOLEAN NOT NULL DEFAULT false,
    key_field    TEXT COLLATE "C" NOT NULL DEFAULT '',
    fuzzy        BOOLEAN NOT NULL DEFAULT false,
    threshold    DOUBLE PRECISION NOT NULL DEFAULT 0,
    fuzzy_scope  TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_duplicate_rules_workspace_uq ON crm_duplicate_rules (workspace_id);
CREATE UNIQUE INDEX crm_duplicate_rules_ws_id ON crm_duplicate_rules (workspace_id, id);
