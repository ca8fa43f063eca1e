package meter_test

import (
	"flag"
	"math"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/meter"
)

var overhead = flag.Bool("meter.overhead", false, "run TestOverhead, which measures the cost of metering")

// TestOverhead measures the slowdown of metered guests, calling the
// unmetered and metered instances in turn and keeping each one's fastest
// call, which holds up better than benchmark averages on a shared machine:
//
//	go test -run TestOverhead -meter.overhead -v ./pkg/meter
func TestOverhead(t *testing.T) {
	if !*overhead {
		t.Skip("measurement: run with -meter.overhead")
	}
	goWasm := goGuestWasm(t)
	guests := []struct {
		name, init, fn string
		wasm           []byte
		arg            uint64
	}{
		{"wat physics, 10 steps of 1,000 bodies", "init", "step", physicsWasm, 10},
		{"go physics, 10 steps of 1,000 bodies", "_initialize", "physics", goWasm, 10},
		{"go fib(18), calls", "_initialize", "fib", goWasm, 18},
		{"go primes(20000), slices", "_initialize", "primes", goWasm, 20000},
		{"go words(100), fmt, maps, sort", "_initialize", "words", goWasm, 100},
	}
	for _, g := range guests {
		wasms := [][]byte{
			g.wasm,
			instrument(t, g.wasm, meter.Options{Checks: meter.CheckEveryRun}),
			instrument(t, g.wasm, meter.Options{Checks: meter.CheckLoops}),
		}
		var ins []*instance
		for i, w := range wasms {
			in := instantiate(t, w)
			if i > 0 {
				meter.SetFuel(in.mod, math.MaxInt64)
			}
			if _, err := in.plain(g.init); err != nil {
				t.Fatal(err)
			}
			ins = append(ins, in)
		}
		best := []time.Duration{math.MaxInt64, math.MaxInt64, math.MaxInt64}
		for range 300 {
			for i, in := range ins {
				if i > 0 {
					meter.SetFuel(in.mod, math.MaxInt64)
				}
				fn := in.mod.ExportedFunction(g.fn)
				start := time.Now()
				if _, err := fn.Call(in.ctx, g.arg); err != nil {
					t.Fatal(err)
				}
				best[i] = min(best[i], time.Since(start))
			}
		}
		pct := func(d time.Duration) float64 { return 100 * (float64(d)/float64(best[0]) - 1) }
		t.Logf("%-40s unmetered %9v  every-run %9v (%+5.1f%%)  loops %9v (%+5.1f%%)",
			g.name, best[0], best[1], pct(best[1]), best[2], pct(best[2]))
	}
}
