-- Email to case: a message sent by a machine (RFC 3834 Auto-Submitted)
-- is marked, so that nothing answers it automatically.

ALTER TABLE crm_case_messages ADD COLUMN auto_submitted BOOLEAN NOT NULL DEFAULT FALSE;
