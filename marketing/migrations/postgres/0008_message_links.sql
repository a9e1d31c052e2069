-- Campaign messages show on their contact's timeline by contact_id
-- (TimelineField) and have no link rows any more; the rows of messages
-- stored before would keep a merged contact's messages "linked" to the
-- contact merged away.
DELETE FROM crm_links WHERE from_type = 'email_message';
