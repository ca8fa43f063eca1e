-- +goose Up
-- Whether the instance's executor records its input log (docs/replay.md):
-- 1 or 0, like respawn.
ALTER TABLE instances ADD COLUMN record BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE instances DROP COLUMN record;
