-- The leads of a deal: attribution and campaign ROI ask which leads
-- became which opportunities (a semi-join on opportunity_id), one probe
-- per deal through this index.

CREATE INDEX crm_leads_ws_opportunity ON crm_leads (workspace_id, opportunity_id);
CREATE INDEX crm_leads_ws_campaign ON crm_leads (workspace_id, campaign);
