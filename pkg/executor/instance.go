package executor

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rcc-games/rcc/pkg/lifecycle"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// State is the lifecycle state of an instance on the executor: starting,
// running, stopping, then stopped or failed (lifecycle.State, the type the
// coordinator's store uses too).
type State = lifecycle.State

// The states of an instance on the executor.
const (
	StateStarting = lifecycle.Starting
	StateRunning  = lifecycle.Running
	StateStopping = lifecycle.Stopping
	StateStopped  = lifecycle.Stopped
	StateFailed   = lifecycle.Failed
)

// States lists every State an instance on the executor takes, in
// lifecycle order.
var States = []State{StateStarting, StateRunning, StateStopping, StateStopped, StateFailed}

// Reasons an instance ends that do not come from the sandbox.
const (
	// ReasonExecutorShutdown: the executor stopped.
	ReasonExecutorShutdown = lifecycle.ReasonExecutorShutdown
	// ReasonStartFailed: the instance could not be started for a reason
	// the sandbox does not name (invalid params, for one).
	ReasonStartFailed = lifecycle.ReasonStartFailed
)

// InstanceStatus is a snapshot of one instance.
type InstanceStatus struct {
	ID         string
	Game       string
	Version    string
	State      State
	MaxPlayers int
	TickHz     int
	// Reason says why the instance ended: the sandbox's reason for a
	// failed instance (trap, deadline_exceeded, fuel_exhausted,
	// out_of_memory, ...), the reason given to Stop for a stopped one.
	// Detail explains it.
	Reason lifecycle.Reason
	Detail string
	// Players are the ids of the players connected now, sorted. A player
	// who disconnected but is still in the game (within the reconnect
	// grace) is counted in InGame, not listed here.
	Players []string
	InGame  int
	// Frames is the number of frames run; Overruns the frames that ended
	// after the next frame was due; Skipped the frames not run because of
	// them.
	Frames   uint64
	Overruns uint64
	Skipped  uint64
	// InputsDropped counts inputs refused by the rate limit or the queue.
	InputsDropped uint64
	// FuelLastFrame is the fuel the last frame used, FuelTotal the fuel
	// of every frame (0 when the sandbox does not meter).
	FuelLastFrame int64
	FuelTotal     uint64
	MemoryBytes   uint64
	LastFrame     time.Duration
	StartedAt     time.Time
	EndedAt       time.Time

	// TickP50 and TickP99 are percentiles of the durations of the
	// instance's last frames (up to 512), FuelP50 and FuelMax of the fuel
	// they used; all 0 before the first frame.
	TickP50, TickP99 time.Duration
	FuelP50, FuelMax int64

	// Resumed says how the instance resumed from a checkpoint; nil when
	// it started from init (or moved here live).
	Resumed *ResumeStatus
	// Checkpoint describes its checkpoints; nil when it has none.
	Checkpoint *CheckpointStatus
}

// instance is one game instance on the executor.
type instance struct {
	ex   *Executor
	spec InstanceSpec // Module is dropped once started
	log  *slog.Logger // its records carry logVersion
	// logVersion is spec.Version, for the log lines (logversion.go).
	logVersion atomic.Pointer[string]
	step       time.Duration
	due        time.Time // owned by the scheduler

	// guestMu guards the guest's side: it is held while the guest runs
	// (a tick) and while it is closed, and guards wasm, events, data,
	// notes and rec. Taken before hostMu when both are held.
	guestMu sync.Mutex
	wasm    *wasmhost.Instance
	events  []wasmhost.Event // the frame's events, swapped with pending
	data    []byte           // input bytes of events
	notes   [][]byte         // the tick's joined/left messages
	rec     *recorder        // the input log; nil when not recording
	last    *broadcast       // the last state broadcast, base of the next one's delta
	logs    *logRing         // the instance's log
	// curFrame is the frame being run, for the guest's log lines.
	curFrame atomic.Uint64

	live atomic.Pointer[wasmhost.Instance] // for Stats from any goroutine

	// hostMu guards the host's side, the fields below it: the
	// lifecycle state, the roster, the events pending for the next tick.
	hostMu      sync.Mutex
	state       State
	reason      lifecycle.Reason
	detail      string
	stopReason  lifecycle.Reason // Stop called while starting
	startedAt   time.Time
	endedAt     time.Time
	pending     []wasmhost.Event
	pendingData []byte
	pendingNote [][]byte
	roster      map[string]*member
	away        int
	admitted    map[string]struct{} // since the last TakeAdmitted

	sessions atomic.Pointer[[]*session] // connected; copy on write under hostMu
	frame    atomic.Uint64              // last frame run
	overruns atomic.Uint64
	skipped  atomic.Uint64
	dropped  atomic.Uint64
	fuel     atomic.Uint64
	recent   frameWindow
	done     chan struct{} // closed when the instance ends
	mig      migration     // live migration (migrate.go)
	upg      *probation    // a hot upgrade on trial, under guestMu (upgrade.go)
	shadow   *shadow       // a shadow run, under guestMu (shadow.go)
	ckpt     *checkpointer // checkpoints (checkpoint.go); nil when off
	resumed  *ResumeStatus // under hostMu; set by a resume from a checkpoint
}

// member is a player in the game; sess is nil while disconnected.
type member struct {
	sess      *session
	awaySince time.Time
}

func newInstance(ex *Executor, spec InstanceSpec) *instance {
	in := &instance{
		ex:        ex,
		spec:      spec,
		step:      time.Second / time.Duration(spec.TickHz),
		state:     StateStarting,
		startedAt: time.Now(),
		roster:    map[string]*member{},
		logs:      newLogRing(ex.cfg.LogEntries),
		done:      make(chan struct{}),
	}
	version := spec.Version // a copy: the spec's changes under hostMu
	in.logVersion.Store(&version)
	in.log = slog.New(versionHandler{ex.log.With("instance", spec.ID, "game", spec.Game).Handler(), &in.logVersion})
	in.mig.module = spec.Module // for a migration's target; the spec drops it
	in.spec.Module = nil
	in.ckpt = newCheckpointer(in)
	in.sessions.Store(&[]*session{})
	return in
}

// snapshotHz is the rate the instance sends its state at to clients on
// deltas: the spec's, else DefaultSnapshotHz, at most the tick rate.
func (in *instance) snapshotHz() int {
	hz := in.spec.SnapshotHz
	if hz <= 0 {
		hz = DefaultSnapshotHz
	}
	return min(hz, in.spec.TickHz)
}

// fullSnapshotHz is the rate the instance sends its state at to clients
// on State frames: the spec's when it sets one, else every tick. Such a
// client cannot be told a rate (protocol version 1's welcome has no field
// for it), so it gets the state of every tick unless a version or a spawn
// asked for less.
func (in *instance) fullSnapshotHz() int {
	if in.spec.SnapshotHz <= 0 {
		return in.spec.TickHz
	}
	return in.snapshotHz()
}

func (in *instance) status() InstanceStatus {
	in.hostMu.Lock()
	st := InstanceStatus{
		ID: in.spec.ID, Game: in.spec.Game, Version: in.spec.Version,
		State: in.state, MaxPlayers: in.spec.MaxPlayers, TickHz: in.spec.TickHz,
		Reason: in.reason, Detail: in.detail, InGame: len(in.roster),
		StartedAt: in.startedAt, EndedAt: in.endedAt,
	}
	if in.resumed != nil {
		r := *in.resumed
		st.Resumed = &r
	}
	in.hostMu.Unlock()
	for _, s := range *in.sessions.Load() {
		st.Players = append(st.Players, s.player)
	}
	slices.Sort(st.Players)
	st.Frames = in.frame.Load()
	st.Overruns = in.overruns.Load()
	st.Skipped = in.skipped.Load()
	st.InputsDropped = in.dropped.Load()
	st.FuelTotal = in.fuel.Load()
	if w := in.live.Load(); w != nil {
		s := w.Stats()
		st.MemoryBytes, st.LastFrame, st.FuelLastFrame = s.MemoryBytes, s.LastFrame, s.FuelUsed
	}
	st.TickP50, st.TickP99, st.FuelP50, st.FuelMax = in.recent.summary()
	if in.ckpt != nil {
		cs := in.ckpt.stats.status()
		st.Checkpoint = &cs
	}
	return st
}

// frameWindow keeps the duration and fuel of an instance's last frames.
type frameWindow struct {
	mu   sync.Mutex
	dur  [512]time.Duration
	fuel [512]int64
	n    int
	next int
}

func (w *frameWindow) add(d time.Duration, fuel int64) {
	w.mu.Lock()
	w.dur[w.next], w.fuel[w.next] = d, fuel
	w.next = (w.next + 1) % len(w.dur)
	w.n = min(w.n+1, len(w.dur))
	w.mu.Unlock()
}

// summary returns the p50 and p99 frame durations and the p50 and largest
// fuel of the window.
func (w *frameWindow) summary() (p50, p99 time.Duration, fuelP50, fuelMax int64) {
	w.mu.Lock()
	d := slices.Clone(w.dur[:w.n])
	f := slices.Clone(w.fuel[:w.n])
	w.mu.Unlock()
	if len(d) == 0 {
		return 0, 0, 0, 0
	}
	slices.Sort(d)
	slices.Sort(f)
	return d[len(d)*50/100], d[min(len(d)-1, len(d)*99/100)], f[len(f)*50/100], f[len(f)-1]
}

func (in *instance) currentState() State {
	in.hostMu.Lock()
	defer in.hostMu.Unlock()
	return in.state
}

// setState changes the state and reports the change.
func (in *instance) setState(s State, reason lifecycle.Reason, detail string) {
	in.hostMu.Lock()
	in.state = s
	if reason != "" {
		in.reason, in.detail = reason, detail
	}
	if s.Ended() {
		in.endedAt = time.Now()
	}
	in.hostMu.Unlock()
	in.ex.changed(in)
}

// runFrame runs one frame (the guest's events, tick and serialize_state)
// and broadcasts its state bytes in a state message. It reports whether
// the instance has ended and must leave the scheduler.
func (in *instance) runFrame(ctx context.Context) bool {
	in.guestMu.Lock()
	defer in.guestMu.Unlock()
	if in.wasm == nil {
		return true
	}
	if in.mig.paused.Load() {
		return false // moving to another executor (migrate.go)
	}
	cfg := &in.ex.cfg

	in.hostMu.Lock()
	if in.away > 0 && cfg.ReconnectGrace > 0 {
		now := time.Now()
		for id, m := range in.roster {
			if m.sess == nil && now.Sub(m.awaySince) >= cfg.ReconnectGrace {
				in.leaveHostLocked(id)
			}
		}
	}
	in.events, in.pending = in.pending, in.events[:0]
	in.data, in.pendingData = in.pendingData, in.data[:0]
	in.notes, in.pendingNote = in.pendingNote, in.notes[:0]
	in.hostMu.Unlock()

	in.curFrame.Store(in.frame.Load() + 1)
	start := time.Now()
	stateBytes, err := in.wasm.Frame(ctx, in.events)
	stateBytes, err = in.probationFrame(ctx, stateBytes, err)
	dur := time.Since(start)
	if in.rec != nil {
		in.rec.frame(in.frame.Load()+1, in.events, stateBytes, err != nil)
	}
	if in.ckpt != nil && err == nil && in.upg == nil {
		in.ckpt.frame(in.frame.Load()+1, in.events, stateBytes)
	}
	if err != nil {
		clear(in.events)
		in.endGuestLocked(ctx, StateFailed, err)
		return true
	}
	n := in.frame.Add(1)
	fuel := max(in.wasm.Stats().FuelUsed, 0)
	in.fuel.Add(uint64(fuel))
	in.recent.add(dur, fuel)
	in.ex.observeFrame(dur, fuel)
	in.shadowLiveFrame(n, stateBytes, dur, fuel)
	clear(in.events) // drop references to player ids and input bytes
	if in.ckpt != nil {
		in.ckpt.snapshotDue(n, time.Now())
	}

	sessions := *in.sessions.Load()
	if len(sessions) == 0 {
		clear(in.notes)
		in.last = nil
		return false
	}
	// One broadcast of the state, shared by every client's queue, on the
	// instance's snapshot grids: the deltas' (whose previous broadcast is
	// the base of the next delta) and the State frames', which is every
	// tick at the default rate.
	toDelta := snapshotDue(n, in.spec.TickHz, in.snapshotHz())
	toFull := snapshotDue(n, in.spec.TickHz, in.fullSnapshotHz())
	if toFull && !toDelta && !slices.ContainsFunc(sessions, func(s *session) bool { return !s.delta }) {
		toFull = false // no client on State frames to send it to
	}
	var b *broadcast
	if toDelta || toFull {
		b = newBroadcast(n, stateBytes, in.last)
		if toDelta {
			in.last = b
		}
	}
	for _, s := range sessions {
		for _, note := range in.notes {
			s.send(note)
		}
		if b != nil && (s.delta && toDelta || !s.delta && toFull) {
			s.sendState(b)
		}
	}
	clear(in.notes)
	return false
}

// leaveHostLocked removes a player from the game: the guest gets a leave at
// the next tick and the players a PlayerLeft. in.hostMu is held.
func (in *instance) leaveHostLocked(player string) {
	m := in.roster[player]
	if m == nil {
		return
	}
	if m.sess == nil {
		in.away--
	}
	delete(in.roster, player)
	in.pending = append(in.pending, wasmhost.Event{Kind: wasmhost.EventLeave, Player: player})
	note, _ := protocol.Encode(&protocol.PlayerLeft{Player: player})
	in.pendingNote = append(in.pendingNote, note)
	in.log.Info("player left", "player", player)
	in.logs.event(in.curFrame.Load(), EventPlayerLeft, player)
}

// queueInput queues one input for the next frame. It reports false when
// the queue is full and the input was dropped.
func (in *instance) queueInput(player string, data []byte) bool {
	in.hostMu.Lock()
	defer in.hostMu.Unlock()
	if len(in.pending) >= in.ex.cfg.MaxPendingEvents {
		return false
	}
	start := len(in.pendingData)
	in.pendingData = append(in.pendingData, data...)
	in.pending = append(in.pending, wasmhost.Event{
		Kind: wasmhost.EventInput, Player: player,
		Data: in.pendingData[start:len(in.pendingData):len(in.pendingData)],
	})
	return true
}

// admit adds a connected session to the instance. A player already in the
// game takes their place back (resumed), replacing a connection still
// open; a new player joins the game.
func (in *instance) admit(s *session) (resumed bool, code protocol.CloseCode, detail string) {
	in.hostMu.Lock()
	defer in.hostMu.Unlock()
	switch in.state {
	case StateRunning:
	case StateStopped:
		return false, protocol.CloseInstanceStopped, string(in.reason)
	case StateFailed:
		return false, protocol.CloseInstanceFailed, string(in.reason)
	default:
		return false, protocol.CloseInstanceNotRunning, string(in.state)
	}
	var old *session
	if m := in.roster[s.player]; m != nil {
		resumed = true
		old = m.sess
		if old == nil {
			in.away--
		}
		m.sess = s
	} else {
		if in.spec.MaxPlayers > 0 && len(in.roster) >= in.spec.MaxPlayers {
			return false, protocol.CloseInstanceFull, ""
		}
		in.roster[s.player] = &member{sess: s}
		in.pending = append(in.pending, wasmhost.Event{Kind: wasmhost.EventJoin, Player: s.player})
		note, _ := protocol.Encode(&protocol.PlayerJoined{Player: s.player})
		in.pendingNote = append(in.pendingNote, note)
		in.logs.event(in.curFrame.Load(), EventPlayerJoined, s.player)
	}
	if len(in.admitted) < maxAdmitted {
		if in.admitted == nil {
			in.admitted = map[string]struct{}{}
		}
		in.admitted[s.player] = struct{}{}
	}
	w := &protocol.Welcome{
		Version: protocol.Version, Resumed: resumed,
		TickHz: uint16(in.spec.TickHz), MaxPlayers: uint16(in.spec.MaxPlayers),
		Frame:         in.frame.Load(),
		MaxInputBytes: uint16(in.ex.cfg.MaxInputBytes),
		InputRate:     uint16(min(in.ex.cfg.InputRate, 65535)),
		InputBurst:    uint16(min(in.ex.cfg.InputBurst, 65535)),
		InstanceID:    in.spec.ID, PlayerID: s.player,
		Game: in.spec.Game, GameVersion: in.spec.Version,
	}
	if s.delta {
		// Only a client that asked for deltas knows these fields.
		w.Delta, w.SnapshotHz = true, uint16(in.snapshotHz())
	}
	welcome, err := protocol.Encode(w)
	if err != nil {
		return false, protocol.CloseInternal, "encode welcome"
	}
	s.send(welcome)
	list := *in.sessions.Load()
	next := make([]*session, 0, len(list)+1)
	for _, o := range list {
		if o != old {
			next = append(next, o)
		}
	}
	next = append(next, s)
	in.sessions.Store(&next)
	if old != nil {
		old.close(protocol.CloseReplaced, "the player connected again", true)
	}
	return resumed, 0, ""
}

// detach removes a session that ended. Its player stays in the game for
// the reconnect grace, or leaves at once without one or when the client
// closed normally (1000: a player quitting on purpose).
func (in *instance) detach(s *session) {
	s.mu.Lock()
	left := s.left
	s.mu.Unlock()
	in.hostMu.Lock()
	defer in.hostMu.Unlock()
	list := *in.sessions.Load()
	if i := slices.Index(list, s); i >= 0 {
		in.sessions.Store(ptr(slices.Delete(slices.Clone(list), i, i+1)))
	}
	m := in.roster[s.player]
	if m == nil || m.sess != s {
		return // replaced, or the instance ended
	}
	m.sess = nil
	m.awaySince = time.Now()
	in.away++
	if in.ex.cfg.ReconnectGrace < 0 || left {
		in.leaveHostLocked(s.player)
	}
}

func ptr[T any](v T) *T { return &v }

// maxAdmitted bounds the players remembered between two TakeAdmitted.
const maxAdmitted = 4096

// takeAdmitted returns and forgets the players admitted since the last
// call, sorted.
func (in *instance) takeAdmitted() []string {
	in.hostMu.Lock()
	defer in.hostMu.Unlock()
	out := make([]string, 0, len(in.admitted))
	for p := range in.admitted {
		out = append(out, p)
	}
	in.admitted = nil
	slices.Sort(out)
	return out
}

// end stops the instance from outside the scheduler, waiting for a frame
// in progress to finish.
func (in *instance) end(ctx context.Context, state State, err error) {
	in.guestMu.Lock()
	defer in.guestMu.Unlock()
	in.endGuestLocked(ctx, state, err)
}

// endGuestLocked closes the guest, ends the instance with the reason of err
// and closes its players' connections. in.guestMu is held.
func (in *instance) endGuestLocked(ctx context.Context, state State, err error) {
	if in.wasm != nil {
		in.logs.noteDropped(in.curFrame.Load(), in.wasm.Stats().DroppedLogLines)
		_ = in.wasm.Close(ctx)
		in.wasm = nil
	}
	in.live.Store(nil)
	if in.shadow != nil {
		in.shadow.stop(ShadowEndInstanceEnded)
		in.shadow = nil
	}
	if in.rec != nil {
		in.rec.close()
		in.rec = nil
	}
	in.hostMu.Lock()
	if in.state.Ended() {
		in.hostMu.Unlock()
		return
	}
	reason, detail := reasonOf(err)
	if line := in.logs.lastError(); state == StateFailed && line != "" && !strings.Contains(detail, line) {
		// What the guest said last is usually what went wrong: a Go
		// guest's panic message, a C guest's assertion.
		detail += "; stderr: " + line
	}
	in.state, in.reason, in.detail, in.endedAt = state, reason, detail, time.Now()
	sessions := *in.sessions.Load()
	in.sessions.Store(&[]*session{})
	in.roster = map[string]*member{}
	in.away = 0
	in.pending, in.pendingData, in.pendingNote = nil, nil, nil
	in.hostMu.Unlock()
	close(in.done)
	event := EventStopped
	if state == StateFailed {
		event = EventFailed
	}
	in.logs.event(in.curFrame.Load(), event, ReasonText(state, reason, detail))

	code := protocol.CloseInstanceStopped
	switch {
	case state == StateFailed:
		code = protocol.CloseInstanceFailed
		in.log.Error("instance failed", "reason", reason, "detail", detail, "frames", in.frame.Load())
	case reason == ReasonExecutorShutdown:
		code = protocol.CloseExecutorShutdown
		in.log.Info("instance stopped", "reason", reason, "frames", in.frame.Load())
	case reason == lifecycle.ReasonMigrated:
		code = protocol.CloseMigrated
	default:
		in.log.Info("instance stopped", "reason", reason, "frames", in.frame.Load())
	}
	text := string(reason)
	if detail != "" && state == StateFailed {
		text = detail
	}
	if code == protocol.CloseMigrated {
		text = "" // the code says it all
	}
	// Report first: by the time a player reads the close frame, the
	// executor's own view (and OnChange's) already says why.
	in.ex.changed(in)
	for _, s := range sessions {
		s.close(code, text, true)
	}
}

// ReasonText is the reason an ended instance shows: for a failed one, the
// sandbox's reason (fuel_exhausted, trap, ...) followed by what failed
// and the last line the guest wrote to stderr; for a stopped one, the
// reason it was stopped with.
func ReasonText(state State, reason lifecycle.Reason, detail string) string {
	switch {
	case detail == "" || state != StateFailed:
		return string(reason)
	case strings.HasPrefix(detail, string(reason)):
		return detail
	}
	return string(reason) + ": " + detail
}

// stopError is the "error" of a requested stop: its reason.
type stopError lifecycle.Reason

func (e stopError) Error() string { return string(e) }

// reasonOf names why an instance ended: the sandbox's reason and its
// error text, or a stop's reason.
func reasonOf(err error) (reason lifecycle.Reason, detail string) {
	var stop stopError
	if errors.As(err, &stop) {
		return lifecycle.Reason(stop), ""
	}
	if r := wasmhost.ReasonOf(err); r != "" {
		return r, err.Error()
	}
	if err == nil {
		return "", ""
	}
	return ReasonStartFailed, err.Error()
}
