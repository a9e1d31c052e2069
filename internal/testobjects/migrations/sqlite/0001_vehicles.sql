-- Vehicles, the fleet module's record type.

CREATE TABLE fleet_vehicles (
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
CREATE UNIQUE INDEX fleet_vehicles_ws_id ON fleet_vehicles (workspace_id, id);
CREATE UNIQUE INDEX fleet_vehicles_vin_uq ON fleet_vehicles (workspace_id, vin) WHERE vin <> '';
CREATE INDEX fleet_vehicles_ws_contact ON fleet_vehicles (workspace_id, contact_id, id);
CREATE INDEX fleet_vehicles_ws_owner ON fleet_vehicles (workspace_id, owner_id);
CREATE INDEX fleet_vehicles_ws_team ON fleet_vehicles (workspace_id, team_id);
