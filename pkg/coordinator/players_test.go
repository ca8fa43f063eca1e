package coordinator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/coordinator"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestPlayerToken: a player token may only call Join, as the player its
// subject names (the player id is never taken from the request), may not
// shape the instance, and is rate-limited with ResourceExhausted.
func TestPlayerToken(t *testing.T) {
	clk := newClock()
	e := start(t, sqliteStore(t), newIssuer(t), func(cfg *coordinator.Config) {
		cfg.Now = clk.Now
		cfg.JoinRate, cfg.JoinBurst = 1, 3
	})
	ctx := context.Background()
	e.deploy("arena")
	x := e.executor("ex-a", 0)
	alice := e.dialAs(auth.RolePlayer, "alice")
	defer alice.Close()

	j, err := alice.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(x.pub, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := v.VerifyTicket(j.Ticket, j.ExecutorId, j.InstanceId)
	if err != nil || tk.PlayerID != "alice" {
		t.Fatalf("ticket %+v %v: want one for alice", tk, err)
	}
	if _, err := alice.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: "alice"}); err != nil {
		t.Fatalf("join naming itself: %v", err)
	}
	for name, tc := range map[string]struct {
		call func() error
		want codes.Code
	}{
		"as another player": {func() error {
			_, err := alice.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: "bob"})
			return err
		}, codes.PermissionDenied},
		"shaping the instance": {func() error {
			_, err := alice.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", LeaseSeconds: 30 * 24 * 3600})
			return err
		}, codes.PermissionDenied},
		"listing games": {func() error { return listGames(alice) }, codes.PermissionDenied},
		"spawning": {func() error {
			_, err := alice.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena"})
			return err
		}, codes.PermissionDenied},
		"heartbeating": {func() error {
			_, err := alice.Executors.Heartbeat(ctx, &rccv1.HeartbeatRequest{ExecutorId: x.id})
			return err
		}, codes.PermissionDenied},
	} {
		if err := tc.call(); code(err) != tc.want {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	// Two joins spent of a burst of three: the refusals above come before
	// the rate limit.
	if _, err := alice.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena"}); err != nil {
		t.Fatalf("third join: %v", err)
	}
	_, err = alice.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena"})
	if code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "too often") {
		t.Fatalf("fourth join at once: %v, want ResourceExhausted", err)
	}
	// Another player has its own bucket; the admin has none.
	bob := e.dialAs(auth.RolePlayer, "bob")
	defer bob.Close()
	if _, err := bob.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena"}); err != nil {
		t.Fatalf("bob: %v", err)
	}
	for range 10 {
		if _, err := e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: "carol"}); err != nil {
			t.Fatalf("admin join: %v", err)
		}
	}
	advanceBeating(t, clk, 1100*time.Millisecond, x) // one more token
	if _, err := alice.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena"}); err != nil {
		t.Fatalf("join a second later: %v", err)
	}
}
