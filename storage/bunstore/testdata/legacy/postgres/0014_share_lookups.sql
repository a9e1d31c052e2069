-- A principal's scopes are read once per principal context: the records
-- shared with the member and those shared with its teams, two lookups.
-- These indexes answer each from the index alone (record type, record and
-- access included) instead of a scan of every share of the workspace.

DROP INDEX crm_shares_ws_member;
DROP INDEX crm_shares_ws_team;
CREATE INDEX crm_shares_ws_member ON crm_shares (workspace_id, member_id, record_type, record_id, access);
CREATE INDEX crm_shares_ws_team ON crm_shares (workspace_id, team_id, record_type, record_id, access);
