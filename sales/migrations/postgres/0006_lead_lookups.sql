-- Look-ups of leads by email, phone or company domain list their matches
-- in ID order. With the ID as the index's last column the index gives that
-- order, so that SQLite, which has no statistics here, takes it instead of
-- walking the whole workspace in ID order through (workspace_id, id) to
-- skip a sort.
-- crm:legacy 16

DROP INDEX crm_leads_ws_email;
DROP INDEX crm_leads_ws_phone;
DROP INDEX crm_leads_ws_domain;
CREATE INDEX crm_leads_ws_email ON crm_leads (workspace_id, email, id);
CREATE INDEX crm_leads_ws_phone ON crm_leads (workspace_id, phone, id);
CREATE INDEX crm_leads_ws_domain ON crm_leads (workspace_id, company_domain, id);
