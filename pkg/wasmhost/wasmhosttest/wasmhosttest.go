// Package wasmhosttest plays a game module through the real sandbox in
// tests, one frame at a time. It is the daemon's test support, not public
// API.
package wasmhosttest

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/rcc-games/rcc/pkg/wasmhost"
	"github.com/rcc-games/rcc/pkg/world"
)

// Sandbox is one instance of a module whose state is a world snapshot,
// on an engine of its own.
type Sandbox struct {
	t    testing.TB
	inst *wasmhost.Instance
	// Snap is the state of the last frame, decoded.
	Snap world.Snapshot
	// Hash is the sha256 of the last frame's state bytes.
	Hash [32]byte
}

// Start instantiates wasm as game with seed (8 players at most); the
// engine closes when the test ends.
func Start(t testing.TB, wasm []byte, game string, seed uint64) *Sandbox {
	t.Helper()
	ctx := context.Background()
	e, err := wasmhost.NewEngine(ctx, wasmhost.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(ctx) })
	m, err := e.Compile(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := m.Instantiate(ctx, wasmhost.InstanceConfig{InstanceID: "t", Game: game, Seed: seed, MaxPlayers: 8})
	if err != nil {
		t.Fatal(err)
	}
	return &Sandbox{t: t, inst: inst}
}

// Frame runs one frame with events and decodes its state.
func (s *Sandbox) Frame(events ...wasmhost.Event) {
	s.t.Helper()
	state, err := s.inst.Frame(context.Background(), events)
	if err != nil {
		s.t.Fatal(err)
	}
	s.Hash = sha256.Sum256(state)
	if err := s.Snap.UnmarshalBinary(state); err != nil {
		s.t.Fatalf("state is not a world snapshot: %v", err)
	}
}

// Avatar is player's entity in the last state, or nil.
func (s *Sandbox) Avatar(player string) *world.Entity {
	p := s.Snap.Player(player)
	if p == nil || p.Entity == 0 {
		return nil
	}
	return s.Snap.Entity(p.Entity)
}
