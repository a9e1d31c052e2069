-- Vehicles, the garage module's record type: the columns of Vehicle's bun tags,
-- the Meta columns first, and the indexes its look-ups use.

CREATE TABLE garage_vehicles (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    vin          TEXT NOT NULL DEFAULT '',
    model        TEXT NOT NULL DEFAULT '',
    year         INTEGER NOT NULL DEFAULT 0,
    mileage      INTEGER NOT NULL DEFAULT 0,
    contact_id   TEXT NOT NULL DEFAULT '',
    driver_name  TEXT NOT NULL DEFAULT '',
    owner_id     TEXT NOT NULL DEFAULT '',
    team_id      TEXT NOT NULL DEFAULT '',
    tags         TEXT,
    custom       TEXT
);
CREATE UNIQUE INDEX garage_vehicles_ws_id ON garage_vehicles (workspace_id, id);
CREATE UNIQUE INDEX garage_vehicles_vin_uq ON garage_vehicles (workspace_id, vin) WHERE vin <> '';
CREATE INDEX garage_vehicles_ws_contact ON garage_vehicles (workspace_id, contact_id, id);
CREATE INDEX garage_vehicles_ws_owner ON garage_vehicles (workspace_id, owner_id);
CREATE INDEX garage_vehicles_ws_team ON garage_vehicles (workspace_id, team_id);
