-- +goose Up
-- The version of the game a checkpoint's snapshot is of (docs/snapshots.md
-- "Checkpoints"): an instance lost during a hot upgrade resumes on the
-- version its snapshot holds. 0 for checkpoints stored before: the
-- instance's version.
ALTER TABLE checkpoints ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE checkpoints DROP COLUMN version;
