-- Satisfaction surveys (service.Surveys): one row per person asked one
-- survey (csat, nps, ces) about a case or a campaign wave, with the case's
-- owner and team at the time (the scores per agent and team, and the read
-- scope), and the answer once given.

CREATE TABLE crm_survey_requests (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    kind         TEXT NOT NULL DEFAULT '',
    contact_id   TEXT NOT NULL DEFAULT '',
    case_id      TEXT NOT NULL DEFAULT '',
    wave         TEXT NOT NULL DEFAULT '',
    owner_id     TEXT NOT NULL DEFAULT '',
    team_id      TEXT NOT NULL DEFAULT '',
    sent_at      TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z',
    expires_at   TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z',
    answered_at  TEXT NOT NULL DEFAULT '0001-01-01T00:00:00.000000Z',
    score        INTEGER NOT NULL DEFAULT 0,
    comment_text TEXT NOT NULL DEFAULT ''
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
