package wasmhost

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/rcc-games/rcc/pkg/flight"
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
	// DefaultCodeCacheBytes bounds the compiled modules an engine keeps
	// (Config.CodeCacheBytes): about 60 modules of the arena game's size
	// in memory (4.3 MB of metered code each, which compile to about
	// 15 MB of machine code), 17 of them in CacheDir.
	DefaultCodeCacheBytes = 256 << 20
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
	// CodeCacheBytes bounds the compiled modules kept in memory, counted
	// as the bytes of code given to the compiler (the metered module),
	// and the files of CacheDir, counted as their size on disk (default
	// DefaultCodeCacheBytes; negative: no bound). Past it, the least
	// recently used modules that no instance runs are dropped, and the
	// oldest files of CacheDir removed; a module with a live instance is
	// kept whatever its size.
	CodeCacheBytes int64
	// NoImages turns off starting instances from their module's image
	// (docs/snapshots.md): every instance then runs _initialize. With
	// images, a module that has run an instance also holds its variant
	// without data segments, compiled once, which counts in
	// CodeCacheBytes like the module.
	NoImages bool
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
	if c.CodeCacheBytes == 0 {
		c.CodeCacheBytes = DefaultCodeCacheBytes
	}
	return c
}

// Engine compiles game modules and runs their instances. It is safe for
// concurrent use; each Instance is not.
type Engine struct {
	cfg   Config
	rt    wazero.Runtime
	cache wazero.CompilationCache

	// compiling holds one compilation per module content in flight:
	// concurrent Compiles of the same bytes wait for it.
	compiling    flight.Group[[32]byte, *Module]
	compilations atomic.Uint64
	evictions    atomic.Uint64
	imageStarts  atomic.Uint64
	pooledStarts atomic.Uint64
	initStarts   atomic.Uint64

	// Background work (the compilation of modules' variants for images):
	// Close cancels bgCtx and waits for it.
	bgCtx    context.Context
	bgStop   context.CancelFunc
	bg       sync.WaitGroup
	bgMu     sync.Mutex
	bgClosed bool
	diskMu   sync.Mutex // serialises pruning CacheDir

	mu       sync.Mutex
	modules  map[[32]byte]*Module
	cached   int64  // sum of the cached modules' size
	useClock uint64 // ticks at every use of a module, for LRU order
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
	e := &Engine{cfg: cfg, rt: rt, cache: cache, modules: map[[32]byte]*Module{}}
	e.bgCtx, e.bgStop = context.WithCancel(context.WithoutCancel(ctx))
	return e, nil
}

// background runs f in a goroutine of its own with a context that Close
// cancels, unless the engine is closing; it reports whether it did.
func (e *Engine) background(f func(ctx context.Context)) bool {
	e.bgMu.Lock()
	defer e.bgMu.Unlock()
	if e.bgClosed {
		return false
	}
	e.bg.Add(1)
	go func() {
		defer e.bg.Done()
		f(e.bgCtx)
	}()
	return true
}

// WaitBackground waits until the engine's background work in flight (the
// compilation of modules' variants for images) is done, or ctx ends. A
// load test calls it so that what it measures is the steady state, not a
// one-time compilation.
func (e *Engine) WaitBackground(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		e.bg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Config returns the engine's configuration with defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// Close releases the runtime, every module and instance. A compilation in
// the background (a module's variant for images) cannot be interrupted:
// Close waits for it as long as ctx allows, and if ctx ends first returns
// its error and leaves the runtime to the process's exit.
func (e *Engine) Close(ctx context.Context) error {
	e.bgMu.Lock()
	e.bgClosed = true
	e.bgMu.Unlock()
	e.bgStop()
	waited := make(chan struct{})
	go func() { e.bg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		return fmt.Errorf("close the engine: a compilation in the background is still running: %w", ctx.Err())
	}
	e.mu.Lock()
	modules := make([]*Module, 0, len(e.modules))
	for _, m := range e.modules {
		modules = append(modules, m)
	}
	e.mu.Unlock()
	for _, m := range modules {
		m.closeImages(ctx)
	}
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
	size    int64 // bytes of code compiled
	imaging imaging

	// Guarded by engine.mu.
	users   int    // live instances
	lastUse uint64 // engine.useClock at the last Compile, start or end of an instance
	closed  bool   // closed or evicted: no new instance
}

// Hash is the hex sha256 of the module's bytes, as given to Compile.
func (m *Module) Hash() string { return hex.EncodeToString(m.sum[:]) }

// Metered reports whether the module's instances are fuel-metered.
func (m *Module) Metered() bool { return m.metered }

// Report is the ABI report of the module.
func (m *Module) Report() *Report { return m.report }

// Close forgets the compiled module. Its running instances keep running;
// Instantiate then fails with ErrModuleClosed.
func (m *Module) Close(ctx context.Context) error {
	e := m.engine
	e.mu.Lock()
	if m.closed {
		e.mu.Unlock()
		return nil
	}
	e.dropLocked(m)
	e.mu.Unlock()
	m.closeImages(ctx)
	return m.compiled.Close(ctx)
}

// ErrModuleClosed is the error of Instantiate on a module that was closed,
// or dropped from the engine's cache to keep it within
// Config.CodeCacheBytes: Compile the bytes again.
var ErrModuleClosed = errors.New("module closed")

// CacheStats describes an engine's compiled-code cache.
type CacheStats struct {
	// Modules is the number of compiled modules cached, InUse those with a
	// live instance, Bytes their size (see Config.CodeCacheBytes).
	Modules, InUse int
	Bytes          int64
	// Compilations counts the modules compiled since the engine started,
	// Evictions those dropped to keep the cache within its bound.
	Compilations, Evictions uint64
}

// CacheStats returns the state of the compiled-code cache.
func (e *Engine) CacheStats() CacheStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := CacheStats{Modules: len(e.modules), Bytes: e.cached,
		Compilations: e.compilations.Load(), Evictions: e.evictions.Load()}
	for _, m := range e.modules {
		if m.users > 0 {
			st.InUse++
		}
	}
	return st
}

// touchLocked records a use of m. e.mu is held.
func (e *Engine) touchLocked(m *Module) {
	e.useClock++
	m.lastUse = e.useClock
}

// dropLocked removes m from the cache. e.mu is held.
func (e *Engine) dropLocked(m *Module) {
	m.closed = true
	if e.modules[m.key] == m {
		delete(e.modules, m.key)
		e.cached -= m.size
	}
}

// evictLocked drops the least recently used modules without a live
// instance until the cache is within its bound, and returns them to be
// closed once e.mu is released. e.mu is held.
func (e *Engine) evictLocked() []*Module {
	limit := e.cfg.CodeCacheBytes
	if limit < 0 || e.cached <= limit {
		return nil
	}
	idle := make([]*Module, 0, len(e.modules))
	for _, m := range e.modules {
		if m.users == 0 {
			idle = append(idle, m)
		}
	}
	slices.SortFunc(idle, func(a, b *Module) int { return cmp.Compare(a.lastUse, b.lastUse) })
	var out []*Module
	for _, m := range idle {
		if e.cached <= limit {
			break
		}
		e.dropLocked(m)
		out = append(out, m)
	}
	e.evictions.Add(uint64(len(out)))
	return out
}

// closeEvicted releases the compiled code of evicted modules.
func closeEvicted(ctx context.Context, ms []*Module) {
	for _, m := range ms {
		m.closeImages(ctx)
		_ = m.compiled.Close(ctx)
	}
}

// acquire counts a new instance of m, refusing a closed module.
func (e *Engine) acquire(m *Module) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m.closed {
		return fmt.Errorf("instantiate %s: %w", m.Hash(), ErrModuleClosed)
	}
	m.users++
	e.touchLocked(m)
	return nil
}

// release counts the end of an instance of m; a cache over its bound
// can then drop m.
func (e *Engine) release(ctx context.Context, m *Module) {
	e.mu.Lock()
	m.users--
	e.touchLocked(m)
	evicted := e.evictLocked()
	e.mu.Unlock()
	closeEvicted(ctx, evicted)
}

// meterOptions is the metering scheme of every engine. A module's start
// function, if it has one (Go and Rust reactors do not), runs during
// instantiation on the default start budget.
var meterOptions = meter.Options{Checks: meter.CheckEveryRun, InitialFuel: DefaultInitFuel}

// Compile checks wasm against the ABI, meters it (unless NoFuel) and
// compiles it, once per content: compiling the same bytes again returns the
// same Module while it is cached, and concurrent Compiles of the same bytes
// wait for one compilation (one caller's ctx ending does not stop it for
// the others). The key of both the in-memory and the on-disk cache covers
// the metering scheme's version. An invalid module is an *Error with
// ReasonInvalidModule.
func (e *Engine) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	sum := sha256.Sum256(wasm)
	scheme := meterOptions.Key()
	if e.cfg.NoFuel {
		scheme = "meter/" + meter.Version + "/globals" // ExportGlobals only
	}
	key := sha256.Sum256(append(sum[:], scheme...))
	if m := e.cached1(key); m != nil {
		return m, nil
	}
	m, _, err := e.compiling.Do(ctx, key, func(ctx context.Context) (*Module, error) {
		if m := e.cached1(key); m != nil { // a flight ended just before this one
			return m, nil
		}
		return e.compile(ctx, wasm, key, sum)
	})
	return m, err
}

// cached1 returns the cached module of key, recording the use, or nil.
func (e *Engine) cached1(key [32]byte) *Module {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.modules[key]
	if m != nil {
		e.touchLocked(m)
	}
	return m
}

// compile does Compile's work for a module not in the cache.
func (e *Engine) compile(ctx context.Context, wasm []byte, key, sum [32]byte) (*Module, error) {
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
	e.compilations.Add(1)
	compiled, err := e.rt.CompileModule(ctx, code)
	if err != nil {
		return nil, &Error{Reason: lifecycle.ReasonInvalidModule, Detail: err.Error(), Err: err}
	}
	m := &Module{engine: e, compiled: compiled, key: key, sum: sum, report: report, metered: !e.cfg.NoFuel,
		size: int64(len(code)), globals: globals}
	m.setImaging(code)
	e.mu.Lock()
	e.modules[key] = m
	e.cached += m.size
	e.touchLocked(m)
	// The new module is the most recently used: it goes last, unless the
	// others are all in use.
	evicted := e.evictLocked()
	e.mu.Unlock()
	closeEvicted(ctx, evicted)
	e.pruneCacheDir()
	return m, nil
}

// pruneCacheDir removes the oldest files of CacheDir until they fit in
// CodeCacheBytes. A running instance never reads them: they only spare a
// later process a compilation.
func (e *Engine) pruneCacheDir() {
	if e.cfg.CacheDir == "" || e.cfg.CodeCacheBytes < 0 {
		return
	}
	e.diskMu.Lock()
	defer e.diskMu.Unlock()
	type file struct {
		path string
		size int64
		mod  time.Time
	}
	var files []file
	var total int64
	_ = filepath.WalkDir(e.cfg.CacheDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			files = append(files, file{p, info.Size(), info.ModTime()})
			total += info.Size()
		}
		return nil
	})
	slices.SortFunc(files, func(a, b file) int { return a.mod.Compare(b.mod) })
	for _, f := range files[:max(len(files)-1, 0)] { // the newest stays
		if total <= e.cfg.CodeCacheBytes {
			break
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
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
