package coordinator_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/store"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// manyLabels returns n labels k0=v … k(n-1)=v.
func manyLabels(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = "v"
	}
	return m
}

// TestInputLimits: every oversized or malformed input is refused with
// InvalidArgument naming the limit, and a refused call stores nothing: no
// instance, no seat, no version.
func TestInputLimits(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()
	e.deploy("arena")
	x := e.executor("ex-limits", 0)
	defer x.close()

	bigParams, err := structpb.NewStruct(map[string]any{"blob": strings.Repeat("x", 64<<10)})
	if err != nil {
		t.Fatal(err)
	}
	okParams, err := structpb.NewStruct(map[string]any{"blob": strings.Repeat("x", 60<<10)})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", 64)
	refused := []struct {
		name string
		call func() error
		want string
	}{
		{"label value of 200 KB", func() error {
			_, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Labels: map[string]string{"big": strings.Repeat("v", 200_000)}})
			return err
		}, "value of \"big\": 200000 characters, the limit is 63"},
		{"label value of 64 characters", func() error {
			_, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Labels: map[string]string{"k": long}})
			return err
		}, "64 characters, the limit is 63"},
		{"label key of 64 characters", func() error {
			_, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Labels: map[string]string{long: "v"}})
			return err
		}, "64 characters, the limit is 63"},
		{"label key with a space", func() error {
			_, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Labels: map[string]string{"a b": "v"}})
			return err
		}, "labels: key \"a b\": use 1 to 63 of A-Z"},
		{"label key prefix not a DNS name", func() error {
			_, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Labels: map[string]string{"Bad_Prefix/name": "v"}})
			return err
		}, "prefix must be a DNS subdomain"},
		{"65 labels", func() error {
			_, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Labels: manyLabels(65)})
			return err
		}, "65 labels, the limit is 64"},
		{"params over 64 KiB", func() error {
			_, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Params: bigParams})
			return err
		}, "the limit is 65536"},
		{"join labels", func() error {
			_, err := e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: "bob", Labels: map[string]string{"k": long}})
			return err
		}, "the limit is 63"},
		{"player id of 10 KB", func() error {
			_, err := e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: strings.Repeat("p", 10_000)})
			return err
		}, "player_id is 10000 bytes, the limit is 128"},
		{"player id with NUL", func() error {
			_, err := e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: "bo\x00b"})
			return err
		}, "non-printable character U+0000"},
		{"player id with ESC", func() error {
			_, err := e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: "\x1b[2Jbob"})
			return err
		}, "non-printable character U+001B"},
		{"player id with a newline", func() error {
			_, err := e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: "bob\nalice"})
			return err
		}, "non-printable character U+000A"},
		{"list selector", func() error {
			_, err := e.admin.Instances.List(ctx, &rccv1.ListInstancesRequest{Labels: manyLabels(65)})
			return err
		}, "selector: 65 labels, the limit is 64"},
		{"stop reason over 1 KiB", func() error {
			_, err := e.admin.Instances.Stop(ctx, &rccv1.StopInstanceRequest{Id: "i-none", Reason: strings.Repeat("r", 1025)})
			return err
		}, "reason is 1025 bytes, the limit is 1024"},
		{"description over 1 KiB", func() error {
			_, err := e.admin.Deploy(ctx, client.DeployRequest{Game: "described", Module: minimalWasm, Description: strings.Repeat("d", 1025)})
			return err
		}, "description is 1025 bytes, the limit is 1024"},
		{"executor labels", func() error {
			c := e.dialAs(auth.RoleExecutor, "ex-labels")
			defer c.Close()
			_, err := c.Executors.Register(ctx, &rccv1.RegisterExecutorRequest{Name: "ex-labels", WsUrl: "ws://ex.test/play", Labels: manyLabels(65)})
			return err
		}, "register: labels: 65 labels, the limit is 64"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want InvalidArgument containing %q", err, tc.want)
			}
		})
	}
	all, err := e.st.ListInstances(ctx, store.InstanceFilter{})
	if err != nil || len(all) != 0 {
		t.Fatalf("refused calls left instances: %v %v", all, err)
	}
	if _, err := e.admin.Games.GetVersion(ctx, &rccv1.GetVersionRequest{Game: "described"}); code(err) != codes.NotFound {
		t.Fatalf("a refused deploy created a version: %v", err)
	}

	// At the limits, everything is taken.
	labels := manyLabels(62)
	labels[strings.Repeat("k", 63)] = strings.Repeat("v", 63)
	labels["rcc.example.com/"+strings.Repeat("n", 63)] = ""
	in, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Labels: labels, Params: okParams})
	if err != nil || len(in.Labels) != 64 {
		t.Fatalf("spawn at the limits: %v %v", in, err)
	}
	player := strings.Repeat("é", 64) // 128 bytes
	res, err := e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: player})
	if err != nil || res.Ticket == "" {
		t.Fatalf("join with a 128-byte player id: %v %v", res, err)
	}
	if _, err := e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: "Bob the Brave"}); err != nil {
		t.Fatalf("join with spaces in the player id: %v", err)
	}
	if _, err := e.admin.Deploy(ctx, client.DeployRequest{Game: "described", Module: minimalWasm, Description: strings.Repeat("d", 1024)}); err != nil {
		t.Fatalf("deploy with a 1 KiB description: %v", err)
	}

	// An executor's report is kept, its reason cut to the limit rather
	// than the report refused.
	testenv.WaitFor(t, "the executor to run "+in.Id, 10*time.Second, func() bool { return x.has(in.Id) })
	longReason := strings.Repeat("é", 5000) // 10,000 bytes
	got, err := x.c.Executors.ReportInstance(ctx, &rccv1.ReportInstanceRequest{ExecutorId: x.id,
		Report: &rccv1.InstanceReport{InstanceId: in.Id, State: rccv1.InstanceState_INSTANCE_STATE_FAILED, Reason: longReason}})
	if err != nil || got.State != rccv1.InstanceState_INSTANCE_STATE_FAILED || got.Reason != longReason[:coordinator.MaxReasonBytes] {
		t.Fatalf("report with a 10 KB reason: %d bytes of reason, %v %v", len(got.GetReason()), got.GetState(), err)
	}
}
