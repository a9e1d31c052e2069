-- Vehicles, the garage module's record type: the columns of Vehicle's bun tags,
-- the Meta columns first, and the indexes its look-ups use.

CREATE TABLE garage_vehicles (
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
CREATE UNIQUE INDEX garage_vehicles_ws_id ON garage_vehicles (workspace_id, id);
CREATE UNIQUE INDEX garage_vehicles_vin_uq ON garage_vehicles (workspace_id, vin) WHERE vin <> '';
CREATE INDEX garage_vehicles_ws_contact ON garage_vehicles (workspace_id, contact_id, id);
CREATE INDEX garage_vehicles_ws_owner ON garage_vehicles (workspace_id, owner_id);
CREATE INDEX garage_vehicles_ws_team ON garage_vehicles (workspace_id, team_id);
