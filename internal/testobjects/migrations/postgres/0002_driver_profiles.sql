-- Driver profiles, which extend contacts one to one: the unique index on
-- (workspace_id, contact_id) keeps one per contact and serves the look-up
-- of a contact's profile in filters on contacts ("driver.points > 3").

CREATE TABLE fleet_driver_profiles (
    id            TEXT COLLATE "C" PRIMARY KEY,
    workspace_id  TEXT COLLATE "C" NOT NULL,
    version       BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    created_by    TEXT COLLATE "C" NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    updated_by    TEXT COLLATE "C" NOT NULL,
    contact_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    license_class TEXT COLLATE "C" NOT NULL DEFAULT '',
    points        BIGINT NOT NULL DEFAULT 0,
    certified     BOOLEAN NOT NULL DEFAULT false,
    owner_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id       TEXT COLLATE "C" NOT NULL DEFAULT '',
    custom        JSONB
);
CREATE UNIQUE INDEX fleet_driver_profiles_ws_id ON fleet_driver_profiles (workspace_id, id);
CREATE UNIQUE INDEX fleet_driver_profiles_ws_contact ON fleet_driver_profiles (workspace_id, contact_id);
CREATE INDEX fleet_driver_profiles_ws_owner ON fleet_driver_profiles (workspace_id, owner_id);
CREATE INDEX fleet_driver_profiles_ws_team ON fleet_driver_profiles (workspace_id, team_id);
