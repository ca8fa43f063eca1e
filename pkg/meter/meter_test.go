package meter_test

import (
	"context"
	_ "embed"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/rcc-games/rcc/pkg/meter"
)

var (
	//go:embed testdata/loops.wasm
	loopsWasm []byte
	//go:embed testdata/control.wasm
	controlWasm []byte
	//go:embed testdata/start.wasm
	startWasm []byte
)

// instance is one module instantiated in its own runtime.
type instance struct {
	t   testing.TB
	ctx context.Context
	mod api.Module
}

// compiled is shared by the tests' runtimes, so that each distinct module
// is compiled once per test binary (the Go reactor takes long to compile,
// the more so under the race detector).
var compiled = wazero.NewCompilationCache()

func newRuntime(ctx context.Context) wazero.Runtime {
	return wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(compiled))
}

func instantiate(t testing.TB, wasm []byte) *instance {
	t.Helper()
	return instantiateIn(t, compiled, wasm)
}

// instantiateIn instantiates wasm in a new runtime using cache.
func instantiateIn(t testing.TB, cache wazero.CompilationCache, wasm []byte) *instance {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
	t.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	return &instance{t: t, ctx: ctx, mod: mod}
}

func instrument(t testing.TB, wasm []byte, opts meter.Options) []byte {
	t.Helper()
	out, err := meter.Instrument(wasm, opts)
	if err != nil {
		t.Fatalf("Instrument: %v", err)
	}
	return out
}

// call calls an export with a fuel budget and returns its results, the fuel
// it used and its error.
func (in *instance) call(budget int64, name string, args ...uint64) ([]uint64, int64, error) {
	in.t.Helper()
	if err := meter.SetFuel(in.mod, budget); err != nil {
		in.t.Fatal(err)
	}
	fn := in.mod.ExportedFunction(name)
	if fn == nil {
		in.t.Fatalf("no export %q", name)
	}
	res, err := fn.Call(in.ctx, args...)
	left, ferr := meter.Fuel(in.mod)
	if ferr != nil {
		in.t.Fatal(ferr)
	}
	return res, budget - left, err
}

func (in *instance) plain(name string, args ...uint64) ([]uint64, error) {
	in.t.Helper()
	fn := in.mod.ExportedFunction(name)
	if fn == nil {
		in.t.Fatalf("no export %q", name)
	}
	return fn.Call(in.ctx, args...)
}

var modes = []meter.Options{{Checks: meter.CheckEveryRun}, {Checks: meter.CheckLoops}}

func TestCountLoopFuelIsLinear(t *testing.T) {
	for _, opts := range modes {
		t.Run(opts.Checks.String(), func(t *testing.T) {
			plain := instantiate(t, loopsWasm)
			in := instantiate(t, instrument(t, loopsWasm, opts))
			for _, n := range []uint64{0, 1, 10, 1000, 100000} {
				res, used, err := in.call(1<<40, "count", n)
				if err != nil {
					t.Fatalf("count(%d): %v", n, err)
				}
				want, err := plain.plain("count", n)
				if err != nil {
					t.Fatal(err)
				}
				if res[0] != want[0] {
					t.Errorf("count(%d) = %d metered, %d unmetered", n, res[0], want[0])
				}
				// block, loop and end are free: the header run costs 4
				// per test (n+1 tests), the body run 5 per iteration and
				// the exit run 1 (local.get).
				if wantUsed := int64(9*n + 5); used != wantUsed {
					t.Errorf("count(%d) used %d fuel, want %d", n, used, wantUsed)
				}
			}
		})
	}
}

func TestRunawayGuestsTrap(t *testing.T) {
	tests := []struct {
		name string
		wasm []byte
		fn   string
		args []uint64
	}{
		{"infinite loop", loopsWasm, "spin", nil},
		{"calls in an infinite loop", loopsWasm, "spin_calls", nil},
		{"long straight line", straightLine(100000), "run", nil},
		{"bulk memory in a loop", loopsWasm, "fill_loop", nil},
	}
	for _, opts := range modes {
		for _, tt := range tests {
			t.Run(opts.Checks.String()+"/"+tt.name, func(t *testing.T) {
				in := instantiate(t, instrument(t, tt.wasm, opts))
				const budget = 5000
				_, used, err := in.call(budget, tt.fn, tt.args...)
				if err == nil {
					t.Fatal("call returned, want a trap")
				}
				if !strings.Contains(err.Error(), "unreachable") {
					t.Errorf("err = %v, want an unreachable trap", err)
				}
				if used <= budget {
					t.Errorf("fuel left %d, want negative", budget-used)
				}
			})
		}
	}
}

func TestBulkMemoryChargesLength(t *testing.T) {
	in := instantiate(t, instrument(t, loopsWasm, meter.Options{}))
	for _, n := range []uint64{0, 15, 16, 1000, 65536} {
		_, used, err := in.call(1<<40, "fill", n)
		if err != nil {
			t.Fatal(err)
		}
		// i32.const, i32.const, local.get, memory.fill, plus one unit per
		// 16 bytes.
		if want := int64(4 + n/16); used != want {
			t.Errorf("fill(%d) used %d fuel, want %d", n, used, want)
		}
	}
	// Not enough fuel: the trap comes before any byte is written.
	if _, _, err := in.call(1000, "fill", 100000); err == nil {
		t.Fatal("fill(100000) with 1000 fuel did not trap")
	}
	mem, _ := in.mod.Memory().Read(0, 100000)
	for i, b := range mem {
		if b == 7 && i >= 65536 {
			t.Fatalf("byte %d written by a fill that ran out of fuel", i)
		}
	}
}

func TestExactBudget(t *testing.T) {
	tests := []struct {
		wasm []byte
		fn   string
		args []uint64
	}{
		{loopsWasm, "count", []uint64{1000}},
		{loopsWasm, "recurse", []uint64{50}},
		{controlWasm, "collatz", []uint64{27}},
		{controlWasm, "switch", []uint64{2}},
		{straightLine(1000), "run", nil},
	}
	for _, tt := range tests {
		t.Run(tt.fn, func(t *testing.T) {
			in := instantiate(t, instrument(t, tt.wasm, meter.Options{}))
			want, used, err := in.call(math.MaxInt64, tt.fn, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			res, used2, err := in.call(used, tt.fn, tt.args...)
			if err != nil {
				t.Fatalf("with budget %d = the fuel it uses: %v", used, err)
			}
			if used2 != used || !equal(res, want) {
				t.Errorf("with budget %d: used %d, results %v; want %d, %v", used, used2, res, used, want)
			}
			if _, _, err := in.call(used-1, tt.fn, tt.args...); err == nil {
				t.Errorf("with budget %d (one less than it uses): no trap", used-1)
			}
			if left, _ := meter.Fuel(in.mod); left >= 0 {
				t.Errorf("after exhaustion fuel = %d, want negative", left)
			}
		})
	}
}

func TestDifferentialControl(t *testing.T) {
	calls := []struct {
		fn   string
		args []uint64
	}{
		{"switch", []uint64{0}}, {"switch", []uint64{1}}, {"switch", []uint64{2}},
		{"switch", []uint64{3}}, {"switch", []uint64{99}},
		{"classify", []uint64{uint64(math.MaxUint32)}}, {"classify", []uint64{0}},
		{"classify", []uint64{7}}, {"classify", []uint64{8}},
		{"multi", []uint64{5}}, {"loopval", []uint64{10}}, {"loopval", []uint64{0}},
		{"indirect", []uint64{0, 9}}, {"indirect", []uint64{1, 9}},
		{"indirect", []uint64{2, 9}}, {"indirect", []uint64{3, 9}},
		{"numeric", []uint64{0xff}}, {"numeric", []uint64{0x80000001}},
		{"bulk", []uint64{0xab}}, {"refs", []uint64{1}}, {"refs", []uint64{2}},
		{"simd", []uint64{3}}, {"collatz", []uint64{27}}, {"collatz", []uint64{1}},
		{"early", []uint64{1}}, {"early", []uint64{2}}, {"early", []uint64{3}},
		{"indirect", []uint64{9, 9}}, // traps: index out of table bounds
	}
	for _, opts := range modes {
		t.Run(opts.Checks.String(), func(t *testing.T) {
			plain := instantiate(t, controlWasm)
			in := instantiate(t, instrument(t, controlWasm, opts))
			again := instantiate(t, instrument(t, controlWasm, opts))
			for _, c := range calls {
				want, wantErr := plain.plain(c.fn, c.args...)
				if wantTrap := c.fn == "indirect" && c.args[0] == 9; (wantErr != nil) != wantTrap {
					t.Fatalf("unmetered %s%v: err = %v", c.fn, c.args, wantErr)
				}
				got, used, err := in.call(1<<40, c.fn, c.args...)
				if (err != nil) != (wantErr != nil) || !equal(got, want) {
					t.Errorf("%s%v = %v, %v metered; %v, %v unmetered", c.fn, c.args, got, err, want, wantErr)
				}
				if left, _ := meter.Fuel(in.mod); err != nil && left < 0 {
					t.Errorf("%s%v trapped for its own reason, but fuel is negative (%d)", c.fn, c.args, left)
				}
				if used <= 0 {
					t.Errorf("%s%v used %d fuel", c.fn, c.args, used)
				}
				if _, used2, _ := again.call(1<<40, c.fn, c.args...); used2 != used {
					t.Errorf("%s%v used %d fuel, then %d in another instance", c.fn, c.args, used, used2)
				}
			}
		})
	}
}

func TestDeterministicFuel(t *testing.T) {
	wasm := instrument(t, controlWasm, meter.Options{})
	if again := instrument(t, controlWasm, meter.Options{}); string(again) != string(wasm) {
		t.Fatal("Instrument output differs between two runs")
	}
	var first int64
	for i := range 5 {
		in := instantiate(t, wasm)
		_, used, err := in.call(1<<40, "collatz", 97)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = used
		} else if used != first {
			t.Fatalf("run %d used %d fuel, run 0 used %d", i, used, first)
		}
		// Same call, same instance, same cost.
		if _, used2, _ := in.call(1<<40, "collatz", 97); used2 != used {
			t.Fatalf("second call used %d fuel, first %d", used2, used)
		}
	}
}

func TestStartFunctionUsesInitialFuel(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		fuel    int64
		wantErr bool
	}{{0, true}, {100, true}, {10000, false}} {
		rt := wazero.NewRuntime(ctx)
		_, err := rt.Instantiate(ctx, instrument(t, startWasm, meter.Options{InitialFuel: tc.fuel}))
		if (err != nil) != tc.wantErr {
			t.Errorf("InitialFuel %d: instantiate err = %v, want error %v", tc.fuel, err, tc.wantErr)
		}
		rt.Close(ctx)
	}
}

func TestKeepsModuleStructure(t *testing.T) {
	out := instrument(t, controlWasm, meter.Options{})
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	before, err := rt.CompileModule(ctx, controlWasm)
	if err != nil {
		t.Fatal(err)
	}
	after, err := rt.CompileModule(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	bf, af := before.ExportedFunctions(), after.ExportedFunctions()
	if len(bf) != len(af) {
		t.Fatalf("exported functions: %d before, %d after", len(bf), len(af))
	}
	for name, d := range bf {
		a, ok := af[name]
		if !ok || a.Index() != d.Index() || !equalTypes(a.ParamTypes(), d.ParamTypes()) || !equalTypes(a.ResultTypes(), d.ResultTypes()) {
			t.Errorf("export %s changed", name)
		}
	}
	if _, ok := after.ExportedMemories()["memory"]; !ok {
		t.Error("memory export lost")
	}
}

func TestRefusesUnsupported(t *testing.T) {
	tests := []struct {
		name string
		wasm []byte
		want string
		err  error
	}{
		{"return_call", funcModule(0x0b-0x0b+0x12, 0x00, 0x0b), "return_call (0x12, tail calls) at offset", meter.ErrUnsupported},
		{"try_table", funcModule(0x1f, 0x40, 0x00, 0x0b, 0x0b), "try_table", meter.ErrUnsupported},
		{"throw", funcModule(0x08, 0x00, 0x0b), "throw", meter.ErrUnsupported},
		{"atomics", funcModule(0xfe, 0x03, 0x00, 0x0b), "threads", meter.ErrUnsupported},
		{"relaxed simd", funcModule(0xfd, 0x80, 0x02, 0x0b), "relaxed SIMD", meter.ErrUnsupported},
		{"unknown opcode", funcModule(0xff, 0x0b), "0xff (unknown opcode)", meter.ErrUnsupported},
		{"unknown misc", funcModule(0xfc, 0x20, 0x0b), "0xfc 32", meter.ErrUnsupported},
		{"bad magic", []byte("\x00wasm\x01\x00\x00\x00"), "bad magic", meter.ErrMalformed},
		{"truncated", funcModule(0x41), "", meter.ErrMalformed},
		{"tag section", append(append([]byte{}, header...), 13, 1, 0), "exception handling", meter.ErrUnsupported},
		{"already exported", mustInstrument(t, controlWasm), "", meter.ErrExported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := meter.Instrument(tt.wasm, meter.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %v containing %q", err, tt.err, tt.want)
			}
			var me *meter.Error
			if !errors.As(err, &me) {
				t.Errorf("err is %T, want *meter.Error", err)
			}
		})
	}
}

func TestUnsupportedOffset(t *testing.T) {
	wasm := funcModule(0x01, 0x12, 0x00, 0x0b) // nop; return_call 0
	_, err := meter.Instrument(wasm, meter.Options{})
	var me *meter.Error
	if !errors.As(err, &me) {
		t.Fatalf("err = %v", err)
	}
	if wasm[me.Offset] != 0x12 {
		t.Errorf("offset %#x points at %#x, want the return_call opcode", me.Offset, wasm[me.Offset])
	}
}

func mustInstrument(t *testing.T, wasm []byte) []byte { return instrument(t, wasm, meter.Options{}) }

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalTypes(a, b []api.ValueType) bool {
	return string(a) == string(b)
}

func TestOptions(t *testing.T) {
	keys := map[string]bool{}
	for _, o := range []meter.Options{{}, {Checks: meter.CheckLoops}, {InitialFuel: 5}, {Checks: meter.CheckLoops, InitialFuel: 5}} {
		k := o.Key()
		if !strings.Contains(k, meter.Version) || keys[k] {
			t.Errorf("Key() = %q: want unique keys that contain the version", k)
		}
		keys[k] = true
	}
	for _, o := range []meter.Options{{Checks: 7}, {InitialFuel: -1}} {
		if _, err := meter.Instrument(loopsWasm, o); err == nil {
			t.Errorf("Instrument accepted %+v", o)
		}
	}
}

func TestHostHelpers(t *testing.T) {
	plain := instantiate(t, loopsWasm)
	if err := meter.SetFuel(plain.mod, 10); !errors.Is(err, meter.ErrNotInstrumented) {
		t.Errorf("SetFuel on an unmetered module: %v", err)
	}
	if _, err := meter.Fuel(plain.mod); !errors.Is(err, meter.ErrNotInstrumented) {
		t.Errorf("Fuel on an unmetered module: %v", err)
	}
	in := instantiate(t, instrument(t, loopsWasm, meter.Options{InitialFuel: 42}))
	if f, err := meter.Fuel(in.mod); err != nil || f != 42 {
		t.Errorf("initial fuel = %d, %v; want 42", f, err)
	}
	if err := meter.SetFuel(in.mod, -1); err == nil {
		t.Error("SetFuel accepted a negative budget")
	}
	if err := meter.SetFuel(in.mod, math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	if f, _ := meter.Fuel(in.mod); f != math.MaxInt64 {
		t.Errorf("fuel = %d after SetFuel(MaxInt64)", f)
	}
}
