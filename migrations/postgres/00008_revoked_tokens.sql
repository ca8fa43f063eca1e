-- +goose Up
-- The deny-list of role tokens, by token id ("jti"): a token listed here is
-- refused by every coordinator until it expires, when its row may go.
CREATE TABLE revoked_tokens (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE revoked_tokens;
