package view

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/agent"
	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/world"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// cutter is a listener that can drop every connection it accepted, the
// way a network drops them.
type cutter struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (c *cutter) Accept() (net.Conn, error) {
	conn, err := c.Listener.Accept()
	if err == nil {
		c.mu.Lock()
		c.conns = append(c.conns, conn)
		c.mu.Unlock()
	}
	return conn, err
}

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// arenaServer is a real coordinator with one executor agent, arena
// deployed and an instance running; it returns the admin client, the
// instance and the executor's listener.
func arenaServer(t *testing.T) (*client.Client, string, *cutter) {
	t.Helper()
	srv := coordinatortest.Start(t, coordinator.Config{HeartbeatInterval: 100 * time.Millisecond, MissedHeartbeats: 20})
	admin := srv.Dial(auth.RoleAdmin, "admin", agent.DialOptions()...)
	hs := httptest.NewUnstartedServer(nil)
	cut := &cutter{Listener: hs.Listener}
	hs.Listener = cut
	cfg := agent.Config{Client: srv.Dial(auth.RoleExecutor, "ex-1", agent.DialOptions()...), Name: "ex-1",
		WSURL: "ws://" + hs.Listener.Addr().String(), DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}
	cfg.Executor.StartWait = time.Minute
	a, err := agent.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = a.Executor().Handler()
	hs.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
		hs.Close()
		_ = a.Executor().Close(context.Background())
	})
	if _, err := admin.Deploy(context.Background(), client.DeployRequest{Game: "arena", Module: gamebuildtest.Arena(t)}); err != nil {
		t.Fatal(err)
	}
	in, err := admin.Instances.Spawn(context.Background(), &rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600})
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "arena running", 5*time.Minute, func() bool {
		got, err := admin.Instances.Get(context.Background(), &rccv1.GetInstanceRequest{Id: in.Id})
		return err == nil && got.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING
	})
	return admin, in.Id, cut
}

// TestPlaySource plays arena through a PlaySource on a real session: it
// follows the player's avatar, fills the HUD from the session, moves the
// avatar with SendInput, allocates nothing in a steady frame, shows
// "reconnecting…" while a dropped connection is made again, and shows the
// reason when the instance is stopped, ending with it.
func TestPlaySource(t *testing.T) {
	admin, id, cut := arenaServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := play.Join(ctx, admin, play.JoinRequest{Game: "arena", Player: "alice"},
		play.Config{MinBackoff: 200 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	src := NewPlaySource(s, "arena")
	defer src.Close()
	var snap world.Snapshot
	var info FrameInfo
	testenv.WaitFor(t, "a frame following alice", 20*time.Second, func() bool {
		info, err = src.Frame(time.Now(), &snap)
		if err != nil {
			t.Fatal(err)
		}
		return info.Ready && info.Follow != 0
	})
	if p := snap.Player("alice"); p == nil || p.Entity != info.Follow || info.Player != "alice" {
		t.Fatalf("follows %d as %q; players %+v", info.Follow, info.Player, snap.Players)
	}
	start := snap.Entity(info.Follow).Position
	hud := strings.Join(info.Lines, "\n")
	for _, want := range []string{"arena v", "instance " + id, "player alice", "connected", "snapshots/s"} {
		if !strings.Contains(hud, want) {
			t.Errorf("HUD lacks %q:\n%s", want, hud)
		}
	}
	if info.Message != "" || info.End != nil {
		t.Errorf("message %q, end %v while connected", info.Message, info.End)
	}

	// Steady frames, within one HUD refresh, allocate nothing.
	now := time.Now()
	src.refresh = now
	n := 0
	if a := testing.AllocsPerRun(50, func() {
		n++
		if _, err := src.Frame(now.Add(time.Duration(n)*time.Millisecond), &snap); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("a steady frame allocates %.1f times", a)
	}

	// Forward at yaw 0 walks towards -Z, back towards +Z: alice walks
	// towards the side with more room, since a random spawn by a wall
	// leaves none.
	move, dir := world.Controller{MoveZ: 1}, float32(-1)
	if start.Z < 0 {
		move, dir = world.Controller{MoveZ: -1}, 1
	}
	src.SendInput(move)
	testenv.WaitFor(t, "alice walking a metre along Z", 20*time.Second, func() bool {
		info, _ = src.Frame(time.Now(), &snap)
		e := snap.Entity(info.Follow)
		return e != nil && (e.Position.Z-start.Z)*dir > 1
	})

	// A dropped connection: "reconnecting…" on screen, then the same
	// avatar again, and the reconnection counted on the HUD.
	cut.cut()
	testenv.WaitFor(t, "reconnecting on screen", 20*time.Second, func() bool {
		info, _ = src.Frame(time.Now(), &snap)
		return strings.HasPrefix(info.Message, "reconnecting…")
	})
	if info.End != nil || !info.Ready {
		t.Errorf("while reconnecting: end %v, ready %v", info.End, info.Ready)
	}
	follow := info.Follow
	testenv.WaitFor(t, "reconnected", 20*time.Second, func() bool {
		info, _ = src.Frame(time.Now(), &snap)
		return info.Message == "" && strings.Contains(strings.Join(info.Lines, "\n"), "connected (1 reconnection)")
	})
	if info.Follow != follow {
		t.Errorf("follows %d after the reconnection, %d before", info.Follow, follow)
	}

	if _, err := admin.Instances.Stop(context.Background(), &rccv1.StopInstanceRequest{Id: id, Reason: "maintenance window"}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the session to end", 20*time.Second, func() bool {
		info, _ = src.Frame(time.Now(), &snap)
		return info.End != nil
	})
	if info.Message != "instance stopped: maintenance window" || !errors.Is(info.End, protocol.CloseInstanceStopped) {
		t.Fatalf("message %q, end %v", info.Message, info.End)
	}
	if !info.Ready {
		t.Error("the last state is no longer drawn once the session ended")
	}
	if err := src.Close(); err != nil {
		t.Fatalf("close after the end: %v", err)
	}
}

func TestParseScript(t *testing.T) {
	steps, err := ParseScript("0.5s:move=0,1; 2s:move=1,0 jump; 3s:yaw=90; 4s:stop")
	if err != nil {
		t.Fatal(err)
	}
	want := []ScriptStep{
		{500 * time.Millisecond, world.Controller{MoveZ: 1}},
		{2 * time.Second, world.Controller{MoveX: 1, Buttons: world.ButtonJump}},
		{3 * time.Second, world.Controller{MoveX: 1, Yaw: 90 * 3.14159265 / 180}},
		{4 * time.Second, world.Controller{Yaw: 90 * 3.14159265 / 180}},
	}
	if len(steps) != len(want) {
		t.Fatalf("steps %+v", steps)
	}
	for i := range want {
		g, w := steps[i], want[i]
		if g.At != w.At || g.Controller.MoveX != w.Controller.MoveX || g.Controller.MoveZ != w.Controller.MoveZ ||
			g.Controller.Buttons != w.Controller.Buttons || abs32(g.Controller.Yaw-w.Controller.Yaw) > 1e-5 {
			t.Errorf("step %d: %+v, want %+v", i, g, w)
		}
	}
	for _, bad := range []string{"", "1s", "x:stop", "-1s:stop", "2s:stop;1s:stop", "1s:move=2,0", "1s:move=1", "1s:yaw=north", "1s:fly"} {
		if _, err := ParseScript(bad); err == nil {
			t.Errorf("ParseScript(%q) accepted", bad)
		}
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func TestShortReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&play.CloseError{Code: protocol.CloseInstanceFailed, Name: "instance_failed", Detail: "fuel_exhausted in tick: spent its budget"},
			"instance failed: fuel_exhausted in tick: spent its budget"},
		{&play.CloseError{Code: protocol.CloseInstanceStopped, Name: "instance_stopped"}, "instance stopped"},
		{errors.New("connection lost: EOF"), "connection lost: EOF"},
	}
	for _, tt := range tests {
		if got := shortReason(tt.err); got != tt.want {
			t.Errorf("shortReason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
