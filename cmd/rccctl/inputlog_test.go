package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestInputLogSendsNoAdminToken: a listener posing as an executor (what a
// stolen executor token could register) is sent by "rccctl instance
// input-log" a grant for that one download, never the operator's admin
// token, and nothing it receives authenticates against the coordinator.
func TestInputLogSendsNoAdminToken(t *testing.T) {
	srv := coordinatortest.Start(t, coordinator.Config{})
	ctx := context.Background()
	var mu sync.Mutex
	var seen []string // every Authorization header the listener was sent
	posing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Write([]byte("{\"format\":\"rcc-replay/1\"}\n"))
	}))
	defer posing.Close()

	x := srv.Dial(auth.RoleExecutor, "ex-a")
	reg, err := x.Executors.Register(ctx, &rccv1.RegisterExecutorRequest{Name: "ex-a", WsUrl: "ws" + strings.TrimPrefix(posing.URL, "http")})
	if err != nil {
		t.Fatal(err)
	}
	admin := srv.Token(auth.RoleAdmin, "operator")
	ac, err := client.Dial(srv.Addr, client.Token(admin))
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close()
	module, err := os.ReadFile("../../pkg/coordinator/testdata/minimal.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.Deploy(ctx, client.DeployRequest{Game: "arena", Module: module}); err != nil {
		t.Fatal(err)
	}
	in, err := ac.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Record: true})
	if err != nil || in.ExecutorId != reg.Executor.Id {
		t.Fatalf("spawn: %v %v", in, err)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	code, out, errOut := rccctl(t, "instance", "input-log", in.Id, "--addr", srv.Addr, "--token", string(admin))
	if code != 0 || !strings.Contains(out, "rcc-replay/1") {
		t.Fatalf("input-log: exit %d\n%s\n%s", code, out, errOut)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 {
		t.Fatalf("the listener was sent %d requests", len(seen))
	}
	got, err := auth.BearerToken(seen[0])
	if err != nil {
		t.Fatalf("the listener got no bearer token: %v", err)
	}
	if got == string(admin) || strings.Contains(seen[0], string(admin)) {
		t.Fatal("the admin token reached the listener posing as an executor")
	}
	// What it got is useless against the coordinator.
	replay, err := client.Dial(srv.Addr, client.Token(got))
	if err != nil {
		t.Fatal(err)
	}
	defer replay.Close()
	if _, err := replay.Games.ListGames(ctx, &rccv1.ListGamesRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("the grant used as a token at the coordinator: %v, want Unauthenticated", err)
	}
	c, err := auth.ParseUnverified(got)
	if err != nil || c.ExpiresAt.Sub(time.Now()) > 2*time.Minute {
		t.Fatalf("grant claims %+v %v: want a short-lived token", c, err)
	}
}
