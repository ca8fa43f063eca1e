package coordinator

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestAuthCacheExpiry: a remembered token is refused once it expires.
func TestAuthCacheExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	_, key, _ := ed25519.GenerateKey(nil)
	is, err := auth.NewIssuer(key, auth.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(is.PublicKey(), auth.Options{Now: clock, Leeway: -1})
	if err != nil {
		t.Fatal(err)
	}
	ic, err := auth.NewInterceptor(v, Policy())
	if err != nil {
		t.Fatal(err)
	}
	a := newAuthCache(ic, clock, &denyList{}, newAudit(slog.New(slog.DiscardHandler), clock))
	tok, _, err := is.RoleToken(auth.RoleAdmin, "t", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+string(tok)))
	method := rccv1.GameService_ListGames_FullMethodName
	for _, step := range []struct {
		after time.Duration
		want  codes.Code
	}{{0, codes.OK}, {5 * time.Second, codes.OK}, {11 * time.Second, codes.Unauthenticated}} {
		now = now.Add(step.after)
		out, err := a.authorize(ctx, method)
		if status.Code(err) != step.want {
			t.Fatalf("after %v: %v, want %v", step.after, err, step.want)
		}
		if err == nil {
			if c, ok := auth.ClaimsFromContext(out); !ok || c.Role != auth.RoleAdmin {
				t.Fatalf("claims %+v", c)
			}
		}
	}
	if _, err := a.authorize(ctx, rccv1.ExecutorService_Heartbeat_FullMethodName); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("expired token on another method: %v", err)
	}
}
