package coordinator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestDeployLimits: a deploy's sandbox limits are checked, stored with the
// version, returned by every version call and sent to the executor with
// the instance.
func TestDeployLimits(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()

	refused := []struct {
		name string
		req  client.DeployRequest
		want string
	}{
		{"frame fuel too high", client.DeployRequest{FrameFuel: 10_000_000_001}, "frame_fuel 10000000001 is above the maximum of 10000000000"},
		{"init fuel too high", client.DeployRequest{InitFuel: 1 << 62}, "init_fuel"},
		{"memory too large", client.DeployRequest{MemoryLimitPages: 1025}, "memory_limit_pages 1025 is above the maximum of 1024 (64 MiB)"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Game, tc.req.Module = "heavy", minimalWasm
			_, err := e.admin.Deploy(ctx, tc.req)
			if code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("deploy: %v, want InvalidArgument containing %q", err, tc.want)
			}
		})
	}
	if _, err := e.admin.Games.GetVersion(ctx, &rccv1.GetVersionRequest{Game: "heavy"}); code(err) != codes.NotFound {
		t.Fatalf("a refused deploy created a version: %v", err)
	}

	v1 := e.deploy("heavy")
	if !proto.Equal(v1.Limits, &rccv1.Limits{}) {
		t.Fatalf("default limits = %v, want all zero", v1.Limits)
	}
	want := &rccv1.Limits{InitFuel: 2_000_000_000, FrameFuel: 10_000_000_000, MemoryLimitPages: 1024}
	req := client.DeployRequest{Game: "heavy", Module: minimalWasm, InitFuel: want.InitFuel, FrameFuel: want.FrameFuel, MemoryLimitPages: want.MemoryLimitPages}
	res, err := e.admin.Deploy(ctx, req)
	if err != nil || res.Unchanged || res.Version.Version != 2 || !proto.Equal(res.Version.Limits, want) {
		t.Fatalf("same module, new limits = %v %v; want version 2 with %v", res, err, want)
	}
	res, err = e.admin.Deploy(ctx, req)
	if err != nil || !res.Unchanged || res.Version.Version != 2 {
		t.Fatalf("same module and limits = %v %v; want version 2 unchanged", res, err)
	}
	got, err := e.admin.Games.GetVersion(ctx, &rccv1.GetVersionRequest{Game: "heavy"})
	if err != nil || !proto.Equal(got.Limits, want) {
		t.Fatalf("latest version = %v %v", got, err)
	}
	vs, err := e.admin.Games.ListVersions(ctx, &rccv1.ListVersionsRequest{Game: "heavy"})
	if err != nil || len(vs.Versions) != 2 || !proto.Equal(vs.Versions[0].Limits, &rccv1.Limits{}) || !proto.Equal(vs.Versions[1].Limits, want) {
		t.Fatalf("versions = %v %v", vs, err)
	}

	// The executor receives the limits with the instance's version.
	x := e.dialAs(auth.RoleExecutor, "ex-limits")
	defer x.Close()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	reg, err := x.Executors.Register(sctx, &rccv1.RegisterExecutorRequest{Name: "ex-limits", WsUrl: "ws://ex-limits.test/play"})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := x.Executors.Assignments(sctx, &rccv1.AssignmentsRequest{ExecutorId: reg.Executor.Id})
	if err != nil {
		t.Fatal(err)
	}
	in, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "heavy"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		a, err := stream.Recv()
		if err != nil {
			t.Fatalf("assignments: %v", err)
		}
		start := a.GetStart()
		if start == nil || start.Instance.Id != in.Id {
			continue
		}
		if start.Version.GetVersion() != 2 || !proto.Equal(start.Version.GetLimits(), want) {
			t.Fatalf("start assignment version = %v, want version 2 with %v", start.Version, want)
		}
		break
	}
}
