-- Web forms and their posts.

CREATE TABLE crm_mkt_forms (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    name              TEXT NOT NULL DEFAULT '',
    target            TEXT NOT NULL DEFAULT '',
    fields            TEXT,
    list_id           TEXT NOT NULL DEFAULT '',
    campaign_id       TEXT NOT NULL DEFAULT '',
    source            TEXT NOT NULL DEFAULT '',
    redirect_url      TEXT NOT NULL DEFAULT '',
    origins           TEXT,
    owner_id          TEXT NOT NULL DEFAULT '',
    team_id           TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_forms_ws_id ON crm_mkt_forms (workspace_id, id);
CREATE INDEX crm_mkt_forms_ws_owner ON crm_mkt_forms (workspace_id, owner_id);
CREATE INDEX crm_mkt_forms_ws_team ON crm_mkt_forms (workspace_id, team_id);

CREATE TABLE crm_mkt_form_posts (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    form_id           TEXT NOT NULL DEFAULT '',
    contact_id        TEXT NOT NULL DEFAULT '',
    lead_id           TEXT NOT NULL DEFAULT '',
    form_values       TEXT,
    utm               TEXT,
    at                TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_mkt_form_posts_ws_id ON crm_mkt_form_posts (workspace_id, id);
CREATE INDEX crm_mkt_form_posts_ws_form ON crm_mkt_form_posts (workspace_id, form_id, id);
CREATE INDEX crm_mkt_form_posts_ws_contact ON crm_mkt_form_posts (workspace_id, contact_id);
CREATE INDEX crm_mkt_form_posts_ws_lead ON crm_mkt_form_posts (workspace_id, lead_id);
