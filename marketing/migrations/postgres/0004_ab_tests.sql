-- A/B tests of subjects: the variants of an email and each message's.

ALTER TABLE crm_mkt_emails ADD COLUMN subject_variants JSONB;
ALTER TABLE crm_mkt_emails ADD COLUMN test_share DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE crm_mkt_emails ADD COLUMN winner_by TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE crm_mkt_emails ADD COLUMN winner BIGINT NOT NULL DEFAULT 0;
ALTER TABLE crm_mkt_messages ADD COLUMN variant BIGINT NOT NULL DEFAULT 0;
