-- A/B tests of subjects: the variants of an email and each message's.

ALTER TABLE crm_mkt_emails ADD COLUMN subject_variants TEXT;
ALTER TABLE crm_mkt_emails ADD COLUMN test_share REAL NOT NULL DEFAULT 0;
ALTER TABLE crm_mkt_emails ADD COLUMN winner_by TEXT NOT NULL DEFAULT '';
ALTER TABLE crm_mkt_emails ADD COLUMN winner INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crm_mkt_messages ADD COLUMN variant INTEGER NOT NULL DEFAULT 0;
