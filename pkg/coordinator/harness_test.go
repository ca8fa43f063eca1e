package coordinator_test

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	_ "embed"
	"errors"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
	"github.com/rcc-games/rcc/pkg/pgtest"
	"github.com/rcc-games/rcc/pkg/store"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

//go:embed testdata/minimal.wasm
var minimalWasm []byte

//go:embed testdata/bad_import.wasm
var badImportWasm []byte

func TestMain(m *testing.M) {
	if runChild() {
		return
	}
	pgtest.Main(m)
}

// env is a coordinator serving on loopback, with an admin client.
type env struct {
	t      testing.TB
	addr   string
	st     store.Store
	issuer *auth.Issuer
	admin  *client.Client
	srv    *coordinator.Server
	// tls, when set, is how clients reach a coordinator serving TLS.
	tls *tls.Config
}

func fastConfig(cfg *coordinator.Config) {
	cfg.HeartbeatInterval = 100 * time.Millisecond
	cfg.MissedHeartbeats = 10 // a second: tests run beside busy ones
	cfg.ReapInterval = 50 * time.Millisecond
	cfg.ResyncInterval = 200 * time.Millisecond
}

func sqliteStore(t testing.TB) store.Store {
	s, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "rcc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newIssuer(t testing.TB) *auth.Issuer {
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	is, err := auth.NewIssuer(key, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys.Store(is, key)
	return is
}

// start serves a coordinator on st; tune may change the configuration.
func start(t testing.TB, st store.Store, issuer *auth.Issuer, tune func(*coordinator.Config)) *env {
	t.Helper()
	return startServing(t, st, issuer, tune, coordinator.ServeConfig{})
}

// startServing is start with sc's server options.
func startServing(t testing.TB, st store.Store, issuer *auth.Issuer, tune func(*coordinator.Config), sc coordinator.ServeConfig) *env {
	t.Helper()
	cfg := coordinator.Config{Store: st, Issuer: issuer}
	fastConfig(&cfg)
	if tune != nil {
		tune(&cfg)
	}
	srv := coordinatortest.StartServing(t, cfg, sc)
	e := &env{t: t, addr: srv.Addr, st: st, issuer: issuer, srv: srv.Running}
	e.admin = e.dial(auth.RoleAdmin)
	t.Cleanup(func() { e.admin.Close() })
	return e
}

func (e *env) token(role auth.Role) auth.Token {
	tok, _, err := e.issuer.RoleToken(role, "test-"+string(role), time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *env) dial(role auth.Role) *client.Client { return e.dialAs(role, "test-"+string(role)) }

// dialAs connects with a token for subject (an executor's name).
func (e *env) dialAs(role auth.Role, subject string) *client.Client {
	tok, _, err := e.issuer.RoleToken(role, subject, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := client.DialConfig(client.Target{Addr: e.addr, Token: client.Token(tok), TLS: e.tls})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) deploy(game string) *rccv1.GameVersion {
	e.t.Helper()
	res, err := e.admin.Deploy(context.Background(), client.DeployRequest{Game: game, Module: minimalWasm})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Version
}

// clock is a coordinator's clock that moves only when the test says: with
// it, leases expire and executors go silent when the test advances it, not
// when the machine is slow. It starts at the current time so that tokens
// and tickets issued on the real clock stay valid.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

// Now returns the clock's time; it is the coordinator's Config.Now.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// onClock starts the coordinator on clk.
func onClock(clk *clock) func(*coordinator.Config) {
	return func(cfg *coordinator.Config) { cfg.Now = clk.Now }
}

// advanceBeating moves clk on by d, one heartbeat interval at a time,
// waiting at each step for every executor in live to heartbeat at the new
// time, so that only the others fall silent.
func advanceBeating(t testing.TB, clk *clock, d time.Duration, live ...*fakeExecutor) {
	t.Helper()
	var cfg coordinator.Config
	fastConfig(&cfg)
	for passed := time.Duration(0); passed < d; passed += cfg.HeartbeatInterval {
		clk.advance(cfg.HeartbeatInterval)
		for _, x := range live {
			// The beat counted after the advance is sent after it; once the
			// next one is counted, that one has been answered.
			n := x.beatCount()
			testenv.WaitFor(t, x.name+" to heartbeat", 5*time.Second, func() bool { return x.beatCount() >= n+2 })
		}
	}
}

// fakeExecutor speaks the executor side of the real gRPC API.
type fakeExecutor struct {
	t       testing.TB
	c       *client.Client
	id      string
	name    string
	pub     ed25519.PublicKey
	mu      sync.Mutex
	running map[string]*rccv1.Instance
	stops   map[string]string
	paused  bool       // no heartbeats while set
	sending sync.Mutex // held by the heartbeat loop while it sends one
	ended   chan error // the assignment stream's end
	beats   uint64
	cancel  context.CancelFunc
	done    sync.WaitGroup
}

func (e *env) executor(name string, capacity uint32) *fakeExecutor {
	e.t.Helper()
	c := e.dialAs(auth.RoleExecutor, name)
	ctx, cancel := context.WithCancel(context.Background())
	f := &fakeExecutor{t: e.t, c: c, name: name, running: map[string]*rccv1.Instance{}, stops: map[string]string{}, cancel: cancel,
		ended: make(chan error, 1)}
	res, err := c.Executors.Register(ctx, &rccv1.RegisterExecutorRequest{Name: name, WsUrl: "ws://" + name + ".test/play", Capacity: capacity})
	if err != nil {
		e.t.Fatal(err)
	}
	f.id = res.Executor.Id
	f.pub = ed25519.PublicKey(res.TicketPublicKey)
	stream, err := c.Executors.Assignments(ctx, &rccv1.AssignmentsRequest{ExecutorId: f.id})
	if err != nil {
		e.t.Fatal(err)
	}
	f.done.Add(2)
	go func() {
		defer f.done.Done()
		for {
			a, err := stream.Recv()
			if err != nil {
				f.ended <- err
				return
			}
			switch k := a.Kind.(type) {
			case *rccv1.Assignment_Start:
				f.mu.Lock()
				f.running[k.Start.Instance.Id] = k.Start.Instance
				f.mu.Unlock()
				_, _ = c.Executors.ReportInstance(ctx, &rccv1.ReportInstanceRequest{ExecutorId: f.id,
					Report: &rccv1.InstanceReport{InstanceId: k.Start.Instance.Id, State: rccv1.InstanceState_INSTANCE_STATE_RUNNING}})
			case *rccv1.Assignment_Stop:
				f.mu.Lock()
				delete(f.running, k.Stop.InstanceId)
				f.stops[k.Stop.InstanceId] = k.Stop.Reason
				f.mu.Unlock()
				_, _ = c.Executors.ReportInstance(ctx, &rccv1.ReportInstanceRequest{ExecutorId: f.id,
					Report: &rccv1.InstanceReport{InstanceId: k.Stop.InstanceId, State: rccv1.InstanceState_INSTANCE_STATE_STOPPED}})
			}
		}
	}()
	go func() {
		defer f.done.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			f.sending.Lock() // pause waits for a heartbeat in flight
			f.mu.Lock()
			paused := f.paused
			if !paused {
				f.beats++
			}
			var reports []*rccv1.InstanceReport
			for id := range f.running {
				reports = append(reports, &rccv1.InstanceReport{InstanceId: id, State: rccv1.InstanceState_INSTANCE_STATE_RUNNING,
					Stats: fakeStats(f.beats)})
			}
			f.mu.Unlock()
			if !paused {
				_, _ = c.Executors.Heartbeat(ctx, &rccv1.HeartbeatRequest{ExecutorId: f.id, Stats: &rccv1.ExecutorStats{Instances: uint32(len(reports))}, Instances: reports})
			}
			f.sending.Unlock()
		}
	}()
	e.t.Cleanup(f.close)
	return f
}

// fakeStats are the figures a fake executor reports with its n-th heartbeat.
func fakeStats(n uint64) *rccv1.InstanceStats {
	return &rccv1.InstanceStats{TickP50Ms: 0.5, TickP99Ms: 2.25, MemoryBytes: 1 << 20, FuelP50: 700, FuelMax: 900,
		Frames: 60 * n, Overruns: 1}
}

func (f *fakeExecutor) close() {
	f.cancel()
	f.done.Wait()
	f.c.Close()
}

func (f *fakeExecutor) has(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.running[id]
	return ok
}

func (f *fakeExecutor) stopped(id string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.stops[id]
	return r, ok
}

// beatCount returns how many heartbeats f has begun to send.
func (f *fakeExecutor) beatCount() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.beats
}

// pause stops (or resumes) f's heartbeats; pausing returns once a
// heartbeat in flight has been answered, so that none reaches the
// coordinator after it (on a clock a test has moved on meanwhile).
func (f *fakeExecutor) pause(p bool) {
	f.mu.Lock()
	f.paused = p
	f.mu.Unlock()
	f.sending.Lock()
	f.sending.Unlock()
}

func code(err error) codes.Code { return status.Code(err) }

var _ = errors.Is
var _ = io.EOF
