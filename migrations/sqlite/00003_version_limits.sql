-- +goose Up
-- A version's sandbox budgets, set at deploy; 0 means the executor's default.
ALTER TABLE versions ADD COLUMN init_fuel BIGINT NOT NULL DEFAULT 0;
ALTER TABLE versions ADD COLUMN frame_fuel BIGINT NOT NULL DEFAULT 0;
ALTER TABLE versions ADD COLUMN memory_limit_pages BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE versions DROP COLUMN memory_limit_pages;
ALTER TABLE versions DROP COLUMN frame_fuel;
ALTER TABLE versions DROP COLUMN init_fuel;
