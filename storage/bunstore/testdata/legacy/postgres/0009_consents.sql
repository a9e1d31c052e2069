-- GDPR consents: one row per contact and purpose.

CREATE TABLE crm_consents (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    contact_id   TEXT COLLATE "C" NOT NULL,
    purpose      TEXT COLLATE "C" NOT NULL,
    lawful_basis TEXT COLLATE "C" NOT NULL,
    granted      BOOLEAN NOT NULL DEFAULT false,
    source       TEXT COLLATE "C" NOT NULL DEFAULT '',
    at           TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX crm_consents_ws_id ON crm_consents (workspace_id, id);
CREATE UNIQUE INDEX crm_consents_purpose_uq ON crm_consents (workspace_id, contact_id, purpose);
