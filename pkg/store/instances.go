package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The instances: placement, reads, stops, leases and the reports of
// their executors.

const instanceCols = `i.id, i.game, i.version, i.module_sha256, i.state, i.executor_id, COALESCE(e.ws_url, ''),
	i.max_players, i.players, i.reserved, i.labels, i.params, i.seed, i.lease_seconds, i.lease_expires_at,
	i.respawn, i.respawned_from, i.reason, i.created_at, i.updated_at, i.record, i.snapshot_hz,
	i.checkpoint_every_ms, COALESCE((SELECT c.frame FROM checkpoints c WHERE c.instance_id = i.id), 0)`

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
	var version, maxp, players, reserved, seed, leaseSec, leaseExp, respawn, created, updated, record, snapshotHz, ckptEvery, ckptFrame int64
	var state, labels string
	dest := []any{&in.ID, &in.Game, &version, &in.ModuleSHA256, &state, &in.ExecutorID, &in.WSURL,
		&maxp, &players, &reserved, &labels, &in.Params, &seed, &leaseSec, &leaseExp,
		&respawn, &in.RespawnedFrom, &in.Reason, &created, &updated, &record, &snapshotHz, &ckptEvery, &ckptFrame}
	err := r.Scan(append(dest, extra...)...)
	in.Version, in.State = uint32(version), InstanceState(state)
	in.MaxPlayers, in.Players, in.Reserved = uint32(maxp), uint32(players), uint32(reserved)
	in.Labels, in.Seed, in.LeaseSeconds = decodeLabels(labels), uint64(seed), uint32(leaseSec)
	in.LeaseExpiresAt, in.Respawn, in.Record = fromMs(leaseExp), respawn != 0, record != 0
	in.CreatedAt, in.UpdatedAt = fromMs(created), fromMs(updated)
	in.SnapshotHz = uint32(snapshotHz)
	in.CheckpointEvery = time.Duration(ckptEvery) * time.Millisecond
	in.CheckpointFrame = uint64(ckptFrame)
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
	if spec.CheckpointEvery == 0 {
		spec.CheckpointEvery = v.Limits.CheckpointEvery
	}
	state := StatePending
	if executor != "" {
		state = StateStarting
	}
	_, err := c.exec(ctx, `INSERT INTO instances (id, game, version, module_sha256, state, executor_id, max_players, players, reserved,
		labels, params, seed, lease_seconds, lease_expires_at, respawn, respawned_from, reason, created_at, updated_at, record, snapshot_hz, checkpoint_every_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?)`,
		spec.ID, spec.Game, int64(v.Version), v.ModuleSHA256, string(state), executor, int64(spec.MaxPlayers), int64(reserved),
		encodeLabels(spec.Labels), spec.Params, int64(spec.Seed), int64(spec.LeaseSeconds),
		ms(now.Add(time.Duration(spec.LeaseSeconds)*time.Second)), b2i(spec.Respawn), spec.RespawnedFrom, ms(now), ms(now), b2i(spec.Record), int64(spec.SnapshotHz), spec.CheckpointEvery.Milliseconds())
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
	if f.After != nil {
		at := ms(f.After.CreatedAt)
		where = append(where, "(i.created_at < ? OR (i.created_at = ? AND i.id > ?))")
		args = append(args, at, at, f.After.ID)
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
	if !in.State.Ended() {
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
	if state.Ended() {
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
		if err := dropCheckpoints(ctx, c, `SELECT id FROM instances WHERE state IN ('stopped', 'failed', 'lost') AND updated_at < ?`, ms(before)); err != nil {
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

func (s *db) MoveInstance(ctx context.Context, id, from, to string, now time.Time) (Instance, error) {
	var out Instance
	err := s.tx(ctx, func(c conn) error {
		in, err := getInstance(ctx, c, id)
		if err != nil {
			return err
		}
		if in.ExecutorID != from || in.State != StateRunning {
			return fmt.Errorf("instance %s is %s on executor %q, not running on %s: %w", id, in.State, in.ExecutorID, from, ErrConflict)
		}
		if _, err := getExecutor(ctx, c, to); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `UPDATE instances SET executor_id = ?, updated_at = ? WHERE id = ? AND executor_id = ?`,
			to, ms(now), id, from); err != nil {
			return err
		}
		out, err = getInstance(ctx, c, id)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("move instance: %w", err)
	}
	return out, nil
}

func (s *db) UpgradeInstance(ctx context.Context, id, executor string, version uint32, now time.Time) (Instance, error) {
	var out Instance
	err := s.tx(ctx, func(c conn) error {
		in, err := getInstance(ctx, c, id)
		if err != nil {
			return err
		}
		if in.ExecutorID != executor || in.State != StateRunning {
			return fmt.Errorf("instance %s is %s on executor %q, not running on %s: %w", id, in.State, in.ExecutorID, executor, ErrConflict)
		}
		v, err := getVersionShared(ctx, c, in.Game, version)
		if err != nil {
			return err
		}
		if _, err := c.exec(ctx, `UPDATE instances SET version = ?, module_sha256 = ?, updated_at = ? WHERE id = ?`,
			int64(v.Version), v.ModuleSHA256, ms(now), id); err != nil {
			return err
		}
		out, err = getInstance(ctx, c, id)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("upgrade instance: %w", err)
	}
	return out, nil
}
