-- Sales: leads, pipelines and opportunities.
-- crm:legacy 4

CREATE TABLE crm_leads (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    first_name        TEXT COLLATE "C" NOT NULL DEFAULT '',
    last_name         TEXT COLLATE "C" NOT NULL DEFAULT '',
    email             TEXT COLLATE "C" NOT NULL DEFAULT '',
    phone             TEXT COLLATE "C" NOT NULL DEFAULT '',
    job_title         TEXT COLLATE "C" NOT NULL DEFAULT '',
    company           TEXT COLLATE "C" NOT NULL DEFAULT '',
    company_domain    TEXT COLLATE "C" NOT NULL DEFAULT '',
    source            TEXT COLLATE "C" NOT NULL DEFAULT '',
    campaign          TEXT COLLATE "C" NOT NULL DEFAULT '',
    form_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
    utm               JSONB,
    status            TEXT COLLATE "C" NOT NULL DEFAULT '',
    status_reason     TEXT COLLATE "C" NOT NULL DEFAULT '',
    owner_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
    score             BIGINT NOT NULL DEFAULT 0,
    converted_at      TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    account_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    opportunity_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    tags              JSONB
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
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name              TEXT COLLATE "C" NOT NULL DEFAULT '',
    is_default        BOOLEAN NOT NULL DEFAULT false,
    stages            JSONB
);
CREATE UNIQUE INDEX crm_pipelines_ws_id ON crm_pipelines (workspace_id, id);
CREATE UNIQUE INDEX crm_pipelines_default_uq ON crm_pipelines (workspace_id) WHERE is_default = true;
CREATE UNIQUE INDEX crm_pipelines_name_uq ON crm_pipelines (workspace_id, name);

CREATE TABLE crm_opportunities (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name              TEXT COLLATE "C" NOT NULL DEFAULT '',
    account_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    contact_roles     JSONB,
    amount            BIGINT NOT NULL DEFAULT 0,
    currency          TEXT COLLATE "C" NOT NULL DEFAULT '',
    pipeline_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    stage             TEXT COLLATE "C" NOT NULL DEFAULT '',
    probability       BIGINT NOT NULL DEFAULT 0,
    probability_set   BOOLEAN NOT NULL DEFAULT false,
    forecast_category TEXT COLLATE "C" NOT NULL DEFAULT '',
    expected_close    TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    closed_at         TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    owner_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
    source            TEXT COLLATE "C" NOT NULL DEFAULT '',
    lost_reason       TEXT COLLATE "C" NOT NULL DEFAULT '',
    stage_history     JSONB,
    tags              JSONB
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
