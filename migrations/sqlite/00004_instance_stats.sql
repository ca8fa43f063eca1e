-- +goose Up
-- The live figures of an executor's instances, as of its last heartbeat: a
-- JSON object from instance id to figures, rewritten whole by each
-- heartbeat so that the instance rows are written only when they change.
ALTER TABLE executors ADD COLUMN instance_stats TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE executors DROP COLUMN instance_stats;
