-- +goose Up
-- Join looks only at instances with room; with packing they are few, so
-- this partial index keeps Join fast however many full instances exist.
CREATE INDEX instances_with_room ON instances (game, version, (players + reserved) DESC, created_at)
    WHERE state IN ('starting', 'running') AND players + reserved < max_players;

-- +goose Down
DROP INDEX instances_with_room;
