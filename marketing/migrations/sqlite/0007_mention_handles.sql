-- The mentions of a handle, for matching those of unknown authors when a
-- contact gets that social profile (Service.Sync).
CREATE INDEX crm_mkt_mentions_ws_handle ON crm_mkt_mentions (workspace_id, channel, handle);
