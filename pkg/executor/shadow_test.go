package executor

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/lifecycle"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/world"
)

// arenaPlayers starts an arena instance and n players running circles in
// it, sending a controller input every 30 ms until the test ends. The
// first player's view is recorded in the returned arenaSeen.
func arenaPlayers(t *testing.T, h *harness, n int) *arenaSeen {
	t.Helper()
	params := []byte(`{"arena_size":10,"orbs":64,"orb_respawn_s":0}`)
	h.start(InstanceSpec{ID: "arena", Game: "arena", Version: "1", Seed: 2, MaxPlayers: 16, Params: params, Module: arenaModule(t)})
	seen := &arenaSeen{frames: map[uint64]seenPlayer{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(stop); wg.Wait() })
	for i := range n {
		player := string(rune('a' + i))
		cfg := play.Config{}
		if i == 0 {
			cfg.OnEvent = seen.onEvent(player)
		}
		s, err := play.Connect(context.Background(), h.url("arena", h.ticket(player, "arena")), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(30 * time.Millisecond)
			defer tick.Stop()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				a := float64(k)/15 + float64(i)
				_ = s.SendController(world.Controller{MoveX: float32(math.Cos(a)), MoveZ: float32(math.Sin(a))})
			}
		}()
	}
	testenv.WaitFor(t, "the players' first states", 20*time.Second, func() bool {
		seen.mu.Lock()
		defer seen.mu.Unlock()
		return seen.last > 0
	})
	return seen
}

// TestShadowSameVersion shadows a running arena with its own module while
// players send inputs: started from a snapshot (same bytes, same limits),
// no frame differs and both sides burn the same fuel. A counter whose
// save_state carries its whole state, shadowed from save_state/load_state
// (another frame fuel), differs in no frame either.
func TestShadowSameVersion(t *testing.T) {
	h := newHarness(t)
	h.run()
	arenaPlayers(t, h, 3)
	const frames = 180
	rep, err := h.ex.Shadow(context.Background(), "arena", ShadowSpec{
		UpgradeSpec: UpgradeSpec{Version: "1b", Module: arenaModule(t)}, Frames: frames})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	if rep.Start != ShadowStartSnapshot || rep.Ended != ShadowEndFrames || rep.Frames != frames || rep.Differs || rep.DiffFrames != 0 || rep.Failure != "" {
		t.Errorf("report %+v: want a snapshot start, %d frames compared, no difference", rep, frames)
	}
	if rep.Live.TickP50 <= 0 || rep.Candidate.TickP50 <= 0 || rep.Live.TickP99 < rep.Live.TickP50 ||
		rep.Live.FuelP50 <= 0 || rep.Candidate.FuelP50 != rep.Live.FuelP50 || rep.Candidate.FuelP99 != rep.Live.FuelP99 {
		t.Errorf("costs: live %+v, candidate %+v: want frame times and the same fuel on both sides", rep.Live, rep.Candidate)
	}
	if st, _ := h.ex.Instance("arena"); st.State != StateRunning || st.Version != "1" || len(st.Players) != 3 {
		t.Errorf("after the shadow: %s version %s, players %v", st.State, st.Version, st.Players)
	}

	h.start(InstanceSpec{ID: "u", Game: "counter", Version: "1", Module: testModule(t, "upgradable")})
	s, err := play.Connect(context.Background(), h.url("u", h.ticket("a", "u")), play.Config{RawStates: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); sendInputs(t, s, 240) }()
	defer wg.Wait()
	testenv.WaitFor(t, "some inputs counted", 10*time.Second, func() bool { return counted(s) >= 10 })
	rep, err = h.ex.Shadow(context.Background(), "u", ShadowSpec{
		UpgradeSpec: UpgradeSpec{Version: "1b", Module: testModule(t, "upgradable"), FrameFuel: 1 << 30}, Frames: 120})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Start != ShadowStartLoadState || rep.Ended != ShadowEndFrames || rep.Frames != 120 || rep.Differs {
		t.Errorf("counter report %+v: want a load_state start, 120 frames compared, no difference", rep)
	}
}

// arenaChaser connects player to the arena instance of h and has her run
// to the orb nearest to her in the latest state she saw (jumping for one
// out of reach) every 30 ms until the test ends: she scores all along,
// where a player running a fixed circle runs out of orbs on it. What she
// sees of herself is recorded in the returned arenaSeen.
func arenaChaser(t *testing.T, h *harness, player string) *arenaSeen {
	t.Helper()
	seen := &arenaSeen{frames: map[uint64]seenPlayer{}}
	record := seen.onEvent(player)
	var mu sync.Mutex
	var latest *world.Snapshot
	s, err := play.Connect(context.Background(), h.url("arena", h.ticket(player, "arena")), play.Config{OnEvent: func(e play.Event) {
		record(e)
		if e.Kind == play.EventState && e.Snapshot != nil {
			mu.Lock()
			latest = e.Snapshot
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() { close(stop); <-done; s.Close() })
	go func() {
		defer close(done)
		tick := time.NewTicker(30 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			mu.Lock()
			snap := latest
			mu.Unlock()
			if snap != nil {
				_ = s.SendController(gamebuildtest.ChaseOrb(snap, player))
			}
		}
	}()
	testenv.WaitFor(t, player+"'s first states", 20*time.Second, func() bool {
		seen.mu.Lock()
		defer seen.mu.Unlock()
		return seen.last > 0
	})
	return seen
}

// TestShadowDoublePoints shadows a running arena with the variant whose
// orbs score 2: a player runs from orb to orb, so she scores during the
// shadow run, and the first frame that differs is at or after the frame of
// her first points after the start (arena's saved state carries scores,
// orbs and its random streams: scoring is all that tells the versions
// apart).
func TestShadowDoublePoints(t *testing.T) {
	h := newHarness(t)
	h.run()
	v2 := gamebuildtest.ArenaVariant(t, "arena_double_points")
	// Compiled first, so the shadow starts as soon as it is asked for.
	if _, err := h.ex.engine.Compile(context.Background(), v2); err != nil {
		t.Fatal(err)
	}
	params := []byte(`{"arena_size":10,"orbs":64,"orb_respawn_s":0}`)
	// A state every frame, to see the frame of each point; one player:
	// every point scored is hers.
	h.start(InstanceSpec{ID: "arena", Game: "arena", Version: "1", Seed: 2, MaxPlayers: 16, Params: params, Module: arenaModule(t),
		TickHz: 60, SnapshotHz: 60})
	seen := arenaChaser(t, h, "alice")
	rep, err := h.ex.Shadow(context.Background(), "arena", ShadowSpec{
		UpgradeSpec: UpgradeSpec{Version: "2", Module: v2}, Frames: 60 * 60})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	// alice's score at the shadow's start and the first frame after it
	// at which it had grown: her first points in the shadow run.
	seen.mu.Lock()
	base, ok := seen.frames[rep.FromFrame]
	var firstPoint uint64
	for f, p := range seen.frames {
		if f > rep.FromFrame && f <= rep.FromFrame+uint64(rep.Frames) && p.Score > base.Score && (firstPoint == 0 || f < firstPoint) {
			firstPoint = f
		}
	}
	seen.mu.Unlock()
	if !ok {
		t.Fatalf("frame %d, the shadow's start, not seen", rep.FromFrame)
	}
	if firstPoint == 0 {
		t.Fatalf("alice scored nothing in the %d frames of the shadow run from frame %d (score %d): the versions could not differ", rep.Frames, rep.FromFrame, base.Score)
	}
	t.Logf("shadow from frame %d, alice's score %d; her first points at frame %d", rep.FromFrame, base.Score, firstPoint)
	if rep.Start != ShadowStartLoadState || !rep.Differs || rep.Failure != "" {
		t.Fatalf("report %+v: want a load_state start and a difference", rep)
	}
	if rep.FirstDiffFrame < firstPoint {
		t.Errorf("first difference at frame %d, before alice's first points after the start (frame %d, score %d)", rep.FirstDiffFrame, firstPoint, base.Score)
	}
	if rep.DiffOffset < 0 || rep.DiffOffset > min(rep.LiveBytes, rep.CandidateBytes) || rep.LiveBytes == 0 {
		t.Errorf("difference at offset %d of %d/%d bytes", rep.DiffOffset, rep.LiveBytes, rep.CandidateBytes)
	}
	if st, _ := h.ex.Instance("arena"); st.State != StateRunning || st.Version != "1" {
		t.Errorf("after the shadow: %s version %s", st.State, st.Version)
	}
}

// TestShadowCandidateFails: a candidate whose load_state traps, one that
// traps in a later frame and one that runs out of fuel end their runs with
// the failure, and one too slow for 60 Hz is dropped as fell_behind; the
// live instance goes on at its rate and counts every input.
func TestShadowCandidateFails(t *testing.T) {
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

	rep, err := h.ex.Shadow(context.Background(), "u", ShadowSpec{UpgradeSpec: UpgradeSpec{Version: "2", Module: testModule(t, "upgrade_trap")}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ended != ShadowEndFailed || rep.FailureReason != lifecycle.ReasonTrap || !strings.Contains(rep.Failure, "load_state") || !strings.Contains(rep.Failure, "unreachable") || rep.Frames != 0 {
		t.Errorf("candidate whose load_state traps: %+v", rep)
	}
	rep, err = h.ex.Shadow(context.Background(), "u", ShadowSpec{UpgradeSpec: UpgradeSpec{Version: "3", Module: testModule(t, "upgrade_late_trap")}, Frames: 30})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ended != ShadowEndFailed || rep.FailureReason != lifecycle.ReasonTrap || rep.Frames == 0 || rep.Frames >= 30 {
		t.Errorf("candidate failing in a later frame: %+v", rep)
	}
	rep, err = h.ex.Shadow(context.Background(), "u", ShadowSpec{UpgradeSpec: UpgradeSpec{Version: "4", Module: testModule(t, "upgradable"), FrameFuel: 1}, Frames: 30})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ended != ShadowEndFailed || rep.FailureReason != lifecycle.ReasonFuelExhausted {
		t.Errorf("candidate out of fuel: %+v", rep)
	}
	// A candidate whose frames take tens of milliseconds falls behind the
	// live 60 Hz and is dropped, the live instance keeping its rate.
	before := h.frames("u")
	t0 := time.Now()
	rep, err = h.ex.Shadow(context.Background(), "u", ShadowSpec{UpgradeSpec: UpgradeSpec{Version: "5", Module: testModule(t, "upgrade_slow"), FrameFuel: 1 << 40}, For: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ended != ShadowEndBehind || rep.Failure != "" || rep.Frames == 0 {
		t.Errorf("slow candidate: %+v", rep)
	}
	rate := float64(h.frames("u")-before) / time.Since(t0).Seconds()
	t.Logf("slow candidate: %d frames compared in %v, candidate frame p50 %v; the live instance ran %.0f frames a second",
		rep.Frames, rep.Elapsed, rep.Candidate.TickP50, rate)
	// The candidate manages about 20 frames a second; a live instance held
	// to its pace would too. 30 leaves room for a loaded machine.
	if rate < 30 {
		t.Errorf("the live instance ran %.0f frames a second beside the slow candidate, want about 60", rate)
	}
	wg.Wait()
	testenv.WaitFor(t, "every input counted by the live instance", 10*time.Second, func() bool { return counted(s) == inputs })
	st, _ := h.ex.Instance("u")
	if st.State != StateRunning || st.Version != "1" || s.Stats().Reconnects != 0 {
		t.Errorf("after the shadows: %s version %s, %d reconnects; want running version 1, none", st.State, st.Version, s.Stats().Reconnects)
	}
	if _, err := h.ex.Shadow(context.Background(), "nope", ShadowSpec{}); err == nil {
		t.Error("shadow of an unknown instance: no error")
	}
}

// BenchmarkShadowLiveTick measures what a shadow run costs the live
// instance's tick: an arena with 16 players on real WebSockets sending
// inputs, its frames run at 60 Hz, each timed whole (events, guest,
// hand-off to the shadow, broadcast to 16), over 600 frames without a
// shadow and 600 frames with one (the same module, from a snapshot).
// Run with -benchtime=1x; docs/BENCHMARKS.md has the figures.
func BenchmarkShadowLiveTick(b *testing.B) {
	h := newHarness(b) // no scheduler: the benchmark runs the frames
	params := []byte(`{"orbs":64}`)
	h.start(InstanceSpec{ID: "arena", Game: "arena", Version: "1", Seed: 2, MaxPlayers: 16, Params: params, Module: arenaModule(b)})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	for i := range 16 {
		s, err := play.Connect(context.Background(), h.url("arena", h.ticket(fmt.Sprintf("p%02d", i), "arena")), play.Config{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Second / 30)
			defer tick.Stop()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				a := float64(k)/15 + float64(i)
				_ = s.SendController(world.Controller{MoveX: float32(math.Cos(a)), MoveZ: float32(math.Sin(a))})
			}
		}()
	}
	in := h.ex.lookup("arena")
	ctx := context.Background()
	frames := func(n int) (p50, p99 time.Duration) {
		tick := time.NewTicker(time.Second / 60)
		defer tick.Stop()
		ds := make([]time.Duration, 0, n)
		for range n {
			<-tick.C
			t0 := time.Now()
			if in.runFrame(ctx) {
				b.Fatal("the instance ended")
			}
			ds = append(ds, time.Since(t0))
		}
		s := sideOf(ds, make([]int64, len(ds)))
		return s.TickP50, s.TickP99
	}
	frames(120) // players joined, caches warm
	b.ResetTimer()
	for range b.N {
		off50, off99 := frames(600)
		done := make(chan ShadowReport, 1)
		go func() {
			rep, err := h.ex.Shadow(ctx, "arena", ShadowSpec{UpgradeSpec: UpgradeSpec{Version: "1b", Module: arenaModule(b)}, Frames: 1 << 20})
			if err != nil {
				b.Error(err)
			}
			done <- rep
		}()
		testenv.WaitFor(b, "the shadow run", 10*time.Second, func() bool {
			in.guestMu.Lock()
			defer in.guestMu.Unlock()
			return in.shadow != nil
		})
		on50, on99 := frames(600)
		in.stopShadow(in.shadow, ShadowEndCancelled)
		rep := <-done
		if rep.Differs || rep.Failure != "" || rep.Frames < 500 {
			b.Fatalf("shadow report %+v", rep)
		}
		us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
		b.ReportMetric(us(off50), "off-p50-µs")
		b.ReportMetric(us(off99), "off-p99-µs")
		b.ReportMetric(us(on50), "on-p50-µs")
		b.ReportMetric(us(on99), "on-p99-µs")
		b.ReportMetric(us(rep.Candidate.TickP50), "cand-p50-µs")
		b.ReportMetric(us(rep.Candidate.TickP99), "cand-p99-µs")
	}
}
