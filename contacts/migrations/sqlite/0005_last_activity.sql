-- When the latest activity of a contact or an account happened, kept by
-- Activities.Log, for time triggers such as "14 days after the last
-- activity".
-- crm:legacy 15

ALTER TABLE crm_contacts ADD COLUMN last_activity_at TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z';
ALTER TABLE crm_accounts ADD COLUMN last_activity_at TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z';
CREATE INDEX crm_contacts_ws_last_activity ON crm_contacts (workspace_id, last_activity_at);
CREATE INDEX crm_accounts_ws_last_activity ON crm_accounts (workspace_id, last_activity_at);
