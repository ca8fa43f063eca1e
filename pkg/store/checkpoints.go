package store

import (
	"context"
	"fmt"
	"time"
)

// The checkpoints of instances (docs/snapshots.md "Checkpoints"): the
// newest snapshot of each, its bytes a blob, and the frames run after it.

// Checkpoint is an instance's newest stored snapshot.
type Checkpoint struct {
	InstanceID string
	ExecutorID string // the executor that shipped it
	// Frame is the last frame the snapshot had run.
	Frame uint64
	// Version is the version of the game the snapshot is of: the
	// instance's, unless the checkpoint was taken on one side of a hot
	// upgrade and the instance's row on the other. SaveCheckpoint takes 0
	// as the instance's version.
	Version        uint32
	SnapshotSHA256 string
	SnapshotSize   int64
	// LastFrame is the last frame of the inputs stored after it (Frame
	// when none); filled on reads.
	LastFrame uint64
	SavedAt   time.Time
}

// CheckpointInputs are frames an instance ran after its checkpoint, one
// after the other: FirstFrame to LastFrame, as input log lines.
type CheckpointInputs struct {
	FirstFrame, LastFrame uint64
	Frames                []byte
}

// assigned returns instance id, failing with ErrConflict unless it is
// starting or running on executor.
func assigned(ctx context.Context, c conn, id, executor string) (Instance, error) {
	in, err := getInstance(ctx, c, id)
	if err != nil {
		return Instance{}, err
	}
	if in.ExecutorID != executor || (in.State != StateRunning && in.State != StateStarting) {
		return Instance{}, fmt.Errorf("instance %s is %s on executor %q, not running on %s: %w", id, in.State, in.ExecutorID, executor, ErrConflict)
	}
	return in, nil
}

// dropUnusedBlob deletes blob sha unless a version or a checkpoint uses it.
func dropUnusedBlob(ctx context.Context, c conn, sha string) error {
	_, err := c.exec(ctx, `DELETE FROM blobs WHERE sha256 = ?
		AND NOT EXISTS (SELECT 1 FROM versions WHERE module_sha256 = ? OR assets_sha256 = ?)
		AND NOT EXISTS (SELECT 1 FROM checkpoints WHERE snapshot_sha256 = ?)`, sha, sha, sha, sha)
	return err
}

func (s *db) SaveCheckpoint(ctx context.Context, cp Checkpoint) (Checkpoint, error) {
	var out Checkpoint
	err := s.tx(ctx, func(c conn) error {
		in, err := assigned(ctx, c, cp.InstanceID, cp.ExecutorID)
		if err != nil {
			return err
		}
		if cp.Version == 0 {
			cp.Version = in.Version
		}
		var old string
		err = c.queryRow(ctx, `SELECT snapshot_sha256 FROM checkpoints WHERE instance_id = ?`, cp.InstanceID).Scan(&old)
		if err != nil && !isNoRows(err) {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO checkpoints (instance_id, executor_id, frame, version, snapshot_sha256, snapshot_size, saved_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (instance_id) DO UPDATE SET executor_id = excluded.executor_id,
			frame = excluded.frame, version = excluded.version, snapshot_sha256 = excluded.snapshot_sha256,
			snapshot_size = excluded.snapshot_size, saved_at = excluded.saved_at`,
			cp.InstanceID, cp.ExecutorID, int64(cp.Frame), int64(cp.Version), cp.SnapshotSHA256, cp.SnapshotSize, ms(cp.SavedAt)); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM checkpoint_inputs WHERE instance_id = ? AND last_frame <= ?`, cp.InstanceID, int64(cp.Frame)); err != nil {
			return err
		}
		if old != "" && old != cp.SnapshotSHA256 {
			if err := dropUnusedBlob(ctx, c, old); err != nil {
				return err
			}
		}
		out, err = getCheckpoint(ctx, c, cp.InstanceID)
		return err
	})
	if err != nil {
		return Checkpoint{}, fmt.Errorf("save checkpoint: %w", err)
	}
	return out, nil
}

func (s *db) AppendCheckpointInputs(ctx context.Context, instanceID, executorID string, in CheckpointInputs) error {
	if in.LastFrame < in.FirstFrame {
		return fmt.Errorf("append checkpoint inputs: frames %d to %d", in.FirstFrame, in.LastFrame)
	}
	err := s.tx(ctx, func(c conn) error {
		if _, err := assigned(ctx, c, instanceID, executorID); err != nil {
			return err
		}
		_, err := c.exec(ctx, `INSERT INTO checkpoint_inputs (instance_id, first_frame, last_frame, frames) VALUES (?, ?, ?, ?)
			ON CONFLICT (instance_id, first_frame) DO UPDATE SET last_frame = excluded.last_frame, frames = excluded.frames`,
			instanceID, int64(in.FirstFrame), int64(in.LastFrame), in.Frames)
		return err
	})
	if err != nil {
		return fmt.Errorf("append checkpoint inputs: %w", err)
	}
	return nil
}

func getCheckpoint(ctx context.Context, c conn, id string) (Checkpoint, error) {
	cp := Checkpoint{InstanceID: id}
	var frame, version, saved, last int64
	err := c.queryRow(ctx, `SELECT executor_id, frame, version, snapshot_sha256, snapshot_size, saved_at,
		COALESCE((SELECT MAX(last_frame) FROM checkpoint_inputs i WHERE i.instance_id = c.instance_id AND i.first_frame > c.frame), 0)
		FROM checkpoints c WHERE instance_id = ?`, id).Scan(&cp.ExecutorID, &frame, &version, &cp.SnapshotSHA256, &cp.SnapshotSize, &saved, &last)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint of instance %s: %w", id, notFound(err))
	}
	cp.Frame, cp.Version, cp.SavedAt, cp.LastFrame = uint64(frame), uint32(version), fromMs(saved), uint64(max(last, frame))
	return cp, nil
}

func (s *db) GetCheckpoint(ctx context.Context, instanceID string) (Checkpoint, []CheckpointInputs, error) {
	var cp Checkpoint
	var ins []CheckpointInputs
	err := s.tx(ctx, func(c conn) error {
		var err error
		if cp, err = getCheckpoint(ctx, c, instanceID); err != nil {
			return err
		}
		r, err := c.query(ctx, `SELECT first_frame, last_frame, frames FROM checkpoint_inputs
			WHERE instance_id = ? AND last_frame > ? ORDER BY first_frame`, instanceID, int64(cp.Frame))
		if err != nil {
			return err
		}
		defer r.Close()
		ins = nil
		for r.Next() {
			var first, last int64
			var frames []byte
			if err := r.Scan(&first, &last, &frames); err != nil {
				return err
			}
			ins = append(ins, CheckpointInputs{FirstFrame: uint64(first), LastFrame: uint64(last), Frames: frames})
		}
		return r.Err()
	})
	if err != nil {
		return Checkpoint{}, nil, fmt.Errorf("get checkpoint: %w", err)
	}
	return cp, ins, nil
}

// dropCheckpoints deletes the checkpoints of the instances the query
// selects (one column, the instance id; args its arguments), with their
// inputs and their snapshots' blobs.
func dropCheckpoints(ctx context.Context, c conn, query string, args ...any) error {
	r, err := c.query(ctx, `SELECT instance_id, snapshot_sha256 FROM checkpoints WHERE instance_id IN (`+query+`)`, args...)
	if err != nil {
		return err
	}
	var ids, shas []string
	for r.Next() {
		var id, sha string
		if err := r.Scan(&id, &sha); err != nil {
			r.Close()
			return err
		}
		ids, shas = append(ids, id), append(shas, sha)
	}
	r.Close()
	if err := r.Err(); err != nil {
		return err
	}
	for i, id := range ids {
		if _, err := c.exec(ctx, `DELETE FROM checkpoint_inputs WHERE instance_id = ?`, id); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM checkpoints WHERE instance_id = ?`, id); err != nil {
			return err
		}
		if err := dropUnusedBlob(ctx, c, shas[i]); err != nil {
			return err
		}
	}
	return nil
}
