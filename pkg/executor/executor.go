package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rcc-games/rcc/pkg/lifecycle"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// Executor runs game instances and serves their players. Create it with
// New, run its scheduler with Run, drive it with Start and Stop, serve
// Handler and MetricsHandler, and release it with Close.
type Executor struct {
	cfg       Config
	log       *slog.Logger
	engine    *wasmhost.Engine
	ownEngine bool
	metrics   *metrics
	sched     *scheduler
	upgrader  websocket.Upgrader
	delta     *protocol.DeltaEncoder // Delta frames, shared by every instance
	ticks     tickWindow
	sessions  sync.WaitGroup

	mu        sync.Mutex
	instances map[string]*instance
	running   bool
	// changes is closed and replaced whenever an instance changes state,
	// waking the players waiting for their instance to start; waiting
	// counts them.
	changes chan struct{}
	waiting atomic.Int64

	prepared preparedModules // migrations on their way here (migrate.go)
}

// New returns an executor configured by cfg. It creates a sandbox engine
// when cfg.Engine is nil.
func New(ctx context.Context, cfg Config) (*Executor, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("new executor: %w", err)
	}
	ex := &Executor{
		cfg:       cfg,
		log:       cfg.Logger.With("executor", cfg.ID),
		engine:    cfg.Engine,
		instances: map[string]*instance{},
		changes:   make(chan struct{}),
	}
	if ex.engine == nil {
		if ex.engine, err = wasmhost.NewEngine(ctx, cfg.Sandbox); err != nil {
			return nil, fmt.Errorf("new executor: %w", err)
		}
		ex.ownEngine = true
	}
	if ex.delta, err = protocol.NewDeltaEncoder(); err != nil {
		if ex.ownEngine {
			_ = ex.engine.Close(ctx)
		}
		return nil, fmt.Errorf("new executor: %w", err)
	}
	ex.metrics = newMetrics(ex)
	ex.sched = newScheduler(cfg.Workers,
		func(ctx context.Context, in *instance) bool { return in.runFrame(ctx) },
		ex.overrun)
	ex.upgrader = websocket.Upgrader{
		ReadBufferSize: 2048,
		// Idle connections share write buffers; 16 KiB holds most states
		// in one WebSocket frame.
		WriteBufferSize: 16 << 10,
		WriteBufferPool: &sync.Pool{},
		// Players connect from any origin (the browser client is served
		// elsewhere); the single-use ticket is the credential.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return ex, nil
}

// ID is the executor's id.
func (ex *Executor) ID() string { return ex.cfg.ID }

// Run ticks the instances until ctx is cancelled, then stops every
// instance (its players are closed with protocol.CloseExecutorShutdown),
// waits for player connections to close and returns. Start may be called
// before Run; instances tick only while Run runs.
func (ex *Executor) Run(ctx context.Context) error {
	ex.mu.Lock()
	if ex.running {
		ex.mu.Unlock()
		return errors.New("executor is already running")
	}
	ex.running = true
	ex.mu.Unlock()
	ex.log.Info("executor running", "workers", ex.cfg.Workers)
	// Frames are bounded by the sandbox, not by ctx: cancelling ctx stops
	// the scheduler between frames instead of failing the guests.
	ex.sched.run(context.WithoutCancel(ctx), ctx.Done())

	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ex.mu.Lock()
	live := make([]*instance, 0, len(ex.instances))
	for _, in := range ex.instances {
		live = append(live, in)
	}
	ex.mu.Unlock()
	for _, in := range live {
		in.end(shutdown, StateStopped, stopError(ReasonExecutorShutdown))
	}
	waited := make(chan struct{})
	go func() { ex.sessions.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-shutdown.Done():
	}
	ex.log.Info("executor stopped")
	return nil
}

// WaitBackground waits until the sandbox's background work in flight (a
// module's variant for images, compiled after its second start) is done,
// or ctx ends.
func (ex *Executor) WaitBackground(ctx context.Context) error {
	return ex.engine.WaitBackground(ctx)
}

// Close releases the sandbox engine if New created it. Call it after Run
// has returned.
func (ex *Executor) Close(ctx context.Context) error {
	_ = ex.delta.Close()
	if ex.ownEngine {
		return ex.engine.Close(ctx)
	}
	return nil
}

// Start compiles (once per module content) and instantiates an instance,
// then schedules its frames. It returns when the instance runs, or with
// the error that failed it; a failed start is also listed by Instances as
// failed with its reason. Starting an id that is starting or running
// returns an error wrapping ErrExists; an ended id may be started again.
func (ex *Executor) Start(ctx context.Context, spec InstanceSpec) error {
	if err := spec.validate(); err != nil {
		closeRecord(spec)
		return fmt.Errorf("start instance %s: %w", spec.ID, err)
	}
	if spec.TickHz == 0 {
		spec.TickHz = wasmhost.DefaultTickHz
	}
	module := spec.Module
	ex.mu.Lock()
	ex.pruneLocked()
	if old, ok := ex.instances[spec.ID]; ok && !old.currentState().Ended() {
		ex.mu.Unlock()
		closeRecord(spec)
		return fmt.Errorf("start instance %s: %w", spec.ID, ErrExists)
	}
	in := newInstance(ex, spec)
	ex.instances[spec.ID] = in
	ex.mu.Unlock()
	if spec.Record != nil {
		in.guestMu.Lock()
		in.rec = newRecorder(spec, in.log)
		in.guestMu.Unlock()
	}
	ex.changed(in)

	start := time.Now()
	var w *wasmhost.Instance
	var err error
	if spec.Resume != nil {
		in.spec.Resume = nil // not kept for the instance's life
		w, err = ex.resume(ctx, in, module, spec.Resume)
	} else {
		w, err = ex.instantiate(ctx, in, module)
	}
	if err != nil {
		in.end(ctx, StateFailed, err)
		return fmt.Errorf("start instance %s: %w", spec.ID, err)
	}
	in.guestMu.Lock()
	in.hostMu.Lock()
	stop := in.stopReason
	if in.state.Ended() { // the executor shut down meanwhile
		stop = in.reason
	}
	if stop == "" {
		in.wasm = w
		in.live.Store(w)
		in.state = StateRunning
	}
	in.hostMu.Unlock()
	in.guestMu.Unlock()
	if stop != "" {
		_ = w.Close(ctx)
		in.end(ctx, StateStopped, stopError(stop))
		return fmt.Errorf("start instance %s: stopped while starting: %s", spec.ID, stop)
	}
	in.log.Info("instance running", "tick_hz", spec.TickHz, "max_players", spec.MaxPlayers,
		"start_ms", float64(time.Since(start).Microseconds())/1000, "start", startPath(w))
	in.logs.event(0, EventStarted, fmt.Sprintf("running %s version %s at %d Hz, %d players at most",
		spec.Game, spec.Version, spec.TickHz, spec.MaxPlayers))
	ex.changed(in)
	if in.ckpt != nil {
		go in.ckpt.run(context.WithoutCancel(ctx))
	}
	ex.sched.add(in, time.Now())
	return nil
}

// instantiate compiles the module (once per content, whatever the number
// of concurrent starts) and starts an instance of it. A module dropped
// from the engine's cache between the two is compiled again.
func (ex *Executor) instantiate(ctx context.Context, in *instance, module []byte) (*wasmhost.Instance, error) {
	for attempt := 1; ; attempt++ {
		m, err := ex.engine.Compile(ctx, module)
		if err != nil {
			return nil, err
		}
		w, err := ex.instantiateModule(ctx, in, m)
		if errors.Is(err, wasmhost.ErrModuleClosed) && attempt < 3 {
			continue
		}
		return w, err
	}
}

func (ex *Executor) instantiateModule(ctx context.Context, in *instance, m *wasmhost.Module) (*wasmhost.Instance, error) {
	return m.Instantiate(ctx, ex.instanceConfig(in))
}

// instanceConfig is the sandbox's configuration of an instance.
func (ex *Executor) instanceConfig(in *instance) wasmhost.InstanceConfig {
	spec := in.spec
	log := in.log
	return wasmhost.InstanceConfig{
		InstanceID: spec.ID, Game: spec.Game, Version: spec.Version, Seed: spec.Seed,
		MaxPlayers: spec.MaxPlayers, TickHz: spec.TickHz, Params: spec.Params,
		Assets: spec.Assets, MemoryLimitPages: spec.MemoryLimitPages, FrameFuel: spec.FrameFuel, InitFuel: spec.InitFuel,
		// The line goes to the instance's log, which the agent pushes to
		// the coordinator; the executor's own log has it at debug level.
		Log: func(stream wasmhost.Stream, line string) {
			in.logs.add(LogEntry{Time: time.Now(), Frame: in.curFrame.Load(), Stream: LogStream(stream), Text: line})
			log.Debug("guest log", "stream", string(stream), "line", line)
		},
	}
}

// Stop ends an instance with reason (for example "lease expired" or
// "stopped by admin"): its players are closed with
// protocol.CloseInstanceStopped and the reason. It waits for a frame in
// progress to finish, at most until ctx is done. Stopping an ended
// instance does nothing; an unknown id returns an error wrapping
// ErrNotFound.
func (ex *Executor) Stop(ctx context.Context, id string, reason lifecycle.Reason) error {
	ex.mu.Lock()
	in, ok := ex.instances[id]
	ex.mu.Unlock()
	if !ok {
		return fmt.Errorf("stop instance %s: %w", id, ErrNotFound)
	}
	if reason == "" {
		reason = lifecycle.ReasonStopped
	}
	in.hostMu.Lock()
	state := in.state
	if state == StateStarting {
		in.stopReason = reason
	}
	in.hostMu.Unlock()
	if state.Ended() {
		return nil
	}
	if state == StateRunning {
		in.setState(StateStopping, "", "")
		go in.end(context.WithoutCancel(ctx), StateStopped, stopError(reason))
	}
	select {
	case <-in.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop instance %s: %w", id, ctx.Err())
	}
}

// Instances returns the status of every instance, ended ones included for
// Config.EndedRetention, sorted by id.
func (ex *Executor) Instances() []InstanceStatus {
	ex.mu.Lock()
	ex.pruneLocked()
	ins := make([]*instance, 0, len(ex.instances))
	for _, in := range ex.instances {
		ins = append(ins, in)
	}
	ex.mu.Unlock()
	out := make([]InstanceStatus, len(ins))
	for i, in := range ins {
		out[i] = in.status()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Instance returns the status of one instance.
func (ex *Executor) Instance(id string) (InstanceStatus, error) {
	ex.mu.Lock()
	in, ok := ex.instances[id]
	ex.mu.Unlock()
	if !ok {
		return InstanceStatus{}, fmt.Errorf("instance %s: %w", id, ErrNotFound)
	}
	return in.status(), nil
}

// TakeAdmitted returns the players admitted to instance id (new, resumed
// or reconnecting) since the previous call, and forgets them: the
// joined_players of the coordinator's instance report, so that a player
// who connected and left between two reports is not missed. It returns
// nil for an unknown id.
func (ex *Executor) TakeAdmitted(id string) []string {
	in := ex.lookup(id)
	if in == nil {
		return nil
	}
	return in.takeAdmitted()
}

// Forget drops an ended instance from the listing (once its end has been
// reported, for one). It returns an error wrapping ErrNotFound for an
// unknown id and does nothing for a live one.
func (ex *Executor) Forget(id string) error {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	in, ok := ex.instances[id]
	if !ok {
		return fmt.Errorf("forget instance %s: %w", id, ErrNotFound)
	}
	if in.currentState().Ended() {
		delete(ex.instances, id)
	}
	return nil
}

// pruneLocked drops instances ended longer than EndedRetention ago.
// ex.mu is held.
func (ex *Executor) pruneLocked() {
	cutoff := time.Now().Add(-ex.cfg.EndedRetention)
	for id, in := range ex.instances {
		in.hostMu.Lock()
		old := in.state.Ended() && in.endedAt.Before(cutoff)
		in.hostMu.Unlock()
		if old {
			delete(ex.instances, id)
		}
	}
}

func (ex *Executor) lookup(id string) *instance {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.instances[id]
}

// awaitStarted returns instance id once it exists and has left the starting
// state, waiting at most Config.StartWait (or until ctx ends) for it; then
// it returns what there is, nil for an unknown instance.
func (ex *Executor) awaitStarted(ctx context.Context, id string) *instance {
	ex.waiting.Add(1)
	defer ex.waiting.Add(-1)
	var timeout <-chan time.Time
	if ex.cfg.StartWait > 0 {
		t := time.NewTimer(ex.cfg.StartWait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		ex.mu.Lock()
		in, changes := ex.instances[id], ex.changes
		ex.mu.Unlock()
		if (in != nil && in.currentState() != StateStarting) || timeout == nil {
			return in
		}
		select {
		case <-changes:
		case <-timeout:
			return in
		case <-ctx.Done():
			return in
		}
	}
}

// changed reports an instance's new state to Config.OnChange and wakes the
// players waiting for it.
func (ex *Executor) changed(in *instance) {
	ex.mu.Lock()
	close(ex.changes)
	ex.changes = make(chan struct{})
	ex.mu.Unlock()
	if ex.cfg.OnChange != nil {
		ex.cfg.OnChange(in.status())
	}
}

func (ex *Executor) overrun(in *instance, skipped uint64) {
	in.overruns.Add(1)
	in.skipped.Add(skipped)
	ex.metrics.overruns.Inc()
	ex.metrics.skipped.Add(float64(skipped))
}

func (ex *Executor) observeFrame(d time.Duration, fuel int64) {
	ex.metrics.tick.Observe(float64(d.Nanoseconds()) / 1e6)
	ex.metrics.frames.Inc()
	ex.metrics.fuel.Add(float64(fuel))
	ex.ticks.add(d)
}

// Stats are the executor's live figures, as the coordinator's heartbeat
// reports them.
type Stats struct {
	// Players is the number of open player connections.
	Players int
	// Instances counts instances by state.
	Instances map[State]int
	// TickP50 and TickP99 are percentiles of the durations of the last
	// frames (up to 4096) of every instance.
	TickP50, TickP99 time.Duration
	// MemoryBytes is the linear memory of the running instances.
	MemoryBytes uint64
	// Frames, Overruns, Skipped and FuelUsed sum the running instances'
	// counters since they started.
	Frames, Overruns, Skipped, FuelUsed uint64
}

// Stats returns the executor's live figures.
func (ex *Executor) Stats() Stats {
	st := Stats{Instances: map[State]int{}}
	for _, s := range ex.Instances() {
		st.Instances[s.State]++
		if s.State.Ended() {
			continue
		}
		st.Players += len(s.Players)
		st.MemoryBytes += s.MemoryBytes
		st.Frames += s.Frames
		st.Overruns += s.Overruns
		st.Skipped += s.Skipped
		st.FuelUsed += s.FuelTotal
	}
	st.TickP50, st.TickP99 = ex.ticks.percentiles()
	return st
}

// tickWindow keeps the durations of the last frames for percentiles.
type tickWindow struct {
	mu   sync.Mutex
	buf  [4096]time.Duration
	n    int
	next int
}

func (w *tickWindow) add(d time.Duration) {
	w.mu.Lock()
	w.buf[w.next] = d
	w.next = (w.next + 1) % len(w.buf)
	w.n = min(w.n+1, len(w.buf))
	w.mu.Unlock()
}

func (w *tickWindow) percentiles() (p50, p99 time.Duration) {
	w.mu.Lock()
	s := slices.Clone(w.buf[:w.n])
	w.mu.Unlock()
	if len(s) == 0 {
		return 0, 0
	}
	slices.Sort(s)
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*99/100)]
}

// Handler serves the players' endpoint, GET /play/{instance}?ticket=JWT
// (or ?handover=TICKET after a migration), the operators' GET
// /replays/{instance} (an input log from Config.ReplayDir, to a bearer of
// an admin token), the migration target's POST /migrate/{instance}/prepare
// and POST /migrate/{instance} (to a bearer of an executor or admin token;
// Migrate) and GET /healthz.
func (ex *Executor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /play/{instance}", ex.servePlay)
	mux.HandleFunc("GET /replays/{instance}", ex.serveReplay)
	mux.HandleFunc("POST /migrate/{instance}/prepare", ex.servePrepare)
	mux.HandleFunc("POST /migrate/{instance}", ex.serveMove)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// startPath names the way an instance started, for the log and the
// rcc_executor_instance_starts_total metric: from its module's image, or
// by running _initialize.
func startPath(w *wasmhost.Instance) string {
	if w.FromImage() {
		return "image"
	}
	return "initialize"
}
