package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
)

// TestInstanceLsPages: after spawns at the input limits whose instances
// add up to more than rccctl's 16 MiB message limit, instance ls still
// lists every one of them, following the coordinator's pages; a spawn
// over a limit is refused in the coordinator's words.
func TestInstanceLsPages(t *testing.T) {
	srv := coordinatortest.Start(t, coordinator.Config{})
	admin := srv.Dial(auth.RoleAdmin, "test")
	ctx := context.Background()
	module, err := os.ReadFile("../../pkg/coordinator/testdata/minimal.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Deploy(ctx, client.DeployRequest{Game: "big", Module: module}); err != nil {
		t.Fatal(err)
	}
	const n = 250 // about 17.5 MB of instances
	for k := range n {
		if _, err := admin.Instances.Spawn(ctx, coordinatortest.BigSpawn("big", k)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	code, out, errOut := rccctl(t, "instance", "ls", "--output", "json", "--addr", srv.Addr, "--token", string(srv.Token(auth.RoleAdmin, "test")))
	if code != 0 {
		t.Fatalf("instance ls: exit %d: %s", code, errOut)
	}
	var list []struct {
		ID     string            `json:"id"`
		Labels map[string]string `json:"labels"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, in := range list {
		ids[in.ID] = true
		if len(in.Labels) != coordinator.MaxLabels {
			t.Fatalf("instance %s listed with %d labels", in.ID, len(in.Labels))
		}
	}
	if len(list) != n || len(ids) != n {
		t.Fatalf("instance ls: %d rows, %d instances; want %d", len(list), len(ids), n)
	}

	// An input over its limit is refused with the coordinator's words.
	code, _, errOut = rccctl(t, "instance", "spawn", "big", "--label", "k="+strings.Repeat("v", 64),
		"--addr", srv.Addr, "--token", string(srv.Token(auth.RoleAdmin, "test")))
	if code != 1 || !strings.Contains(errOut, `labels: value of "k": 64 characters, the limit is 63`) {
		t.Fatalf("spawn with a 64-character label value: exit %d: %s", code, errOut)
	}
}
