-- Access control: the teams of contacts, accounts and activities, and
-- indexes on their owners and teams.
-- crm:legacy 2

ALTER TABLE crm_contacts ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
CREATE INDEX crm_contacts_ws_owner ON crm_contacts (workspace_id, owner_id);
CREATE INDEX crm_contacts_ws_team ON crm_contacts (workspace_id, team_id);
ALTER TABLE crm_accounts ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
CREATE INDEX crm_accounts_ws_owner ON crm_accounts (workspace_id, owner_id);
CREATE INDEX crm_accounts_ws_team ON crm_accounts (workspace_id, team_id);
ALTER TABLE crm_activities ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
CREATE INDEX crm_activities_ws_owner ON crm_activities (workspace_id, owner_id);
CREATE INDEX crm_activities_ws_team ON crm_activities (workspace_id, team_id);
