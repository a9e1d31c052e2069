-- The member whose rights a stored rule's actions use (Rule.ActsAs): the one
-- who last saved it. Rules saved before ran as the system and keep doing so
-- ('').
ALTER TABLE crm_workflow_rules ADD COLUMN acts_as TEXT NOT NULL DEFAULT '';
