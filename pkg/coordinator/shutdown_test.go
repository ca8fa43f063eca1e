package coordinator_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestCloseStreams: Shutdown (through CloseStreams) ends an executor's
// assignment stream and a watch stream at once with UNAVAILABLE, so the
// graceful stop does not wait for them, while a unary call in flight still
// finishes.
func TestCloseStreams(t *testing.T) {
	var block atomic.Bool
	validating, release := make(chan struct{}, 1), make(chan struct{})
	e := start(t, sqliteStore(t), newIssuer(t), func(cfg *coordinator.Config) {
		cfg.ValidateModule = func([]byte) error {
			if block.Load() {
				validating <- struct{}{}
				<-release
			}
			return nil
		}
	})
	ctx := context.Background()
	e.deploy("arena")
	x := e.executor("ex1", 0)
	in, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena"})
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the assignment stream to start the instance", 5*time.Second, func() bool { return x.has(in.Id) })
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	w, err := e.admin.Watch.Watch(wctx, &rccv1.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil { // the snapshot: the handler runs
		t.Fatal(err)
	}
	// A unary call in flight: a deploy whose check waits for release.
	block.Store(true)
	deployed := make(chan error, 1)
	go func() {
		_, err := e.admin.Deploy(ctx, client.DeployRequest{Game: "slow", Module: minimalWasm})
		deployed <- err
	}()
	<-validating

	begin := time.Now()
	stopped := make(chan struct{})
	go func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		close(stopped)
	}()
	select {
	case err := <-x.ended:
		if code(err) != codes.Unavailable {
			t.Fatalf("assignment stream ended with %v, want UNAVAILABLE", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the assignment stream is still open")
	}
	for {
		_, err := w.Recv()
		if err == nil {
			continue
		}
		if code(err) != codes.Unavailable {
			t.Fatalf("watch stream ended with %v, want UNAVAILABLE", err)
		}
		break
	}
	if d := time.Since(begin); d > time.Second {
		t.Fatalf("streams ended after %v", d)
	}
	select {
	case <-stopped:
		t.Fatal("Shutdown returned before the call in flight finished")
	default:
	}
	close(release)
	if err := <-deployed; err != nil {
		t.Fatalf("deploy in flight: %v", err)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return once the call in flight finished")
	}
	if d := time.Since(begin); d > time.Second {
		t.Fatalf("shutdown took %v", d)
	}
}
