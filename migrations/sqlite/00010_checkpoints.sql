-- +goose Up
-- Checkpoints (docs/snapshots.md "Checkpoints"): how often an instance
-- ships a snapshot to the coordinator (0: never), a version's default and
-- an instance's own; the newest snapshot of each instance (its bytes in
-- the blobs table) and the frames its executor ran after it.
ALTER TABLE versions ADD COLUMN checkpoint_every_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE instances ADD COLUMN checkpoint_every_ms BIGINT NOT NULL DEFAULT 0;

CREATE TABLE checkpoints (
    instance_id     TEXT PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
    executor_id     TEXT NOT NULL,
    frame           BIGINT NOT NULL,
    snapshot_sha256 TEXT NOT NULL,
    snapshot_size   BIGINT NOT NULL,
    saved_at        BIGINT NOT NULL
);

CREATE TABLE checkpoint_inputs (
    instance_id TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    first_frame BIGINT NOT NULL,
    last_frame  BIGINT NOT NULL,
    frames      BLOB NOT NULL,
    PRIMARY KEY (instance_id, first_frame)
);

-- A player joining again finds the seat it holds (store.Join).
CREATE INDEX seats_player ON seats (player_id);

-- +goose Down
DROP INDEX seats_player;
DROP TABLE checkpoint_inputs;
DROP TABLE checkpoints;
ALTER TABLE instances DROP COLUMN checkpoint_every_ms;
ALTER TABLE versions DROP COLUMN checkpoint_every_ms;
