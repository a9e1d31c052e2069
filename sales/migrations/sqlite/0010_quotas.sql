-- Sales quotas (sales.Quotas): the revenue a member or a team is to win in
-- a period, which quota attainment measures won deals against.

CREATE TABLE crm_quotas (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL,
    version         INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT NOT NULL,
    owner_id        TEXT NOT NULL DEFAULT '',
    team_id         TEXT NOT NULL DEFAULT '',
    period_from     TEXT NOT NULL DEFAULT '',
    period_to       TEXT NOT NULL DEFAULT '',
    target_amount   INTEGER NOT NULL DEFAULT 0,
    target_currency TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_quotas_ws_id ON crm_quotas (workspace_id, id);
CREATE INDEX crm_quotas_ws_owner ON crm_quotas (workspace_id, owner_id);
CREATE INDEX crm_quotas_ws_team ON crm_quotas (workspace_id, team_id);
CREATE INDEX crm_quotas_ws_period ON crm_quotas (workspace_id, period_from, id);
