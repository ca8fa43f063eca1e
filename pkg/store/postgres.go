package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/rcc-games/rcc/migrations"
)

// Postgres is the PostgreSQL store (pgx/v5, pgxpool). Several coordinators
// may share one database; they tell each other about changes with
// LISTEN/NOTIFY (see Notify and Listen).
type Postgres struct {
	db
	pool *pgxpool.Pool
}

// EventChannel is the PostgreSQL NOTIFY channel coordinators share.
const EventChannel = "rcc_events"

// OpenPostgres connects to PostgreSQL and applies the migrations. Unless the
// URL sets pool_max_conns, the pool keeps up to 16 connections.
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redactURL(url), err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = 16
	}
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	// The statements are small OLTP ones, prepared once per connection:
	// planning them again on every call (PostgreSQL's default for the
	// first executions, and for good whenever it guesses a custom plan is
	// cheaper) costs more CPU than running them.
	if _, ok := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	}
	// An acknowledged call must survive a database crash, whatever the
	// server's default: commits wait for their WAL.
	if _, ok := cfg.ConnConfig.RuntimeParams["synchronous_commit"]; !ok {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", redactURL(url), err)
	}
	e := &pgEngine{pool: pool}
	if err := migratePostgres(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres %s: %w", redactURL(url), e.translate(err))
	}
	return &Postgres{db: db{e: e}, pool: pool}, nil
}

func migratePostgres(ctx context.Context, pool *pgxpool.Pool) error {
	sqlDB := stdlib.OpenDBFromPool(pool)
	defer sqlDB.Close()
	// Retry the advisory lock every second for up to five minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	sub, err := migrations.FS("postgres")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Notify sends payload to every coordinator listening on the database.
func (p *Postgres) Notify(ctx context.Context, payload string) error {
	_, err := p.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, EventChannel, payload)
	return p.e.translate(err)
}

// Listen calls fn with each payload sent by Notify (its own included) until
// ctx ends, reconnecting after errors. onReconnect, when not nil, runs after
// each reconnection, since notifications sent meanwhile are lost.
func (p *Postgres) Listen(ctx context.Context, fn func(payload string), onReconnect func()) error {
	first := true
	for ctx.Err() == nil {
		err := p.listenOnce(ctx, fn, func() {
			if !first && onReconnect != nil {
				onReconnect()
			}
			first = false
		})
		if ctx.Err() != nil {
			break
		}
		_ = err
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	return ctx.Err()
}

func (p *Postgres) listenOnce(ctx context.Context, fn func(string), listening func()) error {
	c, err := p.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	if _, err := c.Exec(ctx, "LISTEN "+EventChannel); err != nil {
		return err
	}
	listening()
	for {
		n, err := c.Conn().WaitForNotification(ctx)
		if err != nil {
			// The connection state is unknown: do not return it to the pool.
			_ = c.Conn().Close(context.Background())
			return err
		}
		fn(n.Payload)
	}
}

// pgEngine runs the shared SQL on a pgx pool.
type pgEngine struct {
	pool   *pgxpool.Pool
	rebind sync.Map // ?-query -> $n-query
	// closed is set by close: the pool's "closed pool" is an error of a
	// package the driver does not re-export, so the engine remembers.
	closed atomic.Bool
}

// bind rewrites ? placeholders as $1, $2, …
func (e *pgEngine) bind(q string) string {
	if v, ok := e.rebind.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	out := b.String()
	e.rebind.Store(q, out)
	return out
}

type pgConn struct {
	e *pgEngine
	q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

func (c pgConn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, c.e.bind(q), args...)
	return tag.RowsAffected(), err
}

func (c pgConn) query(ctx context.Context, q string, args ...any) (rows, error) {
	return c.q.Query(ctx, c.e.bind(q), args...)
}

func (c pgConn) queryRow(ctx context.Context, q string, args ...any) row {
	return c.q.QueryRow(ctx, c.e.bind(q), args...)
}

func (e *pgEngine) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return pgConn{e, e.pool}.exec(ctx, q, args...)
}

func (e *pgEngine) query(ctx context.Context, q string, args ...any) (rows, error) {
	return pgConn{e, e.pool}.query(ctx, q, args...)
}

func (e *pgEngine) queryRow(ctx context.Context, q string, args ...any) row {
	return pgConn{e, e.pool}.queryRow(ctx, q, args...)
}

func (e *pgEngine) inTx(ctx context.Context, fn func(conn) error) error {
	return pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		return fn(pgConn{e, tx})
	})
}

// The row locks of a join are FOR NO KEY UPDATE, the lock its UPDATE of
// reserved takes anyway: unlike FOR UPDATE it does not conflict with the
// KEY SHARE lock that inserting a row which references an instance takes
// (its checkpoint, its checkpoint inputs, shipped every second or so), so
// an instance shipping a checkpoint is not skipped as if it had no room.
func (e *pgEngine) lockClause() string { return " FOR NO KEY UPDATE OF i SKIP LOCKED" }

func (e *pgEngine) versionLock(exclusive bool) string { return pgVersionLock(exclusive) }

func (c pgConn) versionLock(exclusive bool) string { return pgVersionLock(exclusive) }

func pgVersionLock(exclusive bool) string {
	if exclusive {
		return " FOR UPDATE"
	}
	return " FOR SHARE"
}

func (e *pgEngine) ping(ctx context.Context) error { return e.pool.Ping(ctx) }

func (e *pgEngine) close() error {
	e.closed.Store(true)
	e.pool.Close()
	return nil
}

func (e *pgEngine) translate(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrUnavailable) ||
		errors.Is(err, ErrNoExecutor) || errors.Is(err, ErrExecutorLost) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505", pgErr.Code == "40001", pgErr.Code == "40P01":
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case strings.HasPrefix(pgErr.Code, "08"), strings.HasPrefix(pgErr.Code, "57P"):
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// A dial that timed out is still an unreachable database.
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return err
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err) || errors.Is(err, pgconn.ErrConnClosed) || e.closed.Load() {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// joinExistingSQL reserves a seat in the fullest matching instance with
// room in one statement (one round trip, no explicit transaction): the
// candidate row is locked with SKIP LOCKED, so concurrent joins spread over
// instances instead of queueing on one row, and the UPDATE re-checks the
// room under the lock. The lock is FOR NO KEY UPDATE (see lockClause).
const joinExistingSQL = `
WITH v AS (
	SELECT CASE WHEN $2::bigint > 0 THEN $2::bigint ELSE (SELECT MAX(version) FROM versions WHERE game = $1) END AS version
), cand AS (
	SELECT i.id FROM instances i JOIN executors e ON e.id = i.executor_id CROSS JOIN v
	WHERE i.game = $1 AND i.version = v.version AND i.state IN ('starting', 'running')
	AND i.players + i.reserved < i.max_players
	AND e.state = 'active' AND e.last_heartbeat >= $3
	AND i.labels::jsonb @> $4::jsonb
	ORDER BY i.players + i.reserved DESC, i.created_at, i.id
	LIMIT 1 FOR NO KEY UPDATE OF i SKIP LOCKED
), upd AS (
	UPDATE instances u SET reserved = u.reserved + 1, updated_at = $5
	FROM cand WHERE u.id = cand.id AND u.players + u.reserved < u.max_players
	RETURNING u.*
), seat AS (
	INSERT INTO seats (id, instance_id, player_id, expires_at) SELECT $6, id, $7, $8 FROM upd
)
SELECT i.id, i.game, i.version, i.module_sha256, i.state, i.executor_id, COALESCE(e.ws_url, ''),
	i.max_players, i.players, i.reserved, i.labels, i.params, i.seed, i.lease_seconds, i.lease_expires_at,
	i.respawn, i.respawned_from, i.reason, i.created_at, i.updated_at, i.record, i.snapshot_hz,
	i.checkpoint_every_ms, COALESCE((SELECT c.frame FROM checkpoints c WHERE c.instance_id = i.id), 0)
FROM upd i LEFT JOIN executors e ON e.id = i.executor_id`

// joinExisting implements fastJoiner.
func (e *pgEngine) joinExisting(ctx context.Context, q JoinQuery) (Instance, bool, error) {
	in, err := scanInstance(e.pool.QueryRow(ctx, joinExistingSQL, q.Game, int64(q.Version), ms(q.LiveSince), encodeLabels(q.Labels),
		ms(q.Now), q.SeatID, q.PlayerID, ms(q.SeatExpires)))
	if isNoRows(err) {
		return Instance{}, false, nil
	}
	if err != nil {
		return Instance{}, false, e.translate(err)
	}
	return in, true, nil
}
