package meter_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/rcc-games/rcc/pkg/meter"
	"github.com/rcc-games/rcc/pkg/testenv"
)

var goGuest struct {
	once sync.Once
	wasm []byte
	err  error
	skip string
}

// goGuestWasm builds testdata/goguest as a WASI reactor with the Go
// toolchain, once per test binary.
func goGuestWasm(tb testing.TB) []byte {
	tb.Helper()
	goGuest.once.Do(func() {
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
			if _, err := os.Stat(gobin); err != nil {
				goGuest.skip = "the go command is not on PATH: cannot build testdata/goguest"
				return
			}
		}
		dir, err := os.MkdirTemp("", "meter-goguest")
		if err != nil {
			goGuest.err = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "guest.wasm")
		cmd := exec.Command(gobin, "build", "-buildmode=c-shared", "-o", out, "./testdata/goguest")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=", "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			goGuest.err = &buildError{err: err, out: string(msg)}
			return
		}
		goGuest.wasm, goGuest.err = os.ReadFile(out)
	})
	if goGuest.skip != "" {
		testenv.Unavailable(tb, "the go command", goGuest.skip)
	}
	if goGuest.err != nil {
		tb.Fatalf("build testdata/goguest: %v", goGuest.err)
	}
	return goGuest.wasm
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// reactor instantiates a WASI reactor and calls its _initialize, with
// plenty of fuel when the module is metered.
func reactor(t testing.TB, wasm []byte, metered bool) *instance {
	t.Helper()
	in := instantiate(t, wasm)
	if metered {
		if _, _, err := in.call(1<<50, "_initialize"); err != nil {
			t.Fatalf("_initialize: %v", err)
		}
		return in
	}
	if _, err := in.plain("_initialize"); err != nil {
		t.Fatalf("_initialize: %v", err)
	}
	return in
}

func TestGoReactorDifferential(t *testing.T) {
	wasm := goGuestWasm(t)
	calls := []struct {
		fn   string
		args []uint64
	}{
		{"fib", []uint64{20}},
		{"primes", []uint64{100000}},
		{"words", []uint64{500}},
		{"physics", []uint64{20}},
	}
	for _, opts := range modes {
		t.Run(opts.Checks.String(), func(t *testing.T) {
			// Instantiating compiles: wazero accepts all that Instrument
			// emits for a Go module.
			metered := instrument(t, wasm, opts)
			t.Logf("Go reactor: %d bytes, %d instrumented (+%.0f%%)", len(wasm), len(metered),
				100*float64(len(metered)-len(wasm))/float64(len(wasm)))
			plain := reactor(t, wasm, false)
			in := reactor(t, metered, true)
			again := reactor(t, metered, true)
			for _, c := range calls {
				want, err := plain.plain(c.fn, c.args...)
				if err != nil {
					t.Fatalf("unmetered %s: %v", c.fn, err)
				}
				got, used, err := in.call(1<<50, c.fn, c.args...)
				if err != nil {
					t.Fatalf("metered %s: %v", c.fn, err)
				}
				if !equal(got, want) {
					t.Errorf("%s%v = %v metered, %v unmetered", c.fn, c.args, got, want)
				}
				if _, used2, _ := again.call(1<<50, c.fn, c.args...); used2 != used {
					t.Errorf("%s%v used %d fuel, then %d in another instance", c.fn, c.args, used, used2)
				}
				t.Logf("%s%v: %d fuel", c.fn, c.args, used)
			}
			// A runaway export traps on fuel.
			_, _, err := in.call(1_000_000, "spin")
			if left, _ := meter.Fuel(in.mod); err == nil || left >= 0 {
				t.Errorf("spin: err = %v, fuel left %d; want a trap with negative fuel", err, left)
			}
		})
	}
}
