package wasmhost

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/rcc-games/rcc/pkg/lifecycle"
	"github.com/rcc-games/rcc/pkg/testenv"
)

func readModule(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sharedCache is a compilation cache directory that tests compiling the
// same large module (arena) share, so that under the race detector it is
// compiled once; TestMain removes it.
var sharedCache struct {
	once sync.Once
	dir  string
	err  error
}

func sharedCacheDir(t testing.TB) string {
	t.Helper()
	sharedCache.once.Do(func() { sharedCache.dir, sharedCache.err = os.MkdirTemp("", "wasmhost-test-cache-") })
	if sharedCache.err != nil {
		t.Fatal(sharedCache.err)
	}
	return sharedCache.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedCache.dir != "" {
		_ = os.RemoveAll(sharedCache.dir)
	}
	os.Exit(code)
}

func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	ctx := context.Background()
	e, err := NewEngine(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(ctx) })
	return e
}

func compile(t testing.TB, e *Engine, name string) *Module {
	t.Helper()
	m, err := e.Compile(context.Background(), readModule(t, name))
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return m
}

func instantiate(t testing.TB, m *Module, cfg InstanceConfig) *Instance {
	t.Helper()
	inst, err := m.Instantiate(context.Background(), cfg)
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	t.Cleanup(func() { _ = inst.Close(context.Background()) })
	return inst
}

func TestModulesMatchSources(t *testing.T) {
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		testenv.Unavailable(t, "wat2wasm", "install the Debian package wabt (make setup does)")
	}
	sources, _ := filepath.Glob("testdata/*.wat")
	if len(sources) == 0 {
		t.Fatal("no .wat sources in testdata")
	}
	dir := t.TempDir()
	for _, src := range sources {
		name := strings.TrimSuffix(filepath.Base(src), ".wat")
		out := filepath.Join(dir, name+".wasm")
		if b, err := exec.Command(wat2wasm, src, "-o", out).CombinedOutput(); err != nil {
			t.Fatalf("wat2wasm %s: %v\n%s", src, err, b)
		}
		built, _ := os.ReadFile(out)
		if !bytes.Equal(built, readModule(t, name)) {
			t.Errorf("testdata/%s.wasm is stale: rebuild it from %s (see testdata/README.md)", name, src)
		}
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		module string
		want   []string // problem code: a substring of its message
	}{
		{"recorder", nil},
		{"escape_fs", nil},
		{"not_wasm", []string{"malformed: not a valid WebAssembly module: missing the \\0asm magic header"}},
		{"bad_import", []string{
			"forbidden_import: import env.abort: only wasi_snapshot_preview1 may be imported",
			"forbidden_import: import wasi_snapshot_preview1.sock_open: not a wasi_snapshot_preview1 function the host provides",
		}},
		{"memory_too_big", []string{"memory_limit: memory declares a minimum of 2000 pages (125 MiB), over the limit of 1024 pages (64 MiB)"}},
		{"bad_exports", []string{
			"export_type: export alloc has type (i64) -> (i32), want (i32) -> (i32)",
			"missing_export: missing export tick (f32) -> ()",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			r := Check(readModule(t, tt.module), 0)
			var got []string
			for _, p := range r.Problems {
				got = append(got, p.Code+": "+p.Message)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems = %q, want %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
			if r.OK() != (len(tt.want) == 0) {
				t.Errorf("OK() = %v", r.OK())
			}
		})
	}
}

func TestCheckOptionalExports(t *testing.T) {
	r := Check(readModule(t, "recorder"), 0)
	if !r.Optional["on_join"] || !r.Optional["on_leave"] || r.Optional["_initialize"] {
		t.Errorf("optional exports = %v, want on_join and on_leave", r.Optional)
	}
	if r.MemoryMinPages != 2 {
		t.Errorf("memory min = %d, want 2", r.MemoryMinPages)
	}
}

func TestCompileRefusesInvalidModules(t *testing.T) {
	e := newEngine(t, Config{})
	for _, name := range []string{"not_wasm", "bad_import", "memory_too_big", "bad_exports"} {
		_, err := e.Compile(context.Background(), readModule(t, name))
		if ReasonOf(err) != lifecycle.ReasonInvalidModule {
			t.Errorf("%s: err = %v, want reason invalid_module", name, err)
		}
	}
}

func TestCompileOncePerContent(t *testing.T) {
	cache := t.TempDir()
	e := newEngine(t, Config{CacheDir: cache})
	a := compile(t, e, "recorder")
	b := compile(t, e, "recorder")
	if a != b {
		t.Error("compiling the same bytes twice gave two modules")
	}
	if a.Hash() != "" && len(a.Hash()) != 64 {
		t.Errorf("hash = %q", a.Hash())
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) == 0 {
		t.Error("compilation cache directory is empty after a compile")
	}
}

func TestFrameOrderAndConfig(t *testing.T) {
	e := newEngine(t, Config{})
	inst := instantiate(t, compile(t, e, "recorder"), InstanceConfig{
		InstanceID: "i-1", Game: "rec", Version: "v1", Seed: 7, MaxPlayers: 4, Params: json.RawMessage(`{"mode":"x"}`),
	})
	ctx := context.Background()
	state, err := inst.Frame(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The first frame's log starts with init's record of its config.
	if state[0] != 'N' || state[len(state)-1] != 'T' {
		t.Fatalf("first frame = %q, want N{config}T", state)
	}
	var cfg map[string]any
	if err := json.Unmarshal(state[1:len(state)-1], &cfg); err != nil {
		t.Fatalf("init config %q: %v", state[1:len(state)-1], err)
	}
	want := map[string]any{"instance_id": "i-1", "game": "rec", "version": "v1", "seed": 7.0,
		"max_players": 4.0, "tick_hz": 60.0, "params": map[string]any{"mode": "x"}}
	for k, v := range want {
		if got, _ := json.Marshal(cfg[k]); string(got) != mustJSON(v) {
			t.Errorf("config %s = %s, want %s", k, got, mustJSON(v))
		}
	}

	state, err = inst.Frame(ctx, []Event{
		{Kind: EventInput, Player: "alice", Data: []byte("1")},
		{Kind: EventJoin, Player: "bob"},
		{Kind: EventInput, Player: "carol", Data: []byte("2")},
		{Kind: EventLeave, Player: "dave"},
		{Kind: EventInput, Player: "erin"}, // empty input
	})
	if err != nil {
		t.Fatal(err)
	}
	const wantLog = "JbLdIa1Ic2Ie-T"
	if got := string(state); got != wantLog {
		t.Errorf("frame log = %q, want %q (joins and leaves, inputs in order, tick)", got, wantLog)
	}
	st := inst.Stats()
	if st.Frames != 2 || st.MemoryBytes != 2*PageSize || st.LastFrame <= 0 || st.StateBytes != uint64(len(wantLog)) {
		t.Errorf("stats = %+v", st)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestHostileModules runs each hostile module next to a healthy neighbour
// on the same engine and checks the exact reason it ends with, and that the
// neighbour keeps ticking meanwhile.
func TestHostileModules(t *testing.T) {
	e := newEngine(t, Config{InitFuel: 50_000_000})
	tests := []struct {
		module string
		reason lifecycle.Reason
		call   string
		detail string
		fuel   int64 // the frame budget, when not the default
	}{
		{"init_loop", lifecycle.ReasonFuelExhausted, "init", "spent its budget of 50000000 fuel", 0},
		{"tick_loop", lifecycle.ReasonFuelExhausted, "tick", "spent its budget of 20000000 fuel", 0},
		{"input_loop", lifecycle.ReasonFuelExhausted, "on_input", "spent its budget of 20000000 fuel", 0},
		{"memory_bomb", lifecycle.ReasonOutOfMemory, "tick", "memory.grow past the limit of 1024 pages failed at 1010 pages, then: unreachable", 0},
		{"out_of_bounds", lifecycle.ReasonTrap, "tick", "out of bounds memory access", 0},
		{"recursion", lifecycle.ReasonStackOverflow, "tick", "stack overflow", 1 << 40},
		{"recursion_loop", lifecycle.ReasonFuelExhausted, "tick", "spent its budget of 20000000 fuel", 0},
		{"bulk_loop", lifecycle.ReasonFuelExhausted, "tick", "spent its budget of 20000000 fuel", 0},
		{"bad_state_pointer", lifecycle.ReasonBadStateBuffer, "serialize_state", "outside linear memory", 0},
		{"state_overrun", lifecycle.ReasonBadStateBuffer, "serialize_state", "runs past linear memory", 0},
		{"huge_state", lifecycle.ReasonStateTooLarge, "serialize_state", "over the limit of 1048576", 0},
		{"bad_alloc", lifecycle.ReasonBadPointer, "alloc", "outside linear memory", 0},
		{"stdout_flood", lifecycle.ReasonLogFlood, "tick", "log output over the per-call limit", 0},
		{"proc_exit", lifecycle.ReasonExit, "tick", "exited with code 3", 0},
		{"init_fails", lifecycle.ReasonInitFailed, "init", "init returned 7", 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/fuel=%d", tt.module, tt.fuel), func(t *testing.T) {
			neighbour := instantiate(t, compile(t, e, "recorder"), InstanceConfig{Game: "neighbour"})
			stop := make(chan struct{})
			var frames atomic.Int64
			var neighbourErr atomic.Pointer[error]
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := neighbour.Frame(context.Background(), nil); err != nil {
						neighbourErr.Store(&err)
						return
					}
					frames.Add(1)
				}
			}()

			waitFrames(t, &frames, 1, &neighbourErr)
			start := time.Now()
			err := runHostile(t, e, tt.module, tt.fuel)
			t.Logf("%s ended in %v", tt.module, time.Since(start))
			waitFrames(t, &frames, frames.Load()+3, &neighbourErr)
			close(stop)
			wg.Wait()

			var he *Error
			if !errorAs(err, &he) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if he.Reason != tt.reason || he.Call != tt.call || !strings.Contains(he.Detail, tt.detail) {
				t.Errorf("err = %q (reason %s, call %s), want reason %s in %s with %q", err, he.Reason, he.Call, tt.reason, tt.call, tt.detail)
			}
			if err := neighbourErr.Load(); err != nil {
				t.Errorf("neighbour failed after %d frames: %v", frames.Load(), *err)
			}
		})
	}
}

// waitFrames waits until *frames reaches n.
func waitFrames(t *testing.T, frames *atomic.Int64, n int64, failed *atomic.Pointer[error]) {
	t.Helper()
	testenv.WaitFor(t, fmt.Sprintf("the neighbour to reach %d frames", n), 5*time.Second, func() bool {
		if err := failed.Load(); err != nil {
			t.Fatalf("neighbour failed at frame %d: %v", frames.Load(), *err)
		}
		return frames.Load() >= n
	})
}

// runHostile instantiates module and runs frames with one player's input
// until it fails, or returns nil after 10 healthy frames.
func runHostile(t *testing.T, e *Engine, module string, frameFuel int64) error {
	ctx := context.Background()
	m := compile(t, e, module)
	inst, err := m.Instantiate(ctx, InstanceConfig{Game: module, FrameFuel: frameFuel})
	if err != nil {
		return err
	}
	defer inst.Close(ctx)
	for range 10 {
		if _, err := inst.Frame(ctx, []Event{{Kind: EventInput, Player: "p", Data: []byte{1}}}); err != nil {
			if again, _ := inst.Frame(ctx, nil); again == nil && inst.Err() != err {
				t.Errorf("a failed instance ran again or changed its error: %v", inst.Err())
			}
			return err
		}
	}
	return nil
}

// TestWallClockGuard checks the deadline backstop on its own, with fuel off.
func TestWallClockGuard(t *testing.T) {
	e := newEngine(t, Config{NoFuel: true, WallClockGuard: true, CallTimeout: 50 * time.Millisecond, InitTimeout: 100 * time.Millisecond})
	for module, call := range map[string]string{"init_loop": "init", "tick_loop": "tick", "input_loop": "on_input"} {
		err := runHostile(t, e, module, 0)
		var he *Error
		if !errorAs(err, &he) || he.Reason != lifecycle.ReasonDeadlineExceeded || he.Call != call {
			t.Errorf("%s: err = %v, want deadline_exceeded in %s", module, err, call)
		}
	}
}

// TestFuelIsDeterministic runs the same frames twice and compares the fuel
// each used.
func TestFuelIsDeterministic(t *testing.T) {
	e := newEngine(t, Config{})
	m := compile(t, e, "recorder")
	run := func() []int64 {
		inst := instantiate(t, m, InstanceConfig{Game: "x", Seed: 3})
		used := []int64{inst.Stats().FuelUsed}
		for f := range 20 {
			events := []Event{{Kind: EventInput, Player: "p", Data: []byte{byte(f)}}}
			if f%5 == 0 {
				events = append(events, Event{Kind: EventJoin, Player: "q"})
			}
			if _, err := inst.Frame(context.Background(), events); err != nil {
				t.Fatal(err)
			}
			used = append(used, inst.Stats().FuelUsed)
		}
		return used
	}
	a, b := run(), run()
	if !slices.Equal(a, b) {
		t.Errorf("fuel per frame differs between runs:\n%v\n%v", a, b)
	}
	if a[0] <= 0 || a[1] <= 0 {
		t.Errorf("fuel used = %v, want positive", a)
	}
}

// TestFuelBudget gives a frame just its need, then one less.
func TestFuelBudget(t *testing.T) {
	e := newEngine(t, Config{})
	m := compile(t, e, "recorder")
	probe := instantiate(t, m, InstanceConfig{Game: "x"})
	if _, err := probe.Frame(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// The first frame also returns init's record; the second is steady.
	if _, err := probe.Frame(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	need := probe.Stats().FuelUsed
	for _, tt := range []struct {
		budget int64
		ok     bool
	}{{need, true}, {need - 1, false}} {
		inst := instantiate(t, m, InstanceConfig{Game: "x", FrameFuel: tt.budget})
		inst.frameFuel = need * 100 // the first frame copies init's record
		if _, err := inst.Frame(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		inst.frameFuel = tt.budget
		_, err := inst.Frame(context.Background(), nil)
		if (err == nil) != tt.ok || (!tt.ok && ReasonOf(err) != lifecycle.ReasonFuelExhausted) {
			t.Errorf("budget %d (need %d): err = %v", tt.budget, need, err)
		}
	}
}

func TestSandboxFilesystem(t *testing.T) {
	e := newEngine(t, Config{})
	m := compile(t, e, "escape_fs")
	assets := fstest.MapFS{"hello.txt": {Data: []byte("hello world\n")}}

	inst := instantiate(t, m, InstanceConfig{Game: "fs", Assets: assets})
	state, err := inst.Frame(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// E, open hello.txt, fd_read, "hello", ../etc/passwd, /etc/passwd, create new.txt, fd 4.
	if len(state) != 13 || state[0] != 'E' {
		t.Fatalf("state = %v", state)
	}
	if state[1] != 0 || state[2] != 0 || string(state[3:8]) != "hello" {
		t.Errorf("reading /assets/hello.txt: open errno %d, read errno %d, bytes %q", state[1], state[2], state[3:8])
	}
	for i, what := range []string{"../etc/passwd", "/etc/passwd", "creating new.txt in /assets", "fd 4 (hello.txt, not a directory)"} {
		if errno := state[8+i]; errno == 0 {
			t.Errorf("%s succeeded, want an errno", what)
		}
	}

	// Without assets there is no directory at all.
	bare := instantiate(t, m, InstanceConfig{Game: "fs"})
	state, err = bare.Frame(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	const ebadf = 8
	if state[1] != ebadf {
		t.Errorf("opening in fd 3 with no assets: errno %d, want EBADF (8)", state[1])
	}
}

func TestLogRateLimit(t *testing.T) {
	run := func() (kept, dropped uint64, lines []string) {
		e := newEngine(t, Config{})
		var mu sync.Mutex
		inst := instantiate(t, compile(t, e, "chatty"), InstanceConfig{Game: "chatty", Log: func(s Stream, line string) {
			mu.Lock()
			lines = append(lines, string(s)+":"+line)
			mu.Unlock()
		}})
		for range 120 { // two seconds of virtual time, ten lines a frame
			if _, err := inst.Frame(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
		}
		st := inst.Stats()
		return st.LogLines, st.DroppedLogLines, lines
	}
	kept, dropped, lines := run()
	if kept+dropped != 1200 {
		t.Errorf("kept %d + dropped %d, want 1200 lines in all", kept, dropped)
	}
	// A burst of 100, then 50 lines per second of virtual time.
	if kept < 195 || kept > 201 || uint64(len(lines)) != kept {
		t.Errorf("kept %d lines (%d delivered), want about 200", kept, len(lines))
	}
	if lines[0] != "stdout:tick" {
		t.Errorf("first line = %q", lines[0])
	}
	kept2, dropped2, _ := run()
	if kept2 != kept || dropped2 != dropped {
		t.Errorf("second run kept %d dropped %d, first %d %d: want the same", kept2, dropped2, kept, dropped)
	}
}

// TestLogLastWords: a line the guest leaves without a newline when it
// fails still reaches the log.
func TestLogLastWords(t *testing.T) {
	e := newEngine(t, Config{})
	var lines []string
	inst := instantiate(t, compile(t, e, "last_words"), InstanceConfig{Game: "last_words", Log: func(s Stream, line string) {
		lines = append(lines, string(s)+":"+line)
	}})
	_, err := inst.Frame(context.Background(), nil)
	if ReasonOf(err) != lifecycle.ReasonTrap {
		t.Fatalf("err = %v, want a trap", err)
	}
	if strings.Join(lines, "|") != "stderr:assertion failed: hp >= 0" {
		t.Errorf("lines = %q, want the unterminated stderr line", lines)
	}
}

func TestInstanceMemoryLimit(t *testing.T) {
	e := newEngine(t, Config{})
	_, err := compile(t, e, "recorder").Instantiate(context.Background(), InstanceConfig{Game: "small", MemoryLimitPages: 1})
	if ReasonOf(err) != lifecycle.ReasonOutOfMemory || !strings.Contains(err.Error(), "starts with 2 pages of memory, over the instance's limit of 1") {
		t.Errorf("err = %v, want out_of_memory for 2 pages against a limit of 1", err)
	}

	// The bomb grows 16 pages at a time: from 2 pages, the first grow
	// already passes a limit of 4.
	inst := instantiate(t, compile(t, e, "memory_bomb"), InstanceConfig{Game: "bomb", MemoryLimitPages: 4})
	_, err = inst.Frame(context.Background(), nil)
	if ReasonOf(err) != lifecycle.ReasonOutOfMemory || !strings.Contains(err.Error(), "past the limit of 4 pages failed at 2 pages") {
		t.Errorf("err = %v, want out_of_memory within the limit of 4 pages", err)
	}
	if got := inst.MemoryBytes(); got != 2*PageSize {
		t.Errorf("memory = %d bytes, want the 2 pages it started with", got)
	}
}

func TestClosedInstance(t *testing.T) {
	e := newEngine(t, Config{})
	inst, err := compile(t, e, "recorder").Instantiate(context.Background(), InstanceConfig{Game: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := inst.Frame(context.Background(), nil); ReasonOf(err) != lifecycle.ReasonClosed {
		t.Errorf("frame after close: %v, want reason closed", err)
	}
}

func errorAs(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}
