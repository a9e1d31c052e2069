-- Reports over the elements of a list of objects (Report.Each), such as
-- the stays of deals in their stages.

ALTER TABLE crm_reports ADD COLUMN each_field TEXT NOT NULL DEFAULT '';
