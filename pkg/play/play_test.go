package play_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/agent"
	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/certs"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
	"github.com/rcc-games/rcc/pkg/executor"
	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/world"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// cacheDir shares compiled modules between the test binary's executors,
// so that arena compiles once (a minute or more under the race detector on
// a loaded machine).
var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "play-cache")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proxy forwards TCP connections to an executor and can cut them all, the
// way a network drops a connection.
type proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newProxy(t testing.TB) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l}
	t.Cleanup(func() { l.Close(); p.cut() })
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// cut closes every connection through the proxy.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// env is a coordinator on SQLite with one executor agent reachable through
// a proxy, and an admin client.
type env struct {
	t     *testing.T
	srv   *coordinatortest.Server
	admin *client.Client
	agent *agent.Agent
	proxy *proxy
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvTLS(t, nil)
}

// newEnvTLS is newEnv with the executor serving wss:// with srvTLS, when
// set.
func newEnvTLS(t *testing.T, srvTLS *tls.Config) *env {
	t.Helper()
	srv := coordinatortest.Start(t, coordinator.Config{HeartbeatInterval: 100 * time.Millisecond,
		MissedHeartbeats: 20, ReapInterval: 50 * time.Millisecond, ResyncInterval: 200 * time.Millisecond})
	e := &env{t: t, srv: srv, proxy: newProxy(t)}
	e.admin = srv.Dial(auth.RoleAdmin, "admin", agent.DialOptions()...)
	cfg := agent.Config{Client: srv.Dial(auth.RoleExecutor, "ex-1", agent.DialOptions()...), Name: "ex-1",
		WSURL: "ws://" + e.proxy.l.Addr().String(), DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler),
		MinBackoff: 50 * time.Millisecond}
	if testing.Verbose() {
		cfg.Executor.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	// A join may come before the instance has compiled, on a loaded
	// machine under the race detector: wait for it.
	cfg.Executor.StartWait = time.Minute
	cfg.Executor.Sandbox.CacheDir = cacheDir
	if srvTLS != nil {
		cfg.WSURL = "wss://" + e.proxy.l.Addr().String()
	}
	ws, err := executor.Listen(executor.ServeConfig{WSAddr: "127.0.0.1:0", TLS: srvTLS})
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(context.Background(), cfg)
	if err != nil {
		_ = ws.Shutdown(context.Background())
		t.Fatal(err)
	}
	e.agent = a
	e.proxy.target = ws.WSAddr()
	go e.proxy.serve()
	ws.Serve(context.Background(), a.Executor(), a.Run)
	t.Cleanup(func() {
		if err := ws.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		select {
		case err := <-ws.Err():
			t.Errorf("agent: %v", err)
		default:
		}
	})
	return e
}

func (e *env) deploy(game string, module []byte) {
	e.t.Helper()
	e.deployWith(client.DeployRequest{Game: game, Module: module})
}

func (e *env) deployWith(req client.DeployRequest) {
	e.t.Helper()
	if _, err := e.admin.Deploy(context.Background(), req); err != nil {
		e.t.Fatal(err)
	}
}

// spawn starts an instance of game and waits for it to run, so that joins
// find it running. The first start of arena compiles it: seconds, but
// minutes under the race detector on a loaded machine.
func (e *env) spawn(game string) {
	e.t.Helper()
	e.spawnWith(&rccv1.SpawnRequest{Game: game})
}

func (e *env) spawnWith(req *rccv1.SpawnRequest) {
	e.t.Helper()
	req.LeaseSeconds = 600
	in, err := e.admin.Instances.Spawn(context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	testenv.WaitFor(e.t, "instance "+in.Id+" running", 10*time.Minute, func() bool {
		got, err := e.admin.Instances.Get(context.Background(), &rccv1.GetInstanceRequest{Id: in.Id})
		return err == nil && got.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING
	})
}

func (e *env) join(player string) *play.Session {
	e.t.Helper()
	return e.joinWith(player, play.Config{})
}

// joinWith joins with cfg (its MinBackoff set short).
func (e *env) joinWith(player string, cfg play.Config) *play.Session {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg.MinBackoff = 20 * time.Millisecond
	s, err := play.Join(ctx, e.admin, play.JoinRequest{Game: "arena", Player: player}, cfg)
	if err != nil {
		e.t.Fatalf("join %s: %v", player, err)
	}
	e.t.Cleanup(func() { _ = s.Close() })
	return s
}

// avatar returns the entity the player follows in the latest rendered
// snapshot, waiting for it.
func avatar(t *testing.T, s *play.Session, player string) world.Entity {
	t.Helper()
	var snap world.Snapshot
	var e world.Entity
	testenv.WaitFor(t, player+"'s avatar", 20*time.Second, func() bool {
		if _, ok := s.Render(&snap, time.Now()); !ok {
			return false
		}
		p := snap.Player(player)
		if p == nil || p.Entity == 0 {
			return false
		}
		if x := snap.Entity(p.Entity); x != nil {
			e = *x
			return true
		}
		return false
	})
	return e
}

func TestJoinMoveDropAndResume(t *testing.T) {
	e := newEnv(t)
	e.deploy("arena", gamebuildtest.Arena(t))
	e.spawn("arena")
	alice := e.join("alice")

	st := alice.Stats()
	if st.State != play.Connected || st.Welcome.PlayerID != "alice" || st.Welcome.Game != "arena" || st.Welcome.TickHz != 60 || st.Welcome.Resumed {
		t.Fatalf("stats after join: %+v", st)
	}
	start := avatar(t, alice, "alice")

	// Forward at yaw 0 runs towards -Z, back towards +Z. The avatar runs
	// towards the side of the arena with more room: the spawn is random,
	// and one by a wall would leave no metre to run.
	move, dir := world.Controller{MoveZ: 1}, float32(-1)
	if start.Position.Z < 0 {
		move, dir = world.Controller{MoveZ: -1}, 1
	}
	if err := alice.SendController(move); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "alice's avatar to run a metre along Z", 10*time.Second, func() bool {
		a := avatar(t, alice, "alice")
		return a.ID == start.ID && (a.Position.Z-start.Position.Z)*dir > 1
	})
	if err := alice.SendController(world.Controller{}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "a measured round trip and snapshot rate", 10*time.Second, func() bool {
		st := alice.Stats()
		return st.RTT > 0 && st.SnapshotRate > 30 && st.World && st.InputsSent >= 2
	})

	// The network drops the connection: the session reconnects with a
	// fresh ticket and the executor resumes the player with the same avatar.
	sawReconnecting := make(chan struct{})
	go func() {
		for alice.State() != play.Reconnecting {
			select {
			case <-alice.Done():
				return
			case <-time.After(time.Millisecond):
			}
		}
		close(sawReconnecting)
	}()
	e.proxy.cut()
	testenv.WaitFor(t, "the session to reconnect", 20*time.Second, func() bool {
		st := alice.Stats()
		return st.State == play.Connected && st.Reconnects == 1
	})
	select {
	case <-sawReconnecting:
	case <-time.After(5 * time.Second):
		t.Error("the session never showed reconnecting")
	}
	st = alice.Stats()
	if !st.Welcome.Resumed || st.Connects != 2 {
		t.Errorf("after the drop: resumed %v, connects %d; want a resumed second connection", st.Welcome.Resumed, st.Connects)
	}
	before := st.Frame
	testenv.WaitFor(t, "states after the reconnection", 10*time.Second, func() bool { return alice.Stats().Frame > before+10 })
	if again := avatar(t, alice, "alice"); again.ID != start.ID {
		t.Errorf("avatar %d after reconnecting, want %d", again.ID, start.ID)
	}
}

func TestCloseIsALeave(t *testing.T) {
	e := newEnv(t)
	e.deploy("arena", gamebuildtest.Arena(t))
	e.spawn("arena")
	var mu sync.Mutex
	var left []string
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stay, err := play.Join(ctx, e.admin, play.JoinRequest{Game: "arena", Player: "stay"}, play.Config{OnEvent: func(ev play.Event) {
		if ev.Kind == play.EventPlayerLeft {
			mu.Lock()
			left = append(left, ev.Player)
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer stay.Close()
	quit := e.join("quit")
	avatar(t, stay, "quit")
	if err := quit.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if st := quit.Stats(); st.State != play.Closed || !errors.Is(quit.Err(), play.ErrClosed) {
		t.Errorf("after Close: state %v, err %v", st.State, quit.Err())
	}
	if err := quit.Send([]byte{0, 0, 0}); !errors.Is(err, play.ErrClosed) {
		t.Errorf("send after Close: %v, want ErrClosed", err)
	}
	// Well within the executor's 30 s grace.
	testenv.WaitFor(t, "the other player to see the leave", 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(left) == 1 && left[0] == "quit"
	})
	var snap world.Snapshot
	testenv.WaitFor(t, "the game to drop the player", 5*time.Second, func() bool {
		_, ok := stay.Render(&snap, time.Now())
		return ok && snap.Player("quit") == nil
	})
}

func TestRefusedTickets(t *testing.T) {
	e := newEnv(t)
	e.deploy("arena", gamebuildtest.Arena(t))
	e.spawn("arena")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	good, err := protocol.PlayURL(j.WsUrl, j.InstanceId, j.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := protocol.PlayURL(j.WsUrl, j.InstanceId, "not-a-jwt")
	if _, err := play.Connect(ctx, bad, play.Config{}); !isClose(t, err, protocol.CloseTicketMalformed) {
		t.Errorf("malformed ticket: %v", err)
	}
	s, err := play.Connect(ctx, good, play.Config{})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = play.Connect(ctx, good, play.Config{})
	if !isClose(t, err, protocol.CloseTicketReused) {
		t.Errorf("reused ticket: %v", err)
	}
	if err != nil && !strings.Contains(err.Error(), "4005 ticket_reused") {
		t.Errorf("error text %q does not name the code", err)
	}
	// No game of that name: the coordinator's error, returned at once.
	if _, err := play.Join(ctx, e.admin, play.JoinRequest{Game: "nope", Player: "bob"}, play.Config{}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("join of an unknown game: %v", err)
	}
}

// isClose reports whether err is a *play.CloseError with code, matched
// both ways.
func isClose(t *testing.T, err error, code protocol.CloseCode) bool {
	t.Helper()
	var ce *play.CloseError
	if !errors.As(err, &ce) {
		return false
	}
	if !errors.Is(err, code) {
		t.Errorf("errors.Is(%v, %v) is false", err, code)
	}
	return ce.Code == code && ce.Name == code.String()
}

func TestInstanceFailedEndsTheSession(t *testing.T) {
	e := newEnv(t)
	module, err := os.ReadFile("../wasmhost/testdata/input_loop.wasm")
	if err != nil {
		t.Fatal(err)
	}
	e.deploy("looper", module)
	e.spawn("looper")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var closed []error
	var mu sync.Mutex
	s, err := play.Join(ctx, e.admin, play.JoinRequest{Game: "looper", Player: "p"}, play.Config{OnEvent: func(ev play.Event) {
		if ev.Kind == play.EventClosed {
			mu.Lock()
			closed = append(closed, ev.Err)
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testenv.WaitFor(t, "a state", 10*time.Second, func() bool { return s.Stats().States > 0 })
	if st := s.Stats(); st.World {
		t.Error("a state that is no world snapshot decoded as one")
	}
	if frame, data := s.LastState(nil); frame == 0 || len(data) == 0 {
		t.Errorf("last state: frame %d, %d bytes", frame, len(data))
	}
	if err := s.Send([]byte("go")); err != nil { // on_input never returns
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-time.After(20 * time.Second):
		t.Fatalf("the session did not end: %+v", s.Stats())
	}
	err = s.Err()
	var ce *play.CloseError
	if !errors.As(err, &ce) || !errors.Is(err, protocol.CloseInstanceFailed) {
		t.Fatalf("session ended with %v, want instance_failed", err)
	}
	if ce.Name != "instance_failed" || !strings.HasPrefix(ce.Detail, "fuel_exhausted") {
		t.Errorf("close error %+v, want instance_failed with a fuel_exhausted detail", ce)
	}
	if st := s.Stats(); st.State != play.Closed || st.Reconnects != 0 || st.Err != err {
		t.Errorf("stats after the failure: %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(closed) != 1 || closed[0] != err {
		t.Errorf("closed events %v", closed)
	}
}

func TestURLSessionDoesNotReconnect(t *testing.T) {
	e := newEnv(t)
	e.deploy("arena", gamebuildtest.Arena(t))
	e.spawn("arena")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := protocol.PlayURL(j.WsUrl, j.InstanceId, j.Ticket)
	s, err := play.Connect(ctx, u, play.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testenv.WaitFor(t, "a state", 10*time.Second, func() bool { return s.Stats().States > 0 })
	e.proxy.cut()
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("the session did not end: %+v", s.Stats())
	}
	if err := s.Err(); !errors.Is(err, play.ErrConnectionLost) {
		t.Errorf("ended with %v, want ErrConnectionLost", err)
	}
	if st := s.Stats(); st.Reconnects != 0 || st.Connects != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestJoinOverTLS: with the executor serving wss://, a session verifying
// it with the CA plays (and reconnects over TLS); one verifying against
// the system roots is refused before any ticket is sent.
func TestJoinOverTLS(t *testing.T) {
	files, err := certs.WriteDev(certs.DevRequest{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srvTLS, err := certs.ServerConfig(certs.ServerFiles{Cert: files.ServerCert, Key: files.ServerKey})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvTLS(t, srvTLS)
	e.deploy("arena", gamebuildtest.Arena(t))
	e.spawn("arena")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := play.Join(ctx, e.admin, play.JoinRequest{Game: "arena", Player: "eve"}, play.Config{ReconnectFor: -1}); err == nil ||
		!errors.As(err, new(x509.UnknownAuthorityError)) {
		t.Fatalf("a session without the CA: %v, want an unknown authority", err)
	}
	caTLS, err := certs.ClientConfig(certs.ClientFiles{CA: files.CA, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := play.Join(ctx, e.admin, play.JoinRequest{Game: "arena", Player: "dave"}, play.Config{TLS: caTLS, MinBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testenv.WaitFor(t, "a state over wss://", 20*time.Second, func() bool { return s.Stats().States > 0 })
	e.proxy.cut()
	testenv.WaitFor(t, "a reconnection over wss://", 20*time.Second, func() bool { st := s.Stats(); return st.Reconnects == 1 && st.Connects == 2 })
}

func TestNothingBlocksWhileConnecting(t *testing.T) {
	// A server that accepts TCP connections and never answers the upgrade.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := play.Start(play.URL("ws://"+l.Addr().String()+"/play/i-1?ticket=x"), play.Config{InputQueue: 4})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Ready(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ready: %v, want the context's deadline", err)
	}
	start := time.Now()
	for i := range 10 {
		if err := s.Send([]byte{byte(i), 0, 0}); err != nil {
			t.Fatal(err)
		}
	}
	var snap world.Snapshot
	if _, ok := s.Render(&snap, time.Now()); ok {
		t.Error("rendered before any state")
	}
	st := s.Stats()
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("sending, rendering and reading stats took %v while connecting", d)
	}
	if st.State != play.Connecting || st.InputsDropped != 6 || st.InputsSent != 0 {
		t.Errorf("stats while connecting: state %v, %d inputs dropped, %d sent; want connecting, 6, 0", st.State, st.InputsDropped, st.InputsSent)
	}
	if err := s.Send(make([]byte, protocol.MaxInputBytes+1)); !errors.Is(err, protocol.ErrTooLarge) {
		t.Errorf("sending an oversized input: %v, want ErrTooLarge", err)
	}
	start = time.Now()
	if err := s.Close(); err != nil {
		t.Errorf("close while connecting: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("close while connecting took %v", d)
	}
	if err := s.Err(); !errors.Is(err, play.ErrClosed) {
		t.Errorf("err after close: %v", err)
	}
}
