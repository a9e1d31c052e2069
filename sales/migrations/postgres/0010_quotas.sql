-- Sales quotas (sales.Quotas): the revenue a member or a team is to win in
-- a period, which quota attainment measures won deals against.

CREATE TABLE crm_quotas (
    id              TEXT COLLATE "C" PRIMARY KEY,
    workspace_id    TEXT COLLATE "C" NOT NULL,
    version         BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    created_by      TEXT COLLATE "C" NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    updated_by      TEXT COLLATE "C" NOT NULL,
    owner_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id         TEXT COLLATE "C" NOT NULL DEFAULT '',
    period_from     TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    period_to       TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    target_amount   BIGINT NOT NULL DEFAULT 0,
    target_currency TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_quotas_ws_id ON crm_quotas (workspace_id, id);
CREATE INDEX crm_quotas_ws_owner ON crm_quotas (workspace_id, owner_id);
CREATE INDEX crm_quotas_ws_team ON crm_quotas (workspace_id, team_id);
CREATE INDEX crm_quotas_ws_period ON crm_quotas (workspace_id, period_from, id);
