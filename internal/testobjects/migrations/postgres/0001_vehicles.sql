-- Vehicles, the fleet module's record type.

CREATE TABLE fleet_vehicles (
    id           TEXT COLLATE "C" PRIMARY KEY,
    workspace_id TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    updated_by   TEXT COLLATE "C" NOT NULL,
    vin          TEXT COLLATE "C" NOT NULL DEFAULT '',
    model        TEXT COLLATE "C" NOT NULL DEFAULT '',
    year         BIGINT NOT NULL DEFAULT 0,
    mileage      BIGINT NOT NULL DEFAULT 0,
    contact_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    driver_name  TEXT COLLATE "C" NOT NULL DEFAULT '',
    owner_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id      TEXT COLLATE "C" NOT NULL DEFAULT '',
    tags         JSONB,
    custom       JSONB
);
CREATE UNIQUE INDEX fleet_vehicles_ws_id ON fleet_vehicles (workspace_id, id);
CREATE UNIQUE INDEX fleet_vehicles_vin_uq ON fleet_vehicles (workspace_id, vin) WHERE vin <> '';
CREATE INDEX fleet_vehicles_ws_contact ON fleet_vehicles (workspace_id, contact_id, id);
CREATE INDEX fleet_vehicles_ws_owner ON fleet_vehicles (workspace_id, owner_id);
CREATE INDEX fleet_vehicles_ws_team ON fleet_vehicles (workspace_id, team_id);
