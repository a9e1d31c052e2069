-- Satisfaction surveys (service.Surveys): one row per person asked one
-- survey (csat, nps, ces) about a case or a campaign wave, with the case's
-- owner and team at the time (the scores per agent and team, and the read
-- scope), and the answer once given.

CREATE TABLE crm_survey_requests (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    kind         TEXT COLLATE "C" NOT NULL DEFAULT '',
    contact_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    case_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    wave         TEXT COLLATE "C" NOT NULL DEFAULT '',
    owner_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    sent_at      TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    expires_at   TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    answered_at  TIMESTAMPTZ NOT NULL DEFAULT '0001-01-01 00:00:00+00',
    score        BIGINT NOT NULL DEFAULT 0,
    comment_text TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX crm_survey_requests_ws_id ON crm_survey_requests (workspace_id, id);
-- A contact is asked a kind once per case and wave.
CREATE UNIQUE INDEX crm_survey_requests_subject_uq ON crm_survey_requests (workspace_id, kind, contact_id, case_id, wave);
-- A case's surveys (CSATOnResolve's look-up, the case's relations).
CREATE INDEX crm_survey_requests_ws_case ON crm_survey_requests (workspace_id, case_id);
-- The scores: answers of a kind in a period, per agent or team.
CREATE INDEX crm_survey_requests_ws_answered ON crm_survey_requests (workspace_id, kind, answered_at);
CREATE INDEX crm_survey_requests_ws_owner ON crm_survey_requests (workspace_id, owner_id, kind, answered_at);
CREATE INDEX crm_survey_requests_ws_team ON crm_survey_requests (workspace_id, team_id, kind, answered_at);
-- The surveys never mailed (SendPending).
CREATE INDEX crm_survey_requests_ws_sent ON crm_survey_requests (workspace_id, sent_at, created_at);
