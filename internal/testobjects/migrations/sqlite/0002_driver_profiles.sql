-- Driver profiles, which extend contacts one to one: the unique index on
-- (workspace_id, contact_id) keeps one per contact and serves the look-up
-- of a contact's profile in filters on contacts ("driver.points > 3").

CREATE TABLE fleet_driver_profiles (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    version       INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_by    TEXT NOT NULL,
    contact_id    TEXT NOT NULL DEFAULT '',
    license_class TEXT NOT NULL DEFAULT '',
    points        INTEGER NOT NULL DEFAULT 0,
    certified     INTEGER NOT NULL DEFAULT 0,
    owner_id      TEXT NOT NULL DEFAULT '',
    team_id       TEXT NOT NULL DEFAULT '',
    custom        TEXT
);
CREATE UNIQUE INDEX fleet_driver_profiles_ws_id ON fleet_driver_profiles (workspace_id, id);
CREATE UNIQUE INDEX fleet_driver_profiles_ws_contact ON fleet_driver_profiles (workspace_id, contact_id);
CREATE INDEX fleet_driver_profiles_ws_owner ON fleet_driver_profiles (workspace_id, owner_id);
CREATE INDEX fleet_driver_profiles_ws_team ON fleet_driver_profiles (workspace_id, team_id);
