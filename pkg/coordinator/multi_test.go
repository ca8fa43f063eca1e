package coordinator_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/pgtest"
	"github.com/rcc-games/rcc/pkg/store"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// Environment of a child coordinator process (the test binary re-executed).
const (
	childDB  = "RCC_TEST_CHILD_DB"
	childKey = "RCC_TEST_CHILD_KEY"
)

// runChild serves a coordinator when the test binary runs as a child
// process, until its stdin closes; it reports whether it did.
func runChild() bool {
	url := os.Getenv(childDB)
	if url == "" {
		return false
	}
	fail := func(err error) bool {
		fmt.Fprintln(os.Stderr, "child coordinator:", err)
		os.Exit(1)
		return true
	}
	seed, err := base64.StdEncoding.DecodeString(os.Getenv(childKey))
	if err != nil {
		return fail(err)
	}
	is, err := auth.NewIssuer(ed25519.NewKeyFromSeed(seed), auth.Options{})
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, url)
	if err != nil {
		return fail(err)
	}
	cfg := coordinator.Config{Store: st, Issuer: is}
	fastConfig(&cfg)
	// Under the hammering below heartbeats may queue: a wider window.
	cfg.MissedHeartbeats = 20
	c, err := coordinator.New(cfg)
	if err != nil {
		return fail(err)
	}
	srv, err := c.Serve(ctx, coordinator.ServeConfig{GRPCAddr: "127.0.0.1:0"})
	if err != nil {
		return fail(err)
	}
	fmt.Printf("ADDR %s\n", srv.GRPCAddr())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
	srv.Close()
	st.Close()
	os.Exit(0)
	return true
}

// startChild starts a coordinator process on url and returns its address.
func startChild(t *testing.T, url string, seed []byte) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childDB+"="+url, childKey+"="+base64.StdEncoding.EncodeToString(seed))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		t.Fatalf("child coordinator: %q %v", line, err)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))
}

// TestTwoCoordinatorsHammerJoin runs two coordinator processes on one
// PostgreSQL database. Pending instances are assigned exactly once when
// executors register on both at the same moment, and joins through both
// never put more players in an instance than its max.
func TestTwoCoordinatorsHammerJoin(t *testing.T) {
	url := pgtest.New(t)
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, "two coordinators, one database!!")
	key := ed25519.NewKeyFromSeed(seed)
	is, err := auth.NewIssuer(key, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys.Store(is, key)
	addrs := []string{startChild(t, url, seed), startChild(t, url, seed)}
	envs := make([]*env, 2)
	for k, a := range addrs {
		envs[k] = &env{t: t, addr: a, issuer: is}
		envs[k].admin = envs[k].dial(auth.RoleAdmin)
		t.Cleanup(func() { envs[k].admin.Close() })
	}
	ctx := context.Background()
	envs[0].deploy("arena")

	// Pending instances, then one executor on each coordinator at once.
	const pending = 40
	var ids []string
	for k := 0; k < pending; k++ {
		in, err := envs[k%2].admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "pending", LeaseSeconds: 600})
		if code(err) != codes.NotFound {
			t.Fatalf("spawn of a missing game: %v", err)
		}
		_ = in
	}
	envs[1].deploy("pending")
	for k := 0; k < pending; k++ {
		in, err := envs[k%2].admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "pending", LeaseSeconds: 600})
		if err != nil || in.State != rccv1.InstanceState_INSTANCE_STATE_PENDING {
			t.Fatalf("spawn = %v %v", in, err)
		}
		ids = append(ids, in.Id)
	}
	var xs [2]*fakeExecutor
	var wg sync.WaitGroup
	for k := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); xs[k] = envs[k].executor(fmt.Sprint("ex", k), 0) }()
	}
	wg.Wait()
	testenv.WaitFor(t, "every pending instance to start", 10*time.Second, func() bool {
		for _, id := range ids {
			if !xs[0].has(id) && !xs[1].has(id) {
				return false
			}
		}
		return true
	})
	for _, id := range ids {
		if xs[0].has(id) && xs[1].has(id) {
			t.Fatalf("instance %s started on both executors", id)
		}
	}

	// Hammer Join through both coordinators.
	const workers, each, maxPlayers = 16, 40, 5
	var joins atomic.Int64
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := envs[w%2].admin
			for k := 0; k < each; k++ {
				_, err := c.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: fmt.Sprintf("w%d-p%d", w, k), MaxPlayers: maxPlayers})
				if err != nil {
					errs <- err
					return
				}
				joins.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ins, err := st.ListInstances(ctx, store.InstanceFilter{Game: "arena"})
	if err != nil {
		t.Fatal(err)
	}
	seats := 0
	for _, in := range ins {
		if in.Reserved+in.Players > in.MaxPlayers {
			t.Errorf("instance %s holds %d of %d", in.ID, in.Reserved+in.Players, in.MaxPlayers)
		}
		seats += int(in.Reserved)
	}
	if seats != workers*each || joins.Load() != workers*each {
		t.Fatalf("%d seats for %d joins", seats, joins.Load())
	}
	// Packing: nearly every instance is full.
	if min := (workers*each + maxPlayers - 1) / maxPlayers; len(ins) > min+2*workers {
		t.Fatalf("%d instances for %d players of %d", len(ins), workers*each, maxPlayers)
	}
	t.Logf("%d joins through 2 coordinators into %d instances", joins.Load(), len(ins))
}

// TestPostgresRestart stops and restarts PostgreSQL under a running
// coordinator: calls during the outage fail with Unavailable and a message
// naming the store, the coordinator recovers by itself, and every spawn that
// was acknowledged is still there.
func TestPostgresRestart(t *testing.T) {
	for _, tc := range []struct {
		name string
		down func(*pgtest.Server)
	}{
		{"stop", (*pgtest.Server).Stop},   // fast shutdown: connections closed
		{"crash", (*pgtest.Server).Crash}, // immediate: recovery from the WAL at start
	} {
		t.Run(tc.name, func(t *testing.T) { testPostgresRestart(t, tc.down) })
	}
}

func testPostgresRestart(t *testing.T, down func(*pgtest.Server)) {
	srv := pgtest.Restartable(t)
	ctx := context.Background()
	st, err := store.Open(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := start(t, st, newIssuer(t), nil)
	e.deploy("arena")
	x := e.executor("ex1", 0)

	var mu sync.Mutex
	var acked []string
	var failures []error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				in, err := e.admin.Instances.Spawn(cctx, &rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600})
				cancel()
				mu.Lock()
				if err == nil {
					acked = append(acked, in.Id)
				} else {
					failures = append(failures, err)
				}
				mu.Unlock()
				time.Sleep(5 * time.Millisecond) // pace the load: a few hundred spawns a second
			}
		}()
	}
	testenv.WaitFor(t, "some spawns before the outage", 5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) > 20 })
	t0 := time.Now()
	down(srv)
	t.Logf("database down after %v", time.Since(t0).Round(time.Millisecond))
	_, err = e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena"})
	if code(err) != codes.Unavailable || !strings.Contains(err.Error(), "store unavailable") {
		t.Fatalf("spawn during the outage: %v", err)
	}
	_, err = e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: "p"})
	if code(err) != codes.Unavailable {
		t.Fatalf("join during the outage: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // an outage long enough for the reaper and the streams to notice
	srv.Start()
	t.Logf("database up again after %v", time.Since(t0).Round(time.Millisecond))
	testenv.WaitFor(t, "spawns to succeed again", 20*time.Second, func() bool {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := e.admin.Instances.Spawn(cctx, &rccv1.SpawnRequest{Game: "arena"})
		return err == nil
	})
	t.Logf("spawns succeed again after %v", time.Since(t0).Round(time.Millisecond))
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	testenv.WaitFor(t, "the load to go on", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) > before+20 })
	close(stop)
	wg.Wait()

	for _, err := range failures {
		if c := code(err); c != codes.Unavailable && c != codes.DeadlineExceeded {
			t.Errorf("failure during the outage: %v", err)
		}
	}
	list, err := e.admin.Instances.List(ctx, &rccv1.ListInstancesRequest{Game: "arena"})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, in := range list.Instances {
		have[in.Id] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Errorf("acknowledged spawn %s lost", id)
		}
	}
	// The executor could not heartbeat during the outage; it is not lost.
	xs, err := e.admin.Executors.List(ctx, &rccv1.ListExecutorsRequest{})
	if err != nil || len(xs.Executors) != 1 || xs.Executors[0].State != rccv1.ExecutorState_EXECUTOR_STATE_ACTIVE {
		t.Fatalf("executors after the outage = %v %v", xs, err)
	}
	testenv.WaitFor(t, "instances spawned after the outage to reach the executor", 10*time.Second, func() bool {
		mu.Lock()
		last := acked[len(acked)-1]
		mu.Unlock()
		return x.has(last)
	})
	t.Logf("%d spawns acknowledged, %d failed during the outage, none lost", len(acked), len(failures))
	if len(failures) > 0 {
		t.Logf("a failure: %v", failures[len(failures)/2])
	}
}
