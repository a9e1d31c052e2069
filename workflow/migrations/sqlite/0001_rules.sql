-- Workflow rules, records of the generic path.
-- crm:legacy 11

CREATE TABLE crm_workflow_rules (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    enabled      INTEGER NOT NULL DEFAULT 0,
    "trigger"    TEXT,
    condition    TEXT NOT NULL DEFAULT '',
    actions      TEXT,
    exit         TEXT
);
CREATE UNIQUE INDEX crm_workflow_rules_ws_id ON crm_workflow_rules (workspace_id, id);
CREATE UNIQUE INDEX crm_workflow_rules_name_uq ON crm_workflow_rules (workspace_id, name);
CREATE INDEX crm_workflow_rules_enabled ON crm_workflow_rules (enabled, workspace_id);
