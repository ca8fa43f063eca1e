package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/protocol"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestE2ERecordAndReplay: an instance spawned with record keeps its input
// log on the executor; rccctl instance input-log fetches it (while it runs
// and once it has stopped) and rccctl game replay matches every frame; the
// executor refuses anyone but an admin.
func TestE2ERecordAndReplay(t *testing.T) {
	arena := arenaModule(t)
	dir := t.TempDir()
	wasm := filepath.Join(dir, "arena.wasm")
	if err := os.WriteFile(wasm, arena, 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, "sqlite://"+filepath.Join(dir, "rcc.db"))
	x := c.executor("ex-a")
	ctx := context.Background()
	c.deploy("arena", arena)
	in := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600, Record: true, Seed: 5})
	plain := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600, MaxPlayers: 1})
	c.waitInstance(in.Id, "running", isState(rccv1.InstanceState_INSTANCE_STATE_RUNNING))
	if !in.Record || plain.Record {
		t.Fatalf("spawned with record %v and %v", in.Record, plain.Record)
	}

	ja, jb := c.join("arena", "alice"), c.join("arena", "bob")
	if ja.InstanceId != in.Id || jb.InstanceId != in.Id {
		t.Fatalf("joins went to %s and %s, want %s", ja.InstanceId, jb.InstanceId, in.Id)
	}
	urlA, _ := protocol.PlayURL(ja.WsUrl, ja.InstanceId, ja.Ticket)
	urlB, _ := protocol.PlayURL(jb.WsUrl, jb.InstanceId, jb.Ticket)
	alice, bob := dialPlayer(t, urlA, "alice"), dialPlayer(t, urlB, "bob")
	seesMove(t, bob, alice, 'x')
	seesMove(t, alice, bob, 'z')

	env := []string{"RCC_ADDR=" + c.addr, "RCC_TOKEN=" + string(mustToken(t, c.issuer))}
	replayed := func(log string) (frames uint64) {
		t.Helper()
		out, err := rccctl(t, env, "game", "replay", wasm, log, "--output", "json")
		var raw map[string]any
		if jerr := json.Unmarshal([]byte(out), &raw); jerr != nil || err != nil || raw["match"] != true || raw["module_matches"] != true {
			t.Fatalf("rccctl game replay %s: %v\n%s", log, err, out)
		}
		return uint64(raw["frames"].(float64))
	}

	// While it runs: the log up to its last flushed frame.
	live := filepath.Join(dir, "live.rcclog")
	out, err := rccctl(t, env, "instance", "input-log", in.Id, "--out", live)
	if err != nil || !strings.Contains(out, live) {
		t.Fatalf("rccctl instance input-log (running): %v\n%s", err, out)
	}
	liveFrames := replayed(live)

	if _, err := c.admin.Instances.Stop(ctx, &rccv1.StopInstanceRequest{Id: in.Id, Reason: "e2e over"}); err != nil {
		t.Fatal(err)
	}
	c.waitInstance(in.Id, "stopped", isState(rccv1.InstanceState_INSTANCE_STATE_STOPPED))
	final := filepath.Join(dir, "final.rcclog")
	if out, err := rccctl(t, env, "instance", "input-log", in.Id, "--out", final); err != nil {
		t.Fatalf("rccctl instance input-log (stopped): %v\n%s", err, out)
	}
	if n := replayed(final); n < liveFrames || n < 60 {
		t.Fatalf("the final log replays %d frames, the live one %d", n, liveFrames)
	}
	b, err := os.ReadFile(final)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"k":"join","p":"alice"`, `"k":"join","p":"bob"`, `"k":"input","p":"alice"`, `"k":"input","p":"bob"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the log lacks %s", want)
		}
	}

	// An instance spawned without record has no log.
	if out, err := rccctl(t, env, "instance", "input-log", plain.Id, "--out", filepath.Join(dir, "plain.rcclog")); err == nil ||
		!strings.Contains(out, "does not record") {
		t.Fatalf("rccctl instance input-log of an unrecorded instance: %v\n%s", err, out)
	}

	// The executor serves logs to a bearer of the coordinator's grant only,
	// never to a role token, the admin's included.
	u := "http" + strings.TrimPrefix(x.wsURL, "ws") + "/replays/" + in.Id
	exTok, _, err := c.issuer.RoleToken(auth.RoleExecutor, "ex-a", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, auth string
		code       int
	}{
		{"admin token", "Bearer " + string(mustToken(t, c.issuer)), http.StatusUnauthorized},
		{"executor token", "Bearer " + string(exTok), http.StatusUnauthorized},
		{"no token", "", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s: GET %s: %s, want %d", tc.name, u, resp.Status, tc.code)
		}
	}
	out, err = rccctl(t, []string{"RCC_ADDR=" + c.addr, "RCC_TOKEN=" + string(exTok)}, "instance", "input-log", in.Id, "--out", filepath.Join(dir, "x.rcclog"))
	if err == nil {
		t.Fatalf("rccctl instance input-log with an executor token succeeded:\n%s", out)
	}
}
