package executor

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/wasmhost"
	"github.com/rcc-games/rcc/pkg/world"
)

func arenaSpec(t testing.TB, id string, maxPlayers int) InstanceSpec {
	return InstanceSpec{ID: id, Game: "arena", Version: "1", Module: arenaModule(t), Seed: 7, MaxPlayers: maxPlayers}
}

// nextState reads frames until a state, decoded as a world snapshot.
func (c *client) nextState() (*protocol.State, *world.Snapshot) {
	c.t.Helper()
	for {
		if st, ok := c.next().(*protocol.State); ok {
			snap, err := world.Decode(st.Data)
			if err != nil {
				c.t.Fatalf("decode state of frame %d: %v", st.Frame, err)
			}
			return st, snap
		}
	}
}

func TestArenaPlayersSeeEachOther(t *testing.T) {
	h := newHarness(t)
	h.start(arenaSpec(t, "arena-1", 4))
	h.run()

	alice, wa := h.join("alice", "arena-1")
	bob, wb := h.join("bob", "arena-1")
	if wa.PlayerID != "alice" || wa.InstanceID != "arena-1" || wa.Game != "arena" || wa.TickHz != 60 ||
		wa.MaxPlayers != 4 || wa.Resumed || wa.Version != protocol.Version || wa.MaxInputBytes != protocol.MaxInputBytes {
		t.Errorf("alice's welcome: %+v", wa)
	}
	if wb.PlayerID != "bob" {
		t.Errorf("bob's welcome: %+v", wb)
	}

	// Alice runs towards +X; both see both avatars, and hers moving.
	var startX float32
	var aliceEntity uint32
	var lastFrame uint64
	sawBobJoin := false
	for i := 0; ; i++ {
		if i%5 == 0 {
			if err := alice.send([]byte{127, 0, 0}); err != nil {
				t.Fatal(err)
			}
		}
		f := alice.next()
		if j, ok := f.(*protocol.PlayerJoined); ok && j.Player == "bob" {
			sawBobJoin = true
		}
		st, ok := f.(*protocol.State)
		if !ok {
			continue
		}
		if st.Frame <= lastFrame {
			t.Fatalf("frame %d after %d", st.Frame, lastFrame)
		}
		lastFrame = st.Frame
		snap, err := world.Decode(st.Data)
		if err != nil {
			t.Fatal(err)
		}
		pa, pb := snap.Player("alice"), snap.Player("bob")
		if pa == nil || pb == nil || pa.Entity == 0 || pb.Entity == 0 {
			if i > 300 {
				t.Fatalf("after %d frames, players %+v", i, snap.Players)
			}
			continue
		}
		e := snap.Entity(pa.Entity)
		if aliceEntity == 0 {
			aliceEntity, startX = pa.Entity, e.Position.X
			continue
		}
		if e.Position.X > startX+1 {
			break
		}
		if i > 600 {
			t.Fatalf("alice's avatar did not move: x from %v to %v", startX, e.Position.X)
		}
	}
	if !sawBobJoin {
		t.Error("alice saw no player_joined for bob")
	}
	// Bob sees alice's avatar too.
	_, snap := bob.nextState()
	if p := snap.Player("alice"); p == nil || p.Entity != aliceEntity {
		t.Errorf("bob sees alice as %+v, want entity %d", p, aliceEntity)
	}
	if got := h.ex.TakeAdmitted("arena-1"); strings.Join(got, ",") != "alice,bob" {
		t.Errorf("TakeAdmitted = %q", got)
	}
	if got := h.ex.TakeAdmitted("arena-1"); len(got) != 0 {
		t.Errorf("TakeAdmitted again = %q", got)
	}
	st, err := h.ex.Instance("arena-1")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateRunning || strings.Join(st.Players, ",") != "alice,bob" || st.InGame != 2 {
		t.Errorf("status: %+v", st)
	}
}

func TestHostileInstanceFailsAlone(t *testing.T) {
	tests := []struct {
		name, module string
		sandbox      wasmhost.Config
		reason       string
	}{
		{"loop out of fuel", "tick_loop", wasmhost.Config{}, "fuel_exhausted"},
		{"loop past deadline", "tick_loop", wasmhost.Config{NoFuel: true, WallClockGuard: true, CallTimeout: 500 * time.Millisecond}, "deadline_exceeded"},
		{"out of bounds", "out_of_bounds", wasmhost.Config{}, "trap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			module, want := tt.module, tt.reason
			control := startControl(t)
			h := newHarness(t, func(c *Config, _ *httptestServer) { tt.sandbox.CacheDir = cacheDir; c.Sandbox = tt.sandbox })
			h.start(arenaSpec(t, "arena", 4))
			h.start(InstanceSpec{ID: "hostile", Game: module, Module: testModule(t, module)})
			// Connect before the scheduler runs, so the player is there
			// when the hostile module runs its first frame.
			victim, _ := h.join("victim", "hostile")
			player, _ := h.join("player", "arena")
			p := startPace(h, "arena", control)
			h.run()

			text := victim.expectClose(protocol.CloseInstanceFailed, 5*time.Second)
			if _, detail := protocol.ParseReason(text); !strings.HasPrefix(detail, want) {
				t.Errorf("close reason %q, want the detail to start with %q", text, want)
			}
			st, err := h.ex.Instance("hostile")
			if err != nil {
				t.Fatal(err)
			}
			if st.State != StateFailed || string(st.Reason) != want {
				t.Errorf("hostile status %s %q, want failed %q", st.State, st.Reason, want)
			}
			h.mu.Lock()
			var reported bool
			for _, c := range h.changes {
				reported = reported || (c.ID == "hostile" && c.State == StateFailed && string(c.Reason) == want)
			}
			h.mu.Unlock()
			if !reported {
				t.Error("OnChange did not report the failure")
			}

			// The arena keeps ticking and serving its player, at the pace of
			// a control arena on an executor without the hostile neighbour,
			// from the first frame until 60 control frames after the failure.
			player.nextState()
			p.check(t, p.control.frames(controlID)-p.c0+60)
		})
	}
}

func TestTicketRefusals(t *testing.T) {
	h := newHarness(t)
	h.start(arenaSpec(t, "arena", 4))
	h.start(InstanceSpec{ID: "tiny", Game: "recorder", Module: testModule(t, "recorder"), MaxPlayers: 1})
	h.run()
	_, otherKey, _ := ed25519.GenerateKey(nil)
	forger, _ := auth.NewIssuer(otherKey, auth.Options{})
	past, _ := auth.NewIssuer(mustPriv(t, h), auth.Options{Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	reused := h.ticket("carol", "arena")
	c := h.dialURL(h.url("arena", reused), nil)
	if _, ok := c.next().(*protocol.Welcome); !ok {
		t.Fatal("first use of the ticket refused")
	}
	h.join("first", "tiny")

	tests := []struct {
		name     string
		instance string
		ticket   string
		want     protocol.CloseCode
	}{
		{"missing", "arena", "", protocol.CloseTicketMissing},
		{"malformed", "arena", "not-a-jwt", protocol.CloseTicketMalformed},
		{"forged", "arena", h.ticketFor(forger, auth.TicketRequest{PlayerID: "eve", InstanceID: "arena", ExecutorID: testExecutorID}), protocol.CloseTicketForged},
		{"expired", "arena", h.ticketFor(past, auth.TicketRequest{PlayerID: "dan", InstanceID: "arena", ExecutorID: testExecutorID, TTL: time.Minute}), protocol.CloseTicketExpired},
		{"reused", "arena", reused, protocol.CloseTicketReused},
		{"foreign executor", "arena", h.ticketFor(h.issuer, auth.TicketRequest{PlayerID: "dan", InstanceID: "arena", ExecutorID: "exec-other"}), protocol.CloseTicketWrongExecutor},
		{"foreign instance", "arena", h.ticket("dan", "tiny"), protocol.CloseTicketWrongInstance},
		{"instance not found", "nope", h.ticket("dan", "nope"), protocol.CloseInstanceNotFound},
		{"instance full", "tiny", h.ticket("second", "tiny"), protocol.CloseInstanceFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := h.dialURL(h.url(tt.instance, tt.ticket), nil)
			c.expectClose(tt.want, 5*time.Second)
		})
	}
	fams := h.scrape()
	if v, _ := metricValue(fams, "rcc_executor_player_closes_total", "code", "ticket_forged"); v != 1 {
		t.Errorf("closes{code=ticket_forged} = %v, want 1", v)
	}
}

// mustPriv returns the harness issuer's key, to sign with another clock.
func mustPriv(t *testing.T, h *harness) ed25519.PrivateKey {
	t.Helper()
	return h.issuerKey
}

func TestMalformedFrames(t *testing.T) {
	h := newHarness(t)
	h.start(InstanceSpec{ID: "rec", Game: "recorder", Module: testModule(t, "recorder")})
	h.run()
	tests := []struct {
		name string
		typ  int
		data []byte
		want protocol.CloseCode
	}{
		{"text message", websocket.TextMessage, []byte("hello"), protocol.CloseMalformedFrame},
		{"empty message", websocket.BinaryMessage, nil, protocol.CloseMalformedFrame},
		{"server frame type", websocket.BinaryMessage, []byte{byte(protocol.TypeState), 1, 2}, protocol.CloseMalformedFrame},
		{"unknown type", websocket.BinaryMessage, []byte{0x7f}, protocol.CloseMalformedFrame},
		{"one byte too large", websocket.BinaryMessage, append([]byte{byte(protocol.TypeInput)}, make([]byte, protocol.MaxInputBytes+1)...), protocol.CloseFrameTooLarge},
		{"huge", websocket.BinaryMessage, append([]byte{byte(protocol.TypeInput)}, make([]byte, 4<<20)...), protocol.CloseFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := h.join("p-"+strings.ReplaceAll(tt.name, " ", "-"), "rec")
			// The largest valid input passes.
			if err := c.send(make([]byte, protocol.MaxInputBytes)); err != nil {
				t.Fatal(err)
			}
			if err := c.conn.WriteMessage(tt.typ, tt.data); err != nil {
				t.Fatal(err)
			}
			c.expectClose(tt.want, 5*time.Second)
		})
	}
}

func TestInputRateLimit(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *httptestServer) { c.InputRate, c.InputBurst = 10, 5 })
	h.start(InstanceSpec{ID: "rec", Game: "recorder", Module: testModule(t, "recorder")})
	h.run()
	c, w := h.join("p", "rec")
	if w.InputRate != 10 || w.InputBurst != 5 {
		t.Errorf("welcome limits %d/s burst %d", w.InputRate, w.InputBurst)
	}
	// Twice the burst at once: half is dropped, the connection stays.
	for range 10 {
		if err := c.send([]byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitFor(t, "5 inputs dropped", 10*time.Second, func() bool {
		v, _ := metricValue(h.scrape(), "rcc_executor_inputs_dropped_total", "reason", "rate")
		return v == 5
	})
	for { // still served
		if _, ok := c.next().(*protocol.State); ok {
			break
		}
	}
	// A flood: closed with input_rate.
	for range 100 {
		if err := c.send([]byte{1}); err != nil {
			break
		}
	}
	c.expectClose(protocol.CloseInputRate, 5*time.Second)
	st, _ := h.ex.Instance("rec")
	if st.InputsDropped <= 10 {
		t.Errorf("instance counted %d dropped inputs", st.InputsDropped)
	}
}

func TestSlowClientDroppedThenClosed(t *testing.T) { sendPaths(t, testSlowClientDroppedThenClosed) }

func testSlowClientDroppedThenClosed(t *testing.T, path harnessOption) {
	h := newHarness(t, smallBuffers, func(c *Config, _ *httptestServer) {
		c.ClientQueue, c.SlowClientFrames, c.WriteTimeout = 4, 30, 20*time.Second
	}, path)
	h.start(arenaSpec(t, "arena", 4))
	h.run()
	slow := h.dialURL(h.url("arena", h.ticket("slow", "arena")), smallReadDialer)
	fast, _ := h.join("fast", "arena")

	// The slow client reads nothing for a while; the fast one keeps up.
	// Counted in the instance's own frames: over the next 90 frames the
	// fast client gets at least half of them while the slow one has at
	// least 30 dropped.
	first, _ := fast.nextState()
	received, last := 0, first
	for last.Frame < first.Frame+90 {
		if s, ok := fast.next().(*protocol.State); ok {
			received++
			last = s
		}
	}
	if 2*received < int(last.Frame-first.Frame) {
		t.Errorf("the fast client got %d of the %d frames run while the other stalled", received, last.Frame-first.Frame)
	}
	testenv.WaitFor(t, "30 state frames dropped for the slow client", time.Minute, func() bool {
		dropped, _ := metricValue(h.scrape(), "rcc_executor_state_frames_dropped_total")
		return dropped >= 30
	})
	// Then it reads what was buffered and finds the close.
	slow.expectClose(protocol.CloseTooSlow, 10*time.Second)
	testenv.WaitFor(t, "the slow player to be gone", 10*time.Second, func() bool {
		st, _ := h.ex.Instance("arena")
		return strings.Join(st.Players, ",") == "fast"
	})
}

func TestReconnectKeepsAvatar(t *testing.T) {
	h := newHarness(t)
	h.start(arenaSpec(t, "arena", 4))
	h.run()
	first, _ := h.join("alice", "arena")
	bob, _ := h.join("bob", "arena")
	entity := func(c *client) uint32 {
		for range 200 {
			_, snap := c.nextState()
			if p := snap.Player("alice"); p != nil && p.Entity != 0 {
				return p.Entity
			}
		}
		t.Fatal("alice never got an avatar")
		return 0
	}
	e1 := entity(first)

	// A second connection replaces the first; the game sees no leave.
	second, w := h.join("alice", "arena")
	if !w.Resumed {
		t.Error("welcome of the replacing connection is not resumed")
	}
	first.expectClose(protocol.CloseReplaced, 5*time.Second)
	if e2 := entity(second); e2 != e1 {
		t.Errorf("avatar %d after replacing the connection, want %d", e2, e1)
	}

	// Disconnect and come back within the grace: same avatar.
	second.conn.Close()
	testenv.WaitFor(t, "alice disconnected", 10*time.Second, func() bool {
		st, _ := h.ex.Instance("arena")
		return strings.Join(st.Players, ",") == "bob" && st.InGame == 2
	})
	third, w := h.join("alice", "arena")
	if !w.Resumed {
		t.Error("welcome after reconnecting is not resumed")
	}
	if e3 := entity(third); e3 != e1 {
		t.Errorf("avatar %d after reconnecting, want %d", e3, e1)
	}
	// Bob never saw alice leave.
	_ = bob.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	for {
		_, b, err := bob.conn.ReadMessage()
		if err != nil {
			break
		}
		if f, _ := protocol.Decode(b); f != nil {
			if l, ok := f.(*protocol.PlayerLeft); ok {
				t.Errorf("bob saw %q leave", l.Player)
			}
		}
	}
}

func TestLeaveAfterGrace(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *httptestServer) { c.ReconnectGrace = 200 * time.Millisecond })
	h.start(arenaSpec(t, "arena", 4))
	h.run()
	gone, _ := h.join("gone", "arena")
	stay, _ := h.join("stay", "arena")
	gone.conn.Close()
	for {
		if l, ok := stay.next().(*protocol.PlayerLeft); ok {
			if l.Player != "gone" {
				t.Fatalf("%q left", l.Player)
			}
			break
		}
	}
	_, snap := stay.nextState()
	if snap.Player("gone") != nil {
		t.Error("the game still lists the player after the grace")
	}
	// Coming back is a new join.
	_, w := h.join("gone", "arena")
	if w.Resumed {
		t.Error("welcome after the grace is resumed")
	}
}

func TestNormalCloseLeavesAtOnce(t *testing.T) {
	h := newHarness(t) // the default grace of 30 s
	h.start(arenaSpec(t, "arena", 4))
	h.run()
	quit, _ := h.join("quit", "arena")
	stay, _ := h.join("stay", "arena")
	quit.nextState()
	start := time.Now()
	if err := quit.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// The server echoes the close.
	_ = quit.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := quit.conn.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				t.Fatalf("after a normal close: %v, want the server's 1000", err)
			}
			break
		}
	}
	for {
		if l, ok := stay.next().(*protocol.PlayerLeft); ok {
			if l.Player != "quit" {
				t.Fatalf("%q left", l.Player)
			}
			break
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("left after %v, want at once", d)
	}
	if st, _ := h.ex.Instance("arena"); st.InGame != 1 {
		t.Errorf("%d players in the game after a normal close, want 1", st.InGame)
	}
	_, snap := stay.nextState()
	if snap.Player("quit") != nil {
		t.Error("the game still lists the player who closed normally")
	}
	// Coming back is a new join.
	if _, w := h.join("quit", "arena"); w.Resumed {
		t.Error("welcome after a normal close is resumed")
	}
}

func TestStopAndShutdown(t *testing.T) {
	h := newHarness(t)
	h.start(arenaSpec(t, "a", 4))
	h.start(arenaSpec(t, "b", 4))
	h.run()
	pa, _ := h.join("p", "a")
	pb, _ := h.join("p", "b")
	pa.nextState()
	if err := h.ex.Stop(context.Background(), "a", "lease expired"); err != nil {
		t.Fatal(err)
	}
	if text := pa.expectClose(protocol.CloseInstanceStopped, 5*time.Second); text != "instance_stopped: lease expired" {
		t.Errorf("close reason %q", text)
	}
	st, _ := h.ex.Instance("a")
	if st.State != StateStopped || st.Reason != "lease expired" {
		t.Errorf("status %s %q", st.State, st.Reason)
	}
	if err := h.ex.Stop(context.Background(), "nope", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stop(nope) = %v", err)
	}
	if err := h.ex.Start(context.Background(), arenaSpec(t, "b", 4)); !errors.Is(err, ErrExists) {
		t.Errorf("Start(b) again = %v", err)
	}
	// Metrics: the stopped instance's memory series is gone.
	fams := h.scrape()
	if _, ok := metricValue(fams, "instance_memory_usage", "instance", "a"); ok {
		t.Error("instance_memory_usage still has the stopped instance")
	}
	if v, ok := metricValue(fams, "instance_memory_usage", "instance", "b"); !ok || v <= 0 {
		t.Errorf("instance_memory_usage{instance=b} = %v, %v", v, ok)
	}
	// A stopped instance may start again.
	h.start(arenaSpec(t, "a", 4))

	h.shutdown()
	pb.expectClose(protocol.CloseExecutorShutdown, 5*time.Second)
	for _, s := range h.ex.Instances() {
		if s.State != StateStopped {
			t.Errorf("%s is %s after shutdown", s.ID, s.State)
		}
	}
}

func TestStartFailures(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name   string
		spec   InstanceSpec
		reason string
	}{
		{"not wasm", InstanceSpec{ID: "x1", Module: []byte("nope")}, "invalid_module"},
		{"init fails", InstanceSpec{ID: "x2", Module: testModule(t, "init_fails")}, "init_failed"},
		{"bad params", InstanceSpec{ID: "x3", Module: testModule(t, "recorder"), Params: []byte("{")}, string(ReasonStartFailed)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := h.ex.Start(context.Background(), tt.spec); err == nil {
				t.Fatal("Start succeeded")
			}
			st, err := h.ex.Instance(tt.spec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != StateFailed || string(st.Reason) != tt.reason {
				t.Errorf("status %s %q, want failed %q", st.State, st.Reason, tt.reason)
			}
		})
	}
	if err := h.ex.Start(context.Background(), InstanceSpec{Module: []byte{0}}); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("Start without id = %v", err)
	}
}

func TestMetrics(t *testing.T) {
	h := newHarness(t)
	h.start(arenaSpec(t, "arena", 4))
	h.start(InstanceSpec{ID: "rec", Game: "recorder", Module: testModule(t, "recorder")})
	h.run()
	a, _ := h.join("a", "arena")
	h.join("b", "arena")
	for range 10 {
		a.nextState()
	}
	fams := h.scrape()
	checks := []struct {
		name   string
		labels []string
		ok     func(float64) bool
	}{
		{"player_count", nil, func(v float64) bool { return v == 2 }},
		{"wasm_tick_duration_ms", nil, func(v float64) bool { return v >= 10 }},
		{"instance_memory_usage", []string{"instance", "arena"}, func(v float64) bool { return v >= 1<<20 }},
		{"instance_memory_usage", []string{"instance", "rec"}, func(v float64) bool { return v == 2*65536 }},
		{"rcc_executor_instances", []string{"state", "running"}, func(v float64) bool { return v == 2 }},
		{"rcc_executor_instances", []string{"state", "failed"}, func(v float64) bool { return v == 0 }},
		{"rcc_executor_frames_total", nil, func(v float64) bool { return v >= 10 }},
		{"rcc_executor_fuel_used_total", nil, func(v float64) bool { return v > 1000 }},
		{"rcc_executor_sent_bytes_total", nil, func(v float64) bool { return v > 1000 }},
		{"rcc_executor_tick_overruns_total", nil, func(v float64) bool { return v >= 0 }},
		{"rcc_executor_frames_skipped_total", nil, func(v float64) bool { return v >= 0 }},
		{"rcc_executor_state_frames_dropped_total", nil, func(v float64) bool { return v >= 0 }},
		{"rcc_executor_inputs_dropped_total", []string{"reason", "rate"}, func(v float64) bool { return v == 0 }},
		{"go_goroutines", nil, func(v float64) bool { return v > 0 }},
		{"process_cpu_seconds_total", nil, func(v float64) bool { return v > 0 }},
	}
	for _, c := range checks {
		v, ok := metricValue(fams, c.name, c.labels...)
		if !ok || !c.ok(v) {
			t.Errorf("%s%v = %v (present %v)", c.name, c.labels, v, ok)
		}
	}
	hist := fams["wasm_tick_duration_ms"].Metric[0].Histogram
	if ub := hist.Bucket[0].GetUpperBound(); ub != 0.01 {
		t.Errorf("first bucket %v, want 0.01", ub)
	}
	// Prometheus naming conventions, except where the seed's names are
	// fixed (milliseconds, no unit suffix).
	mfs := make([]*dto.MetricFamily, 0, len(fams))
	for _, f := range fams {
		mfs = append(mfs, f)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		switch p.Metric {
		case "wasm_tick_duration_ms", "instance_memory_usage", "player_count":
			continue
		}
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	stats := h.ex.Stats()
	if stats.Players != 2 || stats.Instances[StateRunning] != 2 || stats.TickP50 <= 0 || stats.TickP99 < stats.TickP50 {
		t.Errorf("Stats = %+v", stats)
	}
}

// TestPlayerWaitsForStartingInstance connects a player whose ticket names an
// instance the executor has not started yet, as happens when Join creates an
// instance: the player is admitted once the instance runs, not refused.
func TestPlayerWaitsForStartingInstance(t *testing.T) {
	h := newHarness(t, func(cfg *Config, _ *httptest.Server) { cfg.StartWait = 5 * time.Second })
	h.run()
	ticket := h.ticket("early", "late")
	joined := make(chan *protocol.Welcome, 1)
	go func() {
		c := h.dialURL(h.url("late", ticket), nil)
		if w, ok := c.next().(*protocol.Welcome); ok {
			joined <- w
		}
		close(joined)
	}()
	testenv.WaitFor(t, "the player to wait for the instance", 10*time.Second, func() bool { return h.ex.waiting.Load() == 1 })
	h.start(InstanceSpec{ID: "late", Game: "recorder", Module: testModule(t, "recorder")})
	select {
	case w := <-joined:
		if w == nil || w.InstanceID != "late" || w.PlayerID != "early" {
			t.Fatalf("welcome = %+v", w)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting player was not admitted")
	}
}
