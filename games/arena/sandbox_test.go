package main

import (
	"slices"
	"testing"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/wasmhost"
	"github.com/rcc-games/rcc/pkg/wasmhost/wasmhosttest"
)

func arenaWasm(t *testing.T) []byte { return gamebuildtest.Arena(t) }

// TestWasmABI checks the built module against the guest ABI v1 with the
// host's own checker: every export, nothing imported but WASI.
func TestWasmABI(t *testing.T) {
	r := wasmhost.Check(arenaWasm(t), 0)
	if !r.OK() {
		t.Fatalf("ABI problems: %+v", r.Problems)
	}
	want := []string{"_initialize", "alloc", "init", "load_state", "memory", "on_input", "on_join", "on_leave", "save_state", "serialize_state", "tick"}
	if !slices.Equal(r.Exports, want) {
		t.Errorf("exports = %v, want exactly %v", r.Exports, want)
	}
}

func startInSandbox(t *testing.T, seed uint64) *wasmhosttest.Sandbox {
	t.Helper()
	return wasmhosttest.Start(t, arenaWasm(t), "arena", seed)
}

// TestInSandbox plays the game through the real host: joins, movement from
// input, leaves, and the same state from the same seed and input.
func TestInSandbox(t *testing.T) {
	play := func(seed uint64) *wasmhosttest.Sandbox {
		r := startInSandbox(t, seed)
		r.Frame(wasmhost.Event{Kind: wasmhost.EventJoin, Player: "ann"}, wasmhost.Event{Kind: wasmhost.EventJoin, Player: "bob"})
		if r.Avatar("ann") == nil || r.Avatar("bob") == nil {
			t.Fatalf("after two joins: players %+v", r.Snap.Players)
		}
		start := r.Avatar("ann").Position
		r.Frame(wasmhost.Event{Kind: wasmhost.EventInput, Player: "ann", Data: []byte{127, 0, 0}})
		for range 60 {
			r.Frame()
		}
		if moved := r.Avatar("ann").Position.X - start.X; moved < 1 {
			t.Errorf("ann pushed +X for a second moved %.2f m", moved)
		}
		r.Frame(wasmhost.Event{Kind: wasmhost.EventLeave, Player: "bob"})
		if r.Snap.Player("bob") != nil || r.Snap.Frame != 63 {
			t.Errorf("after bob left at frame %d: players %+v", r.Snap.Frame, r.Snap.Players)
		}
		return r
	}
	a, b, c := play(7), play(7), play(8)
	if a.Hash != b.Hash {
		t.Error("the same seed and input gave different states")
	}
	if a.Hash == c.Hash {
		t.Error("different seeds gave the same state")
	}
}
