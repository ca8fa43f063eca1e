package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rcc-games/rcc/migrations"
)

// SQLite is the embedded SQLite store (modernc.org/sqlite, no cgo), for a
// single coordinator. It writes through one connection in WAL mode.
type SQLite struct {
	db
	sql *sql.DB
}

// OpenSQLite opens (creating it if needed) the SQLite database at path and
// applies the migrations. ":memory:" gives a private in-memory database.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	dsn := "file::memory:"
	if path != ":memory:" {
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("open sqlite %s: %w", path, err)
			}
		}
		// Create it private: SQLite gives its WAL files the same mode.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		f.Close()
		dsn = "file:" + (&url.URL{Path: path}).EscapedPath()
	}
	dsn += "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// One connection: SQLite has one writer anyway, and an in-memory
	// database lives in its connection.
	sdb.SetMaxOpenConns(1)
	sdb.SetMaxIdleConns(1)
	sdb.SetConnMaxLifetime(0)
	sub, err := migrations.FS("sqlite")
	if err == nil {
		var p *goose.Provider
		p, err = goose.NewProvider(goose.DialectSQLite3, sdb, sub)
		if err == nil {
			_, err = p.Up(ctx)
		}
	}
	if err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open sqlite %s: migrate: %w", path, err)
	}
	return &SQLite{db: db{e: &sqliteEngine{db: sdb}}, sql: sdb}, nil
}

type sqliteEngine struct {
	db *sql.DB
	// closed is set by close: database/sql's "database is closed" is an
	// unexported error, so the engine remembers instead.
	closed atomic.Bool
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

type sqlQuerier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

type sqlConn struct{ q sqlQuerier }

func (c sqlConn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := c.q.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c sqlConn) query(ctx context.Context, q string, args ...any) (rows, error) {
	r, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

func (c sqlConn) queryRow(ctx context.Context, q string, args ...any) row {
	return c.q.QueryRowContext(ctx, q, args...)
}

func (e *sqliteEngine) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return sqlConn{e.db}.exec(ctx, q, args...)
}

func (e *sqliteEngine) query(ctx context.Context, q string, args ...any) (rows, error) {
	return sqlConn{e.db}.query(ctx, q, args...)
}

func (e *sqliteEngine) queryRow(ctx context.Context, q string, args ...any) row {
	return sqlConn{e.db}.queryRow(ctx, q, args...)
}

func (e *sqliteEngine) inTx(ctx context.Context, fn func(conn) error) error {
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(sqlConn{tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (e *sqliteEngine) lockClause() string { return "" }

func (e *sqliteEngine) versionLock(bool) string { return "" }

func (c sqlConn) versionLock(bool) string { return "" }

func (e *sqliteEngine) ping(ctx context.Context) error { return e.db.PingContext(ctx) }

func (e *sqliteEngine) close() error {
	e.closed.Store(true)
	return e.db.Close()
}

func (e *sqliteEngine) translate(err error) error {
	if err == nil || errors.Is(err, ErrConflict) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	if e.closed.Load() {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}
