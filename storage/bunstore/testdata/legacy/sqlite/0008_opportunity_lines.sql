-- Line items of opportunities.

ALTER TABLE crm_opportunities ADD COLUMN line_items TEXT;
