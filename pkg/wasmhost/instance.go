package wasmhost

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/rcc-games/rcc/pkg/lifecycle"
	"github.com/rcc-games/rcc/pkg/meter"
)

// DefaultTickHz is the tick rate when InstanceConfig.TickHz is zero.
const DefaultTickHz = 60

// InstanceConfig describes one instance of a game.
type InstanceConfig struct {
	InstanceID string
	Game       string
	Version    string
	Seed       uint64
	MaxPlayers int
	// TickHz is the fixed tick rate (default 60); dt_ms is 1000/TickHz.
	TickHz int
	// Params are the spawn's game parameters, a JSON value (default {}).
	Params json.RawMessage
	// Assets, when set, is mounted read-only at /assets.
	Assets fs.FS
	// Log receives the guest's stdout and stderr lines.
	Log       LogFunc
	LogLimits LogLimits
	// MemoryLimitPages lowers the engine's memory cap for this instance.
	MemoryLimitPages uint32
	// InitFuel and FrameFuel override the engine's fuel budgets.
	InitFuel, FrameFuel int64
}

// initConfig is the JSON object init receives.
type initConfig struct {
	InstanceID string          `json:"instance_id"`
	Game       string          `json:"game"`
	Version    string          `json:"version"`
	Seed       uint64          `json:"seed"`
	MaxPlayers int             `json:"max_players"`
	TickHz     int             `json:"tick_hz"`
	Params     json.RawMessage `json:"params"`
}

// EventKind is the kind of a player event in a frame.
type EventKind uint8

// The player events of a frame.
const (
	EventInput EventKind = iota
	EventJoin
	EventLeave
)

// Event is one player event delivered in a frame.
type Event struct {
	Kind   EventKind
	Player string
	Data   []byte // input bytes, for EventInput
}

// Instance is one running game instance. It is not safe for concurrent use,
// except for the read-only accessors documented as such.
type Instance struct {
	engine *Engine
	module *Module
	cfg    InstanceConfig
	mod    api.Module
	mem    api.Memory
	// modClosed is set once mod is closed and the module's use released.
	modClosed bool
	memory    *instanceMemory
	// fromImage is set when the instance started from its module's image.
	fromImage bool

	alloc, tick, onInput, serialize, onJoin, onLeave api.Function

	// fuel is the metered module's fuel global, nil when not metered;
	// budget is what the current start or frame was given.
	fuel                api.MutableGlobal
	initFuel, frameFuel int64
	budget              int64

	clock      *virtualClock
	random     *rand.ChaCha8 // random_get's stream
	files      *openFiles    // the files the guest holds open in /assets
	globals    []namedGlobal // every mutable global, by its export name
	logs       *logCapture
	dtBits     uint64
	limitPages uint32
	stack      [4]uint64
	err        *Error

	frames     atomic.Uint64
	fuelUsed   atomic.Int64 // by the last frame, or by the start
	memBytes   atomic.Uint64
	lastFrame  atomic.Int64 // nanoseconds
	stateBytes atomic.Uint64
}

// virtualClock is the guest's clock: frame × step, strictly increasing
// within a frame so that a guest polling it always sees time pass.
type virtualClock struct {
	frame  uint64
	stepNs int64
	last   int64
}

func (c *virtualClock) frameTime() int64 { return int64(c.frame) * c.stepNs }

func (c *virtualClock) read() int64 {
	t := c.frameTime()
	if t <= c.last {
		t = c.last + 1
	}
	c.last = t
	return t
}

// Instantiate starts an instance of the module: it calls _initialize, if
// exported, then init with the JSON configuration. A failure is an *Error;
// init returning non-zero is ReasonInitFailed.
func (m *Module) Instantiate(ctx context.Context, cfg InstanceConfig) (*Instance, error) {
	limit := m.limitOf(cfg)
	if img := m.readyImage(cfg, limit); img != nil {
		inst, err := m.startFromImage(ctx, cfg, limit, img)
		if !errors.Is(err, errImageOff) {
			return inst, err
		}
		// The image could not be mapped: today's start is as correct.
	}
	inst, err := m.newInstance(ctx, cfg, limit, nil)
	if err != nil {
		return nil, err
	}
	if err := inst.start(ctx); err != nil {
		return nil, err
	}
	m.engine.initStarts.Add(1)
	return inst, nil
}

// limitOf is the memory cap of an instance of cfg, in pages.
func (m *Module) limitOf(cfg InstanceConfig) uint32 {
	limit := m.engine.cfg.MemoryLimitPages
	if cfg.MemoryLimitPages > 0 && cfg.MemoryLimitPages < limit {
		limit = cfg.MemoryLimitPages
	}
	return limit
}

// newInstance instantiates the module with the sandbox's configuration and
// a memory cap of limit pages, and binds the exports, without calling any
// of them: what Instantiate and Restore share. With an image, it
// instantiates the module's variant without data segments, its memory
// mapped copy-on-write from the image (see startFromImage).
func (m *Module) newInstance(ctx context.Context, cfg InstanceConfig, limit uint32, img *imageStart) (*Instance, error) {
	e := m.engine
	if cfg.TickHz <= 0 {
		cfg.TickHz = DefaultTickHz
	}
	if len(cfg.Params) == 0 {
		cfg.Params = json.RawMessage("{}")
	}
	if !json.Valid(cfg.Params) {
		return nil, fmt.Errorf("instance params are not valid JSON")
	}
	clock := &virtualClock{stepNs: int64(time.Second) / int64(cfg.TickHz)}
	logs := newLogCapture(cfg.LogLimits, cfg.Log, clock)
	inst := &Instance{
		engine: e, module: m, cfg: cfg, clock: clock, logs: logs,
		dtBits:     uint64(math.Float32bits(float32(1000.0 / float64(cfg.TickHz)))),
		limitPages: limit,
		initFuel:   cmp.Or(cfg.InitFuel, e.cfg.InitFuel),
		frameFuel:  cmp.Or(cfg.FrameFuel, e.cfg.FrameFuel),
	}

	inst.random = rand.NewChaCha8(initializeSeed)
	mc := wazero.NewModuleConfig().
		WithName("").
		WithArgs(cfg.Game).
		WithStdout(logs.writer(Stdout)).
		WithStderr(logs.writer(Stderr)).
		WithStartFunctions(). // _initialize is called by start, with the start's fuel budget
		WithRandSource(randomSource{inst}).
		WithWalltime(func() (int64, int32) {
			t := clock.read()
			return t / 1e9, int32(t % 1e9)
		}, 1).
		WithNanotime(clock.read, 1).
		WithNanosleep(func(int64) {})
	if cfg.Assets != nil {
		inst.files = &openFiles{fsys: cfg.Assets}
		mc = mc.WithFSConfig(wazero.NewFSConfig().WithFSMount(inst.files, "/assets"))
	}
	if min := m.report.MemoryMinPages; min > limit {
		return nil, &Error{Reason: lifecycle.ReasonOutOfMemory,
			Detail: fmt.Sprintf("the module starts with %d pages of memory, over the instance's limit of %d", min, limit)}
	}
	if err := e.acquire(m); err != nil {
		return nil, err
	}
	inst.memory = &instanceMemory{limit: uint64(limit) * PageSize}
	compiled := m.compiled
	if img != nil {
		inst.memory.image, compiled = img.file, img.variant
	}
	mod, err := e.rt.InstantiateModule(withMemory(ctx, inst.memory), compiled, mc)
	if err != nil {
		// Linking cannot fail after Check: this is the module's own start
		// function failing.
		e.release(ctx, m)
		logs.flush()
		return nil, classify("start", err)
	}
	inst.mod = mod
	inst.mem = mod.Memory()
	inst.alloc = mod.ExportedFunction("alloc")
	inst.tick = mod.ExportedFunction("tick")
	inst.onInput = mod.ExportedFunction("on_input")
	inst.serialize = mod.ExportedFunction("serialize_state")
	inst.onJoin = mod.ExportedFunction("on_join")
	inst.onLeave = mod.ExportedFunction("on_leave")
	inst.memBytes.Store(uint64(inst.mem.Size()))
	for _, name := range m.globals {
		if g, ok := mod.ExportedGlobal(name).(api.MutableGlobal); ok {
			inst.globals = append(inst.globals, namedGlobal{name: name, g: g})
		}
	}
	if m.metered {
		fuel, ok := mod.ExportedGlobal(meter.GlobalName).(api.MutableGlobal)
		if !ok {
			_ = inst.closeModule(ctx)
			return nil, fmt.Errorf("metered module lacks its fuel global %s", meter.GlobalName)
		}
		inst.fuel = fuel
	}
	if inst.files != nil {
		inst.files.baseline() // the preopened /assets
	}
	return inst, nil
}

// start calls _initialize, if exported, then init. Right after
// _initialize, it takes the module's image when there is none yet (see
// takeImage).
func (i *Instance) start(ctx context.Context) error {
	if err := i.initialize(ctx); err != nil {
		return err
	}
	i.module.takeImage(i)
	i.seedRandom()
	return i.callInit(ctx)
}

// initialize calls _initialize, if exported, on the start's fuel budget.
func (i *Instance) initialize(ctx context.Context) error {
	i.setBudget(i.initFuel)
	if fn := i.mod.ExportedFunction("_initialize"); fn != nil {
		return i.call(ctx, "_initialize", fn, i.engine.cfg.InitTimeout)
	}
	return nil
}

// seedRandom switches random_get to the instance's seeded stream. Until
// then, through the module's start function and _initialize, it reads the
// module's own stream, the same for every instance whatever its seed:
// what a language runtime does at start-up then does not depend on the
// instance, which is what lets one image of it serve every instance.
func (i *Instance) seedRandom() {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:8], i.cfg.Seed)
	copy(seed[8:], "rcc random_get")
	i.random = rand.NewChaCha8(seed)
}

// initializeSeed seeds random_get during _initialize.
var initializeSeed = [32]byte([]byte("rcc random_get of _initialize..."))

// randomSource is the guest's random_get: the instance's current stream.
type randomSource struct{ i *Instance }

func (r randomSource) Read(p []byte) (int, error) { return r.i.random.Read(p) }

// callInit calls init with the instance's configuration.
func (i *Instance) callInit(ctx context.Context) error {
	timeout := i.engine.cfg.InitTimeout
	cfg, err := json.Marshal(initConfig{
		InstanceID: i.cfg.InstanceID, Game: i.cfg.Game, Version: i.cfg.Version, Seed: i.cfg.Seed,
		MaxPlayers: i.cfg.MaxPlayers, TickHz: i.cfg.TickHz, Params: i.cfg.Params,
	})
	if err != nil {
		return i.fail(&Error{Reason: lifecycle.ReasonInitFailed, Call: "init", Detail: err.Error(), Err: err})
	}
	ptr, err := i.writeArgs(ctx, "", cfg, timeout)
	if err != nil {
		return err
	}
	i.stack[0], i.stack[1] = uint64(ptr), uint64(len(cfg))
	if err := i.call(ctx, "init", i.mod.ExportedFunction("init"), timeout); err != nil {
		return err
	}
	if code := int32(i.stack[0]); code != 0 {
		return i.fail(&Error{Reason: lifecycle.ReasonInitFailed, Call: "init", ExitCode: uint32(code),
			Detail: fmt.Sprintf("init returned %d", code)})
	}
	i.fuelUsed.Store(i.spent())
	i.memBytes.Store(uint64(i.mem.Size()))
	return nil
}

// setBudget gives the guest n fuel for the calls that follow.
func (i *Instance) setBudget(n int64) {
	if i.fuel != nil {
		i.budget = n
		i.fuel.Set(uint64(n))
	}
}

// spent is the fuel used since the last setBudget; more than the budget
// when the guest ran out.
func (i *Instance) spent() int64 {
	if i.fuel == nil {
		return 0
	}
	return i.budget - int64(i.fuel.Get())
}

// call runs fn with i.stack as its parameters and results.
func (i *Instance) call(ctx context.Context, name string, fn api.Function, timeout time.Duration) error {
	if i.err != nil {
		return i.err
	}
	i.logs.startCall()
	i.memory.refused = false
	if i.engine.cfg.WallClockGuard {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if err := fn.CallWithStack(ctx, i.stack[:]); err != nil {
		if i.fuel != nil && int64(i.fuel.Get()) < 0 {
			return i.fail(&Error{Reason: lifecycle.ReasonFuelExhausted, Call: name, Err: err,
				Detail: fmt.Sprintf("spent its budget of %d fuel", i.budget)})
		}
		if i.memory.refused {
			return i.fail(&Error{Reason: lifecycle.ReasonOutOfMemory, Call: name, Err: err,
				Detail: fmt.Sprintf("memory.grow past the limit of %d pages failed at %d pages, then: %s",
					i.limitPages, i.mem.Size()/PageSize, classify(name, err).Detail)})
		}
		return i.fail(classify(name, err))
	}
	return nil
}

// fail ends the instance with err and returns it.
func (i *Instance) fail(err *Error) error {
	if i.err == nil {
		i.logs.flush()
		i.err = err
		_ = i.closeModule(context.Background()) // releasing memory; nothing to cancel
	}
	return i.err
}

// closeModule closes the guest's module instance, once, and counts the
// instance's end for the compiled module's cache.
func (i *Instance) closeModule(ctx context.Context) error {
	if i.mod == nil || i.modClosed {
		return nil
	}
	i.modClosed = true
	err := i.mod.Close(ctx)
	i.engine.release(ctx, i.module)
	return err
}

// writeArgs copies a string and a byte slice, back to back, into one buffer
// from the guest's alloc and returns its address.
func (i *Instance) writeArgs(ctx context.Context, s string, b []byte, timeout time.Duration) (uint32, error) {
	n := uint64(len(s)) + uint64(len(b))
	i.stack[0] = n
	if err := i.call(ctx, "alloc", i.alloc, timeout); err != nil {
		return 0, err
	}
	ptr := uint32(i.stack[0])
	if !i.mem.WriteString(ptr, s) || !i.mem.Write(ptr+uint32(len(s)), b) {
		return 0, i.fail(&Error{Reason: lifecycle.ReasonBadPointer, Call: "alloc",
			Detail: fmt.Sprintf("alloc(%d) returned %#x, outside linear memory of %d bytes", n, ptr, i.mem.Size())})
	}
	return ptr, nil
}

// player calls on_join or on_leave, when the guest exports it.
func (i *Instance) player(ctx context.Context, name string, fn api.Function, player string) error {
	if fn == nil {
		return i.Err()
	}
	timeout := i.engine.cfg.CallTimeout
	ptr, err := i.writeArgs(ctx, player, nil, timeout)
	if err != nil {
		return err
	}
	i.stack[0], i.stack[1] = uint64(ptr), uint64(len(player))
	return i.call(ctx, name, fn, timeout)
}

func (i *Instance) input(ctx context.Context, player string, data []byte) error {
	timeout := i.engine.cfg.CallTimeout
	ptr, err := i.writeArgs(ctx, player, data, timeout)
	if err != nil {
		return err
	}
	pl := uint64(len(player))
	i.stack[0], i.stack[1], i.stack[2], i.stack[3] = uint64(ptr), pl, uint64(ptr)+pl, uint64(len(data))
	return i.call(ctx, "on_input", i.onInput, timeout)
}

// Frame runs one frame: the joins and leaves of events in their order, then
// their inputs in arrival order, then tick, then serialize_state. It
// returns the state bytes, a view of guest memory valid until the next call
// into the instance.
func (i *Instance) Frame(ctx context.Context, events []Event) ([]byte, error) {
	if i.err != nil {
		return nil, i.err
	}
	start := time.Now()
	i.clock.frame++
	i.setBudget(i.frameFuel)
	for _, ev := range events {
		var err error
		switch ev.Kind {
		case EventJoin:
			err = i.player(ctx, "on_join", i.onJoin, ev.Player)
		case EventLeave:
			err = i.player(ctx, "on_leave", i.onLeave, ev.Player)
		}
		if err != nil {
			return nil, err
		}
	}
	for _, ev := range events {
		if ev.Kind == EventInput {
			if err := i.input(ctx, ev.Player, ev.Data); err != nil {
				return nil, err
			}
		}
	}
	timeout := i.engine.cfg.CallTimeout
	i.stack[0] = i.dtBits
	if err := i.call(ctx, "tick", i.tick, timeout); err != nil {
		return nil, err
	}
	stateBytes, err := i.serializeState(ctx, timeout)
	if err != nil {
		return nil, err
	}
	i.lastFrame.Store(int64(time.Since(start)))
	i.fuelUsed.Store(i.spent())
	i.frames.Add(1)
	i.memBytes.Store(uint64(i.mem.Size()))
	return stateBytes, nil
}

// serializeState calls serialize_state and returns a view of the state
// bytes in guest memory, checking their bounds and size.
func (i *Instance) serializeState(ctx context.Context, timeout time.Duration) ([]byte, error) {
	if err := i.call(ctx, "serialize_state", i.serialize, timeout); err != nil {
		return nil, err
	}
	b, err := i.lengthPrefixed("serialize_state", uint32(i.stack[0]))
	if err != nil {
		return nil, err
	}
	i.stateBytes.Store(uint64(len(b)))
	return b, nil
}

// lengthPrefixed returns a view of the u32-length-prefixed bytes at ptr
// that call returned, checking their bounds and size.
func (i *Instance) lengthPrefixed(call string, ptr uint32) ([]byte, error) {
	n, ok := i.mem.ReadUint32Le(ptr)
	if !ok {
		return nil, i.fail(&Error{Reason: lifecycle.ReasonBadStateBuffer, Call: call,
			Detail: fmt.Sprintf("state pointer %#x is outside linear memory of %d bytes", ptr, i.mem.Size())})
	}
	if int64(n) > int64(i.engine.cfg.MaxStateBytes) {
		return nil, i.fail(&Error{Reason: lifecycle.ReasonStateTooLarge, Call: call,
			Detail: fmt.Sprintf("state of %d bytes, over the limit of %d", n, i.engine.cfg.MaxStateBytes)})
	}
	b, ok := i.mem.Read(ptr+4, n)
	if !ok {
		return nil, i.fail(&Error{Reason: lifecycle.ReasonBadStateBuffer, Call: call,
			Detail: fmt.Sprintf("state of %d bytes at %#x runs past linear memory of %d bytes", n, ptr+4, i.mem.Size())})
	}
	return b, nil
}

// Err returns the error that ended the instance, or nil while it runs.
func (i *Instance) Err() error {
	if i.err == nil {
		return nil
	}
	return i.err
}

// Close ends the instance; later calls fail with ReasonClosed.
func (i *Instance) Close(ctx context.Context) error {
	if i.err != nil {
		return nil
	}
	i.err = &Error{Reason: lifecycle.ReasonClosed, Detail: "instance closed"}
	return i.closeModule(ctx)
}

// Stats is a snapshot of an instance's counters. Reading it is safe from
// any goroutine.
type Stats struct {
	Frames uint64
	// FuelUsed is the fuel the last frame used (the start's before the
	// first frame); 0 when the module is not metered.
	FuelUsed        int64
	MemoryBytes     uint64
	LastFrame       time.Duration
	StateBytes      uint64
	LogLines        uint64
	DroppedLogLines uint64
}

// Stats returns the instance's counters; safe for concurrent use.
func (i *Instance) Stats() Stats {
	return Stats{
		Frames:          i.frames.Load(),
		FuelUsed:        i.fuelUsed.Load(),
		MemoryBytes:     i.memBytes.Load(),
		LastFrame:       time.Duration(i.lastFrame.Load()),
		StateBytes:      i.stateBytes.Load(),
		LogLines:        i.logs.lines.Load(),
		DroppedLogLines: i.logs.dropped.Load(),
	}
}

// MemoryBytes is the size of the instance's linear memory; safe for
// concurrent use.
func (i *Instance) MemoryBytes() uint64 { return i.memBytes.Load() }

// LastFrameDuration is the wall time of the last frame; safe for concurrent
// use.
func (i *Instance) LastFrameDuration() time.Duration { return time.Duration(i.lastFrame.Load()) }
