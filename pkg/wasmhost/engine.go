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
)

// Defaults of Config.
const (
	DefaultCallTimeout   = 250 * time.Millisecond
	DefaultInitTimeout   = 10 * time.Second
	DefaultMaxStateBytes = 1 << 20
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
	// NoWallClockGuard turns off the per-call wall-clock deadline. With the
	// guard on, wazero watches every call's context from a goroutine of its
	// own, which costs a few microseconds per call.
	NoWallClockGuard bool
	// MaxStateBytes is the largest state serialize_state may return
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
		WithMemoryLimitPages(cfg.MemoryLimitPages).
		WithCloseOnContextDone(!cfg.NoWallClockGuard)
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
	sum      [32]byte
	report   *Report
}

// Hash is the hex sha256 of the module's bytes.
func (m *Module) Hash() string { return hex.EncodeToString(m.sum[:]) }

// Report is the ABI report of the module.
func (m *Module) Report() *Report { return m.report }

// Close forgets the compiled module. Its running instances keep running.
func (m *Module) Close(ctx context.Context) error {
	m.engine.mu.Lock()
	delete(m.engine.modules, m.sum)
	m.engine.mu.Unlock()
	return m.compiled.Close(ctx)
}

// Compile checks wasm against the ABI and compiles it, once per content:
// compiling the same bytes again returns the same Module. An invalid module
// is an *Error with ReasonInvalidModule.
func (e *Engine) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	sum := sha256.Sum256(wasm)
	e.mu.Lock()
	m, ok := e.modules[sum]
	e.mu.Unlock()
	if ok {
		return m, nil
	}
	report := Check(wasm, e.cfg.MemoryLimitPages)
	if err := report.Err(); err != nil {
		return nil, err
	}
	compiled, err := e.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, &Error{Reason: ReasonInvalidModule, Detail: err.Error(), Err: err}
	}
	m = &Module{engine: e, compiled: compiled, sum: sum, report: report}
	e.mu.Lock()
	defer e.mu.Unlock()
	if prev, ok := e.modules[sum]; ok { // compiled concurrently
		_ = compiled.Close(ctx)
		return prev, nil
	}
	e.modules[sum] = m
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
