package main

import (
	"bytes"
	"io"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/rcc-games/rcc/pkg/localrun"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestTableGolden holds the table output of every listing and get command
// in testdata/TestTableGolden/, written from fixed answers at a fixed time
// in UTC (go test -update rewrites the files). TestJSONGolden drives the
// same commands against a real coordinator for their JSON.
func TestTableGolden(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ts := func(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(now.Add(d)) }

	executors := []*rccv1.Executor{
		{Id: "x-1", Name: "ex-a", State: rccv1.ExecutorState_EXECUTOR_STATE_ACTIVE, WsUrl: "ws://10.0.0.1:7001/play", Assigned: 2,
			Stats: &rccv1.ExecutorStats{Players: 5, Instances: 2, TickP99Ms: 1.25, MemoryBytes: 48 << 20}, LastHeartbeat: ts(-2 * time.Second)},
		{Id: "x-2", Name: "ex-b-long-name", State: rccv1.ExecutorState_EXECUTOR_STATE_DRAINING, WsUrl: "wss://b.example/play",
			LastHeartbeat: ts(-90 * time.Second)},
	}
	games := []*rccv1.Game{
		{Name: "arena", LatestVersion: 3, VersionCount: 3, UpdatedAt: ts(-3 * time.Hour)},
		{Name: "chess", LatestVersion: 1, VersionCount: 1, UpdatedAt: ts(-50 * time.Hour)},
	}
	versions := []*rccv1.GameVersion{
		{Game: "arena", Version: 1, ModuleSha256: "0123456789abcdef0123", ModuleSize: 2 << 20, CreatedAt: ts(-72 * time.Hour)},
		{Game: "arena", Version: 2, ModuleSha256: "fedcba9876543210fedc", ModuleSize: 900, AssetsSha256: "aa", AssetsSize: 4096,
			Limits: &rccv1.Limits{FrameFuel: 50_000_000, MemoryLimitPages: 256}, Description: "<b>faster</b>", CreatedAt: ts(-time.Hour)},
	}
	running := &rccv1.Instance{Id: "i-1", Game: "arena", Version: 2, State: rccv1.InstanceState_INSTANCE_STATE_RUNNING,
		ExecutorId: "x-1", WsUrl: "ws://10.0.0.1:7001/play", MaxPlayers: 8, Players: 3, Reserved: 1, LeaseSeconds: 600,
		LeaseExpiresAt: ts(5 * time.Minute), Labels: map[string]string{"region": "eu", "mode": "duel"}, Seed: 7, Record: true,
		CreatedAt: ts(-time.Minute),
		Stats: &rccv1.InstanceStats{TickP50Ms: 0.42, TickP99Ms: 3.5, MemoryBytes: 3 << 20, FuelP50: 1_500_000,
			FuelMax: 20_000_000, Frames: 3600, Overruns: 2, ReportedAt: ts(-2 * time.Second)}}
	pending := &rccv1.Instance{Id: "i-2", Game: "chess", Version: 1, State: rccv1.InstanceState_INSTANCE_STATE_PENDING,
		MaxPlayers: 2, LeaseSeconds: 3600, LeaseExpiresAt: ts(time.Hour), Respawn: true, RespawnedFrom: "i-0", CreatedAt: ts(-5 * time.Second)}
	failed := &rccv1.Instance{Id: "i-3", Game: "arena", Version: 1, State: rccv1.InstanceState_INSTANCE_STATE_FAILED,
		Reason: "frame fuel exhausted", ExecutorId: "x-2", MaxPlayers: 16, LeaseSeconds: 60, LeaseExpiresAt: ts(-time.Hour),
		CreatedAt: ts(-49 * time.Hour)}
	join := &rccv1.JoinResponse{WsUrl: "ws://10.0.0.1:7001/play", InstanceId: "i-1", ExecutorId: "x-1", Ticket: "t-abc",
		TicketExpiresAt: ts(time.Minute), Created: true}
	run := localrun.Result{Game: "arena", ModuleSHA256: "0123456789abcdef0123456789abcdef", Seed: 7, Players: 2, Ticks: 600,
		StateSHA256: "99aa", StateBytes: 512, TickP50us: 40, TickP99us: 310, TickMaxus: 1200, MemoryBytes: 2 << 20,
		FuelInit: 12345, FuelP50: 900, FuelMax: 4000, LogLines: 3, DroppedLogLines: 1}
	diverged := localrun.ReplayResult{Game: "arena", ModuleSHA256: "fedcba9876543210fedcba98", Frames: 20,
		Checkpoints: []localrun.Checkpoint{{Frame: 10, StateSHA256: "aa10"}}, DivergedAt: 17, Expected: "ee17", Got: "ff17"}
	snap := snapshot{executors: executors, instances: []*rccv1.Instance{running, pending},
		limits: map[string]*rccv1.Limits{versionKey("arena", 2): {FrameFuel: 50_000_000}}}

	for _, tc := range []struct {
		name  string
		write func(w io.Writer) error
	}{
		{"executor_ls", func(w io.Writer) error { return writeExecutorTable(w, executors, now) }},
		{"executor_ls_empty", func(w io.Writer) error { return writeExecutorTable(w, nil, now) }},
		{"game_ls", func(w io.Writer) error { return writeGameTable(w, games, now) }},
		{"game_versions", func(w io.Writer) error { return writeVersionTable(w, versions, now) }},
		{"instance_ls", func(w io.Writer) error {
			return writeInstanceTable(w, []*rccv1.Instance{running, pending, failed}, now)
		}},
		{"instance_get", func(w io.Writer) error { return writeInstance(w, running, now) }},
		{"instance_get_pending", func(w io.Writer) error { return writeInstance(w, pending, now) }},
		{"instance_get_failed", func(w io.Writer) error { return writeInstance(w, failed, now) }},
		{"instance_watch", func(w io.Writer) error {
			p := &watchPrinter{w: w, loc: time.UTC}
			for i, in := range []*rccv1.Instance{pending, running, running, failed} {
				if err := p.print(now.Add(time.Duration(i)*time.Second), i == 0, in); err != nil {
					return err
				}
			}
			return nil
		}},
		{"join", func(w io.Writer) error { return writeJoin(w, join, now) }},
		{"top_once", func(w io.Writer) error { return writeSnapshot(w, snap, now) }},
		{"game_run", func(w io.Writer) error { printRun(w, &run); return nil }},
		{"game_run_failed", func(w io.Writer) error {
			failed := run
			failed.Error = "frame 12: fuel exhausted (50000000 per frame)"
			printRun(w, &failed)
			return nil
		}},
		{"game_replay_diverged", func(w io.Writer) error { printReplay(w, &diverged); return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, b.String())
		})
	}
}
