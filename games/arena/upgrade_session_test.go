package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/wasmhost"
	"github.com/rcc-games/rcc/pkg/world"
)

// sessionInstance starts module as arena instance "long" with params.
func sessionInstance(t *testing.T, e *wasmhost.Engine, module []byte, version, params string) *wasmhost.Instance {
	t.Helper()
	ctx := context.Background()
	m, err := e.Compile(ctx, module)
	if err != nil {
		t.Fatal(err)
	}
	in, err := m.Instantiate(ctx, wasmhost.InstanceConfig{InstanceID: "long", Game: "arena", Version: version, Seed: 2,
		MaxPlayers: 4, Params: []byte(params)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(ctx) })
	return in
}

// chasing is the input of player who runs to the nearest orb of s, and
// jumps for one out of reach.
func chasing(s *world.Snapshot, player string) wasmhost.Event {
	return wasmhost.Event{Kind: wasmhost.EventInput, Player: player, Data: ctl(gamebuildtest.ChaseOrb(s, player))}
}

// TestUpgradeAfterLongSession: an arena upgraded to the double-points
// variant after a long session (many orbs taken and respawned) goes on as
// the old version would have, orb for orb, and scores 2 for each: the
// upgraded instance and the old version, run on side by side with the same
// input, show the same world at every frame, and the upgraded score grows
// by twice the old one's.
func TestUpgradeAfterLongSession(t *testing.T) {
	ctx := context.Background()
	e, err := wasmhost.NewEngine(ctx, wasmhost.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(ctx) })
	// The executor's upgrade test's arena: small, full of orbs that come
	// back at once somewhere else.
	const params = `{"arena_size":10,"orbs":64,"orb_respawn_s":0}`
	v1 := sessionInstance(t, e, gamebuildtest.Arena(t), "1", params)
	var snap1, snap2 world.Snapshot
	frame := func(in *wasmhost.Instance, snap *world.Snapshot, events ...wasmhost.Event) int32 {
		t.Helper()
		state, err := in.Frame(ctx, events)
		if err != nil {
			t.Fatal(err)
		}
		if err := snap.UnmarshalBinary(state); err != nil {
			t.Fatal(err)
		}
		if p := snap.Player("alice"); p != nil {
			return p.Score
		}
		return -1
	}
	frame(v1, &snap1, wasmhost.Event{Kind: wasmhost.EventJoin, Player: "alice"})
	n, score := 1, int32(0)
	for ; n < 1300 || score < 30; n++ {
		if n > 20000 {
			t.Fatalf("version 1 scored only %d in %d frames", score, n)
		}
		score = frame(v1, &snap1, chasing(&snap1, "alice"))
	}
	saved, err := v1.SaveState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v2 := sessionInstance(t, e, gamebuildtest.ArenaVariant(t, "arena_double_points"), "2", params)
	v2.ContinueFrom(uint64(n - 1))
	if err := v2.LoadState(ctx, saved); err != nil {
		t.Fatal(err)
	}
	t.Logf("upgraded after frame %d with score %d, %d bytes saved", n-1, score, len(saved))
	base := score
	var s1, s2 int32
	for end := n + 1300; n < end; n++ {
		in := chasing(&snap1, "alice")
		s1, s2 = frame(v1, &snap1, in), frame(v2, &snap2, in)
		if s2-base != 2*(s1-base) {
			t.Fatalf("frame %d: the old version scored %d since the upgrade, the new one %d; want twice as much", n, s1-base, s2-base)
		}
		if d := diffEntities(&snap1, &snap2); d != "" {
			t.Fatalf("frame %d: the upgraded arena differs from the old version's: %s", n, d)
		}
	}
	if s1-base < 10 {
		t.Fatalf("only %d orbs taken in 1300 frames after the upgrade", s1-base)
	}
	t.Logf("%d orbs taken after the upgrade, score %d", s1-base, s2)
}

// diffEntities describes the first difference between the entities of a
// and b, or "".
func diffEntities(a, b *world.Snapshot) string {
	if len(a.Entities) != len(b.Entities) {
		return fmt.Sprintf("%d entities, %d", len(a.Entities), len(b.Entities))
	}
	for i := range a.Entities {
		if a.Entities[i] != b.Entities[i] {
			return fmt.Sprintf("entity %d: %+v, %+v", i, a.Entities[i], b.Entities[i])
		}
	}
	return ""
}
