-- SLAs: business-time calendars, SLA policies, and each case's applied SLA
-- (its policy's clocks), with the due list's index.

CREATE TABLE crm_service_calendars (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    time_zone    TEXT NOT NULL DEFAULT '',
    week         TEXT,
    holidays     TEXT,
    overrides    TEXT
);
CREATE UNIQUE INDEX crm_service_calendars_ws_id ON crm_service_calendars (workspace_id, id);

CREATE TABLE crm_sla_policies (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    sort_order   INTEGER NOT NULL DEFAULT 0,
    condition_expr TEXT NOT NULL DEFAULT '',
    calendar_id  TEXT NOT NULL DEFAULT '',
    targets      TEXT,
    enabled      INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX crm_sla_policies_ws_id ON crm_sla_policies (workspace_id, id);
CREATE INDEX crm_sla_policies_ws_position ON crm_sla_policies (workspace_id, enabled, sort_order, name);

ALTER TABLE crm_cases ADD COLUMN sla_policy_id TEXT NOT NULL DEFAULT '';
ALTER TABLE crm_cases ADD COLUMN sla_first_response_due TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z';
ALTER TABLE crm_cases ADD COLUMN sla_first_response TEXT NOT NULL DEFAULT '';
ALTER TABLE crm_cases ADD COLUMN sla_resolution_due TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z';
ALTER TABLE crm_cases ADD COLUMN sla_resolution TEXT NOT NULL DEFAULT '';
ALTER TABLE crm_cases ADD COLUMN sla_paused_for INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crm_cases ADD COLUMN sla_paused_since TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z';
ALTER TABLE crm_cases ADD COLUMN sla_next_due TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z';
CREATE INDEX crm_cases_ws_sla_due ON crm_cases (workspace_id, sla_next_due, id);
