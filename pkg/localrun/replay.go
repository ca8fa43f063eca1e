package localrun

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/rcc-games/rcc/pkg/replay"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// Checkpoint is the state hash after one frame.
type Checkpoint struct {
	Frame       uint64 `json:"frame"`
	StateSHA256 string `json:"state_sha256"`
}

// ReplayResult is the outcome of replaying a log. Its JSON is the output of
// `rccctl game replay --output json`.
type ReplayResult struct {
	Game string `json:"game"`
	// ModuleSHA256 is the replayed module's; ModuleMatches says whether it
	// is the module the log was recorded with.
	ModuleSHA256  string `json:"module_sha256"`
	ModuleMatches bool   `json:"module_matches"`
	Frames        uint64 `json:"frames"`
	// StateSHA256 is the hash of the last replayed state, as game run
	// prints it.
	StateSHA256 string       `json:"state_sha256"`
	Checkpoints []Checkpoint `json:"checkpoints"`
	// Match is true when every frame's state equals the recording's.
	Match bool `json:"match"`
	// DivergedAt is the first frame whose state differs (0 when none), with
	// the recorded and replayed hashes.
	DivergedAt uint64 `json:"diverged_at,omitempty"`
	Expected   string `json:"expected_sha256,omitempty"`
	Got        string `json:"got_sha256,omitempty"`
	ExitReason string `json:"exit_reason"`
	Error      string `json:"error"`
	// Restored lists the frames after which the instance was snapshotted
	// and restored (ReplayOptions.SnapshotAt).
	Restored []uint64 `json:"restored,omitempty"`
}

// moveInstance snapshots inst, writes and reads the snapshot back, and
// restores it on engine, as a migration to another executor would.
func moveInstance(ctx context.Context, inst *wasmhost.Instance, engine *wasmhost.Engine, wasm []byte, cfg wasmhost.InstanceConfig, damage func(*wasmhost.Snapshot)) (*wasmhost.Instance, error) {
	snap, err := inst.Snapshot()
	if err != nil {
		return nil, err
	}
	if damage != nil {
		damage(snap)
	}
	var buf bytes.Buffer
	if _, err := snap.WriteTo(&buf); err != nil {
		return nil, err
	}
	read, err := wasmhost.ReadSnapshot(&buf, engine.Config().MemoryLimitPages)
	if err != nil {
		return nil, err
	}
	mod, err := engine.Compile(ctx, wasm)
	if err != nil {
		return nil, err
	}
	return mod.Restore(ctx, read, cfg)
}

var replayKinds = map[string]wasmhost.EventKind{
	replay.KindJoin: wasmhost.EventJoin, replay.KindLeave: wasmhost.EventLeave, replay.KindInput: wasmhost.EventInput,
}

// Replay runs wasm through the frames of a recorded log and compares every
// frame's state with the recording, stopping at the first difference. It
// records a checkpoint every `every` frames (0: none) and at the end. A
// divergence or an instance failure is reported in the result; the error is
// for a log that cannot be read.
func Replay(ctx context.Context, engine *wasmhost.Engine, wasm []byte, log io.Reader, every uint64, logf wasmhost.LogFunc) (*ReplayResult, error) {
	return ReplayWith(ctx, engine, wasm, log, ReplayOptions{Every: every, Log: logf})
}

// ReplayOptions are the options of ReplayWith.
type ReplayOptions struct {
	// Every is the checkpoint interval in frames (0: only at the end).
	Every uint64
	Log   wasmhost.LogFunc
	// SnapshotAt lists frames after which the instance is snapshotted,
	// written in the snapshot format, read back and restored into a fresh
	// instance (on RestoreEngine, default the replay's engine), which
	// plays the rest of the log: the replay then checks that a migrated
	// instance goes on exactly as the recorded one.
	SnapshotAt    []uint64
	RestoreEngine *wasmhost.Engine

	damage func(*wasmhost.Snapshot) // tests: spoil the snapshot before restoring
}

// ReplayWith is Replay with options.
func ReplayWith(ctx context.Context, engine *wasmhost.Engine, wasm []byte, log io.Reader, opts ReplayOptions) (*ReplayResult, error) {
	every, logf := opts.Every, opts.Log
	r, err := replay.NewReader(log)
	if err != nil {
		return nil, err
	}
	h := r.Header()
	res := &ReplayResult{Game: h.Game, ModuleSHA256: hashHex(wasm), Checkpoints: []Checkpoint{}}
	res.ModuleMatches = res.ModuleSHA256 == h.ModuleSHA256
	inst, err := instantiate(ctx, engine, wasm, instanceConfig(h, logf))
	if err != nil {
		res.ExitReason, res.Error = string(wasmhost.ReasonOf(err)), err.Error()
		return res, nil
	}
	defer func() { inst.Close(ctx) }()
	snapshotAt := map[uint64]bool{}
	for _, f := range opts.SnapshotAt {
		snapshotAt[f] = true
	}
	restoreEngine := cmp.Or(opts.RestoreEngine, engine)

	var frame uint64
	var hash string
	var events []wasmhost.Event
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for frame < rec.Frame {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			frame++
			events = events[:0]
			if frame == rec.Frame {
				for _, e := range rec.Events {
					events = append(events, wasmhost.Event{Kind: replayKinds[e.Kind], Player: e.Player, Data: e.Data})
				}
			}
			state, err := inst.Frame(ctx, events)
			if err != nil {
				res.ExitReason, res.Error = string(wasmhost.ReasonOf(err)), fmt.Sprintf("frame %d: %v", frame, err)
				return res, nil
			}
			hash = hashHex(state)
			res.Frames, res.StateSHA256 = frame, hash
			if snapshotAt[frame] {
				moved, err := moveInstance(ctx, inst, restoreEngine, wasm, instanceConfig(h, logf), opts.damage)
				if err != nil {
					return nil, fmt.Errorf("frame %d: %w", frame, err)
				}
				inst.Close(ctx)
				inst = moved
				res.Restored = append(res.Restored, frame)
			}
			if every > 0 && frame%every == 0 {
				res.Checkpoints = append(res.Checkpoints, Checkpoint{Frame: frame, StateSHA256: hash})
			}
		}
		if rec.StateSHA256 != "" && rec.StateSHA256 != hash {
			res.DivergedAt, res.Expected, res.Got = frame, rec.StateSHA256, hash
			break
		}
	}
	if n := len(res.Checkpoints); res.Frames > 0 && (n == 0 || res.Checkpoints[n-1].Frame != res.Frames) {
		res.Checkpoints = append(res.Checkpoints, Checkpoint{Frame: res.Frames, StateSHA256: res.StateSHA256})
	}
	res.Match = res.DivergedAt == 0
	return res, nil
}
