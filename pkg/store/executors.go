package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The executors: registration, heartbeats, draining and declaring the
// silent ones lost.

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
		var id, movedFrom string
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
			var state, wsURL string
			if err := c.queryRow(ctx, `SELECT state, ws_url FROM executors WHERE id = ?`, id).Scan(&state, &wsURL); err != nil {
				return err
			}
			// A live executor keeps its URL: a second registration
			// elsewhere under its name (a stolen token, a second process
			// on the same data directory) would take its players.
			if ExecutorState(state) != ExecutorLost && wsURL != reg.WSURL {
				return &RegistrationConflict{Name: reg.Name, ID: id, State: ExecutorState(state), WSURL: wsURL, NewWSURL: reg.WSURL}
			}
			movedFrom = wsURL
			_, err = c.exec(ctx, `UPDATE executors SET ws_url = ?, state = 'active', capacity = ?, labels = ?, version = ?,
				last_heartbeat = ?, registered_at = ? WHERE id = ?`,
				reg.WSURL, int64(reg.Capacity), encodeLabels(reg.Labels), reg.Version, ms(now), ms(now), id)
		}
		if err != nil {
			return err
		}
		out, err = getExecutor(ctx, c, id)
		if movedFrom != "" && movedFrom != reg.WSURL {
			out.MovedFrom = movedFrom
		}
		return err
	})
	if err != nil {
		return Executor{}, fmt.Errorf("register executor %s: %w", reg.Name, err)
	}
	return out, nil
}

// RegistrationConflict is RegisterExecutor's refusal to move a live
// executor to another URL. It wraps ErrConflict.
type RegistrationConflict struct {
	Name, ID        string
	State           ExecutorState
	WSURL, NewWSURL string
}

func (e *RegistrationConflict) Error() string {
	return fmt.Sprintf("%v: executor %s (%s) is %s at %s; it moves to %s only once it is lost",
		ErrConflict, e.Name, e.ID, e.State, e.WSURL, e.NewWSURL)
}

// Unwrap returns ErrConflict.
func (e *RegistrationConflict) Unwrap() error { return ErrConflict }

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
				// Resumed from its checkpoint by the executor the next
				// AssignPending places it on, on the version the snapshot
				// is of, unless that version is gone.
				lostWhy := reason
				var v Version
				var why string
				if state == StateLost && before.CheckpointFrame > 0 && before.LeaseExpiresAt.After(p.Now) {
					if v, why, err = checkpointVersion(ctx, c, before, x.Name); err != nil {
						return err
					}
					if v.Version == 0 {
						lostWhy = why
					}
				}
				if v.Version != 0 {
					// Placed at once when an executor can take it, so
					// that a player's Join finds it there.
					to, err := pickExecutor(ctx, c, p)
					if err != nil {
						return err
					}
					next := StatePending
					if to != "" {
						next = StateStarting
					}
					if _, err := c.exec(ctx, `UPDATE instances SET state = ?, executor_id = ?, version = ?, module_sha256 = ?, reason = ?,
						players = 0, reserved = 0, updated_at = ? WHERE id = ?`,
						string(next), to, int64(v.Version), v.ModuleSHA256, why, ms(p.Now), iid); err != nil {
						return err
					}
					if _, err := c.exec(ctx, `DELETE FROM seats WHERE instance_id = ?`, iid); err != nil {
						return err
					}
					resumed, err := getInstance(ctx, c, iid)
					if err != nil {
						return err
					}
					out.Resumed = append(out.Resumed, resumed)
					continue
				}
				if _, err := c.exec(ctx, `UPDATE instances SET state = ?, reason = ?, players = 0, reserved = 0, updated_at = ? WHERE id = ?`,
					string(state), lostWhy, ms(p.Now), iid); err != nil {
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
					Record: before.Record, SnapshotHz: before.SnapshotHz, CheckpointEvery: before.CheckpointEvery}
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

// checkpointVersion returns the version lost instance in resumes on, the
// one its checkpoint's snapshot is of, and the reason saying so; the zero
// Version when that version has been removed since, with the reason the
// instance is lost instead.
func checkpointVersion(ctx context.Context, c conn, in Instance, executor string) (Version, string, error) {
	cp, err := getCheckpoint(ctx, c, in.ID)
	if err != nil {
		return Version{}, "", err
	}
	why := fmt.Sprintf("executor %s lost; resuming from the checkpoint at frame %d", executor, cp.Frame)
	want := cp.Version
	if want == 0 { // stored before checkpoints had versions
		want = in.Version
	}
	if want != in.Version {
		// The executor died during a hot upgrade: between it and the
		// first snapshot after it (the upgrade is undone with the frames
		// after the snapshot), or between that snapshot and the upgrade's
		// record.
		why += fmt.Sprintf(" of version %d, the one its snapshot holds (the instance was on version %d: lost during a hot upgrade)", want, in.Version)
	}
	v, err := getVersionShared(ctx, c, in.Game, want)
	if errors.Is(err, ErrNotFound) {
		return Version{}, fmt.Sprintf("executor %s lost; its checkpoint at frame %d is of version %d, since removed", executor, cp.Frame, want), nil
	}
	return v, why, err
}
