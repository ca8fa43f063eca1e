package executor

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/wasmhost"
	"github.com/rcc-games/rcc/pkg/world"
)

// counted is the input count of player "a" in a counter-like state.
func counted(s *play.Session) uint32 {
	_, state := s.LastState(nil)
	if len(state) != 2048 {
		return 0
	}
	return binary.LittleEndian.Uint32(state[4*'a':])
}

// sendInputs sends n inputs at 60 a second and returns when done.
func sendInputs(t *testing.T, s *play.Session, n int) {
	tick := time.NewTicker(time.Second / 60)
	defer tick.Stop()
	for i := range n {
		<-tick.C
		if err := s.Send(binary.LittleEndian.AppendUint16(nil, uint16(i))); err != nil {
			t.Errorf("send: %v", err)
			return
		}
	}
}

func TestUpgradeRefusals(t *testing.T) {
	h := newHarness(t)
	h.run()
	h.start(InstanceSpec{ID: "c", Game: "counter", Version: "1", Module: testModule(t, "counter")})
	_, err := h.ex.Upgrade(context.Background(), "c", UpgradeSpec{Version: "2", Module: testModule(t, "upgradable")})
	if !errors.Is(err, ErrUpgrade) || !errors.Is(err, wasmhost.ErrNoUpgrade) || !strings.Contains(err.Error(), "does not export save_state") {
		t.Errorf("upgrade from a version without save_state: err = %v, want ErrUpgrade and wasmhost.ErrNoUpgrade", err)
	}
	h.start(InstanceSpec{ID: "u", Game: "counter", Version: "1", Module: testModule(t, "upgradable")})
	_, err = h.ex.Upgrade(context.Background(), "u", UpgradeSpec{Version: "2", Module: testModule(t, "counter")})
	if !errors.Is(err, ErrUpgrade) || !errors.Is(err, wasmhost.ErrNoUpgrade) || !strings.Contains(err.Error(), "does not export load_state") {
		t.Errorf("upgrade to a version without load_state: err = %v, want ErrUpgrade and wasmhost.ErrNoUpgrade", err)
	}
	for _, id := range []string{"c", "u"} {
		if st, _ := h.ex.Instance(id); st.State != StateRunning || st.Version != "1" {
			t.Errorf("%s after a refused upgrade: %s version %s", id, st.State, st.Version)
		}
	}
}

// TestUpgradeRollsBack: a new version whose load_state traps, and one
// that fails in its third frame, are rolled back with the reason; the old
// version goes on, its player connected, and counts every input sent
// across both attempts.
func TestUpgradeRollsBack(t *testing.T) {
	h := newHarness(t)
	h.run()
	h.start(InstanceSpec{ID: "u", Game: "counter", Version: "1", Module: testModule(t, "upgradable")})
	s, err := play.Connect(context.Background(), h.url("u", h.ticket("a", "u")), play.Config{RawStates: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const inputs = 120
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sendInputs(t, s, inputs) }()
	testenv.WaitFor(t, "some inputs counted", 10*time.Second, func() bool { return counted(s) >= 10 })

	_, err = h.ex.Upgrade(context.Background(), "u", UpgradeSpec{Version: "2", Module: testModule(t, "upgrade_trap")})
	if !errors.Is(err, ErrUpgrade) || !strings.Contains(err.Error(), "load_state failed") || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("upgrade whose load_state traps: err = %v", err)
	}
	_, err = h.ex.Upgrade(context.Background(), "u", UpgradeSpec{Version: "3", Module: testModule(t, "upgrade_late_trap")})
	if !errors.Is(err, ErrUpgrade) || !strings.Contains(err.Error(), "failed in its first frames") {
		t.Errorf("upgrade that fails in its third frame: err = %v", err)
	}
	wg.Wait()
	testenv.WaitFor(t, "every input counted by the old version", 10*time.Second, func() bool { return counted(s) == inputs })
	st, _ := h.ex.Instance("u")
	if st.State != StateRunning || st.Version != "1" || s.Stats().Reconnects != 0 {
		t.Errorf("after the rollbacks: %s version %s, %d reconnects; want running version 1, none", st.State, st.Version, s.Stats().Reconnects)
	}
}

// seenPlayer is a player's score and avatar position in one frame.
type seenPlayer struct {
	Score    int32
	Position world.Vec3
}

// arenaSeen is what a player sees of a player in arena, by frame.
type arenaSeen struct {
	mu     sync.Mutex
	frames map[uint64]seenPlayer
	last   uint64
}

func (a *arenaSeen) onEvent(who string) func(play.Event) {
	return func(e play.Event) {
		if e.Kind != play.EventState || e.Snapshot == nil {
			return
		}
		for _, p := range e.Snapshot.Players {
			if p.ID != who {
				continue
			}
			seen := seenPlayer{Score: p.Score}
			for _, en := range e.Snapshot.Entities {
				if en.ID == p.Entity {
					seen.Position = en.Position
				}
			}
			a.mu.Lock()
			a.frames[e.Frame] = seen
			a.last = max(a.last, e.Frame)
			a.mu.Unlock()
		}
	}
}

func (a *arenaSeen) at(f uint64) (seenPlayer, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.frames[f]
	return p, ok
}

// TestUpgradeArenaScoring upgrades a running arena to the variant whose
// orbs score 2: the player stays connected, its avatar's position and score
// go on from the frame of the upgrade, and its score then rises by 2 an orb.
func TestUpgradeArenaScoring(t *testing.T) {
	h := newHarness(t)
	h.run()
	params := []byte(`{"arena_size":10,"orbs":64,"orb_respawn_s":0}`)
	// The variant is built and compiled first, so the upgrade follows
	// alice's first points at once.
	v2 := gamebuildtest.ArenaVariant(t, "arena_double_points")
	if _, err := h.ex.engine.Compile(context.Background(), v2); err != nil { // Upgrade then finds it compiled
		t.Fatal(err)
	}
	// A state every tick, to see the frames on both sides of the upgrade.
	h.start(InstanceSpec{ID: "arena", Game: "arena", Version: "1", Seed: 2, MaxPlayers: 4, Params: params, Module: arenaModule(t),
		TickHz: 60, SnapshotHz: 60})
	seen := &arenaSeen{frames: map[uint64]seenPlayer{}}
	s, err := play.Connect(context.Background(), h.url("arena", h.ticket("alice", "arena")), play.Config{OnEvent: seen.onEvent("alice")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(30 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			// Run around the small arena, through its orbs.
			a := float64(n) / 15
			_ = s.SendController(world.Controller{MoveX: float32(math.Cos(a)), MoveZ: float32(math.Sin(a))})
		}
	}()
	score := func() int32 {
		seen.mu.Lock()
		defer seen.mu.Unlock()
		return seen.frames[seen.last].Score
	}
	testenv.WaitFor(t, "alice to score with version 1", 30*time.Second, func() bool { return score() >= 3 })
	res, err := h.ex.Upgrade(context.Background(), "arena", UpgradeSpec{Version: "2", Module: v2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("upgraded at frame %d: paused %v, %d bytes of saved state", res.Frame, res.Paused, res.StateBytes)
	testenv.WaitFor(t, "the frames around the upgrade", 10*time.Second, func() bool {
		_, a := seen.at(res.Frame)
		_, b := seen.at(res.Frame + 1)
		return a && b
	})
	before, _ := seen.at(res.Frame)
	after, _ := seen.at(res.Frame + 1)
	if d := dist(before.Position, after.Position); d > 0.5 || after.Score < before.Score || after.Score > before.Score+2 {
		t.Fatalf("across the upgrade alice went from %+v to %+v (moved %.2f m)", before, after, d)
	}
	base := after.Score
	// One orb proves the new rule (its step of 2 is checked below); the
	// orbs on alice's circle are few once version 1 has taken its share.
	testenv.WaitFor(t, "alice to score with version 2", time.Minute, func() bool { return score() >= base+2 })
	seen.mu.Lock()
	for f := res.Frame + 1; f <= seen.last; f++ {
		p, ok := seen.frames[f]
		q, okPrev := seen.frames[f-1]
		if ok && okPrev && p.Score != q.Score && (p.Score-q.Score)%2 != 0 {
			t.Errorf("frame %d: score %d after %d, want steps of 2 with version 2", f, p.Score, q.Score)
		}
	}
	seen.mu.Unlock()
	if st, _ := h.ex.Instance("arena"); st.Version != "2" || s.Stats().Reconnects != 0 {
		t.Errorf("after the upgrade: version %s, %d reconnects; want 2 and none", st.Version, s.Stats().Reconnects)
	}
}

func dist(a, b world.Vec3) float64 {
	dx, dy, dz := a.X-b.X, a.Y-b.Y, a.Z-b.Z
	return math.Sqrt(float64(dx*dx + dy*dy + dz*dz))
}

// TestUpgradeLogsTheNewVersion: after a hot upgrade, the log lines of the
// instance, and of a session that was there before it, name the version
// it runs.
func TestUpgradeLogsTheNewVersion(t *testing.T) {
	logs := &lockedBuffer{}
	h := newHarness(t, func(c *Config, _ *httptestServer) { c.Logger = slog.New(slog.NewJSONHandler(logs, nil)) })
	h.run()
	module := testModule(t, "upgradable")
	h.start(InstanceSpec{ID: "u", Game: "counter", Version: "1", Module: module})
	h.join("a", "u")
	if _, err := h.ex.Upgrade(context.Background(), "u", UpgradeSpec{Version: "2", Module: module}); err != nil {
		t.Fatal(err)
	}
	if err := h.ex.Stop(context.Background(), "u", "test over"); err != nil {
		t.Fatal(err)
	}
	version := func(msg string) (string, bool) {
		for _, line := range logs.lines() {
			var rec struct{ Msg, Instance, Version string }
			if json.Unmarshal(line, &rec) == nil && rec.Msg == msg && rec.Instance == "u" {
				return rec.Version, true
			}
		}
		return "", false
	}
	testenv.WaitFor(t, "the instance stopped, its player's connection closed", 10*time.Second, func() bool {
		_, stopped := version("instance stopped")
		_, closed := version("closing player connection")
		return stopped && closed
	})
	for msg, want := range map[string]string{"instance running": "1", "instance stopped": "2", "closing player connection": "2"} {
		if got, _ := version(msg); got != want {
			t.Errorf("%q is logged with version %q, want %q", msg, got, want)
		}
	}
}
