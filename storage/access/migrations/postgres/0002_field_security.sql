-- Field-level security: a role's hidden and read-only fields.
-- crm:legacy 3

ALTER TABLE crm_roles ADD COLUMN fields JSONB;
