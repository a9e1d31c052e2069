-- When a stored rule was last switched on: its event trigger acts on the
-- events from then on (Rule.EnabledAt). Rules enabled before keep acting on
-- every event (NULL).
ALTER TABLE crm_workflow_rules ADD COLUMN enabled_at TEXT;
