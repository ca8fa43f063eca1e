package gamebuild_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// benchGames are the examples compared in docs/BENCHMARKS.md ("Games in
// every language"): each small game and each conformance implementation.
var benchGames = []string{"arena", "rust-tag", "c-coins", "as-chase", "conform-go", "conform-rust", "conform-c", "conform-as"}

// BenchmarkExamples measures, for every example, the module's size, one
// instantiation (_initialize and init) of the compiled module, and one
// frame with 4 players each sending arena's 3-byte input.
func BenchmarkExamples(b *testing.B) {
	ctx := context.Background()
	for _, game := range benchGames {
		wasm := gamebuildtest.Game(b, game)
		e, err := wasmhost.NewEngine(ctx, wasmhost.Config{})
		if err != nil {
			b.Fatal(err)
		}
		m, err := e.Compile(ctx, wasm)
		if err != nil {
			b.Fatal(err)
		}
		cfg := wasmhost.InstanceConfig{InstanceID: "bench", Game: game, Seed: 1, MaxPlayers: 8}
		b.Run("game="+game+"/op=instantiate", func(b *testing.B) {
			for b.Loop() {
				inst, err := m.Instantiate(ctx, cfg)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				inst.Close(ctx)
				b.StartTimer()
			}
			b.ReportMetric(float64(len(wasm)), "module-bytes")
		})
		b.Run("game="+game+"/op=frame", func(b *testing.B) {
			inst, err := m.Instantiate(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer inst.Close(ctx)
			var joins []wasmhost.Event
			for i := range 4 {
				joins = append(joins, wasmhost.Event{Kind: wasmhost.EventJoin, Player: fmt.Sprintf("p%d", i+1)})
			}
			if _, err := inst.Frame(ctx, joins); err != nil {
				b.Fatal(err)
			}
			inputs := make([]wasmhost.Event, 4)
			n := 0
			for b.Loop() {
				n++
				for i := range inputs {
					inputs[i] = wasmhost.Event{Kind: wasmhost.EventInput, Player: joins[i].Player, Data: []byte{byte(n * (i + 1)), byte(n >> 2), 0}}
				}
				if _, err := inst.Frame(ctx, inputs); err != nil {
					b.Fatal(err)
				}
			}
		})
		e.Close(ctx)
	}
}
