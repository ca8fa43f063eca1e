package coordinator_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestMessageLimits: a call without a valid token is refused whatever its
// size; an authenticated message over its method's limit is refused with
// RESOURCE_EXHAUSTED naming the limit, while the upload stream takes its
// megabyte chunks.
func TestMessageLimits(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()
	e.deploy("arena")
	huge := map[string]string{"big": strings.Repeat("v", 3_900_000)}

	anon, err := client.Dial(e.addr, "")
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	forged, err := client.Dial(e.addr, "eyJhbGciOiJFZERTQSJ9.e30.c2ln")
	if err != nil {
		t.Fatal(err)
	}
	defer forged.Close()
	for name, c := range map[string]*client.Client{"no token": anon, "forged token": forged} {
		if _, err := c.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Labels: huge}); code(err) != codes.Unauthenticated {
			t.Fatalf("%s, 3.9 MB spawn: %v, want Unauthenticated", name, err)
		}
		if _, err := c.Deploy(ctx, client.DeployRequest{Game: "anon", Module: make([]byte, 3<<20)}); code(err) != codes.Unauthenticated {
			t.Fatalf("%s, upload: %v, want Unauthenticated", name, err)
		}
	}

	_, err = e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Labels: huge})
	if code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "over the method's limit of 262144 bytes") {
		t.Fatalf("3.9 MB spawn: %v, want ResourceExhausted naming the limit", err)
	}
	// Uploads go in 1 MiB chunks: a module of several takes them.
	module := append([]byte{}, minimalWasm...)
	if _, err := e.admin.Deploy(ctx, client.DeployRequest{Game: "assets", Module: module, Assets: tarOf(t, map[string]int{"big.bin": 3 << 20})}); err != nil {
		t.Fatalf("deploy with 3 MiB of assets: %v", err)
	}
	if coordinator.MaxMessageBytes >= coordinator.MaxRecvMessageBytes {
		t.Fatal("the per-method limit is no smaller than the server's")
	}
}
