package main

// End-to-end tests: rccd coordinator, rccd executor and rccd dev run as
// real processes (this test binary, re-executed as rccd), on loopback, with
// players on real WebSockets and rccctl built from cmd/rccctl.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/certs"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/gamebuild"
	"github.com/rcc-games/rcc/pkg/pgtest"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/world"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// childEnv makes this test binary run as rccd.
const childEnv = "RCCD_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	pgtest.Main(m)
}

// ---- processes ----

// proc is rccd running as a child process.
type proc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	out    lockedBuffer
	logs   lockedBuffer
	done   chan struct{}
	status error
}

func startProc(t testing.TB, name string, env []string, args ...string) *proc {
	t.Helper()
	return startProcIn(t, "", name, env, args...)
}

// startProcIn is startProc in the network namespace netns ("": this
// process's), through ip netns exec.
func startProcIn(t testing.TB, netns, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, done: make(chan struct{})}
	if netns == "" {
		p.cmd = exec.Command(os.Args[0], args...)
	} else {
		p.cmd = exec.Command("ip", append([]string{"netns", "exec", netns, os.Args[0]}, args...)...)
	}
	p.cmd.Env = append(append(os.Environ(), childEnv+"=1"), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.status = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- %s logs ---\n%s", p.name, tail(p.logs.String(), 60))
		}
	})
	return p
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits for the process to exit (killing it after
// 20 s).
func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.t.Errorf("%s did not stop on SIGTERM", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill9 kills the process with SIGKILL: no shutdown at all.
func (p *proc) kill9() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// logLine waits for a JSON log line with message msg and returns it.
func (p *proc) logLine(msg string) map[string]any {
	p.t.Helper()
	var rec map[string]any
	testenv.WaitFor(p.t, p.name+" to log "+msg, 60*time.Second, func() bool {
		if p.exited() {
			p.t.Fatalf("%s exited (%v):\n%s", p.name, p.status, tail(p.logs.String(), 40))
		}
		for _, line := range strings.Split(p.logs.String(), "\n") {
			var r map[string]any
			if json.Unmarshal([]byte(line), &r) == nil && r["msg"] == msg {
				rec = r
				return true
			}
		}
		return false
	})
	return rec
}

// ---- a cluster of processes ----

type cluster struct {
	t      testing.TB
	db     string
	dir    string
	addr   string
	issuer *auth.Issuer
	admin  *client.Client
	coord  *proc
	// certs, when set, are the dev certificates every hop uses: the
	// coordinator serves TLS and asks executors for their client
	// certificates, executors serve wss://.
	certs *certs.DevFiles
	// coordinators, when set, is the --coordinator list executors get
	// (several coordinators); else addr.
	coordinators string
	// netns is the network namespace of the coordinator ("": this
	// process's).
	netns string
}

// newCluster starts rccd coordinator on db with fast heartbeats (200 ms, an
// executor is lost after two seconds of silence).
func newCluster(t testing.TB, db string) *cluster {
	return newClusterWith(t, db, nil)
}

// newClusterWith is newCluster with TLS on every hop when tls is set.
func newClusterWith(t testing.TB, db string, tls *certs.DevFiles) *cluster {
	return newClusterIn(t, db, tls, "", "127.0.0.1:0")
}

// newClusterIn is newClusterWith with the coordinator in network
// namespace netns ("": this process's), listening on addr.
func newClusterIn(t testing.TB, db string, tls *certs.DevFiles, netns, addr string) *cluster {
	dir := t.TempDir()
	key, err := auth.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	is, err := auth.NewIssuer(key, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, db: db, dir: dir, issuer: is, addr: addr, certs: tls, netns: netns}
	c.startCoordinator()
	tok, _, err := is.RoleToken(auth.RoleAdmin, "e2e", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if c.admin, err = client.DialConfig(c.target(client.Token(tok))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.admin.Close() })
	return c
}

func (c *cluster) startCoordinator() {
	c.coord = c.coordinatorProc("coordinator", c.netns, c.addr, c.dir)
	c.addr = c.coord.logLine("coordinator started")["grpc_addr"].(string)
}

// coordinatorProc starts another rccd coordinator of the cluster (on its
// database, with its certificates) in network namespace netns, listening
// on addr, with dataDir holding the cluster's signing key.
func (c *cluster) coordinatorProc(name, netns, addr, dataDir string, extra ...string) *proc {
	args := []string{"coordinator", "--db", c.db, "--grpc-addr", addr,
		"--metrics-addr", "", "--data-dir", dataDir, "--heartbeat-interval", "200ms", "--missed-heartbeats", "10"}
	if c.certs != nil {
		args = append(args, "--tls-cert", c.certs.ServerCert, "--tls-key", c.certs.ServerKey, "--tls-client-ca", c.certs.CA)
	}
	return startProcIn(c.t, netns, name, nil, append(args, extra...)...)
}

// sharedKeyDir is a new data directory holding a copy of the cluster's
// (its signing key: the database is elsewhere), for another coordinator
// on the same database.
func (c *cluster) sharedKeyDir() string {
	c.t.Helper()
	dir := c.t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(c.dir)); err != nil {
		c.t.Fatal(err)
	}
	// CopyFS makes files 0666 less the umask; keys must stay private.
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			err = os.Chmod(path, 0o600)
		}
		return err
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return dir
}

// target is how a client with token reaches the cluster's coordinator:
// over TLS verified with the dev CA when the cluster has certificates.
func (c *cluster) target(token client.Token) client.Target {
	c.t.Helper()
	t := client.Target{Addr: c.addr, Token: token}
	if c.certs != nil {
		var err error
		if t.TLS, err = certs.ClientConfig(certs.ClientFiles{CA: c.certs.CA}); err != nil {
			c.t.Fatal(err)
		}
	}
	return t
}

// executorTLSArgs are an executor's TLS flags in a cluster with
// certificates: wss:// for its players, TLS to the coordinator with its
// client certificate.
func (c *cluster) executorTLSArgs(name string) []string {
	c.t.Helper()
	if c.certs == nil {
		return nil
	}
	pair, ok := c.certs.Clients[name]
	if !ok {
		c.t.Fatalf("the cluster's certificates have no client certificate for executor %s (devCerts)", name)
	}
	return []string{"--tls-cert", c.certs.ServerCert, "--tls-key", c.certs.ServerKey, "--coordinator-ca", c.certs.CA,
		"--tls-client-cert", pair[0], "--tls-client-key", pair[1]}
}

// execProc is an rccd executor process.
type execProc struct {
	*proc
	id, wsURL, metrics string
}

// executorDataDir is a data dir of its own for one executor (a live
// executor holds its data dir locked) whose compiled-code cache is shared
// by the executors of every test, a cache like Go's build cache: compiled
// code is keyed by content and written atomically, so arena is compiled
// once (which takes seconds under the race detector).
func executorDataDir(t testing.TB) string {
	t.Helper()
	shared := filepath.Join(os.TempDir(), fmt.Sprintf("rccd-e2e-compiled-cache-%d", os.Getuid()))
	dir := t.TempDir()
	if err := os.MkdirAll(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "executor"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(shared, filepath.Join(dir, "executor", "compiled")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// executor starts rccd executor NAME, with extra flags.
func (c *cluster) executor(name string, extra ...string) *execProc {
	c.t.Helper()
	return c.executorIn(name, "", "127.0.0.1:0", extra...)
}

// executorIn starts executor name in network namespace netns ("": this
// process's), its players' endpoint on wsAddr, with extra flags.
func (c *cluster) executorIn(name, netns, wsAddr string, extra ...string) *execProc {
	c.t.Helper()
	tok, _, err := c.issuer.RoleToken(auth.RoleExecutor, name, time.Hour)
	if err != nil {
		c.t.Fatal(err)
	}
	cache := executorDataDir(c.t)
	coords := c.addr
	if c.coordinators != "" {
		coords = c.coordinators
	}
	args := append([]string{"executor", "--coordinator", coords,
		"--name", name, "--ws-addr", wsAddr, "--metrics-addr", "127.0.0.1:0", "--data-dir", cache,
		"--drain-timeout", "0s"}, c.executorTLSArgs(name)...)
	p := startProcIn(c.t, netns, "executor "+name, []string{"RCC_EXECUTOR_TOKEN=" + string(tok)}, append(args, extra...)...)
	rec := p.logLine("executor started")
	if slices.Contains(extra, "--io-uring") && c.certs == nil && rec["io_uring"] != true {
		c.t.Fatalf("executor %s started with --io-uring and no TLS does not send through io_uring: %v", name, rec)
	}
	return &execProc{proc: p, id: rec["executor"].(string), wsURL: rec["public_url"].(string), metrics: rec["metrics_addr"].(string)}
}

func (c *cluster) deploy(game string, module []byte) {
	c.t.Helper()
	if _, err := c.admin.Deploy(context.Background(), client.DeployRequest{Game: game, Module: module}); err != nil {
		c.t.Fatalf("deploy %s: %v", game, err)
	}
}

func (c *cluster) spawn(req *rccv1.SpawnRequest) *rccv1.Instance {
	c.t.Helper()
	in, err := c.admin.Instances.Spawn(context.Background(), req)
	if err != nil {
		c.t.Fatalf("spawn %s: %v", req.Game, err)
	}
	return in
}

// waitInstance waits until cond holds for instance id and returns it.
func (c *cluster) waitInstance(id, what string, cond func(*rccv1.Instance) bool) *rccv1.Instance {
	c.t.Helper()
	var in *rccv1.Instance
	testenv.WaitFor(c.t, "instance "+id+" "+what, 60*time.Second, func() bool {
		var err error
		in, err = c.admin.Instances.Get(context.Background(), &rccv1.GetInstanceRequest{Id: id})
		return err == nil && cond(in)
	})
	return in
}

func isState(s rccv1.InstanceState) func(*rccv1.Instance) bool {
	return func(in *rccv1.Instance) bool { return in.State == s }
}

func (c *cluster) join(game, player string) *rccv1.JoinResponse {
	c.t.Helper()
	j, err := c.admin.Instances.Join(context.Background(), &rccv1.JoinRequest{Game: game, PlayerId: player})
	if err != nil {
		c.t.Fatalf("join %s as %s: %v", game, player, err)
	}
	return j
}

// ---- fixtures ----

var (
	arenaOnce sync.Once
	arenaWasm []byte
	arenaErr  error
)

// arenaModule builds games/arena once per test binary.
func arenaModule(t testing.TB) []byte {
	arenaOnce.Do(func() {
		out := filepath.Join(os.TempDir(), fmt.Sprintf("rccd-e2e-arena-%d.wasm", os.Getpid()))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if arenaErr = gamebuild.Build(ctx, "../../games/arena", out); arenaErr == nil {
			arenaWasm, arenaErr = os.ReadFile(out)
			os.Remove(out)
		}
	})
	if arenaErr != nil {
		t.Fatalf("build arena: %v", arenaErr)
	}
	return arenaWasm
}

// rccctl builds cmd/rccctl (once per test, the build cache makes it quick)
// and runs it.
func rccctl(t testing.TB, env []string, args ...string) (string, error) {
	t.Helper()
	ctl := ctlBinary(t)
	cmd := exec.Command(ctl, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var ctlBinaries sync.Map // test name -> path

func ctlBinary(t testing.TB) string {
	t.Helper()
	if p, ok := ctlBinaries.Load(t.Name()); ok {
		if _, err := os.Stat(p.(string)); err == nil {
			return p.(string)
		} // else built by an earlier run of the same test (-count), in its removed directory
	}
	p := filepath.Join(t.TempDir(), "rccctl")
	if out, err := exec.Command("go", "build", "-o", p, "../rccctl").CombinedOutput(); err != nil {
		t.Fatalf("go build rccctl: %v\n%s", err, out)
	}
	ctlBinaries.Store(t.Name(), p)
	return p
}

// ---- players ----

// player is a WebSocket client of an instance.
type player struct {
	t       testing.TB
	id      string
	conn    *websocket.Conn
	welcome *protocol.Welcome

	mu     sync.Mutex
	snap   *world.Snapshot
	frame  uint64
	states int
	closed error
	done   chan struct{}
}

func dialPlayer(t testing.TB, url, id string) *player {
	t.Helper()
	return dialPlayerWith(t, websocket.DefaultDialer, url, id)
}

// dialPlayerWith is dialPlayer through d (for wss://, with its CA).
func dialPlayerWith(t testing.TB, d *websocket.Dialer, url, id string) *player {
	t.Helper()
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", id, err)
	}
	p := &player{t: t, id: id, conn: conn, done: make(chan struct{})}
	_, msg, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("%s: first frame: %v", id, err)
	}
	f, err := protocol.Decode(msg)
	w, ok := f.(*protocol.Welcome)
	if err != nil || !ok {
		t.Fatalf("%s: first frame %T %v, want a welcome", id, f, err)
	}
	p.welcome = w
	go p.read()
	t.Cleanup(func() { conn.Close(); <-p.done })
	return p
}

func (p *player) read() {
	defer close(p.done)
	for {
		_, msg, err := p.conn.ReadMessage()
		if err != nil {
			p.mu.Lock()
			p.closed = err
			p.mu.Unlock()
			return
		}
		f, err := protocol.Decode(msg)
		if err != nil {
			continue
		}
		if s, ok := f.(*protocol.State); ok {
			snap, err := world.Decode(s.Data)
			p.mu.Lock()
			if err == nil {
				p.snap = snap
			}
			p.frame = s.Frame
			p.states++
			p.mu.Unlock()
		}
	}
}

func (p *player) send(x, z int8) {
	p.t.Helper()
	b, _ := protocol.Encode(&protocol.Input{Data: []byte{byte(x), byte(z), 0}})
	if err := p.conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		p.t.Fatalf("%s: send: %v", p.id, err)
	}
}

func (p *player) lastFrame() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frame
}

// position is where player who stands in the latest state p received.
func (p *player) position(who string) (world.Vec3, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.snap == nil {
		return world.Vec3{}, false
	}
	for _, pl := range p.snap.Players {
		if pl.ID != who || pl.Entity == 0 {
			continue
		}
		for _, e := range p.snap.Entities {
			if e.ID == pl.Entity {
				return e.Position, true
			}
		}
	}
	return world.Vec3{}, false
}

// seesMove checks that observer sees mover's avatar move by more than a
// metre along axis ('x' or 'z') while mover pushes that way, towards the
// middle of the arena (so that no wall is in the way).
func seesMove(t testing.TB, observer, mover *player, axis byte) {
	t.Helper()
	var start world.Vec3
	testenv.WaitFor(t, observer.id+" to see "+mover.id, 30*time.Second, func() bool {
		var ok bool
		start, ok = observer.position(mover.id)
		return ok
	})
	along := func(v world.Vec3) float32 {
		if axis == 'x' {
			return v.X
		}
		return v.Z
	}
	push := int8(127)
	if along(start) > 0 {
		push = -127
	}
	x, z := push, int8(0)
	if axis == 'z' {
		x, z = 0, push
	}
	testenv.WaitFor(t, observer.id+" to see "+mover.id+" move", 30*time.Second, func() bool {
		mover.send(x, z)
		pos, _ := observer.position(mover.id)
		return (along(pos)-along(start))*float32(push) > 127
	})
	mover.send(0, 0)
}

// ---- tests ----

func TestE2ESQLite(t *testing.T) {
	testEndToEnd(t, "sqlite://"+filepath.Join(t.TempDir(), "rcc.db"))
}

func TestE2EPostgres(t *testing.T) {
	testEndToEnd(t, pgtest.New(t))
}

// testEndToEnd: deploy arena, spawn it, two players join, move and see each
// other; a hostile module's instance fails with fuel_exhausted on the same
// executor while arena keeps running.
func testEndToEnd(t *testing.T, db string) {
	arena := arenaModule(t)
	c := newCluster(t, db)
	x := c.executor("ex-a")
	ctx := context.Background()

	c.deploy("arena", arena)
	in := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600})
	c.waitInstance(in.Id, "running", isState(rccv1.InstanceState_INSTANCE_STATE_RUNNING))

	ja, jb := c.join("arena", "alice"), c.join("arena", "bob")
	if ja.InstanceId != in.Id || jb.InstanceId != in.Id || ja.WsUrl != x.wsURL {
		t.Fatalf("joins went to %s and %s at %s, want %s at %s", ja.InstanceId, jb.InstanceId, ja.WsUrl, in.Id, x.wsURL)
	}
	urlA, _ := protocol.PlayURL(ja.WsUrl, ja.InstanceId, ja.Ticket)
	urlB, _ := protocol.PlayURL(jb.WsUrl, jb.InstanceId, jb.Ticket)
	alice, bob := dialPlayer(t, urlA, "alice"), dialPlayer(t, urlB, "bob")
	if alice.welcome.PlayerID != "alice" || alice.welcome.TickHz != 60 || alice.welcome.InstanceID != in.Id {
		t.Fatalf("welcome %+v", alice.welcome)
	}
	seesMove(t, bob, alice, 'x')
	seesMove(t, alice, bob, 'z')

	// The coordinator hears about both players from the heartbeats, with
	// the executor's live stats.
	c.waitInstance(in.Id, "with 2 players", func(in *rccv1.Instance) bool { return in.Players == 2 && in.Reserved == 0 })
	testenv.WaitFor(t, "executor stats", 30*time.Second, func() bool {
		xs, err := c.admin.Executors.List(ctx, &rccv1.ListExecutorsRequest{})
		if err != nil || len(xs.Executors) != 1 {
			return false
		}
		st := xs.Executors[0].Stats
		return st.GetPlayers() == 2 && st.GetInstances() == 1 && st.GetTickP99Ms() > 0 && st.GetMemoryBytes() > 0
	})
	resp, err := http.Get("http://" + x.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"player_count 2", "wasm_tick_duration_ms_bucket", "instance_memory_usage{"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("executor /metrics lacks %q", want)
		}
	}

	// A hostile module on the same executor.
	loop, err := os.ReadFile("../../pkg/wasmhost/testdata/tick_loop.wasm")
	if err != nil {
		t.Fatal(err)
	}
	c.deploy("looper", loop)
	// The arena goes on through its neighbour's failure and after it,
	// counted in its own frames (the rate compared with a control arena is
	// pkg/executor's TestHostileInstanceFailsAlone): no wall-clock window.
	f0 := alice.lastFrame()
	bad := c.spawn(&rccv1.SpawnRequest{Game: "looper", LeaseSeconds: 600})
	failed := c.waitInstance(bad.Id, "failed", isState(rccv1.InstanceState_INSTANCE_STATE_FAILED))
	if !strings.HasPrefix(failed.Reason, "fuel_exhausted") {
		t.Fatalf("hostile instance reason %q, want fuel_exhausted…", failed.Reason)
	}
	out, err := rccctl(t, []string{"RCC_ADDR=" + c.addr, "RCC_TOKEN=" + string(mustToken(t, c.issuer))}, "instance", "get", bad.Id)
	if err != nil || !strings.Contains(out, "failed") || !strings.Contains(out, "fuel_exhausted") {
		t.Fatalf("rccctl instance get: %v\n%s", err, out)
	}
	f1 := alice.lastFrame()
	testenv.WaitFor(t, "60 more arena frames after its neighbour failed", time.Minute, func() bool {
		return alice.lastFrame() >= f1+60
	})
	t.Logf("arena: %d frames while the hostile instance was spawned and failed, then 60 more", f1-f0)
	if in := c.waitInstance(in.Id, "still running", func(*rccv1.Instance) bool { return true }); in.State != rccv1.InstanceState_INSTANCE_STATE_RUNNING {
		t.Fatalf("arena is %v after its neighbour failed", in.State)
	}

	// An operator stop reaches the players with its reason.
	if _, err := c.admin.Instances.Stop(ctx, &rccv1.StopInstanceRequest{Id: in.Id, Reason: "e2e over"}); err != nil {
		t.Fatal(err)
	}
	c.waitInstance(in.Id, "stopped", isState(rccv1.InstanceState_INSTANCE_STATE_STOPPED))
	<-alice.done
	var ce *websocket.CloseError
	if !errors.As(alice.closed, &ce) || ce.Code != int(protocol.CloseInstanceStopped) || !strings.Contains(ce.Text, "e2e over") {
		t.Fatalf("alice closed with %v", alice.closed)
	}
}

func mustToken(t testing.TB, is *auth.Issuer) auth.Token {
	tok, _, err := is.RoleToken(auth.RoleAdmin, "e2e-rccctl", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestE2ECoordinatorRestart: the coordinator stops and comes back on the
// same address; the executor keeps its instance and players, reconnects,
// and the coordinator sees it all again.
func TestE2ECoordinatorRestart(t *testing.T) {
	arena := arenaModule(t)
	c := newCluster(t, "sqlite://"+filepath.Join(t.TempDir(), "rcc.db"))
	x := c.executor("ex-a")
	c.deploy("arena", arena)
	in := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600})
	c.waitInstance(in.Id, "running", isState(rccv1.InstanceState_INSTANCE_STATE_RUNNING))
	j := c.join("arena", "alice")
	url, _ := protocol.PlayURL(j.WsUrl, j.InstanceId, j.Ticket)
	alice := dialPlayer(t, url, "alice")

	c.coord.stop()
	f0 := alice.lastFrame()
	testenv.WaitFor(t, "frames while the coordinator is away", 10*time.Second, func() bool { return alice.lastFrame() > f0+30 })
	c.startCoordinator()

	c.waitInstance(in.Id, "running with its player", func(in *rccv1.Instance) bool {
		return in.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING && in.Players == 1
	})
	restarted := time.Now()
	testenv.WaitFor(t, "heartbeats to the new coordinator", 30*time.Second, func() bool {
		xs, err := c.admin.Executors.List(context.Background(), &rccv1.ListExecutorsRequest{})
		return err == nil && len(xs.Executors) == 1 && xs.Executors[0].State == rccv1.ExecutorState_EXECUTOR_STATE_ACTIVE &&
			xs.Executors[0].LastHeartbeat.AsTime().After(restarted)
	})
	jb := c.join("arena", "bob")
	urlB, _ := protocol.PlayURL(jb.WsUrl, jb.InstanceId, jb.Ticket)
	bob := dialPlayer(t, urlB, "bob")
	seesMove(t, bob, alice, 'z')
	if x.exited() {
		t.Fatal("the executor exited")
	}
}

// TestE2EExecutorLost: kill -9 of the executor running an instance; the
// coordinator marks it lost and respawns the instance on the other one.
func TestE2EExecutorLost(t *testing.T) {
	arena := arenaModule(t)
	c := newCluster(t, "sqlite://"+filepath.Join(t.TempDir(), "rcc.db"))
	xa, xb := c.executor("ex-a"), c.executor("ex-b")
	c.deploy("arena", arena)
	in := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600, Respawn: true})
	in = c.waitInstance(in.Id, "running", isState(rccv1.InstanceState_INSTANCE_STATE_RUNNING))
	victim, other := xa, xb
	if in.ExecutorId == xb.id {
		victim, other = xb, xa
	}
	victim.kill9()

	lost := c.waitInstance(in.Id, "lost", isState(rccv1.InstanceState_INSTANCE_STATE_LOST))
	if !strings.Contains(lost.Reason, "lost") {
		t.Fatalf("lost reason %q", lost.Reason)
	}
	var re *rccv1.Instance
	testenv.WaitFor(t, "the respawned instance to run on "+other.id, 60*time.Second, func() bool {
		l, err := c.admin.Instances.List(context.Background(), &rccv1.ListInstancesRequest{Game: "arena"})
		if err != nil {
			return false
		}
		for _, i := range l.Instances {
			if i.RespawnedFrom == in.Id && i.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING {
				re = i
				return true
			}
		}
		return false
	})
	if re.ExecutorId != other.id || re.Seed != in.Seed {
		t.Fatalf("respawned %+v", re)
	}
	xs, err := c.admin.Executors.List(context.Background(), &rccv1.ListExecutorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range xs.Executors {
		if x.Id == victim.id && x.State != rccv1.ExecutorState_EXECUTOR_STATE_LOST {
			t.Fatalf("killed executor is %v", x.State)
		}
	}
	j := c.join("arena", "carol")
	url, _ := protocol.PlayURL(j.WsUrl, j.InstanceId, j.Ticket)
	carol := dialPlayer(t, url, "carol")
	testenv.WaitFor(t, "carol's avatar", 30*time.Second, func() bool { _, ok := carol.position("carol"); return ok })
}

// TestE2EExecutorDrainsOnShutdown: SIGTERM drains the executor: the
// coordinator places nothing more on it, its instance runs on with its
// player until stopped, then the executor exits 0.
func TestE2EExecutorDrainsOnShutdown(t *testing.T) {
	arena := arenaModule(t)
	c := newCluster(t, "sqlite://"+filepath.Join(t.TempDir(), "rcc.db"))
	tok, _, err := c.issuer.RoleToken(auth.RoleExecutor, "ex-d", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cache := executorDataDir(t)
	x := startProc(t, "executor ex-d", []string{"RCC_EXECUTOR_TOKEN=" + string(tok)}, "executor", "--coordinator", c.addr,
		"--name", "ex-d", "--ws-addr", "127.0.0.1:0", "--metrics-addr", "", "--data-dir", cache, "--drain-timeout", "1m")
	x.logLine("executor started")
	c.deploy("arena", arena)
	in := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600})
	c.waitInstance(in.Id, "running", isState(rccv1.InstanceState_INSTANCE_STATE_RUNNING))
	j := c.join("arena", "alice")
	url, _ := protocol.PlayURL(j.WsUrl, j.InstanceId, j.Ticket)
	alice := dialPlayer(t, url, "alice")

	if err := x.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the executor to drain", 30*time.Second, func() bool {
		xs, err := c.admin.Executors.List(context.Background(), &rccv1.ListExecutorsRequest{})
		return err == nil && len(xs.Executors) == 1 && xs.Executors[0].State == rccv1.ExecutorState_EXECUTOR_STATE_DRAINING
	})
	if pending := c.spawn(&rccv1.SpawnRequest{Game: "arena"}); pending.State != rccv1.InstanceState_INSTANCE_STATE_PENDING {
		t.Fatalf("spawn on a draining executor: %v", pending.State)
	}
	f0 := alice.lastFrame()
	testenv.WaitFor(t, "alice's game to go on while draining", 10*time.Second, func() bool { return alice.lastFrame() > f0+30 })
	if x.exited() {
		t.Fatal("the executor exited before its instance ended")
	}
	if _, err := c.admin.Instances.Stop(context.Background(), &rccv1.StopInstanceRequest{Id: in.Id, Reason: "maintenance"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-x.done:
		if x.status != nil {
			t.Fatalf("executor exited with %v", x.status)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the executor did not exit once drained")
	}
	<-alice.done
	var ce *websocket.CloseError
	if !errors.As(alice.closed, &ce) || ce.Code != int(protocol.CloseInstanceStopped) || !strings.Contains(ce.Text, "maintenance") {
		t.Fatalf("alice closed with %v", alice.closed)
	}
	c.waitInstance(in.Id, "stopped", isState(rccv1.InstanceState_INSTANCE_STATE_STOPPED))
}

// TestE2EDev: rccd dev with no configuration but a data dir and free
// ports; rccctl finds it through the credentials it wrote; a player joins
// with the play URL alone and sees its avatar move.
func TestE2EDev(t *testing.T) {
	arena := arenaModule(t)
	module := filepath.Join(t.TempDir(), "arena.wasm")
	if err := os.WriteFile(module, arena, 0o644); err != nil {
		t.Fatal(err)
	}
	cfgHome := t.TempDir()
	data := filepath.Join(t.TempDir(), "data")
	env := []string{"XDG_CONFIG_HOME=" + cfgHome, "RCC_ADDR=", "RCC_TOKEN="}
	p := startProc(t, "rccd dev", env, "dev", "--data-dir", data, "--grpc-addr", "127.0.0.1:0", "--ws-addr", "127.0.0.1:0",
		"--metrics-addr", "127.0.0.1:0", "--coordinator-metrics-addr", "127.0.0.1:0")
	p.logLine("rccd dev started")
	testenv.WaitFor(t, "rccd dev to print its addresses", 10*time.Second, func() bool { return strings.Contains(p.out.String(), "try:") })
	out := p.out.String()
	for _, want := range []string{"coordinator (gRPC)", "players (WebSocket)", "executor metrics", "admin token", filepath.Join(cfgHome, "rcc", "credentials.json")} {
		if !strings.Contains(out, want) {
			t.Errorf("rccd dev output lacks %q:\n%s", want, out)
		}
	}
	if fi, err := os.Stat(filepath.Join(data, "admin.token")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token: %v %v", fi, err)
	}
	ctl := func(args ...string) string {
		t.Helper()
		out, err := rccctl(t, env, args...)
		if err != nil {
			t.Fatalf("rccctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	ctl("game", "deploy", module, "--name", "arena")
	ctl("instance", "spawn", "arena", "--lease", "10m")
	testenv.WaitFor(t, "arena running", 60*time.Second, func() bool {
		return strings.Contains(ctl("instance", "ls", "--state", "running"), "arena")
	})
	joined := ctl("join", "arena", "--player", "you")
	m := regexp.MustCompile(`(?m)^play url\s+(\S+)$`).FindStringSubmatch(joined)
	if m == nil {
		t.Fatalf("no play url in:\n%s", joined)
	}
	you := dialPlayer(t, m[1], "you")
	seesMove(t, you, you, 'x')

	p.stop()
	if p.status != nil {
		t.Fatalf("rccd dev exited with %v", p.status)
	}
	// Its player was told.
	<-you.done
	var ce *websocket.CloseError
	if !errors.As(you.closed, &ce) || ce.Code != int(protocol.CloseExecutorShutdown) {
		t.Fatalf("player closed with %v, want %d", you.closed, protocol.CloseExecutorShutdown)
	}
	sc := bufio.NewScanner(strings.NewReader(p.logs.String()))
	stopped := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"agent stopped"`) {
			stopped = true
		}
	}
	if !stopped {
		t.Fatal("rccd dev did not stop its executor in order")
	}
}
