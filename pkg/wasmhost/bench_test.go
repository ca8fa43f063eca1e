package wasmhost

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
)

// arenaBytes is the arena game's module.
func arenaBytes(b testing.TB) []byte { return gamebuildtest.Arena(b) }

// guards runs f under each way of bounding a call: nothing (the floor),
// fuel (the default), the wall-clock guard, and both.
func guards(b *testing.B, f func(b *testing.B, cfg Config)) {
	b.Run("bound=none", func(b *testing.B) { f(b, Config{NoFuel: true}) })
	b.Run("bound=fuel", func(b *testing.B) { f(b, Config{}) })
	b.Run("bound=deadline", func(b *testing.B) { f(b, Config{NoFuel: true, WallClockGuard: true}) })
	b.Run("bound=fuel+deadline", func(b *testing.B) { f(b, Config{WallClockGuard: true}) })
}

// reportP50 adds the median of samples as a metric.
func reportP50(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
}

// BenchmarkInstantiate measures an instance's start from a compiled module:
// instantiation, _initialize and init.
func BenchmarkInstantiate(b *testing.B) {
	modules := map[string]func(testing.TB) []byte{
		"module=small": func(tb testing.TB) []byte { return readModule(tb, "recorder") },
		"module=arena": arenaBytes,
	}
	for _, name := range []string{"module=small", "module=arena"} {
		b.Run(name, func(b *testing.B) {
			e := newEngine(b, Config{})
			m, err := e.Compile(context.Background(), modules[name](b))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			samples := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				inst, err := m.Instantiate(ctx, InstanceConfig{Game: "bench"})
				samples = append(samples, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				inst.Close(ctx)
				b.StartTimer()
			}
			reportP50(b, samples)
		})
	}
}

const liveInstances = 1000

// BenchmarkFrame1000 runs one frame (tick + serialize_state, no events) per
// op, round-robin over 1,000 live instances of the small module.
func BenchmarkFrame1000(b *testing.B) {
	guards(b, func(b *testing.B, cfg Config) {
		e := newEngine(b, cfg)
		m := compile(b, e, "recorder")
		ctx := context.Background()
		insts := make([]*Instance, liveInstances)
		for i := range insts {
			insts[i] = instantiate(b, m, InstanceConfig{Game: "bench"})
		}
		b.ReportAllocs()
		b.ResetTimer()
		for n := range b.N {
			if _, err := insts[n%liveInstances].Frame(ctx, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRawFrame1000 is the guest's own work in BenchmarkFrame1000: the
// same two exports called straight through wazero, with nothing around
// them. BenchmarkFrame1000 minus this is the host's overhead per frame.
func BenchmarkRawFrame1000(b *testing.B) {
	guards(b, func(b *testing.B, cfg Config) {
		e := newEngine(b, cfg)
		m := compile(b, e, "recorder")
		ctx := context.Background()
		type raw struct{ tick, serialize api.Function }
		fns := make([]raw, liveInstances)
		for i := range fns {
			inst := instantiate(b, m, InstanceConfig{Game: "bench"})
			fns[i] = raw{inst.tick, inst.serialize}
		}
		var stack [1]uint64
		b.ReportAllocs()
		b.ResetTimer()
		for n := range b.N {
			f := fns[n%liveInstances]
			stack[0] = 0
			if err := f.tick.CallWithStack(ctx, stack[:]); err != nil {
				b.Fatal(err)
			}
			if err := f.serialize.CallWithStack(ctx, stack[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEmptyCall is the floor: one call of an export that does nothing.
func BenchmarkEmptyCall(b *testing.B) {
	guards(b, func(b *testing.B, cfg Config) {
		e := newEngine(b, cfg)
		inst := instantiate(b, compile(b, e, "empty_export"), InstanceConfig{Game: "bench"})
		nop := inst.mod.ExportedFunction("nop")
		ctx := context.Background()
		var stack [1]uint64
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if err := nop.CallWithStack(ctx, stack[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkArenaFrame is one arena frame, tick + serialize_state, with each
// player sending one input, metered and not.
func BenchmarkArenaFrame(b *testing.B) {
	for _, players := range []int{0, 16} {
		b.Run(fmt.Sprintf("players=%d", players), func(b *testing.B) {
			b.Run("bound=none", func(b *testing.B) { arenaFrames(b, Config{NoFuel: true}, players) })
			b.Run("bound=fuel", func(b *testing.B) { arenaFrames(b, Config{}, players) })
		})
	}
}

func arenaFrames(b *testing.B, cfg Config, players int) {
	e := newEngine(b, cfg)
	m, err := e.Compile(context.Background(), arenaBytes(b))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	inst := instantiate(b, m, InstanceConfig{Game: "arena", Seed: 1, MaxPlayers: 16})
	var joins, inputs []Event
	for p := range players {
		id := string(rune('a' + p))
		joins = append(joins, Event{Kind: EventJoin, Player: id})
		inputs = append(inputs, Event{Kind: EventInput, Player: id, Data: []byte{100, 0x9c, byte(p % 2)}})
	}
	if _, err := inst.Frame(ctx, joins); err != nil {
		b.Fatal(err)
	}
	var size int
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		state, err := inst.Frame(ctx, inputs)
		if err != nil {
			b.Fatal(err)
		}
		size = len(state)
	}
	b.ReportMetric(float64(size), "state-bytes")
	b.ReportMetric(float64(inst.Stats().FuelUsed), "fuel/frame")
}
