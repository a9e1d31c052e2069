-- Contacts sorted by last name alone, ties by ID (a list's own tie-break):
-- the name index has first_name between them, so the ties were sorted
-- apart for every page.
CREATE INDEX crm_contacts_ws_last_id ON crm_contacts (workspace_id, last_name, id);
