-- +goose Up
-- The last entries of each instance's log (guest stdout and stderr lines,
-- lifecycle events), pushed by its executor and trimmed to a bounded number
-- per instance. seq is given by the store from the instance's log_seq,
-- which counts every entry ever appended (so seq never repeats, even after
-- trimming or an executor's restart).
ALTER TABLE instances ADD COLUMN log_seq BIGINT NOT NULL DEFAULT 0;
CREATE TABLE instance_logs (
    instance_id TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    frame       BIGINT NOT NULL DEFAULT 0,
    stream      TEXT NOT NULL,
    event       TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (instance_id, seq)
);

-- +goose Down
DROP TABLE instance_logs;
ALTER TABLE instances DROP COLUMN log_seq;
