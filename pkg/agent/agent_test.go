package agent_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/agent"
	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
	"github.com/rcc-games/rcc/pkg/executor"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func readModule(t testing.TB, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// env is an in-process coordinator on SQLite with one agent.
type env struct {
	t     testing.TB
	srv   *coordinatortest.Server
	admin *client.Client
	agent *agent.Agent
	// stopAgent shuts the last agent started down (executor.Server's
	// Shutdown: its instances stopped and reported).
	stopAgent func()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	// The coordinator's clock stands still. These tests are about what the
	// agent does and reports; its heartbeats still flow at 100 ms, but a
	// machine busy compiling a guest under the race detector can no
	// longer make the coordinator declare the agent lost or a lease
	// expire.
	begun := time.Now()
	srv := coordinatortest.Start(t, coordinator.Config{HeartbeatInterval: 100 * time.Millisecond,
		MissedHeartbeats: 20, ReapInterval: 50 * time.Millisecond, ResyncInterval: 200 * time.Millisecond,
		Now: func() time.Time { return begun }})
	e := &env{t: t, srv: srv}
	e.admin = e.dial(auth.RoleAdmin, "admin")
	return e
}

func (e *env) dial(role auth.Role, subject string) *client.Client {
	return e.srv.Dial(role, subject, agent.DialOptions()...)
}

// startAgent registers an agent named name, configured further by opts,
// and runs it until the test ends.
func (e *env) startAgent(name, dataDir string, opts ...func(*agent.Config)) *agent.Agent {
	e.t.Helper()
	return e.startAgentAt(name, dataDir, "127.0.0.1:0", opts...)
}

// startAgentAt is startAgent with the players' listener on addr: a live
// executor keeps its URL, so an executor restarted before it is lost comes
// back where it was.
func (e *env) startAgentAt(name, dataDir, addr string, opts ...func(*agent.Config)) *agent.Agent {
	e.t.Helper()
	c := e.dial(auth.RoleExecutor, name)
	ws, err := executor.Listen(executor.ServeConfig{WSAddr: addr})
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := agent.Config{Client: c, Name: name, WSURL: "ws://" + ws.WSAddr(),
		DataDir: dataDir, Logger: slog.New(slog.DiscardHandler), Token: e.srv.Token(auth.RoleExecutor, name)}
	for _, o := range opts {
		o(&cfg)
	}
	a, err := agent.New(context.Background(), cfg)
	if err != nil {
		_ = ws.Shutdown(context.Background())
		e.t.Fatal(err)
	}
	ws.Serve(context.Background(), a.Executor(), a.Run)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := ws.Shutdown(context.Background()); err != nil {
				e.t.Errorf("shutdown: %v", err)
			}
			select {
			case err := <-ws.Err():
				e.t.Errorf("run: %v", err)
			default:
			}
		})
	}
	e.t.Cleanup(stop)
	e.agent, e.stopAgent = a, stop
	return a
}

func (e *env) deploy(game string, module []byte) {
	e.t.Helper()
	if _, err := e.admin.Deploy(context.Background(), client.DeployRequest{Game: game, Module: module}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) spawn(game string) string {
	e.t.Helper()
	in, err := e.admin.Instances.Spawn(context.Background(), &rccv1.SpawnRequest{Game: game, LeaseSeconds: 600})
	if err != nil {
		e.t.Fatal(err)
	}
	return in.Id
}

func (e *env) waitState(id string, want rccv1.InstanceState) *rccv1.Instance {
	e.t.Helper()
	var in *rccv1.Instance
	testenv.WaitFor(e.t, "instance "+id+" "+want.String(), 30*time.Second, func() bool {
		var err error
		in, err = e.admin.Instances.Get(context.Background(), &rccv1.GetInstanceRequest{Id: id})
		return err == nil && in.State == want
	})
	return in
}

func TestStartStopReport(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	a := e.startAgent("ex-1", dir)
	e.deploy("mini", readModule(t, "../coordinator/testdata/minimal.wasm"))
	id := e.spawn("mini")
	in := e.waitState(id, rccv1.InstanceState_INSTANCE_STATE_RUNNING)
	if in.ExecutorId != a.ID() {
		t.Fatalf("instance on %s, agent is %s", in.ExecutorId, a.ID())
	}
	if st, err := a.Executor().Instance(id); err != nil || st.State != executor.StateRunning {
		t.Fatalf("executor: %+v %v", st, err)
	}
	// Heartbeats carry the instance's live figures.
	testenv.WaitFor(t, "the instance's live figures", 10*time.Second, func() bool {
		got, err := e.admin.Instances.Get(context.Background(), &rccv1.GetInstanceRequest{Id: id})
		if err != nil || got.Stats == nil || got.Stats.Frames == 0 {
			return false
		}
		s := got.Stats
		if s.MemoryBytes <= 0 || s.TickP99Ms < s.TickP50Ms || s.FuelMax < s.FuelP50 || s.ReportedAt == nil {
			t.Fatalf("stats = %v", s)
		}
		return true
	})
	// The module is cached under its sha256.
	if _, err := os.Stat(filepath.Join(dir, "blobs", in.ModuleSha256)); err != nil {
		t.Fatalf("module not cached: %v", err)
	}
	if _, err := e.admin.Instances.Stop(context.Background(), &rccv1.StopInstanceRequest{Id: id, Reason: "test over"}); err != nil {
		t.Fatal(err)
	}
	stopped := e.waitState(id, rccv1.InstanceState_INSTANCE_STATE_STOPPED)
	if stopped.Reason != "test over" {
		t.Fatalf("reason %q", stopped.Reason)
	}
	// Reported, so the executor forgets it.
	testenv.WaitFor(t, "the executor to forget the instance", 10*time.Second, func() bool {
		_, err := a.Executor().Instance(id)
		return errors.Is(err, executor.ErrNotFound)
	})
}

func TestFailureReachesTheCoordinator(t *testing.T) {
	e := newEnv(t)
	e.startAgent("ex-1", t.TempDir())
	e.deploy("looper", readModule(t, "../wasmhost/testdata/tick_loop.wasm"))
	e.deploy("mini", readModule(t, "../coordinator/testdata/minimal.wasm"))
	good := e.spawn("mini")
	bad := e.spawn("looper")
	in := e.waitState(bad, rccv1.InstanceState_INSTANCE_STATE_FAILED)
	if !strings.HasPrefix(in.Reason, "fuel_exhausted") {
		t.Fatalf("reason %q, want fuel_exhausted first", in.Reason)
	}
	e.waitState(good, rccv1.InstanceState_INSTANCE_STATE_RUNNING)
	// Heartbeats carry the live stats.
	testenv.WaitFor(t, "executor stats", 10*time.Second, func() bool {
		xs, err := e.admin.Executors.List(context.Background(), &rccv1.ListExecutorsRequest{})
		return err == nil && len(xs.Executors) == 1 && xs.Executors[0].Stats.GetInstances() == 1 &&
			xs.Executors[0].Stats.GetMemoryBytes() > 0
	})
}

func TestRestartedAgentKeepsItsIDAndCache(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	e.deploy("mini", readModule(t, "../coordinator/testdata/minimal.wasm"))
	a := e.startAgent("ex-1", dir)
	id := e.spawn("mini")
	e.waitState(id, rccv1.InstanceState_INSTANCE_STATE_RUNNING)
	first := a.ID()
	xs, err := e.dial(auth.RoleAdmin, "t").Executors.List(context.Background(), &rccv1.ListExecutorsRequest{})
	if err != nil || len(xs.Executors) != 1 {
		t.Fatalf("executors %v %v", xs, err)
	}
	addr := strings.TrimPrefix(xs.Executors[0].WsUrl, "ws://")
	e.stopAgent()
	// Stopped on shutdown and reported.
	if in := e.waitState(id, rccv1.InstanceState_INSTANCE_STATE_STOPPED); in.Reason != string(executor.ReasonExecutorShutdown) {
		t.Fatalf("reason %q", in.Reason)
	}
	b := e.startAgentAt("ex-1", dir, addr)
	if b.ID() != first {
		t.Fatalf("id %s after restart, was %s", b.ID(), first)
	}
	e.waitState(e.spawn("mini"), rccv1.InstanceState_INSTANCE_STATE_RUNNING)
}

func TestDrain(t *testing.T) {
	e := newEnv(t)
	a := e.startAgent("ex-1", t.TempDir())
	e.deploy("mini", readModule(t, "../coordinator/testdata/minimal.wasm"))
	id := e.spawn("mini")
	e.waitState(id, rccv1.InstanceState_INSTANCE_STATE_RUNNING)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := a.Drain(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("drain with a running instance: %v", err)
	}
	if !a.Draining() {
		t.Fatal("not draining")
	}
	xs, err := e.admin.Executors.List(context.Background(), &rccv1.ListExecutorsRequest{})
	if err != nil || xs.Executors[0].State != rccv1.ExecutorState_EXECUTOR_STATE_DRAINING {
		t.Fatalf("executors %v %v", xs, err)
	}
	// Nothing new is placed here.
	if in, err := e.admin.Instances.Spawn(context.Background(), &rccv1.SpawnRequest{Game: "mini"}); err != nil || in.State != rccv1.InstanceState_INSTANCE_STATE_PENDING {
		t.Fatalf("spawn while draining: %v %v", in, err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Drain(context.Background()) }()
	if _, err := e.admin.Instances.Stop(context.Background(), &rccv1.StopInstanceRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("drain did not end when the last instance stopped")
	}
}

func TestRefusedToken(t *testing.T) {
	e := newEnv(t)
	c := e.dial(auth.RoleExecutor, "someone-else")
	_, err := agent.New(context.Background(), agent.Config{Client: c, Name: "ex-1", WSURL: "ws://127.0.0.1:1",
		DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Fatalf("err = %v, want a permission refusal", err)
	}
}

// TestRecordedInstance: an instance spawned with record has its input log
// in DataDir/replays, complete once it has stopped; others have none.
func TestRecordedInstance(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	e.startAgent("ex-1", dir)
	e.deploy("mini", readModule(t, "../coordinator/testdata/minimal.wasm"))
	rec, err := e.admin.Instances.Spawn(context.Background(), &rccv1.SpawnRequest{Game: "mini", LeaseSeconds: 600, Record: true})
	if err != nil {
		t.Fatal(err)
	}
	plain := e.spawn("mini")
	e.waitState(rec.Id, rccv1.InstanceState_INSTANCE_STATE_RUNNING)
	e.waitState(plain, rccv1.InstanceState_INSTANCE_STATE_RUNNING)
	testenv.WaitFor(t, "frames", 10*time.Second, func() bool {
		st, err := e.agent.Executor().Instance(rec.Id)
		return err == nil && st.Frames >= 3
	})
	for _, id := range []string{rec.Id, plain} {
		if _, err := e.admin.Instances.Stop(context.Background(), &rccv1.StopInstanceRequest{Id: id}); err != nil {
			t.Fatal(err)
		}
		e.waitState(id, rccv1.InstanceState_INSTANCE_STATE_STOPPED)
	}
	b, err := os.ReadFile(filepath.Join(dir, "replays", rec.Id+executor.ReplayExt))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if !strings.Contains(lines[0], `"format":"rcc-replay/1"`) || !strings.Contains(lines[0], `"instance_id":"`+rec.Id+`"`) ||
		!strings.HasPrefix(lines[len(lines)-1], `{"f":`) {
		t.Fatalf("log of %d lines: %s … %s", len(lines), lines[0], lines[len(lines)-1])
	}
	entries, err := os.ReadDir(filepath.Join(dir, "replays"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("replays: %v %v, want only %s's log", entries, err, rec.Id)
	}
}
