-- +goose Up
-- Blobs stored in pieces (store.PutBlobFrom): a blob whose size is not 0
-- and whose data is empty has its bytes here, in seq order, so that
-- neither storing nor serving a large assets archive holds it whole in
-- memory.
CREATE TABLE blob_chunks (
    sha256 TEXT NOT NULL REFERENCES blobs (sha256) ON DELETE CASCADE,
    seq    BIGINT NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (sha256, seq)
);

-- +goose Down
DROP TABLE blob_chunks;
