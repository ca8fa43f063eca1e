package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// withCustomSection is wasm with a custom section "version" holding data
// appended: other bytes, the same behaviour, so another version of the
// same game.
func withCustomSection(wasm []byte, data string) []byte {
	body := append(append([]byte{7}, "version"...), data...)
	return append(append(append([]byte{}, wasm...), 0, byte(len(body))), body...)
}

// TestUpgradeThroughCoordinator upgrades a running instance with a
// connected player through the coordinator: a version whose load_state
// traps is refused with the reason and the instance keeps its version;
// a good version is taken, the player never reconnects, and the store
// records the new version.
func TestUpgradeThroughCoordinator(t *testing.T) {
	e := newEnv(t)
	e.startAgent("ex-a", t.TempDir())
	good := readModule(t, "../wasmhost/testdata/upgradable.wasm")
	e.deploy("counter", good)
	e.deploy("counter", readModule(t, "../wasmhost/testdata/upgrade_trap.wasm"))
	e.deploy("counter", withCustomSection(good, "v3"))
	ctx := context.Background()
	in, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "counter", Version: 1, LeaseSeconds: 600})
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the instance running", 10*time.Second, func() bool {
		got, err := e.admin.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: in.Id})
		return err == nil && got.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING
	})
	s, err := play.Join(ctx, e.admin, play.JoinRequest{Game: "counter", Version: 1, Player: "alice"}, play.Config{RawStates: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	_, err = e.admin.Instances.Upgrade(ctx, &rccv1.UpgradeInstanceRequest{Id: in.Id, Version: 2})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "load_state") {
		t.Fatalf("upgrade to a version whose load_state traps: err = %v, want FAILED_PRECONDITION naming load_state", err)
	}
	if noUpgradePair(err) {
		t.Errorf("a rolled-back upgrade carries the ErrorInfo %s: %v", rccv1.ReasonNoUpgradePair, err)
	}
	if got, _ := e.admin.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: in.Id}); got.Version != 1 {
		t.Errorf("after the refused upgrade the instance is at version %d", got.Version)
	}
	up, err := e.admin.Instances.Upgrade(ctx, &rccv1.UpgradeInstanceRequest{Id: in.Id}) // the latest: 3
	if err != nil {
		t.Fatal(err)
	}
	if up.Version != 3 || up.State != rccv1.InstanceState_INSTANCE_STATE_RUNNING {
		t.Fatalf("upgraded instance: version %d, %s; want 3, running", up.Version, up.State)
	}
	if st := s.Stats(); st.State != play.Connected || st.Reconnects != 0 {
		t.Errorf("the player after the upgrades: %s, %d reconnects; want connected, none", st.State, st.Reconnects)
	}
	if _, err := e.admin.Instances.Upgrade(ctx, &rccv1.UpgradeInstanceRequest{Id: in.Id, Version: 3}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("upgrade to the version it runs: err = %v, want FAILED_PRECONDITION", err)
	}
	// Version 4 lacks the pair: refused with the ErrorInfo that tells a
	// client so (rccctl game dev restarts the instance then).
	e.deploy("counter", readModule(t, "../wasmhost/testdata/counter.wasm"))
	_, err = e.admin.Instances.Upgrade(ctx, &rccv1.UpgradeInstanceRequest{Id: in.Id, Version: 4})
	if status.Code(err) != codes.FailedPrecondition || !noUpgradePair(err) {
		t.Fatalf("upgrade to a version without load_state: err = %v, want FAILED_PRECONDITION with the ErrorInfo %s", err, rccv1.ReasonNoUpgradePair)
	}
	if got, _ := e.admin.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: in.Id}); got.Version != 3 {
		t.Errorf("after the refused upgrade the instance is at version %d, want 3", got.Version)
	}
}

// noUpgradePair reports whether err's status carries the ErrorInfo of an
// upgrade refused for want of the save_state/load_state pair.
func noUpgradePair(err error) bool {
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.Domain == rccv1.ErrorDomain && info.Reason == rccv1.ReasonNoUpgradePair {
			return true
		}
	}
	return false
}
