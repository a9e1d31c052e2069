-- Workflow: rules (records of the generic path), and the engine's own
-- tables, which bypass the change log: jobs, runs and cursors. Events
-- record the depth of the workflow action that wrote them.

ALTER TABLE crm_events ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
CREATE INDEX crm_events_tx_seq ON crm_events (tx_id, seq);

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

CREATE TABLE crm_jobs (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    key          TEXT COLLATE "C" NOT NULL,
    kind         TEXT COLLATE "C" NOT NULL,
    state        TEXT COLLATE "C" NOT NULL,
    run_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    step         INTEGER NOT NULL DEFAULT 0,
    payload      JSONB,
    attempt      INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       TIMESTAMPTZ NOT NULL,
    locked_by    TEXT COLLATE "C" NOT NULL DEFAULT '',
    locked_until TIMESTAMPTZ,
    last_error   TEXT COLLATE "C" NOT NULL DEFAULT '',
    errors       JSONB,
    created_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ
);
CREATE UNIQUE INDEX crm_jobs_key_uq ON crm_jobs (workspace_id, key);
CREATE INDEX crm_jobs_due ON crm_jobs (run_at) WHERE state = 'available';
CREATE INDEX crm_jobs_leased ON crm_jobs (locked_until) WHERE state = 'running';
CREATE INDEX crm_jobs_ws_state ON crm_jobs (workspace_id, state, id);
CREATE INDEX crm_jobs_run ON crm_jobs (workspace_id, run_id);

CREATE TABLE crm_workflow_runs (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    key          TEXT COLLATE "C" NOT NULL,
    rule_id      TEXT COLLATE "C" NOT NULL,
    rule_version BIGINT NOT NULL,
    subject_type TEXT COLLATE "C" NOT NULL DEFAULT '',
    subject_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    event_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    state        TEXT COLLATE "C" NOT NULL,
    step         INTEGER NOT NULL DEFAULT 0,
    depth        INTEGER NOT NULL DEFAULT 0,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    duration_us  BIGINT NOT NULL DEFAULT 0,
    error        TEXT COLLATE "C" NOT NULL DEFAULT '',
    data         JSONB
);
CREATE UNIQUE INDEX crm_workflow_runs_key_uq ON crm_workflow_runs (workspace_id, key);
CREATE INDEX crm_workflow_runs_rule ON crm_workflow_runs (workspace_id, rule_id, id);
CREATE INDEX crm_workflow_runs_subject ON crm_workflow_runs (workspace_id, subject_id, rule_id, state);
CREATE INDEX crm_workflow_runs_ws ON crm_workflow_runs (workspace_id, id);

CREATE TABLE crm_workflow_cursors (
    workspace_id TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    value        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
