-- SLAs, second part: the next-response clock (each wait of the customer
-- after the desk's first reply), the business time each clock took, and
-- teams' own calendars.

ALTER TABLE crm_cases ADD COLUMN waiting_since TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z';
ALTER TABLE crm_cases ADD COLUMN sla_next_response_due TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z';
ALTER TABLE crm_cases ADD COLUMN sla_next_response TEXT NOT NULL DEFAULT '';
ALTER TABLE crm_cases ADD COLUMN sla_next_responses_missed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crm_cases ADD COLUMN sla_first_response_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crm_cases ADD COLUMN sla_resolution_time INTEGER NOT NULL DEFAULT 0;

ALTER TABLE crm_service_calendars ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX crm_service_calendars_ws_team ON crm_service_calendars (workspace_id, team_id) WHERE team_id <> '';
