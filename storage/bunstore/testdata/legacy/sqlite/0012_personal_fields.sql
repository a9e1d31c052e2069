-- Custom fields can be marked as personal data: export and anonymisation read the mark.

ALTER TABLE crm_field_defs ADD COLUMN personal INTEGER NOT NULL DEFAULT 0;
