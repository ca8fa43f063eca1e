package executor

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/lifecycle"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// pair is two executors trusting the same coordinator key, both ticking.
func pair(t *testing.T) (a, b *harness) {
	a, b = newHarness(t), newHarness(t)
	b.ex.cfg.Verifier = a.ex.cfg.Verifier // one coordinator
	b.issuer = a.issuer
	a.run()
	b.run()
	return a, b
}

// target is b as a migration target, with an executor token of a's key.
func (h *harness) target(b *harness) MigrateTarget {
	h.t.Helper()
	tok, _, err := h.issuer.RoleToken(auth.RoleExecutor, "exec-a", time.Minute)
	if err != nil {
		h.t.Fatal(err)
	}
	return MigrateTarget{URL: b.srv.URL, Token: tok}
}

// gapRecorder keeps, per player, the longest time between two states.
type gapRecorder struct {
	mu   sync.Mutex
	last map[string]time.Time
	gap  map[string]time.Duration
}

func newGapRecorder() *gapRecorder {
	return &gapRecorder{last: map[string]time.Time{}, gap: map[string]time.Duration{}}
}

func (g *gapRecorder) onEvent(player string) func(play.Event) {
	return func(e play.Event) {
		if e.Kind != play.EventState {
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if last, ok := g.last[player]; ok {
			g.gap[player] = max(g.gap[player], e.At.Sub(last))
		}
		g.last[player] = e.At
	}
}

// reset forgets the gaps so far.
func (g *gapRecorder) reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	clear(g.gap)
}

// percentiles of the players' longest gaps.
func (g *gapRecorder) gaps() []time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []time.Duration
	for _, d := range g.gap {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, (len(ds)*p+99)/100-1)]
}

// TestMigrateKeepsPlayersAndInputs moves an instance with 16 connected
// players (real WebSockets, pkg/play sessions) that send inputs all along:
// every session follows the instance to the target by itself, resumed
// (the avatar kept), and the game counts every input of every player, in
// order, none lost in the hand-over.
func TestMigrateKeepsPlayersAndInputs(t *testing.T) {
	a, b := pair(t)
	a.start(InstanceSpec{ID: "mig", Game: "counter", Version: "1", MaxPlayers: 16, Module: testModule(t, "counter")})
	const players, inputs = 16, 90
	gaps := newGapRecorder()
	var sessions []*play.Session
	for p := range players {
		player := string(rune('a' + p))
		s, err := play.Connect(context.Background(), a.url("mig", a.ticket(player, "mig")),
			play.Config{RawStates: true, OnEvent: gaps.onEvent(player)})
		if err != nil {
			t.Fatalf("connect %s: %v", player, err)
		}
		t.Cleanup(func() { s.Close() })
		sessions = append(sessions, s)
	}
	// Every player sends its inputs, numbered, at 60 a second: before,
	// during and after the migration.
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Second / 60)
			defer tick.Stop()
			for i := range inputs {
				<-tick.C
				if err := s.Send(binary.LittleEndian.AppendUint16(nil, uint16(i))); err != nil {
					t.Errorf("send: %v", err)
					return
				}
			}
		}()
	}
	testenv.WaitFor(t, "30 frames on the source", 10*time.Second, func() bool {
		st, _ := a.ex.Instance("mig")
		return st.Frames >= 30
	})
	gaps.reset()
	res, err := a.ex.Migrate(context.Background(), "mig", a.target(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("migrated at frame %d: paused %v, snapshot %d bytes, %d/%d players acked", res.Frame, res.Paused, res.SnapshotBytes, res.Acked, res.Players)
	if res.Players != players || res.Acked != players {
		t.Errorf("%d players told, %d acked; want %d and %d", res.Players, res.Acked, players, players)
	}
	wg.Wait()

	testenv.WaitFor(t, "every input counted on the target", 10*time.Second, func() bool {
		_, state := sessions[0].LastState(nil)
		if len(state) != 2048 {
			return false
		}
		for p := range players {
			slot := 'a' + p
			if binary.LittleEndian.Uint32(state[4*slot:]) != inputs {
				return false
			}
		}
		return true
	})
	_, state := sessions[0].LastState(nil)
	for p := range players {
		if last := binary.LittleEndian.Uint32(state[1024+4*('a'+p):]); last != inputs-1 {
			t.Errorf("player %c: last input %d, want %d", 'a'+p, last, inputs-1)
		}
	}
	for i, s := range sessions {
		st := s.Stats()
		if st.State != play.Connected || !st.Welcome.Resumed || st.Reconnects != 1 || st.Welcome.InstanceID != "mig" {
			t.Errorf("player %c: %s, resumed %v, %d reconnects; want connected, resumed, 1", 'a'+i, st.State, st.Welcome.Resumed, st.Reconnects)
		}
	}
	on, err := b.ex.Instance("mig")
	if err != nil || on.State != StateRunning || len(on.Players) != players || on.InGame != players {
		t.Errorf("target: %+v, %v; want running with %d players", on, err, players)
	}
	if on.Frames <= res.Frame {
		t.Errorf("target at frame %d, want past %d", on.Frames, res.Frame)
	}
	if _, err := a.ex.Instance("mig"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the source still lists the instance: %v", err)
	}
	a.mu.Lock()
	last := a.changes[len(a.changes)-1]
	a.mu.Unlock()
	if last.ID != "mig" || last.State != StateStopped || last.Reason != lifecycle.ReasonMigrated {
		t.Errorf("the source's last change: %s %s (%s), want mig stopped, migrated", last.ID, last.State, last.Reason)
	}
	g := gaps.gaps()
	t.Logf("players' longest gap between states: p50 %v, p99 %v", percentile(g, 50), percentile(g, 99))
}

// TestMigrateTargetFailsSourceGoesOn moves an instance to a target that
// refuses the snapshot: the instance goes on at the source, its players
// stay connected, held inputs are sent there.
func TestMigrateTargetFailsSourceGoesOn(t *testing.T) {
	a, b := pair(t)
	a.start(InstanceSpec{ID: "mig", Game: "counter", Version: "1", Module: testModule(t, "counter")})
	s, err := play.Connect(context.Background(), a.url("mig", a.ticket("a", "mig")), play.Config{RawStates: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The target runs an instance of that id already: it refuses.
	b.start(InstanceSpec{ID: "mig", Game: "counter", Version: "1", Module: testModule(t, "counter")})
	_, err = a.ex.Migrate(context.Background(), "mig", a.target(b))
	if err == nil || !strings.Contains(err.Error(), "runs here already") {
		t.Fatalf("migrate to a target that has the instance: err = %v", err)
	}
	t.Logf("refused: %v", err)

	// A target whose engine allows less memory than the instance's limit:
	// it prepares, then cannot restore.
	c := newHarness(t, func(cfg *Config, _ *httptestServer) { cfg.Sandbox.MemoryLimitPages = 16 })
	c.ex.cfg.Verifier = a.ex.cfg.Verifier
	c.run()
	to := a.target(c)
	to.AckWait = 50 * time.Millisecond
	if _, err := a.ex.Migrate(context.Background(), "mig", to); !errors.Is(err, ErrMigrate) || !strings.Contains(err.Error(), "memory limit") {
		t.Fatalf("migrate to a smaller target: err = %v, want ErrMigrate naming the memory limit", err)
	}
	if _, err := c.ex.Instance("mig"); err == nil {
		if st, _ := c.ex.Instance("mig"); !st.State.Ended() {
			t.Errorf("the refusing target runs the instance: %s", st.State)
		}
	}
	if err := s.Send([]byte{7, 0}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the input counted at the source", 5*time.Second, func() bool {
		_, state := s.LastState(nil)
		return len(state) == 2048 && binary.LittleEndian.Uint32(state[4*'a':]) == 1
	})
	st, _ := a.ex.Instance("mig")
	if st.State != StateRunning || s.Stats().Reconnects != 0 {
		t.Errorf("source %s, %d reconnects; want running and none", st.State, s.Stats().Reconnects)
	}
}

// TestMigrateRefusals: an unknown instance, a token of the wrong role, a
// hand-over ticket spent twice.
func TestMigrateRefusals(t *testing.T) {
	a, b := pair(t)
	if _, err := a.ex.Migrate(context.Background(), "nope", a.target(b)); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown instance: err = %v", err)
	}
	a.start(InstanceSpec{ID: "mig", Game: "counter", Version: "1", Module: testModule(t, "counter")})
	to := a.target(b)
	to.Token = auth.Token(a.ticket("p", "mig")) // a player's ticket is no bearer token
	if _, err := a.ex.Migrate(context.Background(), "mig", to); err == nil || !strings.Contains(err.Error(), "401") && !strings.Contains(err.Error(), "403") {
		t.Errorf("a player's token: err = %v, want a refusal", err)
	}
	if st, _ := a.ex.Instance("mig"); st.State != StateRunning {
		t.Errorf("after a refused prepare the source is %s", st.State)
	}

	c := a.dialURL(a.url("mig", a.ticket("p1", "mig")), nil)
	if _, ok := c.next().(*protocol.Welcome); !ok {
		t.Fatal("no welcome")
	}
	if _, err := a.ex.Migrate(context.Background(), "mig", a.target(b)); err != nil {
		t.Fatal(err)
	}
	var moved *protocol.Migrate
	for moved == nil || moved.Phase != protocol.MigrateGo {
		f := c.next()
		if m, ok := f.(*protocol.Migrate); ok {
			moved = m
			if m.Phase == protocol.MigrateHold {
				ack, _ := protocol.Encode(&protocol.MigrateAck{})
				_ = c.conn.WriteMessage(websocket.BinaryMessage, ack)
			}
		}
	}
	first := b.dialURL(moved.URL, nil)
	if w, ok := first.next().(*protocol.Welcome); !ok || !w.Resumed || w.PlayerID != "p1" {
		t.Fatalf("hand-over: %+v, want a resumed welcome for p1", w)
	}
	again := b.dialURL(moved.URL, nil)
	again.expectClose(protocol.CloseTicketInvalid, 5*time.Second)
}

// BenchmarkMigrationGap moves arena with 16 players that send controller
// inputs back and forth between two executors, and reports the players'
// longest gap between two states around each move (p50 and p99 over
// players and moves) and the instance's pause.
func BenchmarkMigrationGap(b *testing.B) {
	x, y := newHarness(b), newHarness(b)
	y.ex.cfg.Verifier = x.ex.cfg.Verifier
	y.issuer = x.issuer
	x.run()
	y.run()
	x.start(InstanceSpec{ID: "arena", Game: "arena", Version: "1", MaxPlayers: 16, Seed: 3, Module: arenaModule(b)})
	gaps := newGapRecorder()
	var sessions []*play.Session
	for p := range 16 {
		player := fmt.Sprintf("p%02d", p)
		s, err := play.Connect(context.Background(), x.url("arena", x.ticket(player, "arena")), play.Config{OnEvent: gaps.onEvent(player)})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		sessions = append(sessions, s)
	}
	defer walkPlayers(sessions)()
	var all, paused []time.Duration
	hosts := []*harness{x, y}
	for i := 0; b.Loop(); i++ {
		from, to := hosts[i%2], hosts[(i+1)%2]
		testenv.WaitFor(b, "every player connected", 10*time.Second, func() bool {
			st, err := from.ex.Instance("arena")
			return err == nil && len(st.Players) == 16
		})
		gaps.reset()
		res, err := from.ex.Migrate(context.Background(), "arena", from.target(to))
		if err != nil {
			b.Fatal(err)
		}
		paused = append(paused, res.Paused)
		testenv.WaitFor(b, "every player on the target", 10*time.Second, func() bool {
			st, err := to.ex.Instance("arena")
			return err == nil && len(st.Players) == 16
		})
		// Wait for a few states on the target, then take the gaps.
		start, _ := to.ex.Instance("arena")
		testenv.WaitFor(b, "ten more frames", 10*time.Second, func() bool {
			st, _ := to.ex.Instance("arena")
			return st.Frames >= start.Frames+10
		})
		all = append(all, gaps.gaps()...)
	}
	slices.Sort(all)
	slices.Sort(paused)
	b.ReportMetric(float64(percentile(all, 50).Microseconds())/1000, "gap-p50-ms")
	b.ReportMetric(float64(percentile(all, 99).Microseconds())/1000, "gap-p99-ms")
	b.ReportMetric(float64(percentile(paused, 50).Microseconds())/1000, "pause-p50-ms")
}

// assetsState reads the state of wasmhost's assets_reader module: the
// errno of its open of /assets/hello.txt, the bytes it read, its ticks.
func assetsState(state []byte) (errno byte, content string, ticks uint32, ok bool) {
	if len(state) != 70 {
		return 0, "", 0, false
	}
	n := min(int(state[1]), 64)
	return state[0], string(state[2 : 2+n]), binary.LittleEndian.Uint32(state[66:]), true
}

// TestMigrateWithAssets moves an instance whose game has assets: a target
// that cannot fetch assets refuses at the prepare (the instance runs on
// at the source); one that can fetches the version's assets by their
// sha256 before the move, and the restored instance reads the same file
// in /assets, its player following it.
func TestMigrateWithAssets(t *testing.T) {
	const sha = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	assets := os.DirFS(filepath.Join("..", "wasmhost", "testdata", "assets"))
	var fetchable atomic.Bool
	var fetched atomic.Int32
	a := newHarness(t)
	b := newHarness(t, func(c *Config, _ *httptestServer) {
		c.FetchAssets = func(_ context.Context, id, s string) (fs.FS, error) {
			if !fetchable.Load() {
				return nil, errors.New("the blob store is unreachable")
			}
			if id != "art" || s != sha {
				return nil, fmt.Errorf("assets %s of %s: not found", s, id)
			}
			fetched.Add(1)
			return assets, nil
		}
	})
	b.ex.cfg.Verifier = a.ex.cfg.Verifier
	b.issuer = a.issuer
	a.run()
	b.run()
	a.start(InstanceSpec{ID: "art", Game: "art", Version: "1", Module: testModule(t, "assets_reader"), Assets: assets, AssetsSHA256: sha})
	s, err := play.Connect(context.Background(), a.url("art", a.ticket("p", "art")), play.Config{RawStates: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reads := func(after uint64) bool {
		f, state := s.LastState(nil)
		errno, content, _, ok := assetsState(state)
		return ok && f > after && errno == 0 && content == "hello world\n"
	}
	testenv.WaitFor(t, "the instance to read its assets", 10*time.Second, func() bool { return reads(0) })

	if _, err := a.ex.Migrate(context.Background(), "art", a.target(b)); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("move to a target that cannot fetch the assets: err = %v", err)
	}
	if st, _ := a.ex.Instance("art"); st.State != StateRunning {
		t.Fatalf("after the refused move: %s", st.State)
	}
	fetchable.Store(true)
	res, err := a.ex.Migrate(context.Background(), "art", a.target(b))
	if err != nil {
		t.Fatal(err)
	}
	if fetched.Load() != 1 {
		t.Errorf("the target fetched the assets %d times, want once", fetched.Load())
	}
	testenv.WaitFor(t, "the player at the target, reading the assets there", 10*time.Second, func() bool {
		st, err := b.ex.Instance("art")
		return err == nil && st.State == StateRunning && len(st.Players) == 1 && reads(res.Frame+5)
	})
	_, state := s.LastState(nil)
	if _, _, ticks, _ := assetsState(state); uint64(ticks) <= res.Frame {
		t.Errorf("ticks %d after the move at frame %d: the restored instance did not go on", ticks, res.Frame)
	}
}
