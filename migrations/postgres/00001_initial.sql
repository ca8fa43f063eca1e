-- +goose Up
-- Content-addressed bytes: modules and assets archives, keyed by sha256.
CREATE TABLE blobs (
    sha256     TEXT PRIMARY KEY,
    size       BIGINT NOT NULL,
    data       BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE versions (
    game          TEXT NOT NULL,
    version       BIGINT NOT NULL,
    module_sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    module_size   BIGINT NOT NULL,
    assets_sha256 TEXT NOT NULL DEFAULT '',
    assets_size   BIGINT NOT NULL DEFAULT 0,
    description   TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (game, version)
);

CREATE TABLE executors (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    ws_url         TEXT NOT NULL,
    state          TEXT NOT NULL,
    capacity       BIGINT NOT NULL DEFAULT 0,
    labels         TEXT NOT NULL DEFAULT '{}',
    stats          TEXT NOT NULL DEFAULT '{}',
    version        TEXT NOT NULL DEFAULT '',
    last_heartbeat BIGINT NOT NULL,
    registered_at  BIGINT NOT NULL
);

-- Times are Unix milliseconds; executor_id is '' while pending.
CREATE TABLE instances (
    id               TEXT PRIMARY KEY,
    game             TEXT NOT NULL,
    version          BIGINT NOT NULL,
    module_sha256    TEXT NOT NULL,
    state            TEXT NOT NULL,
    executor_id      TEXT NOT NULL DEFAULT '',
    max_players      BIGINT NOT NULL,
    players          BIGINT NOT NULL DEFAULT 0,
    reserved         BIGINT NOT NULL DEFAULT 0,
    labels           TEXT NOT NULL DEFAULT '{}',
    params           TEXT NOT NULL DEFAULT '',
    seed             BIGINT NOT NULL,
    lease_seconds    BIGINT NOT NULL,
    lease_expires_at BIGINT NOT NULL,
    respawn          BIGINT NOT NULL DEFAULT 0,
    respawned_from   TEXT NOT NULL DEFAULT '',
    reason           TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    CHECK (players + reserved >= 0),
    CHECK (reserved <= max_players)
);
CREATE INDEX instances_game_state ON instances (game, version, state);
CREATE INDEX instances_executor_state ON instances (executor_id, state);
CREATE INDEX instances_state_lease ON instances (state, lease_expires_at);

-- Seats reserved by Join, one per ticket, until used or expired.
CREATE TABLE seats (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    player_id   TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX seats_expires ON seats (expires_at);
CREATE INDEX seats_instance ON seats (instance_id);

-- +goose Down
DROP TABLE seats;
DROP TABLE instances;
DROP TABLE executors;
DROP TABLE versions;
DROP TABLE blobs;
