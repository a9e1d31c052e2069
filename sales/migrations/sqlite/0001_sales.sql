-- Sales: leads, pipelines and opportunities.
-- crm:legacy 4

CREATE TABLE crm_leads (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    first_name        TEXT NOT NULL DEFAULT '',
    last_name         TEXT NOT NULL DEFAULT '',
    email             TEXT NOT NULL DEFAULT '',
    phone             TEXT NOT NULL DEFAULT '',
    job_title         TEXT NOT NULL DEFAULT '',
    company           TEXT NOT NULL DEFAULT '',
    company_domain    TEXT NOT NULL DEFAULT '',
    source            TEXT NOT NULL DEFAULT '',
    campaign          TEXT NOT NULL DEFAULT '',
    form_id           TEXT NOT NULL DEFAULT '',
    utm               TEXT,
    status            TEXT NOT NULL DEFAULT '',
    status_reason     TEXT NOT NULL DEFAULT '',
    owner_id          TEXT NOT NULL DEFAULT '',
    team_id           TEXT NOT NULL DEFAULT '',
    score             INTEGER NOT NULL DEFAULT 0,
    converted_at      TEXT NOT NULL DEFAULT '',
    contact_id        TEXT NOT NULL DEFAULT '',
    account_id        TEXT NOT NULL DEFAULT '',
    opportunity_id    TEXT NOT NULL DEFAULT '',
    tags              TEXT
);
CREATE UNIQUE INDEX crm_leads_ws_id ON crm_leads (workspace_id, id);
CREATE INDEX crm_leads_ws_email ON crm_leads (workspace_id, email);
CREATE INDEX crm_leads_ws_phone ON crm_leads (workspace_id, phone);
CREATE INDEX crm_leads_ws_domain ON crm_leads (workspace_id, company_domain);
CREATE INDEX crm_leads_ws_status ON crm_leads (workspace_id, status, id);
CREATE INDEX crm_leads_ws_owner ON crm_leads (workspace_id, owner_id);
CREATE INDEX crm_leads_ws_team ON crm_leads (workspace_id, team_id);
CREATE INDEX crm_leads_ws_name ON crm_leads (workspace_id, last_name, first_name, id);
CREATE INDEX crm_leads_ws_created ON crm_leads (workspace_id, created_at, id);

CREATE TABLE crm_pipelines (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name              TEXT NOT NULL DEFAULT '',
    is_default        INTEGER NOT NULL DEFAULT 0,
    stages            TEXT
);
CREATE UNIQUE INDEX crm_pipelines_ws_id ON crm_pipelines (workspace_id, id);
CREATE UNIQUE INDEX crm_pipelines_default_uq ON crm_pipelines (workspace_id) WHERE is_default = 1;
CREATE UNIQUE INDEX crm_pipelines_name_uq ON crm_pipelines (workspace_id, name);

CREATE TABLE crm_opportunities (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name              TEXT NOT NULL DEFAULT '',
    account_id        TEXT NOT NULL DEFAULT '',
    contact_id        TEXT NOT NULL DEFAULT '',
    contact_roles     TEXT,
    amount            INTEGER NOT NULL DEFAULT 0,
    currency          TEXT NOT NULL DEFAULT '',
    pipeline_id       TEXT NOT NULL DEFAULT '',
    stage             TEXT NOT NULL DEFAULT '',
    probability       INTEGER NOT NULL DEFAULT 0,
    probability_set   INTEGER NOT NULL DEFAULT 0,
    forecast_category TEXT NOT NULL DEFAULT '',
    expected_close    TEXT NOT NULL DEFAULT '',
    closed_at         TEXT NOT NULL DEFAULT '',
    owner_id          TEXT NOT NULL DEFAULT '',
    team_id           TEXT NOT NULL DEFAULT '',
    source            TEXT NOT NULL DEFAULT '',
    lost_reason       TEXT NOT NULL DEFAULT '',
    stage_history     TEXT,
    tags              TEXT
);
CREATE UNIQUE INDEX crm_opportunities_ws_id ON crm_opportunities (workspace_id, id);
CREATE INDEX crm_opportunities_ws_pipeline_stage ON crm_opportunities (workspace_id, pipeline_id, stage, currency, amount, probability);
CREATE INDEX crm_opportunities_ws_account ON crm_opportunities (workspace_id, account_id);
CREATE INDEX crm_opportunities_ws_contact ON crm_opportunities (workspace_id, contact_id);
CREATE INDEX crm_opportunities_ws_owner ON crm_opportunities (workspace_id, owner_id);
CREATE INDEX crm_opportunities_ws_team ON crm_opportunities (workspace_id, team_id);
CREATE INDEX crm_opportunities_ws_close ON crm_opportunities (workspace_id, expected_close, id);
CREATE INDEX crm_opportunities_ws_name ON crm_opportunities (workspace_id, name, id);
CREATE INDEX crm_opportunities_ws_created ON crm_opportunities (workspace_id, created_at, id);
