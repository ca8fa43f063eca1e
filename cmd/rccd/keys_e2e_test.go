package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// kidOf is the "kid" header of a JWT.
func kidOf(t testing.TB, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// TestE2EKeyRotation: "rccd key rotate" beside a running coordinator and
// executor: the coordinator signs with the new key within a reap, without a
// restart; a player connected before keeps playing; a new player's ticket,
// signed with a key the executor has never seen, is accepted (the executor
// fetches the key set again); the old key's tokens keep working until
// "rccd key remove", and then they are refused as signed by an unknown key.
func TestE2EKeyRotation(t *testing.T) {
	arena := arenaModule(t)
	c := newCluster(t, "sqlite://"+filepath.Join(t.TempDir(), "rcc.db"))
	x := c.executor("ex-a")
	ctx := context.Background()
	c.deploy("arena", arena)
	in := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600})
	c.waitInstance(in.Id, "running", isState(rccv1.InstanceState_INSTANCE_STATE_RUNNING))

	ja := c.join("arena", "alice")
	oldKid := kidOf(t, ja.Ticket)
	urlA, _ := protocol.PlayURL(ja.WsUrl, ja.InstanceId, ja.Ticket)
	alice := dialPlayer(t, urlA, "alice")

	code, out, errOut := rccd(t, "key", "rotate", "--data-dir", c.dir)
	if code != 0 || !strings.Contains(out, "was "+oldKid) {
		t.Fatalf("key rotate: exit %d %s %s", code, out, errOut)
	}
	testenv.WaitFor(t, "the coordinator to load the new key set", 10*time.Second, func() bool {
		return strings.Contains(c.coord.logs.String(), `"event":"key_set_changed"`)
	})
	jb := c.join("arena", "bob")
	if jb.InstanceId != in.Id {
		t.Fatalf("bob joined %s, want %s", jb.InstanceId, in.Id)
	}
	newKid := kidOf(t, jb.Ticket)
	if newKid == oldKid {
		t.Fatal("the coordinator still signs with the old key")
	}
	if !strings.Contains(out, "active key "+newKid) {
		t.Fatalf("rotate said %q, the coordinator signs with %s", out, newKid)
	}
	urlB, _ := protocol.PlayURL(jb.WsUrl, jb.InstanceId, jb.Ticket)
	bob := dialPlayer(t, urlB, "bob")
	seesMove(t, bob, alice, 'x') // alice's session outlived the rotation
	x.logLine("fetched the coordinator's keys")

	// The old key's admin token works until its key is removed.
	if _, err := c.admin.Games.ListGames(ctx, &rccv1.ListGamesRequest{}); err != nil {
		t.Fatalf("the old key's token after the rotation: %v", err)
	}
	code, out, errOut = rccd(t, "key", "ls", "--data-dir", c.dir)
	states := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			states[f[0]] = f[1]
		}
	}
	if code != 0 || states[newKid] != "active" || states[oldKid] != "retired" {
		t.Fatalf("key ls: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := rccd(t, "key", "remove", oldKid, "--data-dir", c.dir); code != 0 {
		t.Fatalf("key remove: %s", errOut)
	}
	testenv.WaitFor(t, "the removed key's token to be refused", 10*time.Second, func() bool {
		_, err := c.admin.Games.ListGames(ctx, &rccv1.ListGamesRequest{})
		return status.Code(err) == codes.Unauthenticated && strings.Contains(err.Error(), auth.ErrUnknownKey.Error())
	})
	if code, _, errOut := rccd(t, "key", "remove", newKid, "--data-dir", c.dir); code == 0 || !strings.Contains(errOut, "active key") {
		t.Fatalf("removing the active key: exit %d %s", code, errOut)
	}
}
