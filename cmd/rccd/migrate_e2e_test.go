package main

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/world"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestE2ERollingRestart restarts both executors of a cluster, one after
// the other, under a running arena with a player (a pkg/play session, as
// rcc-view has): each SIGTERM moves the instance to the other executor
// before the process exits 0, the player's session follows it each time
// with its avatar kept, and the game never stops.
func TestE2ERollingRestart(t *testing.T) {
	arena := arenaModule(t)
	c := newCluster(t, "sqlite://"+filepath.Join(t.TempDir(), "rcc.db"))
	drain := []string{"--drain-timeout", "1m"}
	ex1 := c.executor("ex-1", drain...)
	c.deploy("arena", arena)
	in := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600, Seed: 5})
	c.waitInstance(in.Id, "running on ex-1", func(in *rccv1.Instance) bool {
		return in.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING && in.ExecutorId == ex1.id
	})
	ex2 := c.executor("ex-2", drain...)
	ctx := context.Background()
	alice, err := play.Join(ctx, c.admin, play.JoinRequest{Game: "arena", Player: "alice"}, play.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
				_ = alice.SendController(world.Controller{MoveX: float32(n/20%2*2 - 1)})
			}
		}
	}()
	goesOn := func(what string) {
		t.Helper()
		f0 := alice.Stats().Frame
		testenv.WaitFor(t, what, 30*time.Second, func() bool { return alice.Stats().Frame > f0+30 })
	}
	goesOn("alice's game to run")

	restart := func(from, to *execProc, moves int) {
		t.Helper()
		testenv.WaitFor(t, to.name+" live", 30*time.Second, func() bool {
			xs, err := c.admin.Executors.List(ctx, &rccv1.ListExecutorsRequest{})
			if err != nil {
				return false
			}
			for _, x := range xs.Executors {
				if x.Id == to.id && x.State == rccv1.ExecutorState_EXECUTOR_STATE_ACTIVE {
					return true
				}
			}
			return false
		})
		if err := from.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-from.done:
			if from.status != nil {
				t.Fatalf("%s exited with %v", from.name, from.status)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("%s did not exit after moving its instance", from.name)
		}
		c.waitInstance(in.Id, "running on "+to.name, func(in *rccv1.Instance) bool {
			return in.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING && in.ExecutorId == to.id
		})
		goesOn("alice's game to go on on " + to.name)
		st := alice.Stats()
		if st.Welcome.InstanceID != in.Id || !st.Welcome.Resumed || st.Reconnects != moves {
			t.Fatalf("alice after the move to %s: instance %s, resumed %v, %d reconnects; want %s, resumed, %d",
				to.name, st.Welcome.InstanceID, st.Welcome.Resumed, st.Reconnects, in.Id, moves)
		}
	}
	restart(ex1, ex2, 1)
	ex1 = c.executor("ex-1", drain...) // the new process of the same executor
	restart(ex2, ex1, 2)

	// An operator moves it by hand: rccctl instance migrate, to ex-2 again.
	ex2 = c.executor("ex-2", drain...)
	env := []string{"RCC_ADDR=" + c.addr, "RCC_TOKEN=" + string(mustToken(t, c.issuer))}
	testenv.WaitFor(t, "rccctl instance migrate to succeed", 30*time.Second, func() bool {
		out, err := rccctl(t, env, "instance", "migrate", in.Id, "--to", ex2.id)
		if err != nil {
			t.Logf("rccctl instance migrate: %v: %s", err, out) // ex-2 may not be live yet
			return false
		}
		return strings.Contains(out, "running on "+ex2.id)
	})
	goesOn("alice's game to go on after rccctl instance migrate")
	if st := alice.Stats(); st.Reconnects != 3 || !st.Welcome.Resumed {
		t.Errorf("alice after the third move: %d reconnects, resumed %v; want 3, resumed", st.Reconnects, st.Welcome.Resumed)
	}
	out, err := rccctl(t, env, "instance", "upgrade", in.Id)
	if err == nil || !strings.Contains(out, "runs version 1 already") {
		t.Errorf("rccctl instance upgrade to the version it runs: %v: %s", err, out)
	}
	// With nowhere to move, the last executor would wait for its instance
	// (--drain-timeout) when the test stops it: stop the instance first.
	if _, err := c.admin.Instances.Stop(ctx, &rccv1.StopInstanceRequest{Id: in.Id}); err != nil {
		t.Fatal(err)
	}
	c.waitInstance(in.Id, "stopped", isState(rccv1.InstanceState_INSTANCE_STATE_STOPPED))
}
