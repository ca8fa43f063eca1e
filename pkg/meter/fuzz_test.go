package meter_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/rcc-games/rcc/pkg/meter"
)

func addCorpus(f *testing.F) {
	f.Add(loopsWasm)
	f.Add(controlWasm)
	f.Add(startWasm)
	f.Add(straightLine(10))
	f.Add(funcModule(0x12, 0x00, 0x0b))
	f.Add(genModule([]byte("seed")))
	f.Add(header)
	// Modules of the spec tests that exercise control flow and the larger
	// instruction sets, when wazero's copy is in the module cache.
	if dir, err := wazeroSpecDir(); err == nil {
		files, _ := filepath.Glob(filepath.Join(dir, "v2", "testdata", "*.0.wasm"))
		for _, file := range files {
			name := filepath.Base(file)
			for _, p := range []string{"simd_", "br", "block", "loop", "if", "call", "bulk", "ref_", "table", "memory_", "select", "unwind", "return"} {
				if strings.HasPrefix(name, p) {
					if wasm, err := os.ReadFile(file); err == nil {
						f.Add(wasm)
					}
					break
				}
			}
		}
	}
}

// FuzzInstrument feeds arbitrary bytes to Instrument: it must never panic,
// it must not refuse as unsupported a module wazero compiles, and its
// output must compile whenever the input does.
func FuzzInstrument(f *testing.F) {
	addCorpus(f)
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	f.Fuzz(func(t *testing.T, wasm []byte) {
		opts := meter.Options{}
		if len(wasm)%2 == 1 {
			opts.Checks = meter.CheckLoops
		}
		out, err := meter.Instrument(wasm, opts)
		if errors.Is(err, meter.ErrMalformed) {
			// Not handed to wazero: a forged vector length can make its
			// decoder allocate without bound.
			return
		}
		cin, cerr := rt.CompileModule(ctx, wasm)
		if cerr != nil {
			return
		}
		defer cin.Close(ctx)
		if err != nil {
			if errors.Is(err, meter.ErrExported) {
				return
			}
			t.Fatalf("wazero compiles the module but Instrument fails: %v", err)
		}
		cout, err := rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("instrumented module does not compile: %v", err)
		}
		cout.Close(ctx)
	})
}

// FuzzGenerated builds a random valid module from the fuzz input, and
// checks that its instrumented versions compile, compute the same results
// as the original (including traps), use the same fuel on every run, and
// trap exactly when given one unit of fuel less than they use.
func FuzzGenerated(f *testing.F) {
	for _, s := range []string{"", "seed", "\x06\x06\x03\x04\x05\x06\x07\x08\x09", "loops and branches \x08\x09\x0e\x0f\x10"} {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, src []byte) {
		wasm := genModule(src)
		// A cache per input: the shared one would keep every generated
		// module's machine code for the whole fuzzing run.
		cache := wazero.NewCompilationCache()
		t.Cleanup(func() { cache.Close(ctx) }) // after the runtimes using it
		instantiate := func(t testing.TB, wasm []byte) *instance { return instantiateIn(t, cache, wasm) }
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
		defer rt.Close(ctx)
		if _, err := rt.CompileModule(ctx, wasm); err != nil {
			dumpModule(t, wasm)
			t.Fatalf("generated module does not compile: %v", err)
		}
		args := []uint64{0, 1, 0xffffffff, 12345}
		plain := instantiate(t, wasm)
		for _, opts := range modes {
			metered := instrument(t, wasm, opts)
			in := instantiate(t, metered)
			again := instantiate(t, metered)
			for i, arg := range args {
				want, wantErr := plain.plain("run", arg)
				got, used, err := in.call(1<<40, "run", arg)
				if (err != nil) != (wantErr != nil) || !equal(got, want) {
					dumpModule(t, wasm)
					t.Fatalf("%v: run(%d) = %v, %v metered; %v, %v unmetered", opts.Checks, arg, got, err, want, wantErr)
				}
				if _, used2, _ := again.call(1<<40, "run", arg); used2 != used {
					dumpModule(t, wasm)
					t.Fatalf("%v: run(%d) used %d fuel, then %d", opts.Checks, arg, used, used2)
				}
				if opts.Checks != meter.CheckEveryRun || wantErr != nil {
					continue
				}
				// Replay the calls so far in fresh instances, the last one
				// with exactly the fuel it needs, then with one unit less.
				for _, budget := range []int64{used, used - 1} {
					fresh := instantiate(t, metered)
					for _, a := range args[:i] {
						fresh.call(1<<40, "run", a)
					}
					res, _, err := fresh.call(budget, "run", arg)
					if budget == used && (err != nil || !equal(res, want)) {
						dumpModule(t, wasm)
						t.Fatalf("run(%d) with budget %d, the fuel it uses: %v, %v", arg, budget, res, err)
					}
					if budget < used && err == nil {
						dumpModule(t, wasm)
						t.Fatalf("run(%d) with budget %d, one less than it uses: no trap", arg, budget)
					}
				}
			}
		}
	})
}

func dumpModule(t *testing.T, wasm []byte) {
	p := filepath.Join(t.TempDir(), "failing.wasm")
	if err := os.WriteFile(p, wasm, 0o644); err == nil {
		if dir := os.Getenv("METER_DUMP_DIR"); dir != "" {
			os.WriteFile(filepath.Join(dir, "failing.wasm"), wasm, 0o644)
		}
	}
}
