package wasmhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/rcc-games/rcc/pkg/lifecycle"
	"github.com/rcc-games/rcc/pkg/meter"
)

// Defaults of Config.
const (
	DefaultCallTimeout   = 250 * time.Millisecond
	DefaultInitTimeout   = 10 * time.Second
	DefaultMaxStateBytes = 1 << 20
	// DefaultInitFuel is the fuel of _initialize and init together: the Go
	// runtime's start-up and the game's own set-up.
	DefaultInitFuel = 1_000_000_000
	// DefaultFrameFuel is the fuel of one frame: every join, leave and
	// input call, tick and serialize_state together.
	DefaultFrameFuel = 20_000_000
)

// Config configures an Engine. The zero value is usable.
type Config struct {
	// MemoryLimitPages caps every instance's linear memory, in 64 KiB
	// pages (default 1024, 64 MiB).
	MemoryLimitPages uint32
	// CacheDir keeps compiled code on disk across processes, keyed by the
	// module's content. Empty keeps it in memory only.
	CacheDir string
	// CallTimeout bounds each call during a frame, InitTimeout the calls of
	// _initialize and init.
	CallTimeout time.Duration
	InitTimeout time.Duration
	// NoFuel turns fuel metering off: modules run as they are and only the
	// wall-clock guard bounds their calls.
	NoFuel bool
	// InitFuel and FrameFuel are the default budgets, in counted wasm
	// instructions (see pkg/meter), of an instance's start and of each of
	// its frames; an InstanceConfig may set its own.
	InitFuel  int64
	FrameFuel int64
	// WallClockGuard puts a wall-clock deadline (CallTimeout, InitTimeout)
	// on every call, as a backstop to fuel. wazero then watches each
	// call's context from a goroutine of its own, which costs about a
	// microsecond per call (docs/BENCHMARKS.md). With NoFuel, set it:
	// nothing else would bound a call.
	WallClockGuard bool
	// MaxStateBytes is the most state bytes serialize_state may return
	// (default 1 MiB).
	MaxStateBytes int
}

func (c Config) withDefaults() Config {
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.InitTimeout <= 0 {
		c.InitTimeout = DefaultInitTimeout
	}
	if c.MaxStateBytes <= 0 {
		c.MaxStateBytes = DefaultMaxStateBytes
	}
	if c.InitFuel <= 0 {
		c.InitFuel = DefaultInitFuel
	}
	if c.FrameFuel <= 0 {
		c.FrameFuel = DefaultFrameFuel
	}
	return c
}

// Engine compiles game modules and runs their instances. It is safe for
// concurrent use; each Instance is not.
type Engine struct {
	cfg   Config
	rt    wazero.Runtime
	cache wazero.CompilationCache

	mu      sync.Mutex
	modules map[[32]byte]*Module
}

// NewEngine starts a wazero runtime with WASI preview 1 and the sandbox's
// limits.
func NewEngine(ctx context.Context, cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	rc := wazero.NewRuntimeConfigCompiler().
		WithMemoryLimitPages(wasm32MaxPages). // each instance's allocator enforces the cap

		WithCloseOnContextDone(cfg.WallClockGuard)
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("open compilation cache %s: %w", cfg.CacheDir, err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiate WASI: %w", err)
	}
	return &Engine{cfg: cfg, rt: rt, cache: cache, modules: map[[32]byte]*Module{}}, nil
}

// Config returns the engine's configuration with defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// Close releases the runtime, every module and instance.
func (e *Engine) Close(ctx context.Context) error {
	err := e.rt.Close(ctx)
	if e.cache != nil {
		if cerr := e.cache.Close(ctx); err == nil {
			err = cerr
		}
	}
	return err
}

// Module is a compiled game module, shared by its instances.
type Module struct {
	engine   *Engine
	compiled wazero.CompiledModule
	key      [32]byte // sha256 of the bytes and the metering scheme
	sum      [32]byte // sha256 of the bytes
	report   *Report
	metered  bool
	// globals are the names of the code's global exports, sorted: the
	// reserved ones of every mutable global, the fuel, the module's own.
	globals []string
}

// Hash is the hex sha256 of the module's bytes, as given to Compile.
func (m *Module) Hash() string { return hex.EncodeToString(m.sum[:]) }

// Metered reports whether the module's instances are fuel-metered.
func (m *Module) Metered() bool { return m.metered }

// Report is the ABI report of the module.
func (m *Module) Report() *Report { return m.report }

// Close forgets the compiled module. Its running instances keep running.
func (m *Module) Close(ctx context.Context) error {
	m.engine.mu.Lock()
	delete(m.engine.modules, m.key)
	m.engine.mu.Unlock()
	return m.compiled.Close(ctx)
}

// meterOptions is the metering scheme of every engine. A module's start
// function, if it has one (Go and Rust reactors do not), runs during
// instantiation on the default start budget.
var meterOptions = meter.Options{Checks: meter.CheckEveryRun, InitialFuel: DefaultInitFuel}

// Compile checks wasm against the ABI, meters it (unless NoFuel) and
// compiles it, once per content: compiling the same bytes again returns the
// same Module. The key of both the in-memory and the on-disk cache covers
// the metering scheme's version. An invalid module is an *Error with
// ReasonInvalidModule.
func (e *Engine) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	sum := sha256.Sum256(wasm)
	scheme := meterOptions.Key()
	if e.cfg.NoFuel {
		scheme = "meter/" + meter.Version + "/globals" // ExportGlobals only
	}
	key := sha256.Sum256(append(sum[:], scheme...))
	e.mu.Lock()
	m, ok := e.modules[key]
	e.mu.Unlock()
	if ok {
		return m, nil
	}
	report := Check(wasm, e.cfg.MemoryLimitPages)
	if err := report.Err(); err != nil {
		return nil, err
	}
	// Either rewrite exports every mutable global under a reserved name,
	// for snapshots.
	var code []byte
	var err error
	if e.cfg.NoFuel {
		code, err = meter.ExportGlobals(wasm)
	} else {
		code, err = meter.Instrument(wasm, meterOptions)
	}
	if err != nil {
		return nil, &Error{Reason: lifecycle.ReasonInvalidModule, Detail: err.Error(), Err: err}
	}
	globals, err := globalExports(code)
	if err != nil {
		return nil, &Error{Reason: lifecycle.ReasonInvalidModule, Detail: err.Error(), Err: err}
	}
	compiled, err := e.rt.CompileModule(ctx, code)
	if err != nil {
		return nil, &Error{Reason: lifecycle.ReasonInvalidModule, Detail: err.Error(), Err: err}
	}
	m = &Module{engine: e, compiled: compiled, key: key, sum: sum, report: report, metered: !e.cfg.NoFuel, globals: globals}
	e.mu.Lock()
	defer e.mu.Unlock()
	if prev, ok := e.modules[key]; ok { // compiled concurrently
		_ = compiled.Close(ctx)
		return prev, nil
	}
	e.modules[key] = m
	return m, nil
}

// wasiFunctionDefinitions lists the WASI preview 1 functions the host
// provides, with their types.
func wasiFunctionDefinitions() map[string]api.FunctionDefinition {
	ctx := context.Background() // a throwaway runtime, used once per process
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	compiled, err := wasi_snapshot_preview1.NewBuilder(rt).Compile(ctx)
	if err != nil {
		panic(fmt.Sprintf("wasmhost: compile WASI host module: %v", err)) // cannot happen: wazero's own module
	}
	return compiled.ExportedFunctions()
}
