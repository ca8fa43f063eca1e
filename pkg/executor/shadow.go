package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync/atomic"
	"time"

	"github.com/rcc-games/rcc/pkg/lifecycle"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// Shadow runs (docs/snapshots.md, "Shadow runs"): a candidate version of
// an instance's game runs beside it on the same events, unseen by the
// players, and its state bytes are compared with the running version's
// every frame. The candidate starts from a snapshot of the instance when
// both run the same module bytes with the same limits, else from the
// running version's save_state given to its load_state (the hand-over of
// a hot upgrade). Each frame the live instance hands its events and state
// bytes to the shadow's own goroutine and goes on: the candidate's frame
// runs off the live tick. A candidate that falls more than
// shadowQueueFrames behind, traps or runs out of fuel is dropped with the
// reason in the report.

// Defaults and bounds of a shadow run.
const (
	// DefaultShadowFrames is how many frames a shadow run compares when
	// neither Frames nor For is given.
	DefaultShadowFrames = 600
	// MaxShadowFor bounds a shadow run's duration.
	MaxShadowFor = 10 * time.Minute
	// shadowQueueFrames is how far behind the live instance the candidate
	// may fall before it is dropped.
	shadowQueueFrames = 120
)

// ErrShadow is wrapped by the errors of Shadow when no run took place
// (refused, or the candidate could not start from the instance's state
// for a reason of the running version).
var ErrShadow = errors.New("shadow run not started")

// How a shadow run ended (ShadowReport.Ended).
const (
	ShadowEndFrames        = "frames"           // compared the frames asked for
	ShadowEndTime          = "time"             // ran for the duration asked for
	ShadowEndFailed        = "candidate_failed" // the candidate failed: Failure says how
	ShadowEndBehind        = "fell_behind"      // the candidate could not keep up
	ShadowEndInstanceEnded = "instance_ended"   // the live instance ended or moved away
	ShadowEndUpgraded      = "instance_upgraded"
	ShadowEndCancelled     = "cancelled"
)

// How the candidate of a shadow run started (ShadowReport.Start).
const (
	ShadowStartSnapshot  = "snapshot"
	ShadowStartLoadState = "load_state"
)

// ShadowSpec is the candidate of a shadow run and how long it runs.
type ShadowSpec struct {
	// Version, Module and the limits are the candidate's, as for an
	// upgrade (ProbationFrames is not used).
	UpgradeSpec
	// Assets are the candidate version's assets, mounted at /assets.
	Assets fs.FS
	// Frames is how many frames to compare; For how long to run (at
	// most MaxShadowFor, the default). The run ends at the first
	// reached; neither given: DefaultShadowFrames.
	Frames int
	For    time.Duration
}

// ShadowSide is the cost of one side of a shadow run over the frames
// compared.
type ShadowSide struct {
	FuelP50, FuelP99 int64
	TickP50, TickP99 time.Duration
}

// ShadowReport is the result of a shadow run.
type ShadowReport struct {
	InstanceID  string
	LiveVersion string
	Version     string
	// Start is how the candidate started: ShadowStartSnapshot or
	// ShadowStartLoadState. FromFrame is the live frame it took the
	// state of; the first frame compared is FromFrame+1.
	Start     string
	FromFrame uint64
	// Frames is the number of frames compared; DiffFrames how many of
	// them had different state bytes.
	Frames     int
	DiffFrames int
	// Differs is set when a frame's state bytes differed: FirstDiffFrame
	// is the first such frame, DiffOffset the offset of its first
	// differing byte, LiveBytes and CandidateBytes the sizes of the two
	// states of that frame.
	Differs        bool
	FirstDiffFrame uint64
	DiffOffset     int
	LiveBytes      int
	CandidateBytes int
	// Live and Candidate are the fuel and frame time of both sides.
	Live, Candidate ShadowSide
	// Ended says why the run ended (ShadowEnd...).
	Ended string
	// Failure is the candidate's failure (its reason and detail), empty
	// when it did not fail; FailureReason the sandbox's reason
	// (trap, fuel_exhausted, init_failed, ...).
	Failure       string
	FailureReason lifecycle.Reason
	// Elapsed is the run's duration.
	Elapsed time.Duration
}

// shadow is a shadow run under way, in instance.shadow under guestMu.
type shadow struct {
	live   *wasmhost.Instance // the running version it shadows
	jobs   chan shadowFrame
	done   atomic.Bool // the run ended: runFrame lets it go
	behind atomic.Bool // runFrame dropped it for lagging
	ended  atomic.Pointer[string]
}

// shadowFrame is one live frame handed to the candidate.
type shadowFrame struct {
	frame  uint64
	events []wasmhost.Event
	state  []byte
	dur    time.Duration
	fuel   int64
}

// stop ends the run from the live side with why.
func (sh *shadow) stop(why string) {
	sh.ended.CompareAndSwap(nil, &why)
	if sh.done.CompareAndSwap(false, true) {
		close(sh.jobs)
	}
}

// shadowLiveFrame hands a frame the live instance ran to its shadow run;
// runFrame calls it holding guestMu, with the frame's events still in
// in.events.
func (in *instance) shadowLiveFrame(n uint64, stateBytes []byte, dur time.Duration, fuel int64) {
	sh := in.shadow
	if sh == nil {
		return
	}
	if sh.done.Load() || in.wasm != sh.live {
		if in.wasm != sh.live {
			sh.stop(ShadowEndUpgraded)
		}
		in.shadow = nil
		return
	}
	f := shadowFrame{frame: n, events: make([]wasmhost.Event, len(in.events)), state: bytes.Clone(stateBytes), dur: dur, fuel: fuel}
	for i, e := range in.events {
		e.Data = bytes.Clone(e.Data)
		f.events[i] = e
	}
	select {
	case sh.jobs <- f:
	default:
		sh.behind.Store(true)
		sh.stop(ShadowEndBehind)
		in.shadow = nil
	}
}

// Shadow runs a candidate version beside instance id, as the package doc
// of Shadow runs describes, and returns its report once the run ends. A
// candidate that fails (load_state refused or trapping, a trap or fuel
// running out in a frame) ends the run with a report naming the failure,
// not an error; the live instance is not affected. Errors wrap ErrShadow
// or ErrNotFound. Cancelling ctx ends the run early with its report. The
// outcome, or the refusal, is also an event "shadow" in the instance's log
// (what a detached run's caller reads).
func (ex *Executor) Shadow(ctx context.Context, id string, spec ShadowSpec) (ShadowReport, error) {
	in := ex.lookup(id)
	if in == nil {
		return ShadowReport{InstanceID: id, Version: spec.Version}, fmt.Errorf("shadow instance %s: %w", id, ErrNotFound)
	}
	rep, err := ex.shadow(ctx, in, spec)
	in.logs.event(in.frame.Load(), EventShadow, shadowSummary(spec.Version, rep, err))
	return rep, err
}

// shadowSummary is the log line of a shadow run of version that ended
// with rep, or was refused with err.
func shadowSummary(version string, rep ShadowReport, err error) string {
	if err != nil {
		return fmt.Sprintf("shadow run of version %s refused: %v", version, err)
	}
	head := fmt.Sprintf("shadow run of version %s from frame %d (%s)", version, rep.FromFrame, rep.Start)
	switch {
	case rep.Failure != "":
		return fmt.Sprintf("%s: the candidate failed after %d frames: %s (ended: %s)", head, rep.Frames, rep.Failure, rep.Ended)
	case rep.Differs:
		return fmt.Sprintf("%s: first difference at frame %d, byte %d (live %d bytes, candidate %d); %d of %d frames differ (ended: %s)",
			head, rep.FirstDiffFrame, rep.DiffOffset, rep.LiveBytes, rep.CandidateBytes, rep.DiffFrames, rep.Frames, rep.Ended)
	default:
		return fmt.Sprintf("%s: %d frames, no difference (ended: %s)", head, rep.Frames, rep.Ended)
	}
}

func (ex *Executor) shadow(ctx context.Context, in *instance, spec ShadowSpec) (ShadowReport, error) {
	id := in.spec.ID
	rep := ShadowReport{InstanceID: id, Version: spec.Version}
	refuse := func(format string, args ...any) (ShadowReport, error) {
		return rep, fmt.Errorf("shadow instance %s with version %s: %w: %s", id, spec.Version, ErrShadow, fmt.Sprintf(format, args...))
	}
	if st := in.currentState(); st != StateRunning {
		return refuse("it is %s, not running", st)
	}
	if spec.For > MaxShadowFor {
		return refuse("a shadow run lasts at most %v", MaxShadowFor)
	}
	if spec.Frames <= 0 && spec.For <= 0 {
		spec.Frames = DefaultShadowFrames
	}
	if spec.For <= 0 {
		spec.For = MaxShadowFor // however many frames were asked for
	}
	m, vspec, cfg, err := ex.compileVersion(ctx, in, spec.UpgradeSpec)
	if err != nil {
		return refuse("%v", err)
	}
	cfg.Assets = spec.Assets
	// The candidate's log lines are not the instance's: they go to the
	// executor's log at debug level.
	log := in.log.With("shadow", spec.Version)
	cfg.Log = func(stream wasmhost.Stream, line string) {
		log.Debug("shadow guest log", "stream", string(stream), "line", line)
	}

	in.hostMu.Lock()
	cur := in.spec
	in.hostMu.Unlock()
	rep.LiveVersion = cur.Version
	in.guestMu.Lock()
	running := in.mig.module
	in.guestMu.Unlock()
	sameRun := bytes.Equal(spec.Module, running) && vspec.InitFuel == cur.InitFuel &&
		vspec.FrameFuel == cur.FrameFuel && vspec.MemoryLimitPages == cur.MemoryLimitPages

	var nw *wasmhost.Instance
	if !sameRun {
		// Started (its init) while the instance runs, as for an upgrade.
		if nw, _, err = ex.startVersion(ctx, in, spec.UpgradeSpec); err != nil {
			return refuse("%v", err)
		}
	}
	// A candidate failing at the start is the run's result, not an error.
	failed := func(err error) (ShadowReport, error) {
		rep.Ended = ShadowEndFailed
		rep.FailureReason, rep.Failure = reasonOf(err)
		rep.Failure = ReasonText(StateFailed, rep.FailureReason, rep.Failure)
		log.Info("shadow run: the candidate failed to start", "err", err)
		return rep, nil
	}

	sh := &shadow{jobs: make(chan shadowFrame, shadowQueueFrames)}
	var snap *wasmhost.Snapshot
	in.guestMu.Lock()
	if in.wasm == nil || in.mig.paused.Load() || in.upg != nil || in.shadow != nil {
		busy := "it ended, is moving or is being upgraded"
		if in.shadow != nil {
			busy = "a shadow run of it is under way"
		}
		in.guestMu.Unlock()
		if nw != nil {
			_ = nw.Close(ctx)
		}
		return refuse("%s", busy)
	}
	if !bytes.Equal(in.mig.module, running) {
		in.guestMu.Unlock()
		if nw != nil {
			_ = nw.Close(ctx)
		}
		return refuse("the instance changed version meanwhile")
	}
	sh.live = in.wasm
	rep.FromFrame = in.frame.Load()
	if sameRun {
		rep.Start = ShadowStartSnapshot
		snap, err = in.wasm.Snapshot()
		if err != nil {
			in.guestMu.Unlock()
			return refuse("snapshot: %v", err)
		}
	} else {
		rep.Start = ShadowStartLoadState
		_, saveErr, err := handOver(ctx, in.wasm, nw, rep.FromFrame)
		if saveErr != nil {
			in.guestMu.Unlock()
			_ = nw.Close(ctx)
			if sh.live.Err() != nil { // save_state trapped: the instance has failed
				in.end(ctx, StateFailed, saveErr)
			}
			return refuse("save_state: %v", saveErr)
		}
		if err != nil {
			in.guestMu.Unlock()
			_ = nw.Close(ctx)
			return failed(err)
		}
	}
	in.shadow = sh
	in.guestMu.Unlock()
	log.Info("shadow run started", "from", rep.FromFrame, "start", rep.Start, "frames", spec.Frames, "for", spec.For.String())

	gctx := context.WithoutCancel(ctx)
	if snap != nil {
		// Restored off the live tick; its frames wait in the queue.
		if nw, err = m.Restore(gctx, snap, cfg); err != nil {
			in.stopShadow(sh, ShadowEndFailed)
			return failed(fmt.Errorf("restore: %w", err))
		}
	}
	defer func() { _ = nw.Close(gctx) }()
	rep = ex.runShadow(ctx, in, sh, nw, spec, rep)
	log.Info("shadow run ended", "ended", rep.Ended, "frames", rep.Frames, "differs", rep.Differs,
		"first_diff_frame", rep.FirstDiffFrame, "failure", rep.Failure)
	return rep, nil
}

// stopShadow ends sh from outside runFrame; the jobs channel is closed
// under guestMu, so that runFrame never sends on it closed.
func (in *instance) stopShadow(sh *shadow, why string) {
	in.guestMu.Lock()
	sh.stop(why)
	if in.shadow == sh {
		in.shadow = nil
	}
	in.guestMu.Unlock()
}

// runShadow runs the candidate nw on the live frames until the run ends.
func (ex *Executor) runShadow(ctx context.Context, in *instance, sh *shadow, nw *wasmhost.Instance, spec ShadowSpec, rep ShadowReport) ShadowReport {
	start := time.Now()
	var timeUp <-chan time.Time
	if spec.For > 0 {
		t := time.NewTimer(spec.For)
		defer t.Stop()
		timeUp = t.C
	}
	gctx := context.WithoutCancel(ctx)
	var liveDur, candDur []time.Duration
	var liveFuel, candFuel []int64
	end := func(why string) {
		in.stopShadow(sh, why)
		if p := sh.ended.Load(); p != nil {
			why = *p
		}
		rep.Ended = why
	}
loop:
	for {
		select {
		case f, ok := <-sh.jobs:
			if !ok {
				end(ShadowEndInstanceEnded)
				break loop
			}
			t0 := time.Now()
			state, err := nw.Frame(gctx, f.events)
			d := time.Since(t0)
			if err != nil {
				rep.FailureReason, rep.Failure = reasonOf(err)
				rep.Failure = ReasonText(StateFailed, rep.FailureReason, rep.Failure)
				end(ShadowEndFailed)
				break loop
			}
			rep.Frames++
			liveDur, liveFuel = append(liveDur, f.dur), append(liveFuel, f.fuel)
			candDur, candFuel = append(candDur, d), append(candFuel, max(nw.Stats().FuelUsed, 0))
			if !bytes.Equal(state, f.state) {
				rep.DiffFrames++
				if !rep.Differs {
					rep.Differs, rep.FirstDiffFrame = true, f.frame
					rep.DiffOffset = firstDiff(f.state, state)
					rep.LiveBytes, rep.CandidateBytes = len(f.state), len(state)
				}
			}
			if spec.Frames > 0 && rep.Frames >= spec.Frames {
				end(ShadowEndFrames)
				break loop
			}
		case <-timeUp:
			end(ShadowEndTime)
			break loop
		case <-in.done:
			end(ShadowEndInstanceEnded)
			break loop
		case <-ctx.Done():
			end(ShadowEndCancelled)
			break loop
		}
	}
	rep.Elapsed = time.Since(start)
	rep.Live = sideOf(liveDur, liveFuel)
	rep.Candidate = sideOf(candDur, candFuel)
	return rep
}

// firstDiff is the offset of the first byte where a and b differ (the
// shorter one's length when one is a prefix of the other).
func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func sideOf(d []time.Duration, f []int64) ShadowSide {
	if len(d) == 0 {
		return ShadowSide{}
	}
	slices.Sort(d)
	slices.Sort(f)
	p := func(n, q int) int { return min(n-1, n*q/100) }
	return ShadowSide{FuelP50: f[p(len(f), 50)], FuelP99: f[p(len(f), 99)],
		TickP50: d[p(len(d), 50)], TickP99: d[p(len(d), 99)]}
}
