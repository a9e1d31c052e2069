-- Web forms and their posts.

CREATE TABLE crm_mkt_forms (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    name              TEXT COLLATE "C" NOT NULL DEFAULT '',
    target            TEXT COLLATE "C" NOT NULL DEFAULT '',
    fields            JSONB,
    list_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
    campaign_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    source            TEXT COLLATE "C" NOT NULL DEFAULT '',
    redirect_url      TEXT COLLATE "C" NOT NULL DEFAULT '',
    origins           JSONB,
    owner_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id           TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_forms_ws_id ON crm_mkt_forms (workspace_id, id);
CREATE INDEX crm_mkt_forms_ws_owner ON crm_mkt_forms (workspace_id, owner_id);
CREATE INDEX crm_mkt_forms_ws_team ON crm_mkt_forms (workspace_id, team_id);

CREATE TABLE crm_mkt_form_posts (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    form_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
    contact_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    lead_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
    form_values       JSONB,
    utm               JSONB,
    at                TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00'
);
CREATE UNIQUE INDEX crm_mkt_form_posts_ws_id ON crm_mkt_form_posts (workspace_id, id);
CREATE INDEX crm_mkt_form_posts_ws_form ON crm_mkt_form_posts (workspace_id, form_id, id);
CREATE INDEX crm_mkt_form_posts_ws_contact ON crm_mkt_form_posts (workspace_id, contact_id);
CREATE INDEX crm_mkt_form_posts_ws_lead ON crm_mkt_form_posts (workspace_id, lead_id);
