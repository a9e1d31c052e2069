-- Workflow: rules (records of the generic path), and the engine's own
-- tables, which bypass the change log: jobs, runs and cursors. Events
-- record the depth of the workflow action that wrote them.

ALTER TABLE crm_events ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
CREATE INDEX crm_events_tx_seq ON crm_events (tx_id, seq);

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

CREATE TABLE crm_jobs (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    key          TEXT NOT NULL,
    kind         TEXT NOT NULL,
    state        TEXT NOT NULL,
    run_id       TEXT NOT NULL DEFAULT '',
    step         INTEGER NOT NULL DEFAULT 0,
    payload      TEXT,
    attempt      INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       TEXT NOT NULL,
    locked_by    TEXT NOT NULL DEFAULT '',
    locked_until TEXT,
    last_error   TEXT NOT NULL DEFAULT '',
    errors       TEXT,
    created_at   TEXT NOT NULL,
    finished_at  TEXT
);
CREATE UNIQUE INDEX crm_jobs_key_uq ON crm_jobs (workspace_id, key);
CREATE INDEX crm_jobs_due ON crm_jobs (run_at) WHERE state = 'available';
CREATE INDEX crm_jobs_leased ON crm_jobs (locked_until) WHERE state = 'running';
CREATE INDEX crm_jobs_ws_state ON crm_jobs (workspace_id, state, id);
CREATE INDEX crm_jobs_run ON crm_jobs (workspace_id, run_id);

CREATE TABLE crm_workflow_runs (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    key          TEXT NOT NULL,
    rule_id      TEXT NOT NULL,
    rule_version INTEGER NOT NULL,
    subject_type TEXT NOT NULL DEFAULT '',
    subject_id   TEXT NOT NULL DEFAULT '',
    event_id     TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    step         INTEGER NOT NULL DEFAULT 0,
    depth        INTEGER NOT NULL DEFAULT 0,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    duration_us  INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    data         TEXT
);
CREATE UNIQUE INDEX crm_workflow_runs_key_uq ON crm_workflow_runs (workspace_id, key);
CREATE INDEX crm_workflow_runs_rule ON crm_workflow_runs (workspace_id, rule_id, id);
CREATE INDEX crm_workflow_runs_subject ON crm_workflow_runs (workspace_id, subject_id, rule_id, state);
CREATE INDEX crm_workflow_runs_ws ON crm_workflow_runs (workspace_id, id);

CREATE TABLE crm_workflow_cursors (
    workspace_id TEXT NOT NULL,
    name         TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);
