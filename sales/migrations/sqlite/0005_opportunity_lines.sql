-- Line items of opportunities.
-- crm:legacy 8

ALTER TABLE crm_opportunities ADD COLUMN line_items TEXT;
