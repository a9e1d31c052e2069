-- An opportunity carries the host's or the old CRM's ID of the deal, unique
-- in the workspace when set (sales.Opportunities.Upsert matches on it).
ALTER TABLE crm_opportunities ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX crm_opportunities__external_id_uq ON crm_opportunities (workspace_id, external_id) WHERE external_id <> '';
