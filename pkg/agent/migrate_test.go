package agent_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestMigrateThroughCoordinator moves a running instance with a connected
// player from one agent's executor to another's through the coordinator's
// Migrate: the call returns the instance on the target, the player's
// session follows it (resumed), its inputs before and after are counted,
// and a player joining afterwards is sent to the target.
func TestMigrateThroughCoordinator(t *testing.T) {
	e := newEnv(t)
	e.startAgent("ex-a", t.TempDir())
	e.deploy("counter", readModule(t, "../wasmhost/testdata/counter.wasm"))
	id := e.spawn("counter")
	ctx := context.Background()
	var source string
	testenv.WaitFor(t, "the instance running", 10*time.Second, func() bool {
		in, err := e.admin.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: id})
		source = in.GetExecutorId()
		return err == nil && in.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING
	})
	e.startAgent("ex-b", t.TempDir())
	s, err := play.Join(ctx, e.admin, play.JoinRequest{Game: "counter", Player: "alice"}, play.Config{RawStates: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	counted := func(n uint32) func() bool {
		return func() bool {
			_, state := s.LastState(nil)
			return len(state) == 2048 && binary.LittleEndian.Uint32(state[4*'a':]) == n
		}
	}
	if err := s.Send([]byte{1, 0}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the first input counted", 10*time.Second, counted(1))
	testenv.WaitFor(t, "ex-b live", 10*time.Second, func() bool {
		xs, err := e.admin.Executors.List(ctx, &rccv1.ListExecutorsRequest{})
		return err == nil && len(xs.Executors) == 2
	})

	// The source is no target.
	if _, err := e.admin.Instances.Migrate(ctx, &rccv1.MigrateInstanceRequest{Id: id, ToExecutor: source}); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(err.Error(), "runs the instance already") {
		t.Errorf("migrate to its own executor: err = %v, want FAILED_PRECONDITION", err)
	}
	moved, err := e.admin.Instances.Migrate(ctx, &rccv1.MigrateInstanceRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	if moved.ExecutorId == source || moved.State != rccv1.InstanceState_INSTANCE_STATE_RUNNING {
		t.Fatalf("migrated instance on %s (%s), want another executor than %s, running", moved.ExecutorId, moved.State, source)
	}
	if err := s.Send([]byte{2, 0}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the second input counted on the target", 10*time.Second, counted(2))
	if st := s.Stats(); !st.Welcome.Resumed || st.Reconnects != 1 {
		t.Errorf("session after the move: resumed %v, %d reconnects; want resumed, 1", st.Welcome.Resumed, st.Reconnects)
	}
	bob, err := play.Join(ctx, e.admin, play.JoinRequest{Game: "counter", Player: "bob"}, play.Config{RawStates: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if w := bob.Stats().Welcome; w.InstanceID != id {
		t.Errorf("bob joined %s, want %s", w.InstanceID, id)
	}
	// The instance stays running on the target: the source's end of it is
	// not reported as the instance's.
	testenv.WaitFor(t, "the store to keep the instance on the target", 5*time.Second, func() bool {
		in, err := e.admin.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: id})
		return err == nil && in.ExecutorId == moved.ExecutorId && in.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING && in.Players == 2
	})
}

// TestMigrateWithAssetsThroughCoordinator moves an instance whose version
// has assets between two agents: the target fetches the assets from the
// coordinator before the move, and the instance reads the same file in
// /assets there, its player following it.
func TestMigrateWithAssetsThroughCoordinator(t *testing.T) {
	e := newEnv(t)
	e.startAgent("ex-a", t.TempDir())
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	content := []byte("moved with me\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write(content)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := e.admin.Deploy(ctx, client.DeployRequest{Game: "art", Module: readModule(t, "../wasmhost/testdata/assets_reader.wasm"),
		Assets: archive.Bytes()}); err != nil {
		t.Fatal(err)
	}
	id := e.spawn("art")
	source := e.waitState(id, rccv1.InstanceState_INSTANCE_STATE_RUNNING).ExecutorId
	e.startAgent("ex-b", t.TempDir())
	s, err := play.Join(ctx, e.admin, play.JoinRequest{Game: "art", Player: "alice"}, play.Config{RawStates: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reads := func(after uint64) func() bool {
		return func() bool {
			f, state := s.LastState(nil)
			return len(state) == 70 && f > after && state[0] == 0 && int(state[1]) == len(content) && string(state[2:2+len(content)]) == string(content)
		}
	}
	testenv.WaitFor(t, "the instance reading its assets", 10*time.Second, reads(0))
	testenv.WaitFor(t, "ex-b live", 10*time.Second, func() bool {
		xs, err := e.admin.Executors.List(ctx, &rccv1.ListExecutorsRequest{})
		return err == nil && len(xs.Executors) == 2
	})
	moved, err := e.admin.Instances.Migrate(ctx, &rccv1.MigrateInstanceRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	if moved.ExecutorId == source {
		t.Fatalf("instance still on %s", source)
	}
	f, _ := s.LastState(nil)
	testenv.WaitFor(t, "the player on the target, the instance reading its assets there", 10*time.Second, func() bool {
		return s.Stats().Reconnects == 1 && reads(f+5)()
	})
}
