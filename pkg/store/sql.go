package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// db implements Store over an engine; the SQL is shared by both backends.
type db struct {
	e engine
}

// randomSeed returns a random instance seed, never 0.
func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1
}

// NewID returns a random identifier with a prefix, such as "i-3f9a0c2e1b7d4a65".
func NewID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMs(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func encodeLabels(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func decodeLabels(s string) map[string]string {
	m := map[string]string{}
	if s != "" {
		_ = json.Unmarshal([]byte(s), &m)
	}
	return m
}

// matchLabels reports whether have carries every label of want.
func matchLabels(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (s *db) tx(ctx context.Context, fn func(conn) error) error {
	return s.e.translate(s.e.inTx(ctx, fn))
}

// ---- blobs and versions ----

func (s *db) PutBlob(ctx context.Context, data []byte, now time.Time) (string, bool, error) {
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	var exists int64
	err := s.e.queryRow(ctx, `SELECT COUNT(*) FROM blobs WHERE sha256 = ?`, sha).Scan(&exists)
	if err != nil {
		return "", false, fmt.Errorf("put blob: %w", s.e.translate(err))
	}
	if exists > 0 {
		return sha, true, nil
	}
	n, err := s.e.exec(ctx, `INSERT INTO blobs (sha256, size, data, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING`,
		sha, int64(len(data)), data, ms(now))
	if err != nil {
		return "", false, fmt.Errorf("put blob: %w", s.e.translate(err))
	}
	return sha, n == 0, nil
}

func (s *db) GetBlob(ctx context.Context, sha string) ([]byte, error) {
	var data []byte
	err := s.e.queryRow(ctx, `SELECT data FROM blobs WHERE sha256 = ?`, sha).Scan(&data)
	if err != nil {
		return nil, fmt.Errorf("get blob %s: %w", sha, s.e.translate(notFound(err)))
	}
	return data, nil
}

const versionCols = `game, version, module_sha256, module_size, assets_sha256, assets_size, description, created_at,
	init_fuel, frame_fuel, memory_limit_pages`

func scanVersion(r row) (Version, error) {
	var v Version
	var ver, created, initFuel, frameFuel, pages int64
	err := r.Scan(&v.Game, &ver, &v.ModuleSHA256, &v.ModuleSize, &v.AssetsSHA256, &v.AssetsSize, &v.Description, &created,
		&initFuel, &frameFuel, &pages)
	v.Version = uint32(ver)
	v.CreatedAt = fromMs(created)
	v.Limits = Limits{InitFuel: uint64(initFuel), FrameFuel: uint64(frameFuel), MemoryLimitPages: uint32(pages)}
	return v, err
}

func latestVersion(ctx context.Context, c conn, game string) (uint32, error) {
	var v int64
	if err := c.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM versions WHERE game = ?`, game).Scan(&v); err != nil {
		return 0, err
	}
	return uint32(v), nil
}

func getVersion(ctx context.Context, c conn, game string, version uint32) (Version, error) {
	return getVersionLocked(ctx, c, game, version, "")
}

// getVersionShared reads a version to create an instance of it, holding
// it against removal until the transaction ends.
func getVersionShared(ctx context.Context, c conn, game string, version uint32) (Version, error) {
	return getVersionLocked(ctx, c, game, version, c.versionLock(false))
}

func getVersionLocked(ctx context.Context, c conn, game string, version uint32, lock string) (Version, error) {
	if version == 0 {
		latest, err := latestVersion(ctx, c, game)
		if err != nil {
			return Version{}, err
		}
		if latest == 0 {
			return Version{}, fmt.Errorf("game %q: %w", game, ErrNotFound)
		}
		version = latest
	}
	v, err := scanVersion(c.queryRow(ctx, `SELECT `+versionCols+` FROM versions WHERE game = ? AND version = ?`+lock, game, int64(version)))
	if err != nil {
		return Version{}, fmt.Errorf("game %q version %d: %w", game, version, notFound(err))
	}
	return v, nil
}

func (s *db) CreateVersion(ctx context.Context, nv NewVersion) (Version, bool, error) {
	if nv.Limits.InitFuel > math.MaxInt64 || nv.Limits.FrameFuel > math.MaxInt64 {
		return Version{}, false, fmt.Errorf("create version of %q: fuel limit above %d", nv.Game, int64(math.MaxInt64))
	}
	var out Version
	var unchanged bool
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.tx(ctx, func(c conn) error {
			var modSize, assetsSize int64
			if err := c.queryRow(ctx, `SELECT size FROM blobs WHERE sha256 = ?`, nv.ModuleSHA256).Scan(&modSize); err != nil {
				return fmt.Errorf("module %s: %w", nv.ModuleSHA256, notFound(err))
			}
			if nv.AssetsSHA256 != "" {
				if err := c.queryRow(ctx, `SELECT size FROM blobs WHERE sha256 = ?`, nv.AssetsSHA256).Scan(&assetsSize); err != nil {
					return fmt.Errorf("assets %s: %w", nv.AssetsSHA256, notFound(err))
				}
			}
			latest, err := latestVersion(ctx, c, nv.Game)
			if err != nil {
				return err
			}
			if latest > 0 {
				lv, err := getVersion(ctx, c, nv.Game, latest)
				if err != nil {
					return err
				}
				if lv.ModuleSHA256 == nv.ModuleSHA256 && lv.AssetsSHA256 == nv.AssetsSHA256 && lv.Limits == nv.Limits {
					out, unchanged = lv, true
					return nil
				}
			}
			out = Version{Game: nv.Game, Version: latest + 1, ModuleSHA256: nv.ModuleSHA256, ModuleSize: modSize,
				AssetsSHA256: nv.AssetsSHA256, AssetsSize: assetsSize, Description: nv.Description, Limits: nv.Limits,
				CreatedAt: fromMs(ms(nv.Now))}
			unchanged = false
			_, err = c.exec(ctx, `INSERT INTO versions (`+versionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				out.Game, int64(out.Version), out.ModuleSHA256, out.ModuleSize, out.AssetsSHA256, out.AssetsSize, out.Description, ms(nv.Now),
				int64(nv.Limits.InitFuel), int64(nv.Limits.FrameFuel), int64(nv.Limits.MemoryLimitPages))
			return err
		})
		if !errors.Is(err, ErrConflict) {
			break
		}
	}
	if err != nil {
		return Version{}, false, fmt.Errorf("create version of %q: %w", nv.Game, err)
	}
	return out, unchanged, nil
}

func (s *db) GetVersion(ctx context.Context, game string, version uint32) (Version, error) {
	v, err := getVersion(ctx, s.e, game, version)
	return v, s.e.translate(err)
}

func (s *db) ListGames(ctx context.Context) ([]Game, error) {
	r, err := s.e.query(ctx, `SELECT game, MAX(version), COUNT(*), MAX(created_at) FROM versions GROUP BY game ORDER BY game`)
	if err != nil {
		return nil, fmt.Errorf("list games: %w", s.e.translate(err))
	}
	defer r.Close()
	var out []Game
	for r.Next() {
		var g Game
		var latest, count, updated int64
		if err := r.Scan(&g.Name, &latest, &count, &updated); err != nil {
			return nil, fmt.Errorf("list games: %w", s.e.translate(err))
		}
		g.LatestVersion, g.VersionCount, g.UpdatedAt = uint32(latest), uint32(count), fromMs(updated)
		out = append(out, g)
	}
	return out, s.e.translate(r.Err())
}

func (s *db) ListVersions(ctx context.Context, game string) ([]Version, error) {
	r, err := s.e.query(ctx, `SELECT `+versionCols+` FROM versions WHERE game = ? ORDER BY version`, game)
	if err != nil {
		return nil, fmt.Errorf("list versions: %w", s.e.translate(err))
	}
	defer r.Close()
	var out []Version
	for r.Next() {
		v, err := scanVersion(r)
		if err != nil {
			return nil, fmt.Errorf("list versions: %w", s.e.translate(err))
		}
		out = append(out, v)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("list versions: %w", s.e.translate(err))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("game %q: %w", game, ErrNotFound)
	}
	return out, nil
}

func (s *db) DeleteGame(ctx context.Context, game string, version uint32) ([]Version, error) {
	var out []Version
	err := s.tx(ctx, func(c conn) error {
		out = nil
		// The rows are locked exclusively: a spawn or join of one of them
		// that read it first has committed its instance by the time the
		// live count below runs, and one that comes later finds it gone.
		q, args := `SELECT `+versionCols+` FROM versions WHERE game = ? ORDER BY version`+c.versionLock(true), []any{game}
		if version != 0 {
			q, args = `SELECT `+versionCols+` FROM versions WHERE game = ? AND version = ?`+c.versionLock(true), []any{game, int64(version)}
		}
		r, err := c.query(ctx, q, args...)
		if err != nil {
			return err
		}
		for r.Next() {
			v, err := scanVersion(r)
			if err != nil {
				r.Close()
				return err
			}
			out = append(out, v)
		}
		r.Close()
		if err := r.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			if version != 0 {
				return fmt.Errorf("game %q version %d: %w", game, version, ErrNotFound)
			}
			return fmt.Errorf("game %q: %w", game, ErrNotFound)
		}
		live := `SELECT COUNT(*) FROM instances WHERE game = ? AND state IN ('pending', 'starting', 'running', 'stopping')`
		del := `DELETE FROM versions WHERE game = ?`
		if version != 0 {
			live += ` AND version = ?`
			del += ` AND version = ?`
		}
		var n int64
		if err := c.queryRow(ctx, live, args...).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			what := fmt.Sprintf("game %q", game)
			if version != 0 {
				what = fmt.Sprintf("game %q version %d", game, version)
			}
			return fmt.Errorf("%s runs in %d live instance(s) (stop them first): %w", what, n, ErrConflict)
		}
		_, err = c.exec(ctx, del, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delete game: %w", s.e.translate(err))
	}
	return out, nil
}

// ---- instances ----

const instanceCols = `i.id, i.game, i.version, i.module_sha256, i.state, i.executor_id, COALESCE(e.ws_url, ''),
	i.max_players, i.players, i.reserved, i.labels, i.params, i.seed, i.lease_seconds, i.lease_expires_at,
	i.respawn, i.respawned_from, i.reason, i.created_at, i.updated_at, i.record`

const instanceFrom = ` FROM instances i LEFT JOIN executors e ON e.id = i.executor_id`

// instanceStatsCol picks the instance's live figures out of its executor's
// instance_stats object ("" when there are none); ->> reads an object member
// by key in both SQLite and PostgreSQL (SQLite takes the key as the path
// $.KEY, which the ids of NewID, letters, digits and '-', need no quoting
// in).
const instanceStatsCol = `, COALESCE(e.instance_stats ->> i.id, '')`

func scanInstance(r row) (Instance, error) {
	return scanInstanceWith(r)
}

// scanInstanceWithStats scans instanceCols followed by instanceStatsCol.
func scanInstanceWithStats(r row) (Instance, error) {
	var stats string
	in, err := scanInstanceWith(r, &stats)
	if err == nil && stats != "" {
		var st InstanceStats
		if json.Unmarshal([]byte(stats), &st) == nil {
			in.Stats = &st
		}
	}
	return in, err
}

// scanInstanceWith scans instanceCols, then extra.
func scanInstanceWith(r row, extra ...any) (Instance, error) {
	var in Instance
	var version, maxp, players, reserved, seed, leaseSec, leaseExp, respawn, created, updated, record int64
	var state, labels string
	dest := []any{&in.ID, &in.Game, &version, &in.ModuleSHA256, &state, &in.ExecutorID, &in.WSURL,
		&maxp, &players, &reserved, &labels, &in.Params, &seed, &leaseSec, &leaseExp,
		&respawn, &in.RespawnedFrom, &in.Reason, &created, &updated, &record}
	err := r.Scan(append(dest, extra...)...)
	in.Version, in.State = uint32(version), InstanceState(state)
	in.MaxPlayers, in.Players, in.Reserved = uint32(maxp), uint32(players), uint32(reserved)
	in.Labels, in.Seed, in.LeaseSeconds = decodeLabels(labels), uint64(seed), uint32(leaseSec)
	in.LeaseExpiresAt, in.Respawn, in.Record = fromMs(leaseExp), respawn != 0, record != 0
	in.CreatedAt, in.UpdatedAt = fromMs(created), fromMs(updated)
	return in, err
}

func getInstance(ctx context.Context, c conn, id string) (Instance, error) {
	in, err := scanInstance(c.queryRow(ctx, `SELECT `+instanceCols+instanceFrom+` WHERE i.id = ?`, id))
	if err != nil {
		return Instance{}, fmt.Errorf("instance %s: %w", id, notFound(err))
	}
	return in, nil
}

const assignedStates = `('starting', 'running', 'stopping')`

// pickExecutor returns the live active executor with room and the fewest
// assigned instances, or "" when there is none.
func pickExecutor(ctx context.Context, c conn, p Placement) (string, error) {
	var id string
	err := c.queryRow(ctx, `SELECT e.id FROM executors e
		LEFT JOIN (SELECT executor_id, COUNT(*) AS n FROM instances WHERE state IN `+assignedStates+` GROUP BY executor_id) a
		ON a.executor_id = e.id
		WHERE e.state = 'active' AND e.last_heartbeat >= ? AND (e.capacity = 0 OR COALESCE(a.n, 0) < e.capacity)
		ORDER BY COALESCE(a.n, 0), e.name LIMIT 1`, ms(p.LiveSince)).Scan(&id)
	if isNoRows(err) {
		return "", nil
	}
	return id, err
}

// insertInstance creates an instance from spec on executor (or pending when
// executor is ""), with reserved seats already taken.
func insertInstance(ctx context.Context, c conn, spec SpawnSpec, v Version, executor string, reserved uint32, now time.Time) error {
	if spec.Seed == 0 {
		spec.Seed = randomSeed()
	}
	state := StatePending
	if executor != "" {
		state = StateStarting
	}
	_, err := c.exec(ctx, `INSERT INTO instances (id, game, version, module_sha256, state, executor_id, max_players, players, reserved,
		labels, params, seed, lease_seconds, lease_expires_at, respawn, respawned_from, reason, created_at, updated_at, record)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?)`,
		spec.ID, spec.Game, int64(v.Version), v.ModuleSHA256, string(state), executor, int64(spec.MaxPlayers), int64(reserved),
		encodeLabels(spec.Labels), spec.Params, int64(spec.Seed), int64(spec.LeaseSeconds),
		ms(now.Add(time.Duration(spec.LeaseSeconds)*time.Second)), b2i(spec.Respawn), spec.RespawnedFrom, ms(now), ms(now), b2i(spec.Record))
	return err
}

func validSpec(spec SpawnSpec) error {
	switch {
	case spec.Game == "":
		return errors.New("spawn: empty game name")
	case spec.MaxPlayers == 0:
		return errors.New("spawn: max players must be positive")
	case spec.LeaseSeconds == 0:
		return errors.New("spawn: lease seconds must be positive")
	}
	return nil
}

func spawn(ctx context.Context, c conn, spec SpawnSpec, p Placement) (Instance, error) {
	if err := validSpec(spec); err != nil {
		return Instance{}, err
	}
	v, err := getVersionShared(ctx, c, spec.Game, spec.Version)
	if err != nil {
		return Instance{}, err
	}
	exec, err := pickExecutor(ctx, c, p)
	if err != nil {
		return Instance{}, err
	}
	if err := insertInstance(ctx, c, spec, v, exec, 0, p.Now); err != nil {
		return Instance{}, err
	}
	return getInstance(ctx, c, spec.ID)
}

func (s *db) Spawn(ctx context.Context, spec SpawnSpec, p Placement) (Instance, error) {
	if spec.ID == "" {
		spec.ID = NewID("i-")
	}
	var out Instance
	err := s.tx(ctx, func(c conn) error {
		var err error
		out, err = spawn(ctx, c, spec, p)
		return err
	})
	if err != nil {
		return Instance{}, fmt.Errorf("spawn %s: %w", spec.Game, err)
	}
	return out, nil
}

func (s *db) GetInstance(ctx context.Context, id string) (Instance, error) {
	in, err := scanInstanceWithStats(s.e.queryRow(ctx, `SELECT `+instanceCols+instanceStatsCol+instanceFrom+` WHERE i.id = ?`, id))
	if err != nil {
		return Instance{}, fmt.Errorf("instance %s: %w", id, s.e.translate(notFound(err)))
	}
	return in, nil
}

func (s *db) ListInstances(ctx context.Context, f InstanceFilter) ([]Instance, error) {
	var where []string
	var args []any
	if f.Game != "" {
		where = append(where, "i.game = ?")
		args = append(args, f.Game)
	}
	if f.ExecutorID != "" {
		where = append(where, "i.executor_id = ?")
		args = append(args, f.ExecutorID)
	}
	if len(f.States) > 0 {
		ph := make([]string, len(f.States))
		for k, st := range f.States {
			ph[k] = "?"
			args = append(args, string(st))
		}
		where = append(where, "i.state IN ("+strings.Join(ph, ", ")+")")
	}
	q := `SELECT ` + instanceCols + instanceStatsCol + instanceFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY i.created_at DESC, i.id"
	r, err := s.e.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", s.e.translate(err))
	}
	defer r.Close()
	var out []Instance
	for r.Next() {
		in, err := scanInstanceWithStats(r)
		if err != nil {
			return nil, fmt.Errorf("list instances: %w", s.e.translate(err))
		}
		if !matchLabels(in.Labels, f.Labels) {
			continue
		}
		out = append(out, in)
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
	}
	return out, s.e.translate(r.Err())
}

func (s *db) StopInstance(ctx context.Context, id, reason string, now time.Time) (Instance, error) {
	var out Instance
	err := s.tx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `UPDATE instances SET state = 'stopped', reason = ?, updated_at = ? WHERE id = ? AND state = 'pending'`,
			reason, ms(now), id); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `UPDATE instances SET state = 'stopping', reason = ?, updated_at = ? WHERE id = ? AND state IN ('starting', 'running')`,
			reason, ms(now), id); err != nil {
			return err
		}
		var err error
		out, err = getInstance(ctx, c, id)
		return err
	})
	if err != nil {
		return Instance{}, fmt.Errorf("stop instance: %w", err)
	}
	return out, nil
}

func (s *db) RenewLease(ctx context.Context, id string, seconds uint32, now time.Time) (Instance, error) {
	var out Instance
	err := s.tx(ctx, func(c conn) error {
		n, err := c.exec(ctx, `UPDATE instances SET lease_expires_at = ? + 1000 * (CASE WHEN ? > 0 THEN ? ELSE lease_seconds END), updated_at = ?
			WHERE id = ? AND state IN ('pending', 'starting', 'running')`,
			ms(now), int64(seconds), int64(seconds), ms(now), id)
		if err != nil {
			return err
		}
		out, err = getInstance(ctx, c, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("instance %s is %s: %w", id, out.State, ErrConflict)
		}
		return nil
	})
	if err != nil {
		return Instance{}, fmt.Errorf("renew lease: %w", err)
	}
	return out, nil
}

func (s *db) Join(ctx context.Context, q JoinQuery) (JoinResult, error) {
	if fj, ok := s.e.(fastJoiner); ok {
		in, found, err := fj.joinExisting(ctx, q)
		if err != nil {
			return JoinResult{}, fmt.Errorf("join %s: %w", q.Game, err)
		}
		if found {
			return JoinResult{Instance: in}, nil
		}
	}
	var out JoinResult
	err := s.tx(ctx, func(c conn) error {
		version := q.Version
		if version == 0 {
			latest, err := latestVersion(ctx, c, q.Game)
			if err != nil {
				return err
			}
			if latest == 0 {
				return fmt.Errorf("game %q: %w", q.Game, ErrNotFound)
			}
			version = latest
		}
		_, fast := s.e.(fastJoiner)
		limit := 1
		if len(q.Labels) > 0 {
			limit = 64
		}
		if fast {
			// joinExisting just found no room: go straight to a new instance.
			limit = 0
		}
		var cands []Instance
		if limit > 0 {
			var err error
			cands, err = joinCandidates(ctx, c, s.e.lockClause(), q, version, limit)
			if err != nil {
				return err
			}
		}
		for _, in := range cands {
			n, err := c.exec(ctx, `UPDATE instances SET reserved = reserved + 1, updated_at = ?
				WHERE id = ? AND state IN ('starting', 'running') AND players + reserved < max_players`, ms(q.Now), in.ID)
			if err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			if err := insertSeat(ctx, c, q, in.ID); err != nil {
				return err
			}
			in.Reserved++
			out = JoinResult{Instance: in}
			return nil
		}
		// No room anywhere: a new instance with this player's seat.
		spec := q.NewInstance
		spec.Game, spec.Version, spec.Labels = q.Game, version, q.Labels
		if spec.ID == "" {
			spec.ID = NewID("i-")
		}
		if err := validSpec(spec); err != nil {
			return err
		}
		exec, err := pickExecutor(ctx, c, q.Placement)
		if err != nil {
			return err
		}
		if exec == "" {
			return ErrNoExecutor
		}
		v, err := getVersionShared(ctx, c, q.Game, version)
		if err != nil {
			return err
		}
		if err := insertInstance(ctx, c, spec, v, exec, 1, q.Now); err != nil {
			return err
		}
		if err := insertSeat(ctx, c, q, spec.ID); err != nil {
			return err
		}
		in, err := getInstance(ctx, c, spec.ID)
		out = JoinResult{Instance: in, Created: true}
		return err
	})
	if err != nil {
		return JoinResult{}, fmt.Errorf("join %s: %w", q.Game, err)
	}
	return out, nil
}

// joinCandidates lists the fullest matching instances with room.
func joinCandidates(ctx context.Context, c conn, lock string, q JoinQuery, version uint32, limit int) ([]Instance, error) {
	r, err := c.query(ctx, `SELECT `+instanceCols+` FROM instances i JOIN executors e ON e.id = i.executor_id
		WHERE i.game = ? AND i.version = ? AND i.state IN ('starting', 'running') AND i.players + i.reserved < i.max_players
		AND e.state = 'active' AND e.last_heartbeat >= ?
		ORDER BY i.players + i.reserved DESC, i.created_at, i.id LIMIT `+fmt.Sprint(limit)+lock,
		q.Game, int64(version), ms(q.LiveSince))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var cands []Instance
	for r.Next() {
		in, err := scanInstance(r)
		if err != nil {
			return nil, err
		}
		if matchLabels(in.Labels, q.Labels) {
			cands = append(cands, in)
		}
	}
	return cands, r.Err()
}

func insertSeat(ctx context.Context, c conn, q JoinQuery, instance string) error {
	_, err := c.exec(ctx, `INSERT INTO seats (id, instance_id, player_id, expires_at) VALUES (?, ?, ?, ?)`,
		q.SeatID, instance, q.PlayerID, ms(q.SeatExpires))
	return err
}

// applyReport applies one executor report inside a transaction.
func applyReport(ctx context.Context, c conn, executorID string, r InstanceReport, now time.Time) (Instance, error) {
	in, err := getInstance(ctx, c, r.InstanceID)
	if err != nil {
		return Instance{}, err
	}
	if in.ExecutorID != executorID {
		return in, fmt.Errorf("instance %s is not assigned to executor %s: %w", in.ID, executorID, ErrConflict)
	}
	var used int64
	for _, p := range r.JoinedPlayers {
		n, err := c.exec(ctx, `DELETE FROM seats WHERE instance_id = ? AND player_id = ?`, in.ID, p)
		if err != nil {
			return Instance{}, err
		}
		used += n
	}
	state, reason := in.State, in.Reason
	if !in.State.Terminal() {
		switch r.State {
		case StateRunning:
			if in.State == StateStarting {
				state = StateRunning
			}
		case StateStopped, StateFailed:
			state = r.State
			if r.Reason != "" {
				reason = r.Reason
			}
		}
	}
	players := int64(r.Players)
	if state.Terminal() {
		players = 0
	}
	_, err = c.exec(ctx, `UPDATE instances SET state = ?, reason = ?, players = ?,
		reserved = CASE WHEN reserved >= ? THEN reserved - ? ELSE 0 END, updated_at = ? WHERE id = ?`,
		string(state), reason, players, used, used, ms(now), in.ID)
	if err != nil {
		return Instance{}, err
	}
	return getInstance(ctx, c, in.ID)
}

// unchanged reports whether applying r to in would change nothing.
func unchanged(in Instance, r InstanceReport) bool {
	if len(r.JoinedPlayers) > 0 || r.Players != in.Players {
		return false
	}
	switch r.State {
	case "":
		return true
	case StateRunning:
		return in.State == StateRunning || in.State == StateStopping
	}
	return false
}

func (s *db) ReportInstance(ctx context.Context, executorID string, r InstanceReport, now time.Time) (Instance, error) {
	var out Instance
	err := s.tx(ctx, func(c conn) error {
		var err error
		out, err = applyReport(ctx, c, executorID, r, now)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("report instance: %w", err)
	}
	return out, nil
}

// ---- executors ----

const executorCols = `e.id, e.name, e.ws_url, e.state, e.capacity, e.labels, e.stats, e.version, e.last_heartbeat, e.registered_at,
	(SELECT COUNT(*) FROM instances a WHERE a.executor_id = e.id AND a.state IN ` + assignedStates + `)`

func scanExecutor(r row) (Executor, error) {
	var x Executor
	var state, labels, stats string
	var capacity, hb, reg, assigned int64
	err := r.Scan(&x.ID, &x.Name, &x.WSURL, &state, &capacity, &labels, &stats, &x.Version, &hb, &reg, &assigned)
	x.State, x.Capacity, x.Labels = ExecutorState(state), uint32(capacity), decodeLabels(labels)
	_ = json.Unmarshal([]byte(stats), &x.Stats)
	x.LastHeartbeat, x.RegisteredAt, x.Assigned = fromMs(hb), fromMs(reg), uint32(assigned)
	return x, err
}

func getExecutor(ctx context.Context, c conn, id string) (Executor, error) {
	x, err := scanExecutor(c.queryRow(ctx, `SELECT `+executorCols+` FROM executors e WHERE e.id = ?`, id))
	if err != nil {
		return Executor{}, fmt.Errorf("executor %s: %w", id, notFound(err))
	}
	return x, nil
}

func (s *db) RegisterExecutor(ctx context.Context, reg Registration, now time.Time) (Executor, error) {
	if reg.Name == "" {
		return Executor{}, errors.New("register executor: empty name")
	}
	var out Executor
	err := s.tx(ctx, func(c conn) error {
		var id string
		err := c.queryRow(ctx, `SELECT id FROM executors WHERE name = ?`, reg.Name).Scan(&id)
		switch {
		case isNoRows(err):
			id = reg.NewID
			if id == "" {
				id = NewID("x-")
			}
			_, err = c.exec(ctx, `INSERT INTO executors (id, name, ws_url, state, capacity, labels, stats, version, last_heartbeat, registered_at)
				VALUES (?, ?, ?, 'active', ?, ?, '{}', ?, ?, ?)`,
				id, reg.Name, reg.WSURL, int64(reg.Capacity), encodeLabels(reg.Labels), reg.Version, ms(now), ms(now))
		case err == nil:
			_, err = c.exec(ctx, `UPDATE executors SET ws_url = ?, state = 'active', capacity = ?, labels = ?, version = ?,
				last_heartbeat = ?, registered_at = ? WHERE id = ?`,
				reg.WSURL, int64(reg.Capacity), encodeLabels(reg.Labels), reg.Version, ms(now), ms(now), id)
		}
		if err != nil {
			return err
		}
		out, err = getExecutor(ctx, c, id)
		return err
	})
	if err != nil {
		return Executor{}, fmt.Errorf("register executor %s: %w", reg.Name, err)
	}
	return out, nil
}

func (s *db) Heartbeat(ctx context.Context, id string, stats ExecutorStats, reports []InstanceReport, now time.Time) (Executor, []Instance, error) {
	var x Executor
	var ins []Instance
	st, _ := json.Marshal(stats)
	live := map[string]InstanceStats{}
	for _, r := range reports {
		if r.Stats != nil {
			x := *r.Stats
			x.ReportedAt = now.UTC()
			live[r.InstanceID] = x
		}
	}
	ist, _ := json.Marshal(live)
	err := s.tx(ctx, func(c conn) error {
		n, err := c.exec(ctx, `UPDATE executors SET last_heartbeat = ?, stats = ?, instance_stats = ? WHERE id = ? AND state <> 'lost'`,
			ms(now), string(st), string(ist), id)
		if err != nil {
			return err
		}
		if n == 0 {
			x, err = getExecutor(ctx, c, id)
			if err != nil {
				return err
			}
			return ErrExecutorLost
		}
		// Read the executor's instances once; write only what changed.
		current := map[string]Instance{}
		if len(reports) > 0 {
			r, err := c.query(ctx, `SELECT `+instanceCols+instanceFrom+` WHERE i.executor_id = ? AND i.state IN `+assignedStates, id)
			if err != nil {
				return err
			}
			for r.Next() {
				in, err := scanInstance(r)
				if err != nil {
					r.Close()
					return err
				}
				current[in.ID] = in
			}
			r.Close()
			if err := r.Err(); err != nil {
				return err
			}
		}
		for _, r := range reports {
			if in, ok := current[r.InstanceID]; ok && unchanged(in, r) {
				ins = append(ins, in)
				continue
			}
			in, err := applyReport(ctx, c, id, r, now)
			if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || isNoRows(err) {
				continue // an instance it should not run; the caller tells it to stop
			}
			if err != nil {
				return err
			}
			ins = append(ins, in)
		}
		x, err = getExecutor(ctx, c, id)
		return err
	})
	if err != nil {
		return x, nil, fmt.Errorf("heartbeat of %s: %w", id, err)
	}
	return x, ins, nil
}

func (s *db) DrainExecutor(ctx context.Context, id string) (Executor, error) {
	x, err := s.moveExecutor(ctx, id, ExecutorActive, ExecutorDraining)
	if err != nil {
		return Executor{}, fmt.Errorf("drain: %w", err)
	}
	return x, nil
}

func (s *db) UndrainExecutor(ctx context.Context, id string) (Executor, error) {
	x, err := s.moveExecutor(ctx, id, ExecutorDraining, ExecutorActive)
	if err != nil {
		return Executor{}, fmt.Errorf("undrain: %w", err)
	}
	return x, nil
}

// moveExecutor sets an executor in state from to state to (one in another
// state stays as it is) and returns it; ErrConflict when it is lost.
func (s *db) moveExecutor(ctx context.Context, id string, from, to ExecutorState) (Executor, error) {
	var out Executor
	err := s.tx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `UPDATE executors SET state = ? WHERE id = ? AND state = ?`, string(to), id, string(from)); err != nil {
			return err
		}
		var err error
		out, err = getExecutor(ctx, c, id)
		if err == nil && out.State == ExecutorLost {
			return fmt.Errorf("executor %s is lost: %w", id, ErrConflict)
		}
		return err
	})
	return out, err
}

func (s *db) GetExecutor(ctx context.Context, id string) (Executor, error) {
	x, err := getExecutor(ctx, s.e, id)
	return x, s.e.translate(err)
}

func (s *db) ListExecutors(ctx context.Context) ([]Executor, error) {
	r, err := s.e.query(ctx, `SELECT `+executorCols+` FROM executors e ORDER BY e.name`)
	if err != nil {
		return nil, fmt.Errorf("list executors: %w", s.e.translate(err))
	}
	defer r.Close()
	var out []Executor
	for r.Next() {
		x, err := scanExecutor(r)
		if err != nil {
			return nil, fmt.Errorf("list executors: %w", s.e.translate(err))
		}
		out = append(out, x)
	}
	return out, s.e.translate(r.Err())
}

// ---- background work ----

func (s *db) ids(ctx context.Context, c conn, q string, args ...any) ([]string, error) {
	r, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []string
	for r.Next() {
		var id string
		if err := r.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, r.Err()
}

// errStopEach ends updateEach's loop early without an error.
var errStopEach = errors.New("stop")

// updateEach runs update on each id in order and returns the instances it
// changed (those for which it affected a row), read back in the same
// transaction. An update returning errStopEach ends the loop there.
func updateEach(ctx context.Context, c conn, ids []string, update func(id string) (int64, error)) ([]Instance, error) {
	var out []Instance
	for _, id := range ids {
		n, err := update(id)
		if errors.Is(err, errStopEach) {
			break
		}
		if err != nil {
			return nil, err
		}
		if n == 1 {
			in, err := getInstance(ctx, c, id)
			if err != nil {
				return nil, err
			}
			out = append(out, in)
		}
	}
	return out, nil
}

func (s *db) AssignPending(ctx context.Context, p Placement) ([]Instance, error) {
	var out []Instance
	err := s.tx(ctx, func(c conn) error {
		ids, err := s.ids(ctx, c, `SELECT id FROM instances WHERE state = 'pending' ORDER BY created_at, id LIMIT 200`)
		if err != nil {
			return err
		}
		out, err = updateEach(ctx, c, ids, func(id string) (int64, error) {
			exec, err := pickExecutor(ctx, c, p)
			if err != nil {
				return 0, err
			}
			if exec == "" {
				return 0, errStopEach
			}
			return c.exec(ctx, `UPDATE instances SET state = 'starting', executor_id = ?, updated_at = ? WHERE id = ? AND state = 'pending'`,
				exec, ms(p.Now), id)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("assign pending: %w", err)
	}
	return out, nil
}

func (s *db) ExpireLeases(ctx context.Context, now time.Time) ([]Instance, error) {
	var out []Instance
	err := s.tx(ctx, func(c conn) error {
		ids, err := s.ids(ctx, c, `SELECT id FROM instances WHERE state IN ('pending', 'starting', 'running') AND lease_expires_at < ? LIMIT 500`, ms(now))
		if err != nil {
			return err
		}
		out, err = updateEach(ctx, c, ids, func(id string) (int64, error) {
			return c.exec(ctx, `UPDATE instances SET state = CASE WHEN state = 'pending' THEN 'stopped' ELSE 'stopping' END,
				reason = 'lease expired', updated_at = ? WHERE id = ? AND state IN ('pending', 'starting', 'running') AND lease_expires_at < ?`,
				ms(now), id, ms(now))
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("expire leases: %w", err)
	}
	return out, nil
}

func (s *db) ExpireStops(ctx context.Context, before, now time.Time) ([]Instance, error) {
	var out []Instance
	err := s.tx(ctx, func(c conn) error {
		ids, err := s.ids(ctx, c, `SELECT id FROM instances WHERE state = 'stopping' AND updated_at < ? LIMIT 500`, ms(before))
		if err != nil {
			return err
		}
		out, err = updateEach(ctx, c, ids, func(id string) (int64, error) {
			return c.exec(ctx, `UPDATE instances SET state = 'stopped', players = 0, reserved = 0,
				reason = reason || ' (stop not confirmed by the executor)', updated_at = ?
				WHERE id = ? AND state = 'stopping' AND updated_at < ?`, ms(now), id, ms(before))
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("expire stops: %w", err)
	}
	return out, nil
}

func (s *db) ExpireExecutors(ctx context.Context, p Placement) (ExpiredExecutors, error) {
	var out ExpiredExecutors
	err := s.tx(ctx, func(c conn) error {
		out = ExpiredExecutors{}
		ids, err := s.ids(ctx, c, `SELECT id FROM executors WHERE state IN ('active', 'draining') AND last_heartbeat < ?`, ms(p.LiveSince))
		if err != nil {
			return err
		}
		for _, id := range ids {
			n, err := c.exec(ctx, `UPDATE executors SET state = 'lost' WHERE id = ? AND state IN ('active', 'draining') AND last_heartbeat < ?`,
				id, ms(p.LiveSince))
			if err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			x, err := getExecutor(ctx, c, id)
			if err != nil {
				return err
			}
			out.Executors = append(out.Executors, x)
			inIDs, err := s.ids(ctx, c, `SELECT id FROM instances WHERE executor_id = ? AND state IN `+assignedStates+` ORDER BY created_at, id`, id)
			if err != nil {
				return err
			}
			reason := "executor " + x.Name + " lost"
			for _, iid := range inIDs {
				before, err := getInstance(ctx, c, iid)
				if err != nil {
					return err
				}
				state := StateLost
				if before.State == StateStopping {
					state = StateStopped
				}
				if _, err := c.exec(ctx, `UPDATE instances SET state = ?, reason = ?, players = 0, reserved = 0, updated_at = ? WHERE id = ?`,
					string(state), reason, ms(p.Now), iid); err != nil {
					return err
				}
				if _, err := c.exec(ctx, `DELETE FROM seats WHERE instance_id = ?`, iid); err != nil {
					return err
				}
				lost, err := getInstance(ctx, c, iid)
				if err != nil {
					return err
				}
				out.Lost = append(out.Lost, lost)
				if state != StateLost || !before.Respawn || !before.LeaseExpiresAt.After(p.Now) {
					continue
				}
				left := uint32(before.LeaseExpiresAt.Sub(p.Now).Seconds()) + 1
				spec := SpawnSpec{ID: NewID("i-"), Game: before.Game, Version: before.Version, MaxPlayers: before.MaxPlayers,
					LeaseSeconds: left, Labels: before.Labels, Params: before.Params, Seed: before.Seed, Respawn: true, RespawnedFrom: before.ID,
					Record: before.Record}
				in, err := spawn(ctx, c, spec, p)
				if err != nil {
					return err
				}
				// Keep the original lease length for renewals.
				if _, err := c.exec(ctx, `UPDATE instances SET lease_seconds = ? WHERE id = ?`, int64(before.LeaseSeconds), in.ID); err != nil {
					return err
				}
				in.LeaseSeconds = before.LeaseSeconds
				out.Respawned = append(out.Respawned, in)
			}
		}
		return nil
	})
	if err != nil {
		return ExpiredExecutors{}, fmt.Errorf("expire executors: %w", err)
	}
	return out, nil
}

// releaseBatch bounds the seats released per transaction, so a backlog
// never holds many instance rows locked against Join at once.
const releaseBatch = 200

func (s *db) ReleaseSeats(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n := 0
		err := s.tx(ctx, func(c conn) error {
			freed, err := s.ids(ctx, c, `DELETE FROM seats WHERE id IN
				(SELECT id FROM seats WHERE expires_at < ? ORDER BY expires_at LIMIT `+fmt.Sprint(releaseBatch)+`) RETURNING instance_id`, ms(now))
			if err != nil {
				return err
			}
			per := map[string]int64{}
			for _, id := range freed {
				per[id]++
			}
			// In id order, so concurrent releases lock rows in one order.
			for _, id := range slices.Sorted(maps.Keys(per)) {
				k := per[id]
				if _, err := c.exec(ctx, `UPDATE instances SET reserved = CASE WHEN reserved >= ? THEN reserved - ? ELSE 0 END WHERE id = ?`,
					k, k, id); err != nil {
					return err
				}
			}
			n = len(freed)
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("release seats: %w", err)
		}
		total += n
		if n < releaseBatch {
			return total, nil
		}
	}
}

func (s *db) PurgeInstances(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `DELETE FROM seats WHERE instance_id IN
			(SELECT id FROM instances WHERE state IN ('stopped', 'failed', 'lost') AND updated_at < ?)`, ms(before)); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM instance_logs WHERE instance_id IN
			(SELECT id FROM instances WHERE state IN ('stopped', 'failed', 'lost') AND updated_at < ?)`, ms(before)); err != nil {
			return err
		}
		var err error
		n, err = c.exec(ctx, `DELETE FROM instances WHERE state IN ('stopped', 'failed', 'lost') AND updated_at < ?`, ms(before))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purge instances: %w", err)
	}
	return int(n), nil
}

func (s *db) Counts(ctx context.Context) (map[InstanceState]int, map[ExecutorState]int, error) {
	ins := map[InstanceState]int{}
	xs := map[ExecutorState]int{}
	for _, q := range []struct {
		sql string
		put func(string, int)
	}{
		{`SELECT state, COUNT(*) FROM instances GROUP BY state`, func(k string, n int) { ins[InstanceState(k)] = n }},
		{`SELECT state, COUNT(*) FROM executors GROUP BY state`, func(k string, n int) { xs[ExecutorState(k)] = n }},
	} {
		r, err := s.e.query(ctx, q.sql)
		if err != nil {
			return nil, nil, fmt.Errorf("counts: %w", s.e.translate(err))
		}
		for r.Next() {
			var k string
			var n int64
			if err := r.Scan(&k, &n); err != nil {
				r.Close()
				return nil, nil, fmt.Errorf("counts: %w", s.e.translate(err))
			}
			q.put(k, int(n))
		}
		r.Close()
		if err := r.Err(); err != nil {
			return nil, nil, fmt.Errorf("counts: %w", s.e.translate(err))
		}
	}
	return ins, xs, nil
}

func (s *db) Ping(ctx context.Context) error { return s.e.translate(s.e.ping(ctx)) }

func (s *db) Close() error { return s.e.close() }
