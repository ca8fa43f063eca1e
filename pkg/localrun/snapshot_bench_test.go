package localrun

import (
	"bytes"
	"context"
	"testing"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// BenchmarkSnapshot measures taking and writing a snapshot (capture), and
// reading it and restoring it into a fresh instance (restore), for arena
// after 300 frames with 16 players and for big_memory, a guest whose 64 MiB
// are random bytes. It reports the snapshot's size and its stored pages.
func BenchmarkSnapshot(b *testing.B) {
	for _, tc := range []struct {
		name    string
		wasm    func(b *testing.B) []byte
		players int
		frames  int
	}{
		{"arena", func(b *testing.B) []byte { return gamebuildtest.Arena(b) }, 16, 300},
		{"big_memory", func(b *testing.B) []byte { return module(b, "big_memory") }, 1, 2},
	} {
		ctx := context.Background()
		e, err := wasmhost.NewEngine(ctx, wasmhost.Config{})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close(ctx)
		mod, err := e.Compile(ctx, tc.wasm(b))
		if err != nil {
			b.Fatal(err)
		}
		inst, err := mod.Instantiate(ctx, wasmhost.InstanceConfig{Game: tc.name, Seed: 1, MaxPlayers: 16})
		if err != nil {
			b.Fatal(err)
		}
		for f := 1; f <= tc.frames; f++ {
			var evs []wasmhost.Event
			for p := range tc.players {
				player := string(rune('a' + p))
				if f == 1 {
					evs = append(evs, wasmhost.Event{Kind: wasmhost.EventJoin, Player: player})
				}
				evs = append(evs, wasmhost.Event{Kind: wasmhost.EventInput, Player: player, Data: []byte{byte(f), byte(p), 1}})
			}
			if _, err := inst.Frame(ctx, evs); err != nil {
				b.Fatal(err)
			}
		}
		var buf bytes.Buffer
		var snap *wasmhost.Snapshot
		b.Run(tc.name+"/capture", func(b *testing.B) {
			for b.Loop() {
				buf.Reset()
				if snap, err = inst.Snapshot(); err != nil {
					b.Fatal(err)
				}
				if _, err := snap.WriteTo(&buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "snapshot-bytes")
			b.ReportMetric(float64(len(snap.Pages)), "pages-stored")
			b.ReportMetric(float64(snap.MemoryPages), "pages")
		})
		b.Run(tc.name+"/restore", func(b *testing.B) {
			enc := buf.Bytes()
			for b.Loop() {
				s, err := wasmhost.ReadSnapshot(bytes.NewReader(enc), 0)
				if err != nil {
					b.Fatal(err)
				}
				restored, err := mod.Restore(ctx, s, wasmhost.InstanceConfig{})
				if err != nil {
					b.Fatal(err)
				}
				restored.Close(ctx)
			}
		})
		inst.Close(ctx)
	}
}
