package executor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/rcc-games/rcc/pkg/replay"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// Checkpoints (docs/snapshots.md "Checkpoints"): an instance whose spec
// asks for them is snapshotted at a frame boundary every
// InstanceSpec.CheckpointEvery, and the snapshot is shipped to
// Config.Checkpoints; the frames it runs after each snapshot (their joins,
// leaves and inputs in the order the guest got them, and their state
// hashes: input log lines, pkg/replay) are shipped every
// Config.CheckpointInputsEvery. Another executor resumes the instance from
// the newest snapshot and the frames after it (InstanceSpec.Resume) when
// this one is lost. The tick pays for the snapshot's copy of the memory
// only: encoding and shipping happen on a goroutine of the instance.

// DefaultCheckpointInputsEvery is the default of
// Config.CheckpointInputsEvery.
const DefaultCheckpointInputsEvery = 200 * time.Millisecond

// checkpointTimeout bounds one shipment.
const checkpointTimeout = 30 * time.Second

// CheckpointSink stores the checkpoints of instances: the agent ships them
// to the coordinator's store.
type CheckpointSink interface {
	// SaveSnapshot stores the snapshot (the wasmhost snapshot format) of
	// instance id after frame, taken of version of its game, replacing its
	// previous one and the frames up to it.
	SaveSnapshot(ctx context.Context, id, version string, frame uint64, snapshot []byte) error
	// AppendInputs stores frames first to last of instance id, run after
	// its snapshot, as input log lines (one replay.Frame a line).
	AppendInputs(ctx context.Context, id string, first, last uint64, frames []byte) error
}

// Resume is a checkpoint to start an instance from.
type Resume struct {
	// Snapshot is the snapshot, in the wasmhost snapshot format.
	Snapshot []byte
	// Frames are the frames logged after it, as input log lines (one
	// replay.Frame a line, in order); those the snapshot had run already
	// are skipped, and the replay stops at a gap.
	Frames []byte
}

// ResumeStatus describes how an instance resumed from a checkpoint.
type ResumeStatus struct {
	// SnapshotFrame is the snapshot's frame, LastFrame the last frame
	// replayed (SnapshotFrame when none was).
	SnapshotFrame, LastFrame uint64
	// Replayed is the number of frames run again; Diverged the number
	// whose state bytes did not hash as logged (0 unless the game is not
	// deterministic).
	Replayed, Diverged int
	// Duration is the time to restore the snapshot and replay the frames
	// (the module's compilation before them not counted).
	Duration time.Duration
	// StateSHA256 is the hash of the last replayed state (hex; empty when
	// no frame was replayed).
	StateSHA256 string
}

// CheckpointStatus describes an instance's checkpoints.
type CheckpointStatus struct {
	// Every is the interval.
	Every time.Duration
	// Snapshots is the number of snapshots shipped, Frame the frame of the
	// last one, Bytes its size; ShippedThrough is the last frame shipped
	// (as a snapshot or a frame after one): a loss of the executor loses
	// the frames after it.
	Snapshots      uint64
	Frame          uint64
	Bytes          int
	ShippedThrough uint64
	// PauseP50 and PauseMax are the median and longest time the last
	// snapshots (up to 64) held the instance's frames; ShipP50 the median
	// time to encode one and store it.
	PauseP50, PauseMax, ShipP50 time.Duration
}

// checkpointWindow is how many snapshots CheckpointStatus summarises.
const checkpointWindow = 64

// checkpointStats are the figures of CheckpointStatus.
type checkpointStats struct {
	mu      sync.Mutex
	st      CheckpointStatus
	pauses  []time.Duration
	ships   []time.Duration
	nextP   int
	nextS   int
	shipped uint64
}

func addWindow(w []time.Duration, next *int, d time.Duration) []time.Duration {
	if len(w) < checkpointWindow {
		return append(w, d)
	}
	w[*next] = d
	*next = (*next + 1) % checkpointWindow
	return w
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func (c *checkpointStats) status() CheckpointStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.st
	st.PauseP50, st.ShipP50 = median(c.pauses), median(c.ships)
	if len(c.pauses) > 0 {
		st.PauseMax = slices.Max(c.pauses)
	}
	return st
}

// checkpointer is one instance's side of the checkpoints.
type checkpointer struct {
	in          *instance
	sink        CheckpointSink
	every       time.Duration
	inputsEvery time.Duration
	next        time.Time // when the next snapshot is due; under in.guestMu

	mu    sync.Mutex
	lines []byte // frames run since the last cut
	first uint64 // their first frame (0: none)
	last  uint64
	queue []checkpointItem // to ship, in order
	wake  chan struct{}
	line  bytes.Buffer // a frame's line being encoded; under in.guestMu
	enc   *json.Encoder
	evs   []replay.Event
	stats checkpointStats
}

// checkpointItem is one shipment: a snapshot (snap set) or frames.
type checkpointItem struct {
	snap        *wasmhost.Snapshot
	version     string // the game's version the snapshot is of
	frame       uint64 // the snapshot's
	first, last uint64 // the frames'
	lines       []byte
}

func newCheckpointer(in *instance) *checkpointer {
	cfg := &in.ex.cfg
	if cfg.Checkpoints == nil || in.spec.CheckpointEvery <= 0 {
		return nil
	}
	ck := &checkpointer{in: in, sink: cfg.Checkpoints, every: in.spec.CheckpointEvery,
		inputsEvery: min(cfg.CheckpointInputsEvery, in.spec.CheckpointEvery), wake: make(chan struct{}, 1)}
	if ck.inputsEvery <= 0 {
		ck.inputsEvery = min(DefaultCheckpointInputsEvery, ck.every)
	}
	ck.enc = json.NewEncoder(&ck.line)
	ck.stats.st.Every = ck.every
	return ck
}

// frame logs frame n, its events and its state bytes; in.guestMu is held.
func (ck *checkpointer) frame(n uint64, events []wasmhost.Event, stateBytes []byte) {
	ck.evs = ck.evs[:0]
	for _, e := range events {
		kind := replay.KindInput
		if int(e.Kind) < len(recordKinds) && recordKinds[e.Kind] != "" {
			kind = recordKinds[e.Kind]
		}
		ck.evs = append(ck.evs, replay.Event{Kind: kind, Player: e.Player, Data: e.Data})
	}
	sum := sha256.Sum256(stateBytes)
	ck.line.Reset()
	err := ck.enc.Encode(replay.Frame{Frame: n, Events: ck.evs, StateSHA256: hex.EncodeToString(sum[:])})
	clear(ck.evs)
	if err != nil {
		return // cannot happen: the fields always encode
	}
	ck.mu.Lock()
	if ck.first == 0 {
		ck.first = n
	}
	ck.last = n
	ck.lines = append(ck.lines, ck.line.Bytes()...)
	ck.mu.Unlock()
}

// cutLocked moves the frames logged so far to the queue; ck.mu is held.
func (ck *checkpointer) cutLocked() {
	if ck.first == 0 {
		return
	}
	ck.queue = append(ck.queue, checkpointItem{first: ck.first, last: ck.last, lines: ck.lines})
	ck.lines, ck.first, ck.last = nil, 0, 0
}

// snapshotDue takes a snapshot after frame n when one is due; in.guestMu is
// held, at a frame boundary. The tick is held up by the copy of the
// memory only.
func (ck *checkpointer) snapshotDue(n uint64, now time.Time) {
	if ck.in.upg != nil {
		// A hot upgrade on trial (upgrade.go): neither its frames nor a
		// snapshot are shipped until it is kept or rolled back, and a
		// snapshot is taken right after, of the version that runs on.
		ck.next = time.Time{}
		return
	}
	if now.Before(ck.next) {
		return
	}
	ck.next = now.Add(ck.every)
	in := ck.in
	start := time.Now()
	snap, err := in.wasm.Snapshot()
	if err != nil {
		in.ex.metrics.checkpointFailures.Inc()
		in.log.Warn("checkpoint snapshot refused", "frame", n, "err", err)
		return
	}
	in.hostMu.Lock()
	for player := range in.roster {
		snap.Players = append(snap.Players, player)
	}
	for _, ev := range in.pending {
		ev.Data = bytes.Clone(ev.Data)
		snap.Pending = append(snap.Pending, ev)
	}
	in.hostMu.Unlock()
	pause := time.Since(start)
	in.ex.metrics.checkpointPause.Observe(pause.Seconds())
	ck.stats.mu.Lock()
	ck.stats.pauses = addWindow(ck.stats.pauses, &ck.stats.nextP, pause)
	ck.stats.mu.Unlock()
	ck.mu.Lock()
	// The snapshot supersedes whatever was not shipped before it.
	ck.lines, ck.first, ck.last = nil, 0, 0
	ck.queue = append(ck.queue[:0], checkpointItem{snap: snap, version: in.spec.Version, frame: n})
	ck.mu.Unlock()
	select {
	case ck.wake <- struct{}{}:
	default:
	}
}

// run ships the instance's checkpoints until it ends.
func (ck *checkpointer) run(ctx context.Context) {
	t := time.NewTicker(ck.inputsEvery)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ck.in.done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		case <-ck.wake:
		}
		ck.mu.Lock()
		ck.cutLocked()
		ck.mu.Unlock()
		err := ck.ship(ctx)
		switch {
		case err != nil && !failing:
			ck.in.log.Warn("checkpoint shipment failed; trying again", "err", err)
		case err == nil && failing:
			ck.in.log.Info("checkpoints shipped again")
		}
		failing = err != nil
	}
}

// ship sends the queue in order, stopping at the first failure (kept for
// the next try).
func (ck *checkpointer) ship(ctx context.Context) error {
	m := ck.in.ex.metrics
	id := ck.in.spec.ID
	for {
		ck.mu.Lock()
		if len(ck.queue) == 0 {
			ck.mu.Unlock()
			return nil
		}
		it := ck.queue[0]
		ck.mu.Unlock()
		var err error
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, checkpointTimeout)
		if it.snap != nil {
			var body bytes.Buffer
			if _, err = it.snap.WriteTo(&body); err == nil {
				m.checkpointBytes.Observe(float64(body.Len()))
				err = ck.sink.SaveSnapshot(cctx, id, it.version, it.frame, body.Bytes())
			}
			if err == nil {
				took := time.Since(start)
				m.checkpointShip.Observe(took.Seconds())
				m.checkpoints.Inc()
				ck.stats.mu.Lock()
				ck.stats.ships = addWindow(ck.stats.ships, &ck.stats.nextS, took)
				ck.stats.st.Snapshots++
				ck.stats.st.Frame, ck.stats.st.Bytes = it.frame, body.Len()
				ck.stats.st.ShippedThrough = max(ck.stats.st.ShippedThrough, it.frame)
				ck.stats.mu.Unlock()
			}
		} else {
			err = ck.sink.AppendInputs(cctx, id, it.first, it.last, it.lines)
			if err == nil {
				m.checkpointFrames.Add(float64(it.last - it.first + 1))
				ck.stats.mu.Lock()
				ck.stats.st.ShippedThrough = max(ck.stats.st.ShippedThrough, it.last)
				ck.stats.mu.Unlock()
			}
		}
		cancel()
		if err != nil {
			m.checkpointFailures.Inc()
			return err
		}
		ck.mu.Lock()
		// A snapshot taken meanwhile replaced the queue: it is shipped
		// next, and what was sent is superseded by it.
		if len(ck.queue) > 0 && ck.queue[0].snap == it.snap && ck.queue[0].first == it.first {
			ck.queue = ck.queue[1:]
		}
		ck.mu.Unlock()
	}
}

// ErrBadResume is wrapped by the errors of a Resume that cannot be used.
var ErrBadResume = errors.New("bad checkpoint")

// resumeFrames reads the frames of a Resume after frame from, stopping at
// a gap.
func resumeFrames(b []byte, from uint64) ([]replay.Frame, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var out []replay.Frame
	next := from + 1
	for {
		var f replay.Frame
		err := dec.Decode(&f)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: frames after %d: %v", ErrBadResume, next-1, err)
		}
		switch {
		case f.Frame < next:
			continue // the snapshot had run it
		case f.Frame > next:
			return out, nil // a gap: what follows cannot be replayed
		}
		out = append(out, f)
		next++
	}
}

var resumeKinds = map[string]wasmhost.EventKind{
	replay.KindJoin: wasmhost.EventJoin, replay.KindLeave: wasmhost.EventLeave, replay.KindInput: wasmhost.EventInput,
}

// resume starts in from r: it restores the snapshot, runs the
// frames logged after it again and leaves the instance at the last of
// them, its roster's players away until they reconnect. The instance is
// not scheduled yet.
func (ex *Executor) resume(ctx context.Context, in *instance, module []byte, r *Resume) (*wasmhost.Instance, error) {
	start := time.Now()
	snap, err := wasmhost.ReadSnapshot(bytes.NewReader(r.Snapshot), ex.engine.Config().MemoryLimitPages)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadResume, err)
	}
	if snap.InstanceID != in.spec.ID {
		return nil, fmt.Errorf("%w: the snapshot is of instance %s, not %s", ErrBadResume, snap.InstanceID, in.spec.ID)
	}
	frames, err := resumeFrames(r.Frames, snap.Frame)
	if err != nil {
		return nil, err
	}
	m, err := ex.engine.Compile(ctx, module)
	if err != nil {
		return nil, err
	}
	compiled := time.Now()
	w, err := m.Restore(ctx, snap, ex.instanceConfig(in))
	if err != nil {
		return nil, fmt.Errorf("restore the checkpoint: %w", err)
	}
	roster := map[string]bool{}
	for _, p := range snap.Players {
		roster[p] = true
	}
	st := ResumeStatus{SnapshotFrame: snap.Frame, LastFrame: snap.Frame}
	var events []wasmhost.Event
	for _, f := range frames {
		events = events[:0]
		for _, e := range f.Events {
			events = append(events, wasmhost.Event{Kind: resumeKinds[e.Kind], Player: e.Player, Data: e.Data})
			switch e.Kind {
			case replay.KindJoin:
				roster[e.Player] = true
			case replay.KindLeave:
				delete(roster, e.Player)
			}
		}
		in.curFrame.Store(f.Frame)
		stateBytes, err := w.Frame(ctx, events)
		if err != nil {
			_ = w.Close(ctx)
			return nil, fmt.Errorf("replay frame %d of the checkpoint: %w", f.Frame, err)
		}
		if in.rec != nil {
			in.rec.frame(f.Frame, events, stateBytes, false)
		}
		sum := sha256.Sum256(stateBytes)
		st.StateSHA256 = hex.EncodeToString(sum[:])
		if f.StateSHA256 != "" && f.StateSHA256 != st.StateSHA256 {
			if st.Diverged == 0 {
				in.log.Error("checkpoint replay diverged: the game is not deterministic", "frame", f.Frame,
					"logged_sha256", f.StateSHA256, "replayed_sha256", st.StateSHA256)
			}
			st.Diverged++
		}
		st.Replayed++
		st.LastFrame = f.Frame
	}
	st.Duration = time.Since(compiled)
	now := time.Now()
	in.hostMu.Lock()
	for p := range roster {
		in.roster[p] = &member{awaySince: now}
		in.away++
	}
	if len(frames) == 0 {
		// Queued for the frame after the snapshot, which never ran.
		in.pending = append(in.pending, snap.Pending...)
	}
	in.resumed = &st
	in.hostMu.Unlock()
	in.frame.Store(st.LastFrame)
	in.curFrame.Store(st.LastFrame)
	ex.metrics.resumeSeconds.Observe(st.Duration.Seconds())
	in.log.Info("instance resumed from a checkpoint", "snapshot_frame", st.SnapshotFrame, "replayed", st.Replayed,
		"frame", st.LastFrame, "diverged", st.Diverged, "players", len(roster),
		"resume_ms", float64(st.Duration.Microseconds())/1000, "read_compile_ms", float64(compiled.Sub(start).Microseconds())/1000)
	in.logs.event(st.LastFrame, EventStarted, fmt.Sprintf("resumed from the checkpoint at frame %d, %d frames replayed, %d players",
		st.SnapshotFrame, st.Replayed, len(roster)))
	return w, nil
}
