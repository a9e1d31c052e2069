-- Workflow rules, records of the generic path.
-- crm:legacy 11

CREATE TABLE crm_workflow_rules (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    description  TEXT COLLATE "C" NOT NULL DEFAULT '',
    enabled      BOOLEAN NOT NULL DEFAULT false,
    "trigger"    JSONB,
    condition    TEXT COLLATE "C" NOT NULL DEFAULT '',
    actions      JSONB,
    exit         JSONB
);
CREATE UNIQUE INDEX crm_workflow_rules_ws_id ON crm_workflow_rules (workspace_id, id);
CREATE UNIQUE INDEX crm_workflow_rules_name_uq ON crm_workflow_rules (workspace_id, name);
CREATE INDEX crm_workflow_rules_enabled ON crm_workflow_rules (enabled, workspace_id);
