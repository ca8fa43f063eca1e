package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/pgtest"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// joinLoad runs workers that call Join (for instances with labels)
// through cl until stop, each call bounded by five seconds; it counts successes and failures, and keeps the
// successful joins (acknowledged seats) for checking.
type joinLoad struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	seats      []*rccv1.JoinResponse
	wg         sync.WaitGroup
	stop       chan struct{}
}

func startJoinLoad(cl *client.Client, game string, labels map[string]string, workers int) *joinLoad {
	l := &joinLoad{stop: make(chan struct{})}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				j, err := cl.Instances.Join(ctx, &rccv1.JoinRequest{Game: game, PlayerId: fmt.Sprintf("load-%d-%d", w, i), Labels: labels})
				cancel()
				if err != nil {
					l.failed.Add(1)
					continue
				}
				l.ok.Add(1)
				l.mu.Lock()
				l.seats = append(l.seats, j)
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *joinLoad) end() { close(l.stop); l.wg.Wait() }

// checkSeats fails t unless every acknowledged join has a ticket for a
// running instance, on one of the executors live, as cl sees it.
func (l *joinLoad) checkSeats(t testing.TB, cl *client.Client, live ...string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]bool{}
	for _, s := range l.seats {
		if s.Ticket == "" || !slices.Contains(live, s.ExecutorId) {
			t.Fatalf("an acknowledged join %+v has no ticket or is on no live executor (%v)", s, live)
		}
		if seen[s.InstanceId] {
			continue
		}
		seen[s.InstanceId] = true
		// An instance a join created may still be starting.
		var in *rccv1.Instance
		var err error
		testenv.WaitFor(t, "instance "+s.InstanceId+" of an acknowledged join running", 30*time.Second, func() bool {
			in, err = cl.Instances.Get(context.Background(), &rccv1.GetInstanceRequest{Id: s.InstanceId})
			return err == nil && in.State != rccv1.InstanceState_INSTANCE_STATE_STARTING
		})
		if in.State != rccv1.InstanceState_INSTANCE_STATE_RUNNING {
			t.Fatalf("instance %s of an acknowledged join: %v", s.InstanceId, in.State)
		}
	}
	t.Logf("%d acknowledged joins in %d running instances", len(l.seats), len(seen))
}

// TestE2ETwoCoordinatorsFailover runs two coordinators on one PostgreSQL
// database, with TLS, and two executors and the clients given both
// addresses. Under a load of Joins, the coordinator the executors are
// connected to is killed (SIGKILL): the executors stay registered (never
// lost), the instance keeps running with its player, and Join and rccctl
// keep working through the other coordinator.
func TestE2ETwoCoordinatorsFailover(t *testing.T) {
	arena := arenaModule(t)
	files := devCerts(t, []string{"ex-1", "ex-2"})
	c := newClusterWith(t, pgtest.New(t), files)
	second := c.coordinatorProc("coordinator 2", "", "127.0.0.1:0", c.sharedKeyDir())
	addrB := second.logLine("coordinator started")["grpc_addr"].(string)
	addrA := c.addr
	// Both executors are given A first: they connect there.
	c.coordinators = addrA + "," + addrB
	x1, x2 := c.executor("ex-1"), c.executor("ex-2")
	c.deploy("arena", arena)
	in := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600, MaxPlayers: 1000})
	c.waitInstance(in.Id, "running", isState(rccv1.InstanceState_INSTANCE_STATE_RUNNING))

	admin := client.Token(mustToken(t, c.issuer))
	tg := c.target(admin)
	tg.Addr = c.coordinators
	both, err := client.DialConfig(tg)
	if err != nil {
		t.Fatal(err)
	}
	defer both.Close()

	j := c.join("arena", "alice")
	u, _ := protocol.PlayURL(j.WsUrl, j.InstanceId, j.Ticket)
	caTLS := c.target("").TLS
	alice := dialPlayerWith(t, wssDialer(caTLS), u, "alice")

	load := startJoinLoad(both, "arena", nil, 4)
	testenv.WaitFor(t, "joins through the list", 30*time.Second, func() bool { return load.ok.Load() >= 20 })
	before := load.ok.Load()
	c.coord.kill9()
	killedAt := time.Now()
	// Joins go on through B: at least 100 more succeed.
	testenv.WaitFor(t, "joins through the second coordinator", 60*time.Second, func() bool { return load.ok.Load() >= before+100 })
	recovered := time.Since(killedAt)
	load.end()
	t.Logf("joins: %d acknowledged, %d failed (in flight at the kill or while reconnecting); back within %v", load.ok.Load(), load.failed.Load(), recovered.Round(time.Millisecond))
	if f := load.failed.Load(); f > 8 {
		t.Errorf("%d joins failed around the kill, want at most the calls in flight and a retry each (8)", f)
	}

	// Executors re-registered with B, are never lost, keep the instance.
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Second) // longer than the 2 s after which a silent executor is lost
	testenv.WaitFor(t, "both executors active through the second coordinator past the loss deadline", 30*time.Second, func() bool {
		xs, err := both.Executors.List(ctx, &rccv1.ListExecutorsRequest{})
		if err != nil || len(xs.Executors) != 2 {
			return false
		}
		for _, x := range xs.Executors {
			if x.State != rccv1.ExecutorState_EXECUTOR_STATE_ACTIVE {
				t.Fatalf("executor %s is %v after the failover", x.Name, x.State)
			}
		}
		return time.Now().After(deadline)
	})
	got, err := both.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: in.Id})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != rccv1.InstanceState_INSTANCE_STATE_RUNNING || (got.ExecutorId != x1.id && got.ExecutorId != x2.id) {
		t.Fatalf("instance after the failover: %v on %s", got.State, got.ExecutorId)
	}
	f0 := alice.lastFrame()
	testenv.WaitFor(t, "alice's frames going on", 10*time.Second, func() bool { return alice.lastFrame() > f0+30 })

	// Every acknowledged seat is in an instance the surviving coordinator
	// knows, running on one of the executors.
	load.checkSeats(t, both, x1.id, x2.id)

	// rccctl with both addresses, the first one dead.
	env := []string{"RCC_TOKEN=" + string(admin), "RCC_CA=" + files.CA, "XDG_CONFIG_HOME=" + t.TempDir()}
	out, err := rccctl(t, env, "executor", "ls", "--addr", c.coordinators)
	if err != nil || !strings.Contains(out, "ex-1") || !strings.Contains(out, "ex-2") {
		t.Fatalf("rccctl executor ls through the list: %v\n%s", err, out)
	}
	out, err = rccctl(t, env, "join", "arena", "--player", "bob", "--addr", c.coordinators)
	if err != nil || !strings.Contains(out, "wss://") {
		t.Fatalf("rccctl join through the list: %v\n%s", err, out)
	}
}
