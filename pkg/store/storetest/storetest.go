// Package storetest is the contract test suite every store.Store backend
// passes unchanged.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/rcc-games/rcc/pkg/store"
)

// Opener returns a fresh, empty store for one test; it registers its own
// cleanup.
type Opener func(t *testing.T) store.Store

// t0 is the suite's clock origin.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Run runs the contract suite against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Blobs", testBlobs},
		{"Versions", testVersions},
		{"VersionLimits", testVersionLimits},
		{"SpawnPendingThenAssigned", testSpawnPending},
		{"ListFilters", testListFilters},
		{"StopAndReport", testStop},
		{"Leases", testLeases},
		{"JoinPacking", testJoinPacking},
		{"JoinLabels", testJoinLabels},
		{"JoinNoExecutor", testJoinNoExecutor},
		{"Seats", testSeats},
		{"ExecutorLostRespawn", testExecutorLost},
		{"Drain", testDrain},
		{"ConcurrentJoin", testConcurrentJoin},
		{"InstanceStats", testInstanceStats},
		{"Record", testRecord},
		{"Undrain", testUndrain},
		{"DeleteGame", testDeleteGame},
		{"Logs", testLogs},
		{"LogsBounded", testLogsBounded},
		{"LogsConcurrent", testLogsConcurrent},
		{"DeleteGameRacesSpawn", testDeleteGameRacesSpawn},
		{"RegistrationConflict", testRegistrationConflict},
		{"RevokedTokens", testRevokedTokens},
		{"MoveInstance", testMoveInstance},
		{"UpgradeInstance", testUpgradeInstance},
		{"Checkpoints", testCheckpoints},
		{"CheckpointAcrossUpgrade", testCheckpointAcrossUpgrade},
		{"JoinAgainKeepsOneSeat", testJoinAgain},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func deploy(t *testing.T, s store.Store, game string, module string) store.Version {
	t.Helper()
	ctx := context.Background()
	sha, _, err := s.PutBlob(ctx, []byte(module), t0)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := s.CreateVersion(ctx, store.NewVersion{Game: game, ModuleSHA256: sha, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func register(t *testing.T, s store.Store, name string, capacity uint32, now time.Time) store.Executor {
	t.Helper()
	x, err := s.RegisterExecutor(context.Background(), store.Registration{Name: name, WSURL: "ws://" + name + "/play", Capacity: capacity}, now)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func place(now time.Time) store.Placement {
	return store.Placement{Now: now, LiveSince: now.Add(-10 * time.Second)}
}

func spec(game string) store.SpawnSpec {
	return store.SpawnSpec{ID: store.NewID("i-"), Game: game, MaxPlayers: 4, LeaseSeconds: 60}
}

func testBlobs(t *testing.T, s store.Store) {
	ctx := context.Background()
	sha, existed, err := s.PutBlob(ctx, []byte("hello"), t0)
	if err != nil || existed {
		t.Fatalf("first put: existed=%v err=%v", existed, err)
	}
	if sha != "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Fatalf("sha = %s", sha)
	}
	sha2, existed, err := s.PutBlob(ctx, []byte("hello"), t0)
	if err != nil || !existed || sha2 != sha {
		t.Fatalf("second put: sha=%s existed=%v err=%v", sha2, existed, err)
	}
	got, err := s.GetBlob(ctx, sha)
	if err != nil || string(got) != "hello" {
		t.Fatalf("get: %q %v", got, err)
	}
	if _, err := s.GetBlob(ctx, "00"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get missing: %v, want ErrNotFound", err)
	}

	// In pieces: 2.5 pieces' worth, read back a piece at a time.
	big := make([]byte, store.BlobChunkBytes*5/2)
	for k := range big {
		big[k] = byte(k * 7)
	}
	sum := sha256.Sum256(big)
	bigSHA := hex.EncodeToString(sum[:])
	if existed, err := s.PutBlobFrom(ctx, bigSHA, int64(len(big)), bytes.NewReader(big), t0); err != nil || existed {
		t.Fatalf("put from a reader: existed=%v err=%v", existed, err)
	}
	var pieces int
	var back []byte
	err = s.ReadBlob(ctx, bigSHA, func(size int64, chunk []byte) error {
		if size != int64(len(big)) || len(chunk) > store.BlobChunkBytes {
			t.Fatalf("piece %d: size %d, %d bytes", pieces, size, len(chunk))
		}
		pieces++
		back = append(back, chunk...)
		return nil
	})
	if err != nil || pieces != 3 || !bytes.Equal(back, big) {
		t.Fatalf("read back in %d pieces, equal=%v, err=%v", pieces, bytes.Equal(back, big), err)
	}
	if got, err := s.GetBlob(ctx, bigSHA); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("get of a blob in pieces: equal=%v err=%v", bytes.Equal(got, big), err)
	}
	if existed, err := s.PutBlobFrom(ctx, bigSHA, int64(len(big)), iotest.ErrReader(errors.New("must not be read")), t0); err != nil || !existed {
		t.Fatalf("second put from a reader: existed=%v err=%v", existed, err)
	}
	// Bytes that are not the sha's store nothing.
	other := sha256.Sum256([]byte("other"))
	if _, err := s.PutBlobFrom(ctx, hex.EncodeToString(other[:]), int64(len(big)), bytes.NewReader(big), t0); err == nil {
		t.Fatal("put of bytes under another sha256 succeeded")
	}
	if _, err := s.GetBlob(ctx, hex.EncodeToString(other[:])); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get after a refused put: %v, want ErrNotFound", err)
	}
	stop := errors.New("stop")
	if err := s.ReadBlob(ctx, bigSHA, func(int64, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("read ended by its callback: %v", err)
	}
}

func testVersions(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.GetVersion(ctx, "arena", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("latest of missing game: %v", err)
	}
	if _, _, err := s.CreateVersion(ctx, store.NewVersion{Game: "arena", ModuleSHA256: "ab", Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("version of missing blob: %v", err)
	}
	v1 := deploy(t, s, "arena", "m1")
	if v1.Version != 1 || v1.ModuleSize != 2 {
		t.Fatalf("v1 = %+v", v1)
	}
	sha, _, _ := s.PutBlob(ctx, []byte("m1"), t0)
	same, unchanged, err := s.CreateVersion(ctx, store.NewVersion{Game: "arena", ModuleSHA256: sha, Now: t0})
	if err != nil || !unchanged || same.Version != 1 {
		t.Fatalf("redeploy: %+v unchanged=%v err=%v", same, unchanged, err)
	}
	v2 := deploy(t, s, "arena", "m2")
	deploy(t, s, "pong", "p1")
	if v2.Version != 2 {
		t.Fatalf("v2 = %+v", v2)
	}
	latest := must[store.Version](t)(s.GetVersion(ctx, "arena", 0))
	if latest.Version != 2 || latest.ModuleSHA256 != v2.ModuleSHA256 {
		t.Fatalf("latest = %+v", latest)
	}
	if _, err := s.GetVersion(ctx, "arena", 9); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	games := must[[]store.Game](t)(s.ListGames(ctx))
	if len(games) != 2 || games[0].Name != "arena" || games[0].LatestVersion != 2 || games[0].VersionCount != 2 || games[1].Name != "pong" {
		t.Fatalf("games = %+v", games)
	}
	vs := must[[]store.Version](t)(s.ListVersions(ctx, "arena"))
	if len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 {
		t.Fatalf("versions = %+v", vs)
	}
	if _, err := s.ListVersions(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("versions of missing game: %v", err)
	}
}

func testVersionLimits(t *testing.T, s store.Store) {
	ctx := context.Background()
	v1 := deploy(t, s, "arena", "m1")
	if v1.Limits != (store.Limits{}) {
		t.Fatalf("v1 limits = %+v, want zero (defaults)", v1.Limits)
	}
	sha := v1.ModuleSHA256
	big := store.Limits{InitFuel: 1 << 40, FrameFuel: 10_000_000_000, MemoryLimitPages: 256, SnapshotHz: 20}
	steps := []struct {
		name          string
		limits        store.Limits
		wantVersion   uint32
		wantUnchanged bool
	}{
		{"same module, new limits", big, 2, false},
		{"same module and limits", big, 2, true},
		{"one field differs", store.Limits{InitFuel: 1 << 40, FrameFuel: 10_000_000_000, MemoryLimitPages: 512, SnapshotHz: 20}, 3, false},
		{"the snapshot rate differs", store.Limits{InitFuel: 1 << 40, FrameFuel: 10_000_000_000, MemoryLimitPages: 512, SnapshotHz: 30}, 4, false},
		{"back to the defaults", store.Limits{}, 5, false},
		{"defaults again", store.Limits{}, 5, true},
	}
	for _, st := range steps {
		v, unchanged, err := s.CreateVersion(ctx, store.NewVersion{Game: "arena", ModuleSHA256: sha, Limits: st.limits, Now: t0})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if v.Version != st.wantVersion || unchanged != st.wantUnchanged || v.Limits != st.limits {
			t.Fatalf("%s: version %d unchanged=%v limits %+v, want version %d unchanged=%v limits %+v",
				st.name, v.Version, unchanged, v.Limits, st.wantVersion, st.wantUnchanged, st.limits)
		}
	}
	if got := must[store.Version](t)(s.GetVersion(ctx, "arena", 2)); got.Limits != big {
		t.Fatalf("get version 2: limits %+v, want %+v", got.Limits, big)
	}
	vs := must[[]store.Version](t)(s.ListVersions(ctx, "arena"))
	if len(vs) != 5 || vs[0].Limits != (store.Limits{}) || vs[1].Limits != big || vs[2].Limits.MemoryLimitPages != 512 ||
		vs[3].Limits.SnapshotHz != 30 || vs[4].Limits != (store.Limits{}) {
		t.Fatalf("versions = %+v", vs)
	}
	// Every field round-trips at its largest storable value.
	largest := store.Limits{InitFuel: math.MaxInt64, FrameFuel: math.MaxInt64, MemoryLimitPages: math.MaxUint32, SnapshotHz: math.MaxUint32}
	v, _, err := s.CreateVersion(ctx, store.NewVersion{Game: "pong", ModuleSHA256: sha, Limits: largest, Now: t0})
	if err != nil {
		t.Fatalf("largest limits: %v", err)
	}
	if got := must[store.Version](t)(s.GetVersion(ctx, "pong", v.Version)); got.Limits != largest {
		t.Fatalf("largest limits read back as %+v, want %+v", got.Limits, largest)
	}
	if _, _, err := s.CreateVersion(ctx, store.NewVersion{Game: "pong", ModuleSHA256: sha, Limits: store.Limits{FrameFuel: math.MaxUint64}, Now: t0}); err == nil {
		t.Fatal("frame fuel above the largest storable value was accepted")
	}
}

func testSpawnPending(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	sp := spec("arena")
	sp.Labels = map[string]string{"region": "eu"}
	sp.Params = `{"map":"small"}`
	sp.Seed = 42
	in := must[store.Instance](t)(s.Spawn(ctx, sp, place(t0)))
	if in.State != store.StatePending || in.ExecutorID != "" || in.Version != 1 || in.Labels["region"] != "eu" ||
		in.Params != `{"map":"small"}` || in.Seed != 42 || !in.LeaseExpiresAt.Equal(t0.Add(60*time.Second)) {
		t.Fatalf("spawned = %+v", in)
	}
	if _, err := s.Spawn(ctx, spec("nope"), place(t0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("spawn of missing game: %v", err)
	}
	x := register(t, s, "ex1", 0, t0.Add(time.Second))
	assigned := must[[]store.Instance](t)(s.AssignPending(ctx, place(t0.Add(time.Second))))
	if len(assigned) != 1 || assigned[0].ID != in.ID || assigned[0].State != store.StateStarting ||
		assigned[0].ExecutorID != x.ID || assigned[0].WSURL != "ws://ex1/play" {
		t.Fatalf("assigned = %+v", assigned)
	}
	again := must[[]store.Instance](t)(s.AssignPending(ctx, place(t0.Add(time.Second))))
	if len(again) != 0 {
		t.Fatalf("assigned twice: %+v", again)
	}
	got := must[store.Instance](t)(s.ReportInstance(ctx, x.ID, store.InstanceReport{InstanceID: in.ID, State: store.StateRunning, Players: 2}, t0.Add(2*time.Second)))
	if got.State != store.StateRunning || got.Players != 2 {
		t.Fatalf("after report = %+v", got)
	}
	other := register(t, s, "ex2", 0, t0.Add(time.Second))
	if _, err := s.ReportInstance(ctx, other.ID, store.InstanceReport{InstanceID: in.ID, State: store.StateStopped}, t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("report from another executor: %v", err)
	}
	// A new spawn goes to the executor with fewer instances.
	in2 := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0.Add(2*time.Second))))
	if in2.ExecutorID != other.ID || in2.State != store.StateStarting {
		t.Fatalf("second spawn = %+v, want on %s", in2, other.ID)
	}
	xs := must[[]store.Executor](t)(s.ListExecutors(ctx))
	if len(xs) != 2 || xs[0].Assigned != 1 || xs[1].Assigned != 1 {
		t.Fatalf("executors = %+v", xs)
	}
	ic, xc, err := s.Counts(ctx)
	if err != nil || ic[store.StateRunning] != 1 || ic[store.StateStarting] != 1 || xc[store.ExecutorActive] != 2 {
		t.Fatalf("counts = %v %v %v", ic, xc, err)
	}
	if _, err := s.GetInstance(ctx, "i-missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get missing instance: %v", err)
	}
}

func testListFilters(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	deploy(t, s, "pong", "p1")
	for k, g := range []string{"arena", "arena", "pong"} {
		sp := spec(g)
		sp.Labels = map[string]string{"n": fmt.Sprint(k)}
		must[store.Instance](t)(s.Spawn(ctx, sp, place(t0.Add(time.Duration(k)*time.Second))))
	}
	all := must[[]store.Instance](t)(s.ListInstances(ctx, store.InstanceFilter{}))
	if len(all) != 3 || all[0].Game != "pong" {
		t.Fatalf("all = %+v", all)
	}
	arena := must[[]store.Instance](t)(s.ListInstances(ctx, store.InstanceFilter{Game: "arena"}))
	if len(arena) != 2 {
		t.Fatalf("arena = %d", len(arena))
	}
	l := must[[]store.Instance](t)(s.ListInstances(ctx, store.InstanceFilter{Labels: map[string]string{"n": "1"}}))
	if len(l) != 1 || l[0].Labels["n"] != "1" {
		t.Fatalf("by label = %+v", l)
	}
	running := must[[]store.Instance](t)(s.ListInstances(ctx, store.InstanceFilter{States: []store.InstanceState{store.StateRunning}}))
	if len(running) != 0 {
		t.Fatalf("running = %d", len(running))
	}
	lim := must[[]store.Instance](t)(s.ListInstances(ctx, store.InstanceFilter{Limit: 1}))
	if len(lim) != 1 {
		t.Fatalf("limit = %d", len(lim))
	}
	// Pages of one, each after the last one seen, walk the whole list in
	// its order, each instance once; two created in the same millisecond
	// are told apart by their ids.
	must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	whole := must[[]store.Instance](t)(s.ListInstances(ctx, store.InstanceFilter{}))
	var paged []store.Instance
	f := store.InstanceFilter{Limit: 1}
	for range len(whole) + 1 {
		page := must[[]store.Instance](t)(s.ListInstances(ctx, f))
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		f.After = &store.InstanceCursor{CreatedAt: page[0].CreatedAt, ID: page[0].ID}
	}
	if len(paged) != len(whole) {
		t.Fatalf("paged %d instances, the whole list has %d", len(paged), len(whole))
	}
	for k := range whole {
		if paged[k].ID != whole[k].ID {
			t.Fatalf("page %d is %s, the whole list has %s there", k, paged[k].ID, whole[k].ID)
		}
	}
}

func testStop(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	pending := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	stopped := must[store.Instance](t)(s.StopInstance(ctx, pending.ID, "not needed", t0))
	if stopped.State != store.StateStopped || stopped.Reason != "not needed" {
		t.Fatalf("stopped pending = %+v", stopped)
	}
	x := register(t, s, "ex1", 0, t0)
	in := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	st := must[store.Instance](t)(s.StopInstance(ctx, in.ID, "operator", t0))
	if st.State != store.StateStopping {
		t.Fatalf("stop assigned = %+v", st)
	}
	// A late "running" report does not undo the stop.
	st = must[store.Instance](t)(s.ReportInstance(ctx, x.ID, store.InstanceReport{InstanceID: in.ID, State: store.StateRunning}, t0))
	if st.State != store.StateStopping {
		t.Fatalf("after running report = %+v", st)
	}
	st = must[store.Instance](t)(s.ReportInstance(ctx, x.ID, store.InstanceReport{InstanceID: in.ID, State: store.StateStopped}, t0))
	if st.State != store.StateStopped || st.Reason != "operator" {
		t.Fatalf("after stopped report = %+v", st)
	}
	again := must[store.Instance](t)(s.StopInstance(ctx, in.ID, "again", t0))
	if again.State != store.StateStopped || again.Reason != "operator" {
		t.Fatalf("stop twice = %+v", again)
	}
	// A stop the executor never confirms ends after the timeout.
	stuck := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	must[store.Instance](t)(s.StopInstance(ctx, stuck.ID, "operator", t0))
	if got := must[[]store.Instance](t)(s.ExpireStops(ctx, t0, t0.Add(time.Minute))); len(got) != 0 {
		t.Fatalf("expired a fresh stop: %+v", got)
	}
	got := must[[]store.Instance](t)(s.ExpireStops(ctx, t0.Add(time.Second), t0.Add(time.Minute)))
	if len(got) != 1 || got[0].ID != stuck.ID || got[0].State != store.StateStopped || got[0].Reason != "operator (stop not confirmed by the executor)" {
		t.Fatalf("expired stops = %+v", got)
	}
	in2 := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	f := must[store.Instance](t)(s.ReportInstance(ctx, x.ID, store.InstanceReport{InstanceID: in2.ID, State: store.StateFailed, Reason: "trap: fuel_exhausted"}, t0))
	if f.State != store.StateFailed || f.Reason != "trap: fuel_exhausted" {
		t.Fatalf("failed = %+v", f)
	}
	if _, err := s.StopInstance(ctx, "i-missing", "x", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stop missing: %v", err)
	}
	// Finished instances are purged once old enough; live ones never.
	if n := must[int](t)(s.PurgeInstances(ctx, t0)); n != 0 {
		t.Fatalf("purged %d fresh instances", n)
	}
	n := must[int](t)(s.PurgeInstances(ctx, t0.Add(2*time.Minute)))
	left := must[[]store.Instance](t)(s.ListInstances(ctx, store.InstanceFilter{}))
	if n != 4 || len(left) != 0 {
		t.Fatalf("purged %d, left %+v", n, left)
	}
}

func testLeases(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	pending := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	register(t, s, "ex1", 0, t0)
	assigned := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	renewed := must[store.Instance](t)(s.RenewLease(ctx, assigned.ID, 300, t0.Add(30*time.Second)))
	if !renewed.LeaseExpiresAt.Equal(t0.Add(330 * time.Second)) {
		t.Fatalf("renewed lease ends %v", renewed.LeaseExpiresAt)
	}
	if got := must[[]store.Instance](t)(s.ExpireLeases(ctx, t0.Add(59*time.Second))); len(got) != 0 {
		t.Fatalf("expired early: %+v", got)
	}
	got := must[[]store.Instance](t)(s.ExpireLeases(ctx, t0.Add(61*time.Second)))
	if len(got) != 1 || got[0].ID != pending.ID || got[0].State != store.StateStopped || got[0].Reason != "lease expired" {
		t.Fatalf("expired = %+v", got)
	}
	got = must[[]store.Instance](t)(s.ExpireLeases(ctx, t0.Add(331*time.Second)))
	if len(got) != 1 || got[0].ID != assigned.ID || got[0].State != store.StateStopping {
		t.Fatalf("expired = %+v", got)
	}
	if _, err := s.RenewLease(ctx, pending.ID, 0, t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("renew stopped: %v", err)
	}
	// 0 seconds renews by the instance's own lease.
	in := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	in = must[store.Instance](t)(s.RenewLease(ctx, in.ID, 0, t0.Add(10*time.Second)))
	if !in.LeaseExpiresAt.Equal(t0.Add(70 * time.Second)) {
		t.Fatalf("renew by default ends %v", in.LeaseExpiresAt)
	}
}

func join(t *testing.T, s store.Store, game, player string, labels map[string]string, now time.Time) (store.JoinResult, error) {
	t.Helper()
	sp := spec(game)
	return s.Join(context.Background(), store.JoinQuery{Game: game, PlayerID: player, Labels: labels, SeatID: store.NewID("t-"),
		SeatExpires: now.Add(60 * time.Second), NewInstance: sp, Placement: place(now)})
}

func testJoinPacking(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	x := register(t, s, "ex1", 0, t0)
	var first string
	for k := 0; k < 4; k++ {
		r, err := join(t, s, "arena", fmt.Sprint("p", k), nil, t0)
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			if !r.Created || r.Instance.ExecutorID != x.ID || r.Instance.WSURL != "ws://ex1/play" {
				t.Fatalf("first join = %+v", r)
			}
			first = r.Instance.ID
		} else if r.Created || r.Instance.ID != first {
			t.Fatalf("join %d went to %+v, want %s", k, r, first)
		}
	}
	r, err := join(t, s, "arena", "p4", nil, t0)
	if err != nil || !r.Created || r.Instance.ID == first {
		t.Fatalf("fifth join = %+v %v, want a new instance", r, err)
	}
	second := r.Instance.ID
	// Two players leave the first instance: the second (1 seat taken) is
	// emptier, so the next join packs into the first, now at 2.
	must[store.Instance](t)(s.ReportInstance(ctx, x.ID, store.InstanceReport{InstanceID: first, State: store.StateRunning, Players: 0}, t0))
	must[int](t)(s.ReleaseSeats(ctx, t0.Add(61*time.Second)))
	must[store.Instance](t)(s.ReportInstance(ctx, x.ID, store.InstanceReport{InstanceID: first, State: store.StateRunning, Players: 2}, t0))
	must[store.Instance](t)(s.ReportInstance(ctx, x.ID, store.InstanceReport{InstanceID: second, State: store.StateRunning, Players: 1}, t0))
	if _, _, err := s.Heartbeat(ctx, x.ID, store.ExecutorStats{}, nil, t0.Add(61*time.Second)); err != nil {
		t.Fatal(err)
	}
	r, err = join(t, s, "arena", "p5", nil, t0.Add(61*time.Second))
	if err != nil || r.Instance.ID != first {
		t.Fatalf("packing join = %+v %v, want %s", r, err, first)
	}
	in := must[store.Instance](t)(s.GetInstance(ctx, first))
	if in.Players != 2 || in.Reserved != 1 {
		t.Fatalf("first = %+v", in)
	}
}

func testJoinLabels(t *testing.T, s store.Store) {
	deploy(t, s, "arena", "m1")
	register(t, s, "ex1", 0, t0)
	eu, err := join(t, s, "arena", "a", map[string]string{"region": "eu"}, t0)
	if err != nil || !eu.Created || eu.Instance.Labels["region"] != "eu" {
		t.Fatalf("eu join = %+v %v", eu, err)
	}
	us, err := join(t, s, "arena", "b", map[string]string{"region": "us"}, t0)
	if err != nil || !us.Created || us.Instance.ID == eu.Instance.ID {
		t.Fatalf("us join = %+v %v", us, err)
	}
	any, err := join(t, s, "arena", "c", nil, t0)
	if err != nil || any.Created {
		t.Fatalf("unlabelled join = %+v %v, want an existing instance", any, err)
	}
	eu2, err := join(t, s, "arena", "d", map[string]string{"region": "eu"}, t0)
	if err != nil || eu2.Instance.ID != eu.Instance.ID {
		t.Fatalf("second eu join = %+v %v", eu2, err)
	}
}

func testJoinNoExecutor(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := join(t, s, "arena", "a", nil, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("join missing game: %v", err)
	}
	deploy(t, s, "arena", "m1")
	if _, err := join(t, s, "arena", "a", nil, t0); !errors.Is(err, store.ErrNoExecutor) {
		t.Fatalf("join without executor: %v", err)
	}
	register(t, s, "ex1", 0, t0)
	// Silent for longer than the liveness window: not live.
	if _, err := join(t, s, "arena", "a", nil, t0.Add(time.Minute)); !errors.Is(err, store.ErrNoExecutor) {
		t.Fatalf("join with a silent executor: %v", err)
	}
	full := register(t, s, "ex2", 1, t0)
	must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	if _, err := s.DrainExecutor(ctx, "x-none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("drain missing: %v", err)
	}
	_ = full
}

func testSeats(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	x := register(t, s, "ex1", 0, t0)
	q := store.JoinQuery{Game: "arena", PlayerID: "p1", SeatID: "t-used", SeatExpires: t0.Add(60 * time.Second), NewInstance: spec("arena"), Placement: place(t0)}
	r := must[store.JoinResult](t)(s.Join(ctx, q))
	q.PlayerID, q.SeatID = "p2", "t-unused"
	must[store.JoinResult](t)(s.Join(ctx, q))
	in := must[store.Instance](t)(s.GetInstance(ctx, r.Instance.ID))
	if in.Reserved != 2 {
		t.Fatalf("reserved = %d", in.Reserved)
	}
	_, ins, err := s.Heartbeat(ctx, x.ID, store.ExecutorStats{Players: 1}, []store.InstanceReport{
		{InstanceID: r.Instance.ID, State: store.StateRunning, Players: 1, JoinedPlayers: []string{"p1", "p-unknown"}},
		{InstanceID: "i-not-mine", State: store.StateRunning},
	}, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 || ins[0].Players != 1 || ins[0].Reserved != 1 || ins[0].State != store.StateRunning {
		t.Fatalf("after heartbeat = %+v", ins)
	}
	if n := must[int](t)(s.ReleaseSeats(ctx, t0.Add(59*time.Second))); n != 0 {
		t.Fatalf("released %d early", n)
	}
	if n := must[int](t)(s.ReleaseSeats(ctx, t0.Add(61*time.Second))); n != 1 {
		t.Fatalf("released %d, want 1", n)
	}
	in = must[store.Instance](t)(s.GetInstance(ctx, r.Instance.ID))
	if in.Reserved != 0 || in.Players != 1 {
		t.Fatalf("after release = %+v", in)
	}
	xs := must[store.Executor](t)(s.GetExecutor(ctx, x.ID))
	if xs.Stats.Players != 1 || !xs.LastHeartbeat.Equal(t0.Add(time.Second)) {
		t.Fatalf("executor = %+v", xs)
	}
}

func testExecutorLost(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	a := register(t, s, "ex-a", 0, t0)
	keep := spec("arena")
	keep.Respawn = true
	keep.Seed = 7
	keep.Record = true
	keep.SnapshotHz = 20
	in1 := must[store.Instance](t)(s.Spawn(ctx, keep, place(t0)))
	in2 := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	if in1.ExecutorID != a.ID || in2.ExecutorID != a.ID {
		t.Fatal("not on executor a")
	}
	b := register(t, s, "ex-b", 0, t0.Add(20*time.Second))
	// a is silent since t0; at t0+20s the window (10 s) has passed.
	p := place(t0.Add(20 * time.Second))
	got := must[store.ExpiredExecutors](t)(s.ExpireExecutors(ctx, p))
	if len(got.Executors) != 1 || got.Executors[0].ID != a.ID || got.Executors[0].State != store.ExecutorLost {
		t.Fatalf("lost executors = %+v", got.Executors)
	}
	if len(got.Lost) != 2 || got.Lost[0].State != store.StateLost {
		t.Fatalf("lost instances = %+v", got.Lost)
	}
	if len(got.Respawned) != 1 {
		t.Fatalf("respawned = %+v", got.Respawned)
	}
	re := got.Respawned[0]
	if re.RespawnedFrom != in1.ID || re.ExecutorID != b.ID || re.State != store.StateStarting || re.Seed != 7 || re.LeaseSeconds != 60 || !re.Record || re.SnapshotHz != 20 {
		t.Fatalf("respawned = %+v", re)
	}
	again := must[store.ExpiredExecutors](t)(s.ExpireExecutors(ctx, p))
	if len(again.Executors) != 0 {
		t.Fatalf("lost twice: %+v", again)
	}
	if _, _, err := s.Heartbeat(ctx, a.ID, store.ExecutorStats{}, nil, p.Now); !errors.Is(err, store.ErrExecutorLost) {
		t.Fatalf("heartbeat of lost executor: %v", err)
	}
	if _, _, err := s.Heartbeat(ctx, "x-none", store.ExecutorStats{}, nil, p.Now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("heartbeat of unknown executor: %v", err)
	}
	back := register(t, s, "ex-a", 0, p.Now)
	if back.ID != a.ID || back.State != store.ExecutorActive {
		t.Fatalf("re-registered = %+v", back)
	}
	old := must[store.Instance](t)(s.GetInstance(ctx, in2.ID))
	if old.State != store.StateLost || old.Reason != "executor ex-a lost" {
		t.Fatalf("old instance = %+v", old)
	}
}

func testDrain(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	a := register(t, s, "ex-a", 0, t0)
	in := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	d := must[store.Executor](t)(s.DrainExecutor(ctx, a.ID))
	if d.State != store.ExecutorDraining || d.Assigned != 1 {
		t.Fatalf("drained = %+v", d)
	}
	in2 := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	if in2.State != store.StatePending {
		t.Fatalf("spawn on draining executor = %+v", in2)
	}
	if _, err := join(t, s, "arena", "p", nil, t0); !errors.Is(err, store.ErrNoExecutor) {
		t.Fatalf("join with only a draining executor: %v", err)
	}
	if x, _, err := s.Heartbeat(ctx, a.ID, store.ExecutorStats{}, nil, t0); err != nil || x.State != store.ExecutorDraining {
		t.Fatalf("heartbeat while draining: %+v %v", x, err)
	}
	_ = in
}

// testConcurrentJoin joins from many goroutines at once: no instance ever
// holds more seats than its max.
func testConcurrentJoin(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	register(t, s, "ex1", 0, t0)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < each; k++ {
				if _, err := join(t, s, "arena", fmt.Sprintf("w%d-%d", w, k), nil, t0); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ins := must[[]store.Instance](t)(s.ListInstances(ctx, store.InstanceFilter{Game: "arena"}))
	total := 0
	for _, in := range ins {
		if in.Reserved > in.MaxPlayers {
			t.Fatalf("instance %s has %d seats of %d", in.ID, in.Reserved, in.MaxPlayers)
		}
		total += int(in.Reserved)
	}
	if total != workers*each {
		t.Fatalf("%d seats, want %d", total, workers*each)
	}
	if len(ins) > workers*each/4+workers {
		t.Fatalf("%d instances for %d players of 4: packing broken", len(ins), workers*each)
	}
}

func testInstanceStats(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	x := register(t, s, "ex1", 0, t0)
	a := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	b := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	// No live executor an hour later: this one stays pending.
	later := t0.Add(time.Hour)
	p := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(later)))
	if p.State != store.StatePending {
		t.Fatalf("third instance = %s, want pending", p.State)
	}
	if in := must[store.Instance](t)(s.GetInstance(ctx, a.ID)); in.Stats != nil {
		t.Fatalf("stats before any heartbeat = %+v", in.Stats)
	}

	stats := func(frames uint64) *store.InstanceStats {
		return &store.InstanceStats{TickP50ms: 0.25, TickP99ms: 1.5, MemoryBytes: 2 << 20, FuelP50: 1000, FuelMax: 5000, Frames: frames, Overruns: 2}
	}
	t1, t2 := t0.Add(time.Second), t0.Add(2*time.Second)
	beat := func(now time.Time, reports ...store.InstanceReport) {
		t.Helper()
		if _, _, err := s.Heartbeat(ctx, x.ID, store.ExecutorStats{}, reports, now); err != nil {
			t.Fatal(err)
		}
	}
	beat(t1, store.InstanceReport{InstanceID: a.ID, State: store.StateRunning, Stats: stats(60)},
		store.InstanceReport{InstanceID: b.ID, State: store.StateRunning})
	// The next heartbeat changes only the figures: the instance row stays
	// as it was, the figures are the new ones.
	beat(t2, store.InstanceReport{InstanceID: a.ID, State: store.StateRunning, Stats: stats(120)},
		store.InstanceReport{InstanceID: b.ID, State: store.StateRunning})

	in := must[store.Instance](t)(s.GetInstance(ctx, a.ID))
	want := stats(120)
	want.ReportedAt = t2
	if in.Stats == nil || !in.Stats.ReportedAt.Equal(t2) {
		t.Fatalf("stats = %+v, want %+v", in.Stats, want)
	}
	got := *in.Stats
	got.ReportedAt = t2
	if got != *want {
		t.Fatalf("stats = %+v, want %+v", got, *want)
	}
	if !in.UpdatedAt.Equal(t1) || in.State != store.StateRunning {
		t.Fatalf("instance row = %s updated %v, want running updated %v", in.State, in.UpdatedAt, t1)
	}

	list := must[[]store.Instance](t)(s.ListInstances(ctx, store.InstanceFilter{}))
	byID := map[string]store.Instance{}
	for _, in := range list {
		byID[in.ID] = in
	}
	if st := byID[a.ID].Stats; st == nil || st.Frames != 120 {
		t.Fatalf("listed stats of a = %+v", st)
	}
	if st := byID[b.ID].Stats; st != nil {
		t.Fatalf("listed stats of b (none reported) = %+v", st)
	}
	if st := byID[p.ID].Stats; st != nil {
		t.Fatalf("listed stats of a pending instance = %+v", st)
	}

	// A heartbeat without figures for a clears them.
	beat(t0.Add(3*time.Second), store.InstanceReport{InstanceID: a.ID, State: store.StateRunning})
	if in := must[store.Instance](t)(s.GetInstance(ctx, a.ID)); in.Stats != nil {
		t.Fatalf("stats after a heartbeat without them = %+v", in.Stats)
	}
}

// testRecord: an instance spawned with Record keeps it through every read
// (spawn, assignment, get, list, join); others do not record.
func testRecord(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	sp := spec("arena")
	sp.Record = true
	sp.SnapshotHz = 30
	rec := must[store.Instance](t)(s.Spawn(ctx, sp, place(t0)))
	plain := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	if !rec.Record || plain.Record {
		t.Fatalf("spawned: record %v and %v, want true and false", rec.Record, plain.Record)
	}
	if rec.SnapshotHz != 30 || plain.SnapshotHz != 0 {
		t.Fatalf("spawned: snapshot rates %d and %d, want 30 and 0", rec.SnapshotHz, plain.SnapshotHz)
	}
	x := register(t, s, "ex1", 0, t0.Add(time.Second))
	assigned := must[[]store.Instance](t)(s.AssignPending(ctx, place(t0.Add(time.Second))))
	if len(assigned) != 2 {
		t.Fatalf("assigned = %+v", assigned)
	}
	for _, in := range assigned {
		if in.Record != (in.ID == rec.ID) || in.ExecutorID != x.ID || (in.SnapshotHz == 30) != (in.ID == rec.ID) {
			t.Fatalf("assigned %s with record %v", in.ID, in.Record)
		}
	}
	if got := must[store.Instance](t)(s.GetInstance(ctx, rec.ID)); !got.Record || got.SnapshotHz != 30 {
		t.Fatalf("get = %+v", got)
	}
	list := must[[]store.Instance](t)(s.ListInstances(ctx, store.InstanceFilter{}))
	if len(list) != 2 {
		t.Fatalf("list = %+v", list)
	}
	for _, in := range list {
		if in.Record != (in.ID == rec.ID) {
			t.Fatalf("listed %s with record %v", in.ID, in.Record)
		}
	}
}

func testUndrain(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	a := register(t, s, "ex-a", 0, t0)
	must[store.Executor](t)(s.DrainExecutor(ctx, a.ID))
	if in := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0))); in.State != store.StatePending {
		t.Fatalf("spawn on a draining executor = %+v", in)
	}
	x := must[store.Executor](t)(s.UndrainExecutor(ctx, a.ID))
	if x.State != store.ExecutorActive {
		t.Fatalf("undrained = %+v", x)
	}
	if in := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0))); in.ExecutorID != a.ID {
		t.Fatalf("spawn after undrain = %+v", in)
	}
	if x := must[store.Executor](t)(s.UndrainExecutor(ctx, a.ID)); x.State != store.ExecutorActive {
		t.Fatalf("undrain an active executor = %+v", x)
	}
	if _, err := s.UndrainExecutor(ctx, "x-nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("undrain a missing executor: %v, want ErrNotFound", err)
	}
	must[store.ExpiredExecutors](t)(s.ExpireExecutors(ctx, place(t0.Add(time.Hour))))
	if _, err := s.UndrainExecutor(ctx, a.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("undrain a lost executor: %v, want ErrConflict", err)
	}
}

func testDeleteGame(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	deploy(t, s, "arena", "m2")
	deploy(t, s, "arena", "m3")
	deploy(t, s, "other", "m1")
	sp := spec("arena")
	sp.Version = 2
	live := must[store.Instance](t)(s.Spawn(ctx, sp, place(t0)))

	// A version a live instance runs stays, and so does its game.
	if _, err := s.DeleteGame(ctx, "arena", 2); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("delete a version in use: %v, want ErrConflict", err)
	}
	if _, err := s.DeleteGame(ctx, "arena", 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("delete a game in use: %v, want ErrConflict", err)
	}
	if vs := must[[]store.Version](t)(s.ListVersions(ctx, "arena")); len(vs) != 3 {
		t.Fatalf("a refused delete removed versions: %+v", vs)
	}
	// A version nothing runs goes; the latest becomes the one before.
	gone := must[[]store.Version](t)(s.DeleteGame(ctx, "arena", 3))
	if len(gone) != 1 || gone[0].Version != 3 {
		t.Fatalf("deleted %+v", gone)
	}
	if v := must[store.Version](t)(s.GetVersion(ctx, "arena", 0)); v.Version != 2 {
		t.Fatalf("latest after deleting 3 = %d", v.Version)
	}
	if _, err := s.DeleteGame(ctx, "arena", 3); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete a deleted version: %v, want ErrNotFound", err)
	}
	// Once its instance ended, the whole game goes (the ended instance
	// keeps its row); other games stay.
	must[store.Instance](t)(s.StopInstance(ctx, live.ID, "done", t0))
	gone = must[[]store.Version](t)(s.DeleteGame(ctx, "arena", 0))
	if len(gone) != 2 || gone[0].Version != 1 || gone[1].Version != 2 {
		t.Fatalf("deleted %+v", gone)
	}
	if _, err := s.ListVersions(ctx, "arena"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("versions of a deleted game: %v, want ErrNotFound", err)
	}
	if in := must[store.Instance](t)(s.GetInstance(ctx, live.ID)); in.State != store.StateStopped {
		t.Fatalf("ended instance after delete = %+v", in)
	}
	if gs := must[[]store.Game](t)(s.ListGames(ctx)); len(gs) != 1 || gs[0].Name != "other" {
		t.Fatalf("games after delete = %+v", gs)
	}
	if _, err := s.DeleteGame(ctx, "nope", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete a missing game: %v, want ErrNotFound", err)
	}
	// A pending instance counts as live.
	deploy(t, s, "queued", "m9")
	must[store.Instance](t)(s.Spawn(ctx, spec("queued"), store.Placement{Now: t0, LiveSince: t0.Add(time.Hour)}))
	if _, err := s.DeleteGame(ctx, "queued", 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("delete a game with a pending instance: %v, want ErrConflict", err)
	}
}

// logInstance is an instance assigned to a new executor, for the log tests.
func logInstance(t *testing.T, s store.Store) (store.Executor, store.Instance) {
	t.Helper()
	deploy(t, s, "arena", "m1")
	x := register(t, s, "ex1", 0, t0)
	in := must[store.Instance](t)(s.Spawn(context.Background(), spec("arena"), place(t0)))
	if in.ExecutorID != x.ID {
		t.Fatalf("spawned on %q, want %q", in.ExecutorID, x.ID)
	}
	return x, in
}

// appendLog appends entries to one instance's log and returns the Seq of
// its last entry.
func appendLog(t *testing.T, s store.Store, executorID, id string, entries []store.LogEntry, keep int, now time.Time) uint64 {
	t.Helper()
	ctx := context.Background()
	if refused := must[[]string](t)(s.AppendLogs(ctx, executorID, []store.LogBatch{{InstanceID: id, Entries: entries}}, keep, now)); len(refused) > 0 {
		t.Fatalf("append to %s refused", id)
	}
	tail := must[[]store.LogEntry](t)(s.ListLogs(ctx, id, store.LogQuery{Tail: 1}))
	if len(tail) == 0 {
		return 0
	}
	return tail[0].Seq
}

func lines(n, from int, at time.Time) []store.LogEntry {
	out := make([]store.LogEntry, n)
	for k := range out {
		out[k] = store.LogEntry{Time: at.Add(time.Duration(k) * time.Millisecond), Frame: uint64(from + k),
			Stream: store.LogStdout, Text: fmt.Sprintf("line %d", from+k)}
	}
	return out
}

func testLogs(t *testing.T, s store.Store) {
	ctx := context.Background()
	x, in := logInstance(t, s)
	in2 := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	if got := must[[]store.LogEntry](t)(s.ListLogs(ctx, in.ID, store.LogQuery{})); got == nil || len(got) != 0 {
		t.Fatalf("empty log = %#v, want an empty slice", got)
	}
	batch := []store.LogEntry{
		{Time: t0, Frame: 0, Stream: store.LogEvent, Event: "started", Text: "instance running"},
		{Time: t0.Add(time.Second), Frame: 60, Stream: store.LogStdout, Text: "hello"},
		{Time: t0.Add(2 * time.Second), Frame: 120, Stream: store.LogStderr, Text: "bad \x00 bytes \xff here"},
		{Frame: 121, Stream: store.LogEvent, Event: "failed", Text: "trap in tick: unreachable"},
	}
	last := appendLog(t, s, x.ID, in.ID, batch, 100, t0.Add(3*time.Second))
	if last != 4 {
		t.Fatalf("last seq = %d, want 4", last)
	}
	got := must[[]store.LogEntry](t)(s.ListLogs(ctx, in.ID, store.LogQuery{}))
	if len(got) != 4 {
		t.Fatalf("got %d entries: %+v", len(got), got)
	}
	for k, e := range got {
		if e.Seq != uint64(k+1) || e.InstanceID != in.ID || e.Frame != batch[k].Frame || e.Stream != batch[k].Stream || e.Event != batch[k].Event {
			t.Fatalf("entry %d = %+v, want %+v", k, e, batch[k])
		}
	}
	if got[1].Text != "hello" || !got[1].Time.Equal(t0.Add(time.Second)) {
		t.Fatalf("entry 2 = %+v", got[1])
	}
	if want := "bad \uFFFD bytes \uFFFD here"; got[2].Text != want {
		t.Fatalf("unclean text stored as %q, want %q", got[2].Text, want)
	}
	if !got[3].Time.Equal(t0.Add(3 * time.Second)) {
		t.Fatalf("zero time stored as %v, want now", got[3].Time)
	}

	// Selections.
	seqs := func(q store.LogQuery) []uint64 {
		t.Helper()
		var out []uint64
		for _, e := range must[[]store.LogEntry](t)(s.ListLogs(ctx, in.ID, q)) {
			out = append(out, e.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    store.LogQuery
		want []uint64
	}{
		{"after", store.LogQuery{AfterSeq: 2}, []uint64{3, 4}},
		{"tail", store.LogQuery{Tail: 2}, []uint64{3, 4}},
		{"since", store.LogQuery{Since: t0.Add(time.Second)}, []uint64{2, 3, 4}},
		{"since and tail", store.LogQuery{Since: t0.Add(time.Second), Tail: 5}, []uint64{2, 3, 4}},
		{"limit", store.LogQuery{Limit: 2}, []uint64{1, 2}},
		{"after and limit", store.LogQuery{AfterSeq: 1, Limit: 2}, []uint64{2, 3}},
		{"after all", store.LogQuery{AfterSeq: 4}, nil},
	} {
		if got := seqs(tc.q); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: seqs %v, want %v", tc.name, got, tc.want)
		}
	}

	// Numbering goes on after the previous batch; an empty batch changes nothing.
	if last := appendLog(t, s, x.ID, in.ID, lines(2, 200, t0), 100, t0); last != 6 {
		t.Fatalf("second batch last = %d, want 6", last)
	}
	if last := appendLog(t, s, x.ID, in.ID, nil, 100, t0); last != 6 {
		t.Fatalf("empty batch last = %d, want 6", last)
	}

	// Only the instance's executor may append; unknown ids are not found.
	other := register(t, s, "ex2", 0, t0)
	refused := must[[]string](t)(s.AppendLogs(ctx, other.ID, []store.LogBatch{{InstanceID: in.ID, Entries: lines(1, 0, t0)}}, 100, t0))
	if fmt.Sprint(refused) != fmt.Sprint([]string{in.ID}) {
		t.Fatalf("append by another executor: refused %v, want %s", refused, in.ID)
	}
	// One transaction for several instances: the refused ones are skipped.
	refused = must[[]string](t)(s.AppendLogs(ctx, x.ID, []store.LogBatch{
		{InstanceID: "i-nope", Entries: lines(1, 0, t0)},
		{InstanceID: in2.ID, Entries: lines(2, 0, t0)},
		{InstanceID: in.ID},
	}, 100, t0))
	if fmt.Sprint(refused) != "[i-nope]" {
		t.Fatalf("append to an unknown instance: refused %v, want [i-nope]", refused)
	}
	if got := must[[]store.LogEntry](t)(s.ListLogs(ctx, in2.ID, store.LogQuery{})); len(got) != 2 || got[1].Seq != 2 {
		t.Fatalf("log of the second instance: %+v", got)
	}
	if got := seqs(store.LogQuery{}); len(got) != 6 {
		t.Fatalf("the first instance's log changed: %v", got)
	}
	if _, err := s.ListLogs(ctx, "i-nope", store.LogQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("list unknown instance: %v, want ErrNotFound", err)
	}

	// The log outlives the instance's end, and goes with its purge.
	must[store.Instance](t)(s.ReportInstance(ctx, x.ID, store.InstanceReport{InstanceID: in.ID, State: store.StateFailed, Reason: "trap"}, t0.Add(4*time.Second)))
	if last := appendLog(t, s, x.ID, in.ID, lines(1, 300, t0), 100, t0.Add(4*time.Second)); last != 7 {
		t.Fatalf("append after the end: last = %d, want 7", last)
	}
	if got := seqs(store.LogQuery{}); len(got) != 7 {
		t.Fatalf("after the end: %v", got)
	}
	if n := must[int](t)(s.PurgeInstances(ctx, t0.Add(time.Hour))); n != 1 {
		t.Fatalf("purged %d", n)
	}
	if _, err := s.ListLogs(ctx, in.ID, store.LogQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("logs of a purged instance: %v", err)
	}
}

func testLogsBounded(t *testing.T, s store.Store) {
	ctx := context.Background()
	x, in := logInstance(t, s)
	const keep = 50
	// A flood: many batches, one larger than the ring.
	for k := range 10 {
		appendLog(t, s, x.ID, in.ID, lines(30, k*30, t0), keep, t0)
	}
	last := appendLog(t, s, x.ID, in.ID, lines(3*keep, 300, t0), keep, t0)
	if last != 300+3*keep {
		t.Fatalf("last = %d, want %d", last, 300+3*keep)
	}
	got := must[[]store.LogEntry](t)(s.ListLogs(ctx, in.ID, store.LogQuery{}))
	if len(got) != keep {
		t.Fatalf("kept %d entries, want %d", len(got), keep)
	}
	if got[0].Seq != last-keep+1 || got[keep-1].Seq != last || got[keep-1].Text != fmt.Sprintf("line %d", 300+3*keep-1) {
		t.Fatalf("kept %d..%d (%q), want the last %d", got[0].Seq, got[keep-1].Seq, got[keep-1].Text, keep)
	}
	// A long line is cut.
	long := make([]byte, 10000)
	for k := range long {
		long[k] = 'a'
	}
	appendLog(t, s, x.ID, in.ID, []store.LogEntry{{Text: string(long)}}, keep, t0)
	got = must[[]store.LogEntry](t)(s.ListLogs(ctx, in.ID, store.LogQuery{Tail: 1}))
	if len(got) != 1 || len(got[0].Text) != 4096 {
		t.Fatalf("long line kept as %d bytes", len(got[0].Text))
	}
}

// testLogsConcurrent appends to one instance from several goroutines, as
// two coordinators may: every entry gets its own seq.
func testLogsConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	x, in := logInstance(t, s)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 5 {
				refused, err := s.AppendLogs(ctx, x.ID, []store.LogBatch{{InstanceID: in.ID, Entries: lines(3, g*100+k*3, t0)}}, 1000, t0)
				if err == nil && len(refused) > 0 {
					err = fmt.Errorf("refused %v", refused)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := must[[]store.LogEntry](t)(s.ListLogs(ctx, in.ID, store.LogQuery{}))
	if len(got) != 8*5*3 {
		t.Fatalf("%d entries, want %d", len(got), 8*5*3)
	}
	for k, e := range got {
		if e.Seq != uint64(k+1) {
			t.Fatalf("entry %d has seq %d", k, e.Seq)
		}
	}
}

// testDeleteGameRacesSpawn removes versions while instances of them are
// being spawned: either the removal is refused, or no live instance of the
// removed version is left.
func testDeleteGameRacesSpawn(t *testing.T, s store.Store) {
	ctx := context.Background()
	for round := range 20 {
		v := deploy(t, s, "race", fmt.Sprintf("module %d", round))
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sp := spec("race")
				sp.Version = v.Version
				_, _ = s.Spawn(ctx, sp, store.Placement{Now: t0, LiveSince: t0.Add(time.Hour)})
			}()
		}
		_, delErr := s.DeleteGame(ctx, "race", v.Version)
		wg.Wait()
		if delErr != nil {
			if !errors.Is(delErr, store.ErrConflict) {
				t.Fatalf("round %d: delete: %v", round, delErr)
			}
			continue
		}
		ins := must[[]store.Instance](t)(s.ListInstances(ctx, store.InstanceFilter{Game: "race", States: []store.InstanceState{store.StatePending}}))
		for _, in := range ins {
			if in.Version == v.Version {
				t.Fatalf("round %d: version %d removed while instance %s of it is pending", round, v.Version, in.ID)
			}
		}
	}
}

// testRegistrationConflict: a live executor cannot be moved to another URL
// by registering again under its name; the same URL is the same executor
// coming back, and once it is lost the name may move.
func testRegistrationConflict(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := register(t, s, "ex-a", 0, t0)
	_, err := s.RegisterExecutor(ctx, store.Registration{Name: "ex-a", WSURL: "ws://thief/play"}, t0.Add(time.Second))
	var conflict *store.RegistrationConflict
	if !errors.As(err, &conflict) || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second registration at another URL: %v, want a RegistrationConflict", err)
	}
	if conflict.ID != a.ID || conflict.WSURL != a.WSURL || conflict.NewWSURL != "ws://thief/play" {
		t.Fatalf("conflict = %+v", conflict)
	}
	if x := must[store.Executor](t)(s.GetExecutor(ctx, a.ID)); x.WSURL != a.WSURL {
		t.Fatalf("the refused registration moved the executor to %s", x.WSURL)
	}
	if again := register(t, s, "ex-a", 0, t0.Add(2*time.Second)); again.ID != a.ID || again.MovedFrom != "" {
		t.Fatalf("same URL again: id %s, want %s", again.ID, a.ID)
	}
	must[store.Executor](t)(s.DrainExecutor(ctx, a.ID))
	if _, err := s.RegisterExecutor(ctx, store.Registration{Name: "ex-a", WSURL: "ws://thief/play"}, t0.Add(3*time.Second)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("draining executor moved: %v", err)
	}
	must[store.ExpiredExecutors](t)(s.ExpireExecutors(ctx, place(t0.Add(time.Minute))))
	moved := must[store.Executor](t)(s.RegisterExecutor(ctx, store.Registration{Name: "ex-a", WSURL: "ws://new/play"}, t0.Add(time.Minute)))
	if moved.ID != a.ID || moved.WSURL != "ws://new/play" || moved.State != store.ExecutorActive || moved.MovedFrom != a.WSURL {
		t.Fatalf("after lost: %+v", moved)
	}
}

func testRevokedTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	if got := must[[]store.Revocation](t)(s.ListRevoked(ctx, t0)); got == nil || len(got) != 0 {
		t.Fatalf("empty deny-list = %#v", got)
	}
	if err := s.RevokeToken(ctx, store.Revocation{RevokedAt: t0}); err == nil {
		t.Fatal("revoked an empty id")
	}
	for _, r := range []store.Revocation{
		{ID: "short", Subject: "ex-a", Reason: "stolen", ExpiresAt: t0.Add(time.Hour), RevokedAt: t0},
		{ID: "long", ExpiresAt: t0.Add(48 * time.Hour), RevokedAt: t0.Add(time.Second)},
		{ID: "unknown-expiry", RevokedAt: t0.Add(2 * time.Second)},
		{ID: "short", Reason: "again", ExpiresAt: t0.Add(time.Hour), RevokedAt: t0.Add(3 * time.Second)},
	} {
		if err := s.RevokeToken(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got := must[[]store.Revocation](t)(s.ListRevoked(ctx, t0))
	if len(got) != 3 || got[0].ID != "short" || got[0].Subject != "ex-a" || got[0].Reason != "stolen" ||
		!got[0].ExpiresAt.Equal(t0.Add(time.Hour)) || got[1].ID != "long" || got[2].ID != "unknown-expiry" ||
		!got[2].ExpiresAt.Equal(t0.Add(2*time.Second+store.MaxRevocationAge)) {
		t.Fatalf("deny-list = %+v", got)
	}
	later := must[[]store.Revocation](t)(s.ListRevoked(ctx, t0.Add(2*time.Hour)))
	if len(later) != 2 || later[0].ID != "long" {
		t.Fatalf("deny-list after the first token expired = %+v", later)
	}
}

// testMoveInstance moves a running instance to another executor: its
// reports come from there afterwards, not from the source; anything but a
// running instance of the source is a conflict.
func testMoveInstance(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	a := register(t, s, "ex-a", 0, t0)
	b := register(t, s, "ex-b", 0, t0)
	in := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	if in.ExecutorID != a.ID {
		t.Fatalf("spawned on %s, want %s", in.ExecutorID, a.ID)
	}
	if _, err := s.MoveInstance(ctx, in.ID, a.ID, b.ID, t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("move a starting instance: err = %v, want ErrConflict", err)
	}
	must[store.Instance](t)(s.ReportInstance(ctx, a.ID, store.InstanceReport{InstanceID: in.ID, State: store.StateRunning, Players: 2}, t0))
	if _, err := s.MoveInstance(ctx, in.ID, b.ID, a.ID, t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("move from the wrong executor: err = %v, want ErrConflict", err)
	}
	if _, err := s.MoveInstance(ctx, in.ID, a.ID, "no-such-executor", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("move to an unknown executor: err = %v, want ErrNotFound", err)
	}
	moved := must[store.Instance](t)(s.MoveInstance(ctx, in.ID, a.ID, b.ID, t0.Add(time.Second)))
	if moved.ExecutorID != b.ID || moved.State != store.StateRunning || moved.WSURL != b.WSURL || moved.Players != 2 {
		t.Fatalf("moved = %+v, want running on %s at %s with 2 players", moved, b.ID, b.WSURL)
	}
	if _, err := s.ReportInstance(ctx, a.ID, store.InstanceReport{InstanceID: in.ID, State: store.StateStopped, Reason: "migrated"}, t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("the source's report after the move: err = %v, want ErrConflict", err)
	}
	got := must[store.Instance](t)(s.GetInstance(ctx, in.ID))
	if got.State != store.StateRunning || got.ExecutorID != b.ID {
		t.Fatalf("after the source's late report: %+v", got)
	}
	if _, err := s.MoveInstance(ctx, "no-such-instance", a.ID, b.ID, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("move an unknown instance: err = %v, want ErrNotFound", err)
	}
}

// testUpgradeInstance records a hot upgrade: the instance's version and
// module become the new version's; only its executor may, and only to a
// version that exists.
func testUpgradeInstance(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	v2 := deploy(t, s, "arena", "m2")
	a := register(t, s, "ex-a", 0, t0)
	b := register(t, s, "ex-b", 0, t0)
	sp := spec("arena")
	sp.Version = 1
	in := must[store.Instance](t)(s.Spawn(ctx, sp, place(t0)))
	if _, err := s.UpgradeInstance(ctx, in.ID, a.ID, 2, t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("upgrade a starting instance: err = %v, want ErrConflict", err)
	}
	must[store.Instance](t)(s.ReportInstance(ctx, a.ID, store.InstanceReport{InstanceID: in.ID, State: store.StateRunning}, t0))
	if _, err := s.UpgradeInstance(ctx, in.ID, b.ID, 2, t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("upgrade from another executor: err = %v, want ErrConflict", err)
	}
	if _, err := s.UpgradeInstance(ctx, in.ID, a.ID, 9, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("upgrade to an unknown version: err = %v, want ErrNotFound", err)
	}
	up := must[store.Instance](t)(s.UpgradeInstance(ctx, in.ID, a.ID, 2, t0.Add(time.Second)))
	if up.Version != 2 || up.ModuleSHA256 != v2.ModuleSHA256 || up.State != store.StateRunning || up.ExecutorID != a.ID {
		t.Fatalf("upgraded = %+v, want version 2 (%s) running on %s", up, v2.ModuleSHA256, a.ID)
	}
}

// testCheckpoints keeps the newest checkpoint of an instance and the
// frames after it, from its executor only; the instance resumes on
// another executor when its own is lost, and an instance without one is
// lost as before.
func testCheckpoints(t *testing.T, s store.Store) {
	ctx := context.Background()
	v := deploy(t, s, "arena", "m1")
	a := register(t, s, "ex-a", 0, t0)
	sp := spec("arena")
	sp.CheckpointEvery = time.Second
	in := must[store.Instance](t)(s.Spawn(ctx, sp, place(t0)))
	plain := must[store.Instance](t)(s.Spawn(ctx, spec("arena"), place(t0)))
	if in.CheckpointEvery != time.Second || in.CheckpointFrame != 0 || plain.CheckpointEvery != 0 {
		t.Fatalf("spawned %+v and %+v", in, plain)
	}
	if _, _, err := s.GetCheckpoint(ctx, in.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("checkpoint before any: %v, want ErrNotFound", err)
	}
	put := func(data string) (string, int64) {
		sha, _ := must2(t)(s.PutBlob(ctx, []byte(data), t0))
		return sha, int64(len(data))
	}
	sha1, n1 := put("snapshot one")
	cp := must[store.Checkpoint](t)(s.SaveCheckpoint(ctx, store.Checkpoint{InstanceID: in.ID, ExecutorID: a.ID, Frame: 60,
		SnapshotSHA256: sha1, SnapshotSize: n1, SavedAt: t0}))
	if cp.Frame != 60 || cp.LastFrame != 60 || cp.SnapshotSHA256 != sha1 || cp.Version != v.Version {
		t.Fatalf("saved %+v", cp)
	}
	if _, err := s.SaveCheckpoint(ctx, store.Checkpoint{InstanceID: in.ID, ExecutorID: "x-other", Frame: 61, SnapshotSHA256: sha1, SnapshotSize: n1}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("checkpoint from another executor: %v, want ErrConflict", err)
	}
	for _, seg := range []store.CheckpointInputs{{FirstFrame: 61, LastFrame: 70, Frames: []byte("a\n")}, {FirstFrame: 71, LastFrame: 80, Frames: []byte("b\n")}} {
		if err := s.AppendCheckpointInputs(ctx, in.ID, a.ID, seg); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendCheckpointInputs(ctx, in.ID, "x-other", store.CheckpointInputs{FirstFrame: 81, LastFrame: 81, Frames: []byte("c\n")}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("inputs from another executor: %v, want ErrConflict", err)
	}
	got, segs, err := s.GetCheckpoint(ctx, in.ID)
	if err != nil || got.LastFrame != 80 || len(segs) != 2 || string(segs[0].Frames) != "a\n" || segs[1].FirstFrame != 71 {
		t.Fatalf("checkpoint %+v %+v %v", got, segs, err)
	}
	// A newer checkpoint replaces the older, its blob and the frames up to it.
	sha2, n2 := put("snapshot two")
	must[store.Checkpoint](t)(s.SaveCheckpoint(ctx, store.Checkpoint{InstanceID: in.ID, ExecutorID: a.ID, Frame: 70,
		SnapshotSHA256: sha2, SnapshotSize: n2, SavedAt: t0.Add(time.Second)}))
	got, segs, err = s.GetCheckpoint(ctx, in.ID)
	if err != nil || got.Frame != 70 || got.SnapshotSHA256 != sha2 || len(segs) != 1 || segs[0].FirstFrame != 71 {
		t.Fatalf("after a newer checkpoint: %+v %+v %v", got, segs, err)
	}
	if _, err := s.GetBlob(ctx, sha1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the older snapshot's blob: %v, want ErrNotFound", err)
	}
	if cur := must[store.Instance](t)(s.GetInstance(ctx, in.ID)); cur.CheckpointFrame != 70 {
		t.Fatalf("instance's checkpoint frame %d, want 70", cur.CheckpointFrame)
	}
	must[store.Instance](t)(s.ReportInstance(ctx, a.ID, store.InstanceReport{InstanceID: in.ID, State: store.StateRunning}, t0))

	// a is lost: the instance with a checkpoint is placed on b, the other
	// lost.
	b := register(t, s, "ex-b", 0, t0.Add(20*time.Second))
	// Silent but not yet declared lost: a Join waits for the resumption
	// rather than starting a rival instance on b.
	if _, err := join(t, s, "arena", "p1", nil, t0.Add(20*time.Second)); !errors.Is(err, store.ErrResuming) {
		t.Fatalf("join while the instance waits to resume: %v, want ErrResuming", err)
	}
	exp := must[store.ExpiredExecutors](t)(s.ExpireExecutors(ctx, place(t0.Add(20*time.Second))))
	if len(exp.Resumed) != 1 || exp.Resumed[0].ID != in.ID || exp.Resumed[0].ExecutorID != b.ID || exp.Resumed[0].State != store.StateStarting {
		t.Fatalf("resumed %+v", exp.Resumed)
	}
	if len(exp.Lost) != 1 || exp.Lost[0].ID != plain.ID || exp.Lost[0].State != store.StateLost {
		t.Fatalf("lost %+v", exp.Lost)
	}
	// The new executor appends after the checkpoint; the old one may not.
	if err := s.AppendCheckpointInputs(ctx, in.ID, a.ID, store.CheckpointInputs{FirstFrame: 81, LastFrame: 81, Frames: []byte("c\n")}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("inputs from the lost executor: %v, want ErrConflict", err)
	}
	if err := s.AppendCheckpointInputs(ctx, in.ID, b.ID, store.CheckpointInputs{FirstFrame: 81, LastFrame: 90, Frames: []byte("d\n")}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.GetCheckpoint(ctx, in.ID); got.LastFrame != 90 {
		t.Fatalf("last frame %d, want 90", got.LastFrame)
	}
	if res, err := join(t, s, "arena", "p1", nil, t0.Add(20*time.Second)); err != nil || res.Instance.ID != in.ID {
		t.Fatalf("join once resumed: %+v, %v; want instance %s", res, err, in.ID)
	}
	// Purged with its instance, blob included.
	must[store.Instance](t)(s.StopInstance(ctx, in.ID, "done", t0.Add(21*time.Second)))
	must[store.Instance](t)(s.ReportInstance(ctx, b.ID, store.InstanceReport{InstanceID: in.ID, State: store.StateStopped}, t0.Add(21*time.Second)))
	if n := must[int](t)(s.PurgeInstances(ctx, t0.Add(time.Hour))); n < 1 {
		t.Fatalf("purged %d", n)
	}
	if _, _, err := s.GetCheckpoint(ctx, in.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("checkpoint after the purge: %v", err)
	}
	if _, err := s.GetBlob(ctx, sha2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("snapshot blob after the purge: %v", err)
	}
	if _, err := s.GetBlob(ctx, v.ModuleSHA256); err != nil {
		t.Fatalf("the module's blob after the purge: %v", err)
	}
}

// testCheckpointAcrossUpgrade: an instance lost with a checkpoint of
// another version than its row's (its executor died between a hot upgrade
// and the first snapshot on the other side of it) resumes on the version
// the snapshot is of, and is lost with the reason when that version has
// been removed.
func testCheckpointAcrossUpgrade(t *testing.T, s store.Store) {
	ctx := context.Background()
	v1 := deploy(t, s, "arena", "m1")
	v2 := deploy(t, s, "arena", "m2")
	deploy(t, s, "tag", "t1")
	deploy(t, s, "tag", "t2")
	a := register(t, s, "ex-a", 0, t0)
	start := func(game string) store.Instance {
		sp := spec(game)
		sp.Version, sp.CheckpointEvery = 1, time.Second
		in := must[store.Instance](t)(s.Spawn(ctx, sp, place(t0)))
		return must[store.Instance](t)(s.ReportInstance(ctx, a.ID, store.InstanceReport{InstanceID: in.ID, State: store.StateRunning}, t0))
	}
	checkpoint := func(in store.Instance, version uint32) {
		sha, _ := must2(t)(s.PutBlob(ctx, []byte("snapshot of "+in.ID), t0))
		must[store.Checkpoint](t)(s.SaveCheckpoint(ctx, store.Checkpoint{InstanceID: in.ID, ExecutorID: a.ID, Frame: 60,
			Version: version, SnapshotSHA256: sha, SnapshotSize: 1, SavedAt: t0}))
	}
	// Upgraded after its checkpoint of version 1.
	behind := start("arena")
	checkpoint(behind, 0)
	must[store.Instance](t)(s.UpgradeInstance(ctx, behind.ID, a.ID, 2, t0))
	// Its checkpoint of version 2 stored before the upgrade's record.
	ahead := start("arena")
	checkpoint(ahead, 2)
	// Upgraded after its checkpoint of version 1, which is removed.
	gone := start("tag")
	checkpoint(gone, 0)
	must[store.Instance](t)(s.UpgradeInstance(ctx, gone.ID, a.ID, 2, t0))
	must[[]store.Version](t)(s.DeleteGame(ctx, "tag", 1))

	b := register(t, s, "ex-b", 0, t0.Add(20*time.Second))
	exp := must[store.ExpiredExecutors](t)(s.ExpireExecutors(ctx, place(t0.Add(20*time.Second))))
	resumed := map[string]store.Instance{}
	for _, in := range exp.Resumed {
		resumed[in.ID] = in
	}
	if got := resumed[behind.ID]; got.Version != 1 || got.ModuleSHA256 != v1.ModuleSHA256 || got.ExecutorID != b.ID ||
		!strings.Contains(string(got.Reason), "of version 1, the one its snapshot holds (the instance was on version 2: lost during a hot upgrade)") {
		t.Errorf("resumed behind its upgrade: %+v; want version 1 on %s, the reason saying so", got, b.ID)
	}
	if got := resumed[ahead.ID]; got.Version != 2 || got.ModuleSHA256 != v2.ModuleSHA256 || got.ExecutorID != b.ID ||
		!strings.Contains(string(got.Reason), "of version 2, the one its snapshot holds (the instance was on version 1") {
		t.Errorf("resumed ahead of its upgrade's record: %+v; want version 2 on %s", got, b.ID)
	}
	if len(exp.Lost) != 1 || exp.Lost[0].ID != gone.ID || exp.Lost[0].State != store.StateLost ||
		!strings.Contains(string(exp.Lost[0].Reason), "its checkpoint at frame 60 is of version 1, since removed") {
		t.Errorf("lost %+v; want %s, its checkpoint's version removed", exp.Lost, gone.ID)
	}
	if len(exp.Resumed) != 2 {
		t.Errorf("resumed %d instances, want 2", len(exp.Resumed))
	}
}

func must2(t *testing.T) func(a string, b bool, err error) (string, bool) {
	return func(a string, b bool, err error) (string, bool) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

// testJoinAgain: a player joining again while holding a seat gets that
// seat again, under the new ticket, and the instance one reservation.
func testJoinAgain(t *testing.T, s store.Store) {
	ctx := context.Background()
	deploy(t, s, "arena", "m1")
	register(t, s, "ex-a", 0, t0)
	sp := spec("arena")
	sp.MaxPlayers = 2
	first := must[store.JoinResult](t)(s.Join(ctx, store.JoinQuery{Game: "arena", PlayerID: "p1", SeatID: "s-1",
		SeatExpires: t0.Add(time.Minute), NewInstance: sp, Placement: place(t0)}))
	for i := range 5 {
		again := must[store.JoinResult](t)(s.Join(ctx, store.JoinQuery{Game: "arena", PlayerID: "p1", SeatID: fmt.Sprint("s-again-", i),
			SeatExpires: t0.Add(time.Minute), NewInstance: sp, Placement: place(t0.Add(time.Second))}))
		if again.Instance.ID != first.Instance.ID || again.Created || again.Instance.Reserved != 1 {
			t.Fatalf("join again %d: %+v, want instance %s with one reservation", i, again, first.Instance.ID)
		}
	}
	// Another player still finds the second place.
	other := must[store.JoinResult](t)(s.Join(ctx, store.JoinQuery{Game: "arena", PlayerID: "p2", SeatID: "s-2",
		SeatExpires: t0.Add(time.Minute), NewInstance: sp, Placement: place(t0.Add(time.Second))}))
	if other.Instance.ID != first.Instance.ID || other.Instance.Reserved != 2 {
		t.Fatalf("the second player: %+v", other)
	}
	// The seat renewed carries the last ticket's expiry.
	if n := must[int](t)(s.ReleaseSeats(ctx, t0.Add(59*time.Second))); n != 0 {
		t.Fatalf("%d seats released before they expire", n)
	}
}
