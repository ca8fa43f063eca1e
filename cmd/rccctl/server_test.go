package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
)

// startCoordinator serves a coordinator on SQLite on loopback and returns
// its address and an admin token.
func startCoordinator(t *testing.T) (addr string, token string) {
	t.Helper()
	srv := coordinatortest.Start(t, coordinator.Config{})
	return srv.Addr, string(srv.Token(auth.RoleAdmin, "test"))
}

// TestServerCommands drives a coordinator as a user types the commands.
func TestServerCommands(t *testing.T) {
	addr, token := startCoordinator(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no credentials file
	t.Setenv("RCC_ADDR", "")
	t.Setenv("RCC_TOKEN", "")
	conn := []string{"--addr", addr, "--token", token}
	cmd := func(wantCode int, args ...string) string {
		t.Helper()
		code, out, errOut := rccctl(t, append(args, conn...)...)
		if code != wantCode {
			t.Fatalf("rccctl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, out, errOut)
		}
		return out + errOut
	}
	arena := arenaModule(t)

	if out := cmd(0, "game", "deploy", arena, "--name", "arena"); !strings.Contains(out, "deployed arena version 1") {
		t.Fatalf("deploy: %s", out)
	}
	if out := cmd(0, "game", "deploy", arena, "--name", "arena"); !strings.Contains(out, "arena version 1 unchanged") {
		t.Fatalf("second deploy: %s", out)
	}
	if out := cmd(1, "game", "deploy", "../../pkg/wasmhost/testdata/bad_import.wasm", "--name", "bad"); !strings.Contains(out, "module refused") {
		t.Fatalf("bad deploy: %s", out)
	}
	cmd(2, "game", "deploy", arena)
	var games []map[string]any
	if err := json.Unmarshal([]byte(cmd(0, "game", "ls", "--output", "json")), &games); err != nil || len(games) != 1 || games[0]["name"] != "arena" {
		t.Fatalf("game ls: %v %v", games, err)
	}
	if out := cmd(0, "game", "versions", "arena"); !strings.Contains(out, "VERSION") || !strings.Contains(out, "MiB") {
		t.Fatalf("game versions: %s", out)
	}

	var in map[string]any
	out := cmd(0, "instance", "spawn", "arena", "--lease", "10m", "--label", "region=eu", "--param", "rounds=3", "--output", "json")
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatalf("spawn: %v\n%s", err, out)
	}
	id, _ := in["id"].(string)
	if in["state"] != "pending" || in["params"].(map[string]any)["rounds"] != 3.0 {
		t.Fatalf("spawned: %v", in)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(cmd(0, "instance", "ls", "--output", "json")), &list); err != nil || len(list) != 1 || list[0]["id"] != id {
		t.Fatalf("instance ls: %v %v", list, err)
	}
	if left := list[0]["lease_left_ms"].(float64); left < 590_000 || left > 600_000 {
		t.Fatalf("lease_left_ms = %v", left)
	}
	if out := cmd(0, "instance", "ls"); !strings.Contains(out, "LEASE LEFT") || !strings.Contains(out, id) || !strings.Contains(out, "region=eu") {
		t.Fatalf("instance ls table: %s", out)
	}
	if out := cmd(0, "instance", "renew", id, "--lease", "1h"); !strings.Contains(out, "lease renewed") {
		t.Fatalf("renew: %s", out)
	}
	if out := cmd(0, "instance", "get", id); !strings.Contains(out, "pending") {
		t.Fatalf("get: %s", out)
	}
	if out := cmd(0, "instance", "stop", id, "--reason", "done"); !strings.Contains(out, id+" stopped") {
		t.Fatalf("stop: %s", out)
	}
	// A stop that fails leaves the ones before it printed.
	if code, out, errOut := rccctl(t, append([]string{"instance", "stop", id, "i-nope"}, conn...)...); code != exitFail ||
		out != id+" stopped\n" || !strings.Contains(errOut, "not found") {
		t.Fatalf("stop of a stopped and a missing instance: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if out := cmd(0, "instance", "ls"); strings.Contains(out, id) {
		t.Fatalf("stopped instance listed without --all: %s", out)
	}
	if out := cmd(0, "instance", "ls", "--all"); !strings.Contains(out, "stopped") {
		t.Fatalf("instance ls --all: %s", out)
	}
	if out := cmd(1, "instance", "get", "i-nope"); !strings.Contains(out, "not found") {
		t.Fatalf("get missing: %s", out)
	}
	if out := cmd(1, "join", "arena", "--player", "alice"); !strings.Contains(out, "no live executor") {
		t.Fatalf("join without executor: %s", out)
	}
	if out := cmd(0, "executor", "ls"); !strings.Contains(out, "NAME") {
		t.Fatalf("executor ls: %s", out)
	}
	cmd(2, "instance", "spawn")
	cmd(2, "instance", "ls", "--output", "yaml")
	cmd(2, "instance", "ls", "--state", "sleeping")
	cmd(2, "join", "arena")
}

func TestServerCredentials(t *testing.T) {
	addr, token := startCoordinator(t)
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("RCC_ADDR", "")
	t.Setenv("RCC_TOKEN", "")
	if code, _, errOut := rccctl(t, "game", "ls"); code != 2 || !strings.Contains(errOut, "no token") {
		t.Fatalf("without token: %d %s", code, errOut)
	}
	path, err := client.DefaultCredentialsPath()
	if err != nil || !strings.HasPrefix(path, cfg) {
		t.Fatalf("credentials path %q %v", path, err)
	}
	if err := client.SaveCredentials(path, client.Credentials{Addr: addr, Token: client.Token(token)}); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := rccctl(t, "game", "ls"); code != 0 || !strings.Contains(out, "NAME") {
		t.Fatalf("with credentials file: %d %s %s", code, out, errOut)
	}
	// The environment wins over the file.
	t.Setenv("RCC_TOKEN", "not-a-token")
	if code, _, errOut := rccctl(t, "game", "ls"); code != 1 || !strings.Contains(errOut, "refused the token") {
		t.Fatalf("bad RCC_TOKEN: %d %s", code, errOut)
	}
	// And flags over the environment.
	if code, _, errOut := rccctl(t, "game", "ls", "--token", token); code != 0 {
		t.Fatalf("--token: %d %s", code, errOut)
	}
	t.Setenv("RCC_ADDR", "127.0.0.1:1")
	if code, _, errOut := rccctl(t, "game", "ls", "--token", token, "--timeout", "2s"); code != 1 || !strings.Contains(errOut, "not reachable") {
		t.Fatalf("unreachable: %d %s", code, errOut)
	}
}
