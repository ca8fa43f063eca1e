package main

import (
	"context"
	"crypto/sha256"
	"slices"
	"testing"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/wasmhost"
	"github.com/rcc-games/rcc/pkg/world"
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

type sandboxRun struct {
	t    *testing.T
	inst *wasmhost.Instance
	snap world.Snapshot
	hash [32]byte
}

func startInSandbox(t *testing.T, seed uint64) *sandboxRun {
	t.Helper()
	ctx := context.Background()
	e, err := wasmhost.NewEngine(ctx, wasmhost.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(ctx) })
	m, err := e.Compile(ctx, arenaWasm(t))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := m.Instantiate(ctx, wasmhost.InstanceConfig{InstanceID: "t", Game: "arena", Seed: seed, MaxPlayers: 8})
	if err != nil {
		t.Fatal(err)
	}
	return &sandboxRun{t: t, inst: inst}
}

func (r *sandboxRun) frame(events ...wasmhost.Event) {
	r.t.Helper()
	state, err := r.inst.Frame(context.Background(), events)
	if err != nil {
		r.t.Fatal(err)
	}
	r.hash = sha256.Sum256(state)
	if err := r.snap.UnmarshalBinary(state); err != nil {
		r.t.Fatalf("state is not a world snapshot: %v", err)
	}
}

func (r *sandboxRun) avatar(player string) *world.Entity {
	p := r.snap.Player(player)
	if p == nil || p.Entity == 0 {
		return nil
	}
	return r.snap.Entity(p.Entity)
}

// TestInSandbox plays the game through the real host: joins, movement from
// input, leaves, and the same state from the same seed and input.
func TestInSandbox(t *testing.T) {
	play := func(seed uint64) *sandboxRun {
		r := startInSandbox(t, seed)
		r.frame(wasmhost.Event{Kind: wasmhost.EventJoin, Player: "ann"}, wasmhost.Event{Kind: wasmhost.EventJoin, Player: "bob"})
		if r.avatar("ann") == nil || r.avatar("bob") == nil {
			t.Fatalf("after two joins: players %+v", r.snap.Players)
		}
		start := r.avatar("ann").Position
		r.frame(wasmhost.Event{Kind: wasmhost.EventInput, Player: "ann", Data: []byte{127, 0, 0}})
		for range 60 {
			r.frame()
		}
		if moved := r.avatar("ann").Position.X - start.X; moved < 1 {
			t.Errorf("ann pushed +X for a second moved %.2f m", moved)
		}
		r.frame(wasmhost.Event{Kind: wasmhost.EventLeave, Player: "bob"})
		if r.snap.Player("bob") != nil || r.snap.Frame != 63 {
			t.Errorf("after bob left at frame %d: players %+v", r.snap.Frame, r.snap.Players)
		}
		return r
	}
	a, b, c := play(7), play(7), play(8)
	if a.hash != b.hash {
		t.Error("the same seed and input gave different states")
	}
	if a.hash == c.hash {
		t.Error("different seeds gave the same state")
	}
}
