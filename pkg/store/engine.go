package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"
)

// rows is what both drivers' result sets offer.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// row is a single-row result.
type row interface {
	Scan(dest ...any) error
}

// conn runs statements written with ? placeholders, in or out of a
// transaction.
type conn interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	query(ctx context.Context, q string, args ...any) (rows, error)
	queryRow(ctx context.Context, q string, args ...any) row
	// versionLock is the locking clause of a read of version rows: shared
	// for the reads that create an instance of the version, exclusive for
	// removing it, so that a removal and a spawn of one version never
	// both commit on PostgreSQL; "" on SQLite, whose writers take turns.
	versionLock(exclusive bool) string
}

// engine is one backend: a pool plus transactions and error translation.
type engine interface {
	conn
	// inTx runs fn in a transaction, committed when fn returns nil.
	inTx(ctx context.Context, fn func(conn) error) error
	// lockClause is appended to the Join candidate query (row locks that
	// let concurrent joins skip each other), "" when not supported.
	lockClause() string
	// translate maps a driver error to the package's sentinels.
	translate(err error) error
	ping(ctx context.Context) error
	close() error
}

// isNoRows reports whether err says a single-row query found nothing.
func isNoRows(err error) bool {
	return errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows)
}

// notFound turns "no rows" into ErrNotFound and leaves other errors alone.
func notFound(err error) error {
	if isNoRows(err) {
		return ErrNotFound
	}
	return err
}

// fastJoiner is an engine that can seat a player in an existing instance in
// one statement; Join falls back to its transaction when none has room.
type fastJoiner interface {
	joinExisting(ctx context.Context, q JoinQuery) (Instance, bool, error)
}
