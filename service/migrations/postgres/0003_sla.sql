-- SLAs: business-time calendars, SLA policies, and each case's applied SLA
-- (its policy's clocks), with the due list's index.

CREATE TABLE crm_service_calendars (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL DEFAULT '',
    time_zone    TEXT COLLATE "C" NOT NULL DEFAULT '',
    week         JSONB,
    holidays     JSONB,
    overrides    JSONB
);
CREATE UNIQUE INDEX crm_service_calendars_ws_id ON crm_service_calendars (workspace_id, id);

CREATE TABLE crm_sla_policies (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL DEFAULT '',
    sort_order   BIGINT NOT NULL DEFAULT 0,
    condition_expr TEXT COLLATE "C" NOT NULL DEFAULT '',
    calendar_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
    targets      JSONB,
    enabled      BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX crm_sla_policies_ws_id ON crm_sla_policies (workspace_id, id);
CREATE INDEX crm_sla_policies_ws_position ON crm_sla_policies (workspace_id, enabled, sort_order, name);

ALTER TABLE crm_cases ADD COLUMN sla_policy_id TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE crm_cases ADD COLUMN sla_first_response_due TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00';
ALTER TABLE crm_cases ADD COLUMN sla_first_response TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE crm_cases ADD COLUMN sla_resolution_due TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00';
ALTER TABLE crm_cases ADD COLUMN sla_resolution TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE crm_cases ADD COLUMN sla_paused_for BIGINT NOT NULL DEFAULT 0;
ALTER TABLE crm_cases ADD COLUMN sla_paused_since TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00';
ALTER TABLE crm_cases ADD COLUMN sla_next_due TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00';
CREATE INDEX crm_cases_ws_sla_due ON crm_cases (workspace_id, sla_next_due, id);
