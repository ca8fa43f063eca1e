-- +goose Up
-- How many states a second an instance sends its players; 0 means every
-- tick (a version's) or the version's (an instance's).
ALTER TABLE versions ADD COLUMN snapshot_hz BIGINT NOT NULL DEFAULT 0;
ALTER TABLE instances ADD COLUMN snapshot_hz BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE instances DROP COLUMN snapshot_hz;
ALTER TABLE versions DROP COLUMN snapshot_hz;
