-- Custom fields can be marked as personal data: export and anonymisation read the mark.
-- crm:legacy 12

ALTER TABLE crm_field_defs ADD COLUMN personal BOOLEAN NOT NULL DEFAULT false;
