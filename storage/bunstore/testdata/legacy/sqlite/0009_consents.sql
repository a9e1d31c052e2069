-- GDPR consents: one row per contact and purpose.

CREATE TABLE crm_consents (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    contact_id   TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    lawful_basis TEXT NOT NULL,
    granted      INTEGER NOT NULL DEFAULT 0,
    source       TEXT NOT NULL DEFAULT '',
    at           TEXT NOT NULL
);
CREATE UNIQUE INDEX crm_consents_ws_id ON crm_consents (workspace_id, id);
CREATE UNIQUE INDEX crm_consents_purpose_uq ON crm_consents (workspace_id, contact_id, purpose);
