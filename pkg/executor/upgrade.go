package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// Hot upgrade (docs/abi.md, "Hot upgrade"): a running instance changes to
// another version of its game between two frames, its players connected.
// The running version's save_state output goes to the new version's
// load_state, after its init; the new version then runs the frames. For
// its first frames (the probation) the old version is kept, paused: if the
// new one fails in one of them, the old one replays the frames since the
// upgrade with the same inputs and goes on, so no input is lost.

// DefaultProbationFrames is how many frames a new version runs before the
// old one is let go.
const DefaultProbationFrames = 60

// ErrUpgrade is wrapped by the errors of Upgrade after which the instance
// runs its old version (refused, rolled back).
var ErrUpgrade = errors.New("upgrade not done")

// UpgradeSpec is the version an instance is upgraded to.
type UpgradeSpec struct {
	Version string
	Module  []byte
	// The new version's limits; 0 keeps the instance's.
	InitFuel, FrameFuel int64
	MemoryLimitPages    uint32
	// ProbationFrames overrides DefaultProbationFrames.
	ProbationFrames int
}

// UpgradeResult describes an upgrade.
type UpgradeResult struct {
	// Frame is the last frame of the old version.
	Frame uint64
	// Paused is how long the instance's frames stopped for the hand-over
	// (save_state, load_state).
	Paused time.Duration
	// StateBytes is the size of the saved state.
	StateBytes int
}

// probation is an upgrade on trial: the old version, paused, and the
// events of each frame the new one ran since.
type probation struct {
	old        *wasmhost.Instance
	oldVersion string
	oldModule  []byte
	from       uint64 // the first frame the new version runs
	left       int
	frames     [][]wasmhost.Event
	done       chan error // nil: kept
}

// Upgrade moves instance id to another version of its game, as the
// package doc of Hot upgrade describes. It returns once the new version
// has run its probation frames, or with an error wrapping ErrUpgrade after
// which the old version runs (the reason says why: a refusal, load_state
// failing, the new version failing in its first frames).
func (ex *Executor) Upgrade(ctx context.Context, id string, up UpgradeSpec) (UpgradeResult, error) {
	var res UpgradeResult
	in := ex.lookup(id)
	if in == nil {
		return res, fmt.Errorf("upgrade instance %s: %w", id, ErrNotFound)
	}
	if st := in.currentState(); st != StateRunning {
		return res, fmt.Errorf("upgrade instance %s: it is %s, not running", id, st)
	}
	refuse := func(format string, args ...any) (UpgradeResult, error) {
		return res, fmt.Errorf("upgrade instance %s to version %s: %w: %w", id, up.Version, ErrUpgrade, fmt.Errorf(format, args...))
	}
	nw, spec, err := ex.startVersion(ctx, in, up)
	if err != nil {
		return refuse("%w", err)
	}

	in.guestMu.Lock()
	if in.wasm == nil || in.mig.paused.Load() {
		in.guestMu.Unlock()
		_ = nw.Close(ctx)
		return refuse("the instance ended or is moving")
	}
	start := time.Now()
	old := in.wasm
	res.Frame = in.frame.Load()
	saved, saveErr, err := handOver(ctx, old, nw, res.Frame)
	if saveErr != nil {
		in.guestMu.Unlock()
		_ = nw.Close(ctx)
		if old.Err() != nil { // save_state trapped: the instance has failed
			in.end(ctx, StateFailed, saveErr)
		}
		return refuse("save_state: %w", saveErr)
	}
	res.StateBytes = len(saved)
	if err != nil {
		in.guestMu.Unlock()
		_ = nw.Close(ctx)
		in.log.Warn("upgrade rolled back: load_state failed", "version", up.Version, "err", err)
		return refuse("load_state failed, the old version goes on: %v", err)
	}
	p := &probation{old: old, oldVersion: in.spec.Version, oldModule: in.mig.module, from: res.Frame + 1,
		left: cmpOr(up.ProbationFrames, DefaultProbationFrames), done: make(chan error, 1)}
	in.upg = p
	in.wasm = nw
	in.live.Store(nw)
	in.mig.module = up.Module
	in.hostMu.Lock()
	in.setVersion(spec.Version)
	in.spec.InitFuel, in.spec.FrameFuel, in.spec.MemoryLimitPages = spec.InitFuel, spec.FrameFuel, spec.MemoryLimitPages
	in.hostMu.Unlock()
	res.Paused = time.Since(start)
	in.guestMu.Unlock()
	in.log.Info("instance upgraded, on probation", "from", p.oldVersion, "to", up.Version, "frame", res.Frame,
		"paused_ms", float64(res.Paused.Microseconds())/1000, "state_bytes", len(saved))

	select {
	case err := <-p.done:
		if err != nil {
			return refuse("the new version failed in its first frames, the old version goes on: %v", err)
		}
		in.logs.event(in.frame.Load(), EventStarted, fmt.Sprintf("upgraded from version %s to %s at frame %d", p.oldVersion, up.Version, res.Frame))
		return res, nil
	case <-in.done:
		return refuse("the instance ended during the probation")
	case <-ctx.Done():
		return res, fmt.Errorf("upgrade instance %s: %w (the upgrade goes on)", id, ctx.Err())
	}
}

// startVersion compiles up's module and starts it (its _initialize and
// init) beside instance in, for a hot upgrade or a shadow run of the
// version: the version must take the state of the running one through
// save_state/load_state. It returns the new instance and the spec it
// runs with.
func (ex *Executor) startVersion(ctx context.Context, in *instance, up UpgradeSpec) (*wasmhost.Instance, InstanceSpec, error) {
	m, spec, cfg, err := ex.compileVersion(ctx, in, up)
	if err != nil {
		return nil, spec, err
	}
	w := in.live.Load()
	if w == nil {
		return nil, spec, errors.New("the instance has ended")
	}
	if save, _ := w.Module().SupportsUpgrade(); !save {
		return nil, spec, noPair{fmt.Errorf("the running version %s does not export save_state: a hot upgrade needs the save_state/load_state pair (docs/abi.md); stop and spawn the instance instead", in.spec.Version)}
	}
	if _, load := m.SupportsUpgrade(); !load {
		return nil, spec, noPair{fmt.Errorf("version %s does not export load_state: a hot upgrade needs the save_state/load_state pair (docs/abi.md)", up.Version)}
	}
	nw, err := m.Instantiate(ctx, cfg)
	if err != nil {
		return nil, spec, fmt.Errorf("the new version does not start: %v", err)
	}
	return nw, spec, nil
}

// compileVersion compiles up's module and returns the spec and the
// sandbox configuration another version of instance in runs with.
func (ex *Executor) compileVersion(ctx context.Context, in *instance, up UpgradeSpec) (*wasmhost.Module, InstanceSpec, wasmhost.InstanceConfig, error) {
	in.hostMu.Lock()
	spec := in.spec
	in.hostMu.Unlock()
	spec.Version = up.Version
	if up.InitFuel > 0 {
		spec.InitFuel = up.InitFuel
	}
	if up.FrameFuel > 0 {
		spec.FrameFuel = up.FrameFuel
	}
	if up.MemoryLimitPages > 0 {
		spec.MemoryLimitPages = up.MemoryLimitPages
	}
	cfg := ex.instanceConfig(in)
	cfg.Version, cfg.InitFuel, cfg.FrameFuel, cfg.MemoryLimitPages = spec.Version, spec.InitFuel, spec.FrameFuel, spec.MemoryLimitPages
	m, err := ex.engine.Compile(ctx, up.Module)
	if err != nil {
		return nil, spec, cfg, fmt.Errorf("the new version does not compile: %v", err)
	}
	return m, spec, cfg, nil
}

// handOver gives the state the running version old saves to nw, which
// then goes on from frame: the hand-over of a hot upgrade and the start of
// a shadow run. saveErr is old's failure (a trap ends old), err nw's
// (load_state failed or refused). It holds the guest's lock: old runs no
// frame meanwhile.
func handOver(ctx context.Context, old, nw *wasmhost.Instance, frame uint64) (saved []byte, saveErr, err error) {
	saved, saveErr = old.SaveState(ctx)
	if saveErr != nil {
		return nil, saveErr, nil
	}
	nw.ContinueFrom(frame)
	return saved, nil, nw.LoadState(ctx, saved)
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// probationFrame follows a frame of a new version on probation; runFrame
// calls it with the frame's result, holding guestMu. When the new version
// failed, the old one replays the probation's frames and its state bytes
// are the frame's.
func (in *instance) probationFrame(ctx context.Context, stateBytes []byte, err error) ([]byte, error) {
	p := in.upg
	if p == nil {
		return stateBytes, err
	}
	evs := make([]wasmhost.Event, len(in.events))
	for i, e := range in.events {
		e.Data = bytes.Clone(e.Data)
		evs[i] = e
	}
	p.frames = append(p.frames, evs)
	if err == nil {
		if p.left--; p.left <= 0 {
			in.upg = nil
			_ = p.old.Close(ctx)
			in.log.Info("upgrade kept", "version", in.spec.Version)
			in.noteVersion(protocol.VersionUpgraded, p.from)
			p.done <- nil
		}
		return stateBytes, nil
	}
	// Roll back: the old version catches up on the frames it missed.
	in.upg = nil
	failed := err
	_ = in.wasm.Close(ctx)
	in.wasm = p.old
	in.live.Store(p.old)
	in.mig.module = p.oldModule
	in.hostMu.Lock()
	in.setVersion(p.oldVersion)
	in.hostMu.Unlock()
	in.log.Warn("upgrade rolled back: the new version failed", "frames", len(p.frames), "err", failed)
	for _, f := range p.frames {
		if stateBytes, err = p.old.Frame(ctx, f); err != nil {
			p.done <- failed
			return nil, err
		}
	}
	in.noteVersion(protocol.VersionRolledBack, in.frame.Load()+1)
	p.done <- failed
	return stateBytes, nil
}

// noteVersion queues a version_changed frame for the players, sent with
// the frame's joins and leaves just before its state: the version the
// instance runs from now on, which computed the states from frame on. The
// players learn of an upgrade once it is kept, so that no rollback can
// belie them; a rollback tells them too, for a player welcomed during the
// probation was told the new version. runFrame's goroutine calls it,
// holding guestMu.
func (in *instance) noteVersion(cause protocol.VersionCause, frame uint64) {
	in.hostMu.Lock()
	f := &protocol.VersionChanged{
		Cause: cause, TickHz: uint16(in.spec.TickHz), SnapshotHz: uint16(in.snapshotHz()),
		Frame: frame, GameVersion: in.spec.Version,
	}
	in.hostMu.Unlock()
	if msg, err := protocol.Encode(f); err == nil {
		in.notes = append(in.notes, msg)
	}
}

// noPair is the error of a version that lacks half of the hot-upgrade pair:
// errors.Is(err, wasmhost.ErrNoUpgrade) holds for it, as for the sandbox's
// own refusals (a save_state that saves nothing), and its text is its own.
type noPair struct{ error }

func (e noPair) Is(target error) bool { return target == wasmhost.ErrNoUpgrade }

func (e noPair) Unwrap() error { return e.error }
