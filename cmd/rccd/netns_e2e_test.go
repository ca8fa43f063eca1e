package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/pgtest"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// lan is a virtual network of hosts on this machine: one network
// namespace per host, each with a veth pair whose other end is on a
// bridge in a namespace of its own, and this process (the players' host)
// on the same bridge. Its addresses are a /24 of 198.18.0.0/15, the range
// set aside for network tests (RFC 2544), chosen by the process id so
// that two test processes on one machine do not share a network; they
// reach nothing outside.
type lan struct {
	t      testing.TB
	prefix string
	sw     string
	net    string // "198.18.N." of the lan's /24
}

// addr is the lan's address ending in last.
func (l *lan) addr(last int) string { return fmt.Sprintf("%s%d", l.net, last) }

// newLAN makes the bridge, or ends the test with testenv.Unavailable
// when namespaces cannot be made here (not root, no iproute2, a kernel
// that refuses them); everything is removed when the test ends.
func newLAN(t testing.TB) *lan {
	t.Helper()
	testenv.MustHaveCommand(t, "ip", "apt-get install iproute2")
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "root (to make network namespaces)", "run the test as root")
	}
	pid := os.Getpid()
	l := &lan{t: t, prefix: fmt.Sprintf("rcc%d", pid%100000), net: fmt.Sprintf("198.%d.%d.", 18+(pid>>8)%2, pid%256)}
	l.sw = l.prefix + "-sw"
	if out, err := exec.Command("ip", "netns", "add", l.sw).CombinedOutput(); err != nil {
		testenv.Unavailable(t, "network namespaces", fmt.Sprintf("ip netns add refused: %v: %s", err, strings.TrimSpace(string(out))))
	}
	t.Cleanup(func() { l.ip("netns", "del", l.sw) })
	l.ip("-n", l.sw, "link", "add", "br0", "type", "bridge")
	l.ip("-n", l.sw, "link", "set", "br0", "up")
	return l
}

// ip runs ip with args, failing the test when it fails.
func (l *lan) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// plug puts the veth end port, now in this process's namespace, on the
// bridge.
func (l *lan) plug(port string) {
	l.t.Helper()
	l.ip("link", "set", port, "netns", l.sw)
	l.ip("-n", l.sw, "link", "set", port, "master", "br0")
	l.ip("-n", l.sw, "link", "set", port, "up")
}

// host makes a namespace called name with address l.addr(last) on eth0
// (and loopback up) and returns the namespace's name.
func (l *lan) host(name string, last int) string {
	l.t.Helper()
	ns := l.prefix + "-" + name
	l.ip("netns", "add", ns)
	l.t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	port := "v" + l.prefix[3:] + name
	l.ip("link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
	l.plug(port)
	l.ip("-n", ns, "addr", "add", l.addr(last)+"/24", "dev", "eth0")
	l.ip("-n", ns, "link", "set", "eth0", "up")
	l.ip("-n", ns, "link", "set", "lo", "up")
	return ns
}

// local gives this process's namespace the address l.addr(last) on the
// bridge (the veth pair goes with the bridge's namespace).
func (l *lan) local(last int) {
	l.t.Helper()
	here, there := l.prefix+"h", "v"+l.prefix[3:]+"h"
	l.ip("link", "add", here, "type", "veth", "peer", "name", there)
	l.plug(there)
	l.ip("addr", "add", l.addr(last)+"/24", "dev", here)
	l.ip("link", "set", here, "up")
}

// TestE2EMultiHost runs a deployment across hosts of a virtual network:
// PostgreSQL, two coordinators and two executors each in its own network
// namespace at its own address, and the players on another (this
// process). Every hop is TLS: coordinators serve gRPC with the dev CA's
// certificate and want executors' client certificates, executors serve
// wss://, clients verify with the CA. Players join and play; then the
// coordinator the executors are connected to and the executor not
// hosting the players are killed. Players join with player tokens, and the
// signing key rotates mid-session. The players play on, the executors'
// loss and the respawn are handled by the other coordinator, and every
// acknowledged spawn and join is still there.
func TestE2EMultiHost(t *testing.T) {
	l := newLAN(t)
	arena := arenaModule(t)
	addr := l.addr
	pgNS := l.host("pg", 2)
	c1NS, c2NS := l.host("c1", 11), l.host("c2", 12)
	e1NS, e2NS := l.host("e1", 21), l.host("e2", 22)
	l.local(31) // the players' host

	pg := pgtest.InNetns(t, pgNS, addr(2))
	files := devCerts(t, []string{"ex-1", "ex-2"}, addr(11), addr(12), addr(21), addr(22))
	coord1, coord2 := addr(11)+":7400", addr(12)+":7400"
	c := newClusterIn(t, pg.URL(), files, c1NS, coord1)
	dir2 := c.sharedKeyDir()
	second := c.coordinatorProc("coordinator 2", c2NS, coord2, dir2)
	second.logLine("coordinator started")
	c.coordinators = coord1 + "," + coord2
	// From here on the test's own calls go through both coordinators.
	tg := c.target(client.Token(mustToken(t, c.issuer)))
	tg.Addr = c.coordinators
	both, err := client.DialConfig(tg)
	if err != nil {
		t.Fatal(err)
	}
	c.admin.Close()
	c.admin = both
	// ex-1 alone first: the instance that respawns goes there.
	x1 := c.executorIn("ex-1", e1NS, addr(21)+":7450")
	ctx := context.Background()
	c.deploy("arena", arena)
	victim := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600, Respawn: true})
	x2 := c.executorIn("ex-2", e2NS, addr(22)+":7450")
	if x1.wsURL != "wss://"+addr(21)+":7450" || x2.wsURL != "wss://"+addr(22)+":7450" {
		t.Fatalf("executors' public URLs %s and %s, want wss:// at their own addresses", x1.wsURL, x2.wsURL)
	}

	// The players' instance on ex-2 (labelled for their joins), placed
	// while ex-1 is drained. (Whatever ex-1's drain state is afterwards,
	// the players' joins ask for that label.)
	if _, err := both.Executors.Drain(ctx, &rccv1.DrainExecutorRequest{Id: x1.id}); err != nil {
		t.Fatal(err)
	}
	players := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600, MaxPlayers: 60000, Labels: map[string]string{"host": "e2"}})
	if _, err := both.Executors.Undrain(ctx, &rccv1.UndrainExecutorRequest{Id: x1.id}); err != nil {
		t.Fatal(err)
	}
	if p := c.waitInstance(players.Id, "running", isState(rccv1.InstanceState_INSTANCE_STATE_RUNNING)); p.ExecutorId != x2.id {
		t.Fatalf("the players' instance is on %s, want ex-2 (%s)", p.ExecutorId, x2.id)
	}
	if v := c.waitInstance(victim.Id, "running", isState(rccv1.InstanceState_INSTANCE_STATE_RUNNING)); v.ExecutorId != x1.id {
		t.Fatalf("the respawning instance is on %s, want ex-1 (%s)", v.ExecutorId, x1.id)
	}

	// Players join with player tokens of their own (what rccd token
	// create --role player --subject NAME makes), through both
	// coordinators: the player id is the token's subject.
	joinAs := func(player string) *rccv1.JoinResponse {
		t.Helper()
		ptok, _, err := c.issuer.RoleToken(auth.RolePlayer, player, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ptg := c.target(client.Token(ptok))
		ptg.Addr = c.coordinators
		pc, err := client.DialConfig(ptg)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		if _, err := pc.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: "mallory", Labels: map[string]string{"host": "e2"}}); status.Code(err) != codes.PermissionDenied {
			t.Fatalf("%s's player token joining as mallory: %v, want PermissionDenied", player, err)
		}
		j, err := pc.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", Labels: map[string]string{"host": "e2"}})
		if err != nil {
			t.Fatalf("join as %s: %v", player, err)
		}
		if j.InstanceId != players.Id || !strings.HasPrefix(j.WsUrl, "wss://"+addr(22)) {
			t.Fatalf("%s joined %s at %s, want %s at ex-2", player, j.InstanceId, j.WsUrl, players.Id)
		}
		return j
	}
	wss := wssDialer(c.target("").TLS)
	playerConn := func(j *rccv1.JoinResponse, name string) *player {
		u, _ := protocol.PlayURL(j.WsUrl, j.InstanceId, j.Ticket)
		return dialPlayerWith(t, wss, u, name)
	}
	alice, bob := playerConn(joinAs("alice"), "alice"), playerConn(joinAs("bob"), "bob")
	seesMove(t, bob, alice, 'x')

	// A signing-key rotation mid-session: rccd key rotate in coordinator
	// 1's data directory, the key set copied to coordinator 2's (as
	// docs/operations.md says for several coordinators); both load it
	// without a restart, alice and bob play on, and a ticket signed with
	// the new key is accepted by ex-2, which has never seen it.
	oldKid := kidOf(t, string(mustToken(t, c.issuer)))
	if code, out, errOut := rccd(t, "key", "rotate", "--data-dir", c.dir); code != 0 {
		t.Fatalf("key rotate: exit %d %s %s", code, out, errOut)
	}
	copyKeySet(t, c.dir, dir2)
	for _, p := range []*proc{c.coord, second} {
		testenv.WaitFor(t, p.name+" to load the new key set", 20*time.Second, func() bool {
			return strings.Contains(p.logs.String(), `"event":"key_set_changed"`)
		})
	}
	dave := joinAs("dave")
	if kid := kidOf(t, dave.Ticket); kid == oldKid {
		t.Fatalf("dave's ticket is signed with the old key %s", kid)
	}
	playerConn(dave, "dave")
	seesMove(t, bob, alice, 'x')

	// Under a load of joins, kill the coordinator the executors talk to;
	// then the executor without the players. (Joins that found no room
	// at once make new instances, on either executor.)
	load := startJoinLoad(both, "arena", map[string]string{"host": "e2"}, 2)
	testenv.WaitFor(t, "joins under load", 30*time.Second, func() bool { return load.ok.Load() >= 10 })
	c.coord.kill9()
	before := load.ok.Load()
	testenv.WaitFor(t, "joins through coordinator 2", 60*time.Second, func() bool { return load.ok.Load() >= before+20 })
	load.end()
	t.Logf("joins: %d acknowledged, %d failed around the coordinator's death", load.ok.Load(), load.failed.Load())
	if f := load.failed.Load(); f > 4 {
		t.Errorf("%d joins failed, want at most the calls in flight at the kill and a retry each (4)", f)
	}
	load.checkSeats(t, both, x1.id, x2.id)
	x1.kill9()
	testenv.WaitFor(t, "ex-1 lost, seen by coordinator 2", 60*time.Second, func() bool {
		xs, err := both.Executors.List(ctx, &rccv1.ListExecutorsRequest{})
		if err != nil {
			return false
		}
		states := map[string]rccv1.ExecutorState{}
		for _, x := range xs.Executors {
			states[x.Name] = x.State
		}
		if states["ex-2"] != rccv1.ExecutorState_EXECUTOR_STATE_ACTIVE {
			t.Fatalf("ex-2 is %v after ex-1 and coordinator 1 died", states["ex-2"])
		}
		return states["ex-1"] == rccv1.ExecutorState_EXECUTOR_STATE_LOST
	})

	// Nothing acknowledged is lost: the victim is lost and respawned on
	// ex-2, the players' instance runs on with its players, every
	// acknowledged join is a seat in a running instance.
	c.waitInstance(victim.Id, "lost", isState(rccv1.InstanceState_INSTANCE_STATE_LOST))
	testenv.WaitFor(t, "the victim respawned on ex-2", 60*time.Second, func() bool {
		ls, err := both.Instances.List(ctx, &rccv1.ListInstancesRequest{Game: "arena", ExecutorId: x2.id})
		if err != nil {
			return false
		}
		for _, in := range ls.Instances {
			if in.RespawnedFrom == victim.Id && in.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING {
				return true
			}
		}
		return false
	})
	if in := c.waitInstance(players.Id, "", func(*rccv1.Instance) bool { return true }); in.State != rccv1.InstanceState_INSTANCE_STATE_RUNNING || in.ExecutorId != x2.id {
		t.Fatalf("the players' instance is %v on %s", in.State, in.ExecutorId)
	}
	seesMove(t, alice, bob, 'z')
	// The seats of instances that were on ex-1 went with it: those
	// instances are recorded lost, none vanished.
	for _, seat := range load.seats {
		in, err := both.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: seat.InstanceId})
		want := rccv1.InstanceState_INSTANCE_STATE_RUNNING
		if seat.ExecutorId == x1.id {
			want = rccv1.InstanceState_INSTANCE_STATE_LOST
		}
		if err != nil || in.State != want {
			t.Fatalf("instance %s of an acknowledged join on %s: %v (%v), want %v", seat.InstanceId, seat.ExecutorId, in.GetState(), err, want)
		}
	}
	carol := playerConn(joinAs("carol"), "carol")
	if carol.welcome.InstanceID != players.Id {
		t.Fatalf("carol's welcome %+v", carol.welcome)
	}

	// rccctl from the players' host, through both addresses.
	env := []string{"RCC_TOKEN=" + string(mustToken(t, c.issuer)), "RCC_CA=" + files.CA, "XDG_CONFIG_HOME=" + t.TempDir()}
	out, err := rccctl(t, env, "instance", "ls", "--addr", c.coordinators)
	if err != nil || !strings.Contains(out, players.Id) {
		t.Fatalf("rccctl instance ls: %v\n%s", err, out)
	}
}

// copyKeySet copies the signing keys (keys/) and then the key set
// (keyset.json, written last and renamed into place) of data directory
// from into data directory to, private to their owner.
func copyKeySet(t testing.TB, from, to string) {
	t.Helper()
	keys := filepath.Join(from, "keys")
	ents, err := os.ReadDir(keys)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(to, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(src, dst string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		tmp := dst + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range ents {
		write(filepath.Join(keys, e.Name()), filepath.Join(to, "keys", e.Name()))
	}
	write(filepath.Join(from, "keyset.json"), filepath.Join(to, "keyset.json"))
}
