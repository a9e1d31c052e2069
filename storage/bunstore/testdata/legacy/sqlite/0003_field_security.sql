-- Field-level security: a role's hidden and read-only fields.

ALTER TABLE crm_roles ADD COLUMN fields TEXT;
