package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// The seats: joining a player to an instance and releasing expired
// reservations.

func (s *db) Join(ctx context.Context, q JoinQuery) (JoinResult, error) {
	if in, ok, err := s.renewSeat(ctx, q); err != nil {
		return JoinResult{}, fmt.Errorf("join %s: %w", q.Game, err)
	} else if ok {
		return JoinResult{Instance: in}, nil
	}
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
		// An instance resuming from its checkpoint is not given a rival
		// its players would be scattered to.
		if id, err := resumingInstance(ctx, c, q, version); err != nil {
			return err
		} else if id != "" {
			return fmt.Errorf("instance %s: %w", id, ErrResuming)
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

// renewSeat gives a player who already holds an unexpired seat in a
// matching instance on a live executor that seat again, under the new
// ticket's id and expiry: a player joining again (a client reconnecting,
// retrying while its executor is unreachable) keeps one reservation
// instead of filling the instance with its own.
func (s *db) renewSeat(ctx context.Context, q JoinQuery) (Instance, bool, error) {
	// Most joins are a player's first: one indexed look-up, no transaction.
	var one int
	err := s.e.queryRow(ctx, `SELECT 1 FROM seats WHERE player_id = ? AND expires_at >= ? LIMIT 1`, q.PlayerID, ms(q.Now)).Scan(&one)
	if isNoRows(err) {
		return Instance{}, false, nil
	}
	if err != nil {
		return Instance{}, false, s.e.translate(err)
	}
	var out Instance
	found := false
	err = s.tx(ctx, func(c conn) error {
		version := q.Version
		if version == 0 {
			latest, err := latestVersion(ctx, c, q.Game)
			if err != nil || latest == 0 {
				return err
			}
			version = latest
		}
		r, err := c.query(ctx, `SELECT s.id, i.id, i.labels FROM seats s JOIN instances i ON i.id = s.instance_id
			JOIN executors e ON e.id = i.executor_id
			WHERE s.player_id = ? AND s.expires_at >= ? AND i.game = ? AND i.version = ? AND i.state IN ('starting', 'running')
			AND e.state = 'active' AND e.last_heartbeat >= ?
			ORDER BY s.expires_at DESC LIMIT 16`, q.PlayerID, ms(q.Now), q.Game, int64(version), ms(q.LiveSince))
		if err != nil {
			return err
		}
		var seat, id string
		for r.Next() {
			var sid, iid, labels string
			if err := r.Scan(&sid, &iid, &labels); err != nil {
				r.Close()
				return err
			}
			if seat == "" && matchLabels(decodeLabels(labels), q.Labels) {
				seat, id = sid, iid
			}
		}
		r.Close()
		if err := r.Err(); err != nil || seat == "" {
			return err
		}
		if n, err := c.exec(ctx, `UPDATE seats SET id = ?, expires_at = ? WHERE id = ?`, q.SeatID, ms(q.SeatExpires), seat); err != nil || n == 0 {
			return err // n == 0: released meanwhile, join as new
		}
		out, err = getInstance(ctx, c, id)
		found = err == nil
		return err
	})
	return out, found, err
}

// resumingInstance returns a matching instance with a checkpoint whose
// executor is lost or silent (it resumes elsewhere: checkpoints.go), or "".
func resumingInstance(ctx context.Context, c conn, q JoinQuery, version uint32) (string, error) {
	r, err := c.query(ctx, `SELECT i.id, i.labels FROM instances i LEFT JOIN executors e ON e.id = i.executor_id
		WHERE i.game = ? AND i.version = ? AND i.state IN ('pending', 'starting', 'running')
		AND EXISTS (SELECT 1 FROM checkpoints c WHERE c.instance_id = i.id)
		AND (e.id IS NULL OR e.state = 'lost' OR e.last_heartbeat < ?)
		ORDER BY i.created_at, i.id LIMIT 64`, q.Game, int64(version), ms(q.LiveSince))
	if err != nil {
		return "", err
	}
	defer r.Close()
	for r.Next() {
		var id, labels string
		if err := r.Scan(&id, &labels); err != nil {
			return "", err
		}
		if matchLabels(decodeLabels(labels), q.Labels) {
			return id, nil
		}
	}
	return "", r.Err()
}

func insertSeat(ctx context.Context, c conn, q JoinQuery, instance string) error {
	_, err := c.exec(ctx, `INSERT INTO seats (id, instance_id, player_id, expires_at) VALUES (?, ?, ?, ?)`,
		q.SeatID, instance, q.PlayerID, ms(q.SeatExpires))
	return err
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
