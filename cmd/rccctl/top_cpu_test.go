package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// BenchmarkTopCPU measures the CPU that `rccctl top` (its own process, in
// a 160×48 tmux terminal, refreshing every second) uses while a real
// coordinator streams it 5,000 running instances on 50 executors. The
// executors are simulated over gRPC: each registers and heartbeats its 100
// instances' live figures every 2 s, as rccd executor does. It runs once
// (30 s of measurement) and reports %cpu of one core.
func BenchmarkTopCPU(b *testing.B) {
	tmux := testenv.MustHaveCommand(b, "tmux", "apt-get install tmux")
	const nx, per = 50, 100
	srv := coordinatortest.Start(b, coordinator.Config{HeartbeatInterval: 2 * time.Second})
	admin := srv.Dial(auth.RoleAdmin, "bench")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	module, err := os.ReadFile(corpus + "recorder.wasm")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := admin.Deploy(ctx, client.DeployRequest{Game: "recorder", Module: module}); err != nil {
		b.Fatal(err)
	}
	execs := make([]*client.Client, nx)
	ids := make([]string, nx)
	for x := range nx {
		name := fmt.Sprintf("exec-%02d", x)
		execs[x] = srv.Dial(auth.RoleExecutor, name)
		res, err := execs[x].Executors.Register(ctx, &rccv1.RegisterExecutorRequest{Name: name, WsUrl: "ws://127.0.0.1:1/" + name, Capacity: per, Version: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		ids[x] = res.Executor.Id
		// A first heartbeat makes it live: spawns are placed on it.
		if _, err := execs[x].Executors.Heartbeat(ctx, &rccv1.HeartbeatRequest{ExecutorId: ids[x], Stats: &rccv1.ExecutorStats{}}); err != nil {
			b.Fatal(err)
		}
	}
	var mine atomic.Pointer[map[string][]string]
	mine.Store(&map[string][]string{})
	// Heartbeats, spread over the interval like independent executors.
	for x := range nx {
		go func() {
			time.Sleep(time.Duration(x) * 2 * time.Second / nx) // this executor's phase in the 2 s interval
			t := time.NewTicker(2 * time.Second)
			defer t.Stop()
			for frame := uint64(0); ; frame += 120 {
				var reps []*rccv1.InstanceReport
				for i, id := range (*mine.Load())[ids[x]] {
					reps = append(reps, &rccv1.InstanceReport{InstanceId: id, State: rccv1.InstanceState_INSTANCE_STATE_RUNNING, Players: uint32(i % 8),
						Stats: &rccv1.InstanceStats{TickP50Ms: 0.1, TickP99Ms: 0.3 + float64(frame%7)/10, MemoryBytes: 3 << 20, FuelP50: 11000, FuelMax: 12000, Frames: frame}})
				}
				_, _ = execs[x].Executors.Heartbeat(ctx, &rccv1.HeartbeatRequest{ExecutorId: ids[x], Instances: reps,
					Stats: &rccv1.ExecutorStats{Instances: uint32(len(reps)), Players: 350, TickP99Ms: 0.5, MemoryBytes: 300 << 20}})
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}

	var g errgroup.Group
	g.SetLimit(4)
	for range nx * per {
		g.Go(func() error {
			_, err := admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "recorder", LeaseSeconds: 3600, Labels: map[string]string{"bench": "top"}})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	placed := map[string][]string{}
	all, err := admin.ListInstances(ctx, &rccv1.ListInstancesRequest{})
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range all {
		placed[in.ExecutorId] = append(placed[in.ExecutorId], in.Id)
	}
	mine.Store(&placed)
	bin := b.TempDir()
	if out, err := exec.Command("go", "build", "-o", bin+"/", ".").CombinedOutput(); err != nil {
		b.Fatalf("go build rccctl: %v\n%s", err, out)
	}
	sock := fmt.Sprintf("rcc-top-bench-%d", os.Getpid())
	tm := func(args ...string) string {
		out, err := exec.Command(tmux, append([]string{"-L", sock}, args...)...).CombinedOutput()
		if err != nil {
			b.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	tm("new-session", "-d", "-s", "top", "-x", "160", "-y", "48", "env", "TERM=xterm-256color", "XDG_CONFIG_HOME="+b.TempDir(),
		filepath.Join(bin, "rccctl"), "top", "--addr", srv.Addr, "--token", string(srv.Token(auth.RoleAdmin, "top")), "--interval", "1s")
	defer exec.Command(tmux, "-L", sock, "kill-server").Run()
	pid := strings.TrimSpace(tm("display-message", "-p", "-t", "top", "#{pane_pid}"))
	var screen string
	defer func() {
		if b.Failed() {
			b.Logf("last screen:\n%s", screen)
		}
	}()
	testenv.WaitFor(b, "top to show the 5,000 instances running", 2*time.Minute, func() bool {
		screen = tm("capture-pane", "-p", "-t", "top")
		return strings.Contains(screen, fmt.Sprintf("%d running", nx*per))
	})
	b.ResetTimer()
	for range b.N {
		const window = 30 * time.Second
		before := procCPU(b, pid)
		time.Sleep(window) // the measurement window: CPU used over wall time
		used := procCPU(b, pid) - before
		b.ReportMetric(100*used.Seconds()/window.Seconds(), "%cpu")
	}
	b.StopTimer()
	b.Logf("screen:\n%s", tm("capture-pane", "-p", "-t", "top"))
}

// procCPU is the user and system CPU time process pid used so far.
func procCPU(b *testing.B, pid string) time.Duration {
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which is in parentheses).
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / hz
}
