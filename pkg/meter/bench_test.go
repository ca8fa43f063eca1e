package meter_test

import (
	_ "embed"
	"math"
	"testing"

	"github.com/rcc-games/rcc/pkg/meter"
)

//go:embed testdata/physics.wasm
var physicsWasm []byte

// BenchmarkInstrument measures metering a Go-built WASI reactor.
func BenchmarkInstrument(b *testing.B) {
	wasm := goGuestWasm(b)
	b.SetBytes(int64(len(wasm)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := meter.Instrument(wasm, meter.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGuest runs 10 steps of a 1,000-body simulation, unmetered and
// metered in each mode, so that one run shows the overhead side by side.
func BenchmarkGuest(b *testing.B) {
	variants := []struct {
		name string
		wasm []byte
	}{
		{"unmetered", physicsWasm},
		{"metered", instrument(b, physicsWasm, meter.Options{Checks: meter.CheckEveryRun})},
		{"metered-loops", instrument(b, physicsWasm, meter.Options{Checks: meter.CheckLoops})},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			in := instantiate(b, v.wasm)
			metered := v.name != "unmetered"
			if metered {
				meter.SetFuel(in.mod, math.MaxInt64)
			}
			if _, err := in.plain("init"); err != nil {
				b.Fatal(err)
			}
			step := in.mod.ExportedFunction("step")
			for b.Loop() {
				if metered {
					meter.SetFuel(in.mod, math.MaxInt64)
				}
				if _, err := step.Call(in.ctx, 10); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGoGuest runs the physics export of the Go reactor.
func BenchmarkGoGuest(b *testing.B) {
	wasm := goGuestWasm(b)
	for _, v := range []struct {
		name string
		wasm []byte
	}{
		{"unmetered", wasm},
		{"metered", instrument(b, wasm, meter.Options{Checks: meter.CheckEveryRun})},
		{"metered-loops", instrument(b, wasm, meter.Options{Checks: meter.CheckLoops})},
	} {
		b.Run(v.name, func(b *testing.B) {
			in := reactor(b, v.wasm, v.name != "unmetered")
			fn := in.mod.ExportedFunction("physics")
			for b.Loop() {
				if v.name != "unmetered" {
					meter.SetFuel(in.mod, math.MaxInt64)
				}
				if _, err := fn.Call(in.ctx, 10); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
