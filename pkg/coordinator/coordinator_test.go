package coordinator_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func TestAuthRefusals(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()
	other := newIssuer(t)
	wrongKey, _, _ := other.RoleToken(auth.RoleAdmin, "x", time.Hour)
	wrongAud, _, _ := mustIssuer(t, e, auth.Options{Audience: "elsewhere"}).RoleToken(auth.RoleAdmin, "x", time.Hour)
	future, _, _ := mustIssuer(t, e, auth.Options{Now: func() time.Time { return time.Now().Add(time.Hour) }}).RoleToken(auth.RoleAdmin, "x", time.Hour)
	past, _, _ := mustIssuer(t, e, auth.Options{Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }}).RoleToken(auth.RoleAdmin, "x", time.Hour)
	none := algNone(t)
	tests := []struct {
		name  string
		token auth.Token
		call  func(c *client.Client) error
		want  codes.Code
	}{
		{"missing", "", listGames, codes.Unauthenticated},
		{"garbage", "not-a-jwt", listGames, codes.Unauthenticated},
		{"expired", past, listGames, codes.Unauthenticated},
		{"not yet valid", future, listGames, codes.Unauthenticated},
		{"wrong key", wrongKey, listGames, codes.Unauthenticated},
		{"wrong audience", wrongAud, listGames, codes.Unauthenticated},
		{"alg none", none, listGames, codes.Unauthenticated},
		{"executor calls admin method", e.token(auth.RoleExecutor), listGames, codes.PermissionDenied},
		{"executor spawns", e.token(auth.RoleExecutor), func(c *client.Client) error {
			_, err := c.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena"})
			return err
		}, codes.PermissionDenied},
		{"admin heartbeats", e.token(auth.RoleAdmin), func(c *client.Client) error {
			_, err := c.Executors.Heartbeat(ctx, &rccv1.HeartbeatRequest{ExecutorId: "x"})
			return err
		}, codes.PermissionDenied},
		{"admin lists", e.token(auth.RoleAdmin), listGames, codes.OK},
		{"executor reads a version", e.token(auth.RoleExecutor), func(c *client.Client) error {
			_, err := c.Games.GetVersion(ctx, &rccv1.GetVersionRequest{Game: "none"})
			return err
		}, codes.NotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.Dial(e.addr, client.Token(tc.token))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := code(tc.call(c)); got != tc.want {
				t.Fatalf("code = %v, want %v", got, tc.want)
			}
		})
	}
}

func mustIssuer(t *testing.T, e *env, o auth.Options) *auth.Issuer {
	// Same key as the coordinator's, other options.
	key := e.issuerKey()
	is, err := auth.NewIssuer(key, o)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

func listGames(c *client.Client) error {
	_, err := c.Games.ListGames(context.Background(), &rccv1.ListGamesRequest{})
	return err
}

// algNone is an unsigned token claiming the admin role.
func algNone(t *testing.T) auth.Token {
	tok := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"iss": auth.DefaultIssuer, "aud": auth.DefaultAudience, "sub": "x", "role": "admin", "knd": "role", "jti": "j",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	})
	s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return auth.Token(s)
}

func TestHealthAndReflectionWithoutToken(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	conn, err := grpc.NewClient(e.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", h, err)
	}
	rs, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := rs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().Service {
		names = append(names, s.Name)
	}
	all := strings.Join(names, " ")
	for _, want := range []string{"rcc.v1.GameService", "rcc.v1.InstanceService", "rcc.v1.ExecutorService", "rcc.v1.WatchService", "grpc.health.v1.Health"} {
		if !strings.Contains(all, want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}
}

func TestDeploy(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()
	assets := tarOf(t, map[string]int{"a.txt": 6})
	res, err := e.admin.Deploy(ctx, client.DeployRequest{Game: "arena", Module: minimalWasm, Assets: assets, Description: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version.Version != 1 || res.ModuleDeduplicated || res.Unchanged || res.Version.AssetsSize != int64(len(assets)) {
		t.Fatalf("first deploy = %v", res)
	}
	res, err = e.admin.Deploy(ctx, client.DeployRequest{Game: "arena", Module: minimalWasm, Assets: assets})
	if err != nil || !res.Unchanged || !res.ModuleDeduplicated || res.Version.Version != 1 {
		t.Fatalf("same deploy = %v %v", res, err)
	}
	res, err = e.admin.Deploy(ctx, client.DeployRequest{Game: "other", Module: minimalWasm})
	if err != nil || !res.ModuleDeduplicated || res.Version.Version != 1 {
		t.Fatalf("other game, same module = %v %v", res, err)
	}
	_, err = e.admin.Deploy(ctx, client.DeployRequest{Game: "arena", Module: badImportWasm})
	if code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "env.sneaky") {
		t.Fatalf("bad module: %v", err)
	}
	_, err = e.admin.Deploy(ctx, client.DeployRequest{Game: "Bad Name", Module: minimalWasm})
	if code(err) != codes.InvalidArgument {
		t.Fatalf("bad name: %v", err)
	}
	games, err := e.admin.Games.ListGames(ctx, &rccv1.ListGamesRequest{})
	if err != nil || len(games.Games) != 2 {
		t.Fatalf("games = %v %v", games, err)
	}
	got, err := e.admin.FetchBlob(ctx, res.Version.ModuleSha256)
	if err != nil || string(got) != string(minimalWasm) {
		t.Fatalf("fetch = %d bytes, %v", len(got), err)
	}
	if _, err := e.admin.Games.ListVersions(ctx, &rccv1.ListVersionsRequest{Game: "nope"}); code(err) != codes.NotFound {
		t.Fatalf("versions of missing game: %v", err)
	}
}

func TestSpawnPendingUntilExecutorRegisters(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()
	e.deploy("arena")
	params, _ := structpb.NewStruct(map[string]any{"map": "small"})
	in, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", MaxPlayers: 8, LeaseSeconds: 60, Labels: map[string]string{"region": "eu"}, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	if in.State != rccv1.InstanceState_INSTANCE_STATE_PENDING || in.Params.Fields["map"].GetStringValue() != "small" {
		t.Fatalf("spawned = %v", in)
	}
	x := e.executor("ex1", 0)
	testenv.WaitFor(t, "the executor to receive the pending instance", 5*time.Second, func() bool { return x.has(in.Id) })
	testenv.WaitFor(t, "the instance to run", 5*time.Second, func() bool {
		got, err := e.admin.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: in.Id})
		return err == nil && got.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING && got.ExecutorId == x.id && got.WsUrl == "ws://ex1.test/play"
	})
	// A spawn with an executor live is pushed at once.
	in2, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena"})
	if err != nil || in2.State != rccv1.InstanceState_INSTANCE_STATE_STARTING {
		t.Fatalf("second spawn = %v %v", in2, err)
	}
	testenv.WaitFor(t, "the second instance on the executor", 5*time.Second, func() bool { return x.has(in2.Id) })
	st, err := e.admin.Instances.Stop(ctx, &rccv1.StopInstanceRequest{Id: in2.Id, Reason: "test over"})
	if err != nil || st.State != rccv1.InstanceState_INSTANCE_STATE_STOPPING {
		t.Fatalf("stop = %v %v", st, err)
	}
	testenv.WaitFor(t, "the executor to be told to stop", 5*time.Second, func() bool { r, ok := x.stopped(in2.Id); return ok && r == "test over" })
	testenv.WaitFor(t, "the instance to be stopped", 5*time.Second, func() bool {
		got, err := e.admin.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: in2.Id})
		return err == nil && got.State == rccv1.InstanceState_INSTANCE_STATE_STOPPED
	})
	list, err := e.admin.Instances.List(ctx, &rccv1.ListInstancesRequest{Labels: map[string]string{"region": "eu"}})
	if err != nil || len(list.Instances) != 1 || list.Instances[0].Id != in.Id {
		t.Fatalf("list by label = %v %v", list, err)
	}
	xs, err := e.admin.Executors.List(ctx, &rccv1.ListExecutorsRequest{})
	if err != nil || len(xs.Executors) != 1 || xs.Executors[0].Assigned != 1 {
		t.Fatalf("executors = %v %v", xs, err)
	}
}

func TestInstanceStats(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()
	e.deploy("arena")
	x := e.executor("ex1", 0)
	in, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena"})
	if err != nil {
		t.Fatal(err)
	}
	if in.Stats != nil {
		t.Fatalf("stats of a new instance = %v", in.Stats)
	}
	testenv.WaitFor(t, "the executor to run the instance", 5*time.Second, func() bool { return x.has(in.Id) })
	var got *rccv1.Instance
	testenv.WaitFor(t, "two heartbeats with figures", 5*time.Second, func() bool {
		got, err = e.admin.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: in.Id})
		return err == nil && got.Stats != nil && got.Stats.Frames >= 120
	})
	st := got.Stats
	want := fakeStats(st.Frames / 60)
	if st.TickP50Ms != want.TickP50Ms || st.TickP99Ms != want.TickP99Ms || st.MemoryBytes != want.MemoryBytes ||
		st.FuelP50 != want.FuelP50 || st.FuelMax != want.FuelMax || st.Overruns != want.Overruns {
		t.Fatalf("stats = %v, want %v", st, want)
	}
	if ago := time.Since(st.ReportedAt.AsTime()); ago < 0 || ago > 5*time.Second {
		t.Fatalf("reported_at = %v (%v ago)", st.ReportedAt.AsTime(), ago)
	}
	list, err := e.admin.Instances.List(ctx, &rccv1.ListInstancesRequest{})
	if err != nil || len(list.Instances) != 1 || list.Instances[0].Stats == nil || list.Instances[0].Stats.Frames < 120 {
		t.Fatalf("list = %v %v", list, err)
	}
}

func TestJoinTicket(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()
	e.deploy("arena")
	if _, err := e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: "p1"}); code(err) != codes.Unavailable {
		t.Fatalf("join without executor: %v", err)
	}
	x := e.executor("ex1", 0)
	var first string
	for k, p := range []string{"p1", "p2", "p3"} {
		res, err := e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: p, MaxPlayers: 2})
		if err != nil {
			t.Fatal(err)
		}
		if res.WsUrl != "ws://ex1.test/play" || res.ExecutorId != x.id {
			t.Fatalf("join = %v", res)
		}
		switch k {
		case 0:
			first = res.InstanceId
			if !res.Created {
				t.Fatal("first join did not create an instance")
			}
		case 1:
			if res.Created || res.InstanceId != first {
				t.Fatalf("second join = %v, want %s", res, first)
			}
		case 2:
			if !res.Created || res.InstanceId == first {
				t.Fatalf("third join = %v, want a new instance", res)
			}
		}
		// The executor checks the ticket with the public key alone.
		v, err := auth.NewVerifier(x.pub, auth.Options{})
		if err != nil {
			t.Fatal(err)
		}
		tk, err := v.VerifyTicket(res.Ticket, x.id, res.InstanceId)
		if err != nil || tk.PlayerID != p {
			t.Fatalf("ticket: %+v %v", tk, err)
		}
		if _, err := v.VerifyTicket(res.Ticket, x.id, res.InstanceId); err == nil {
			t.Fatal("ticket accepted twice")
		}
		if d := time.Until(res.TicketExpiresAt.AsTime()); d < 50*time.Second || d > 61*time.Second {
			t.Fatalf("ticket expires in %v", d)
		}
	}
	if _, err := e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena"}); code(err) != codes.InvalidArgument {
		t.Fatalf("join without player: %v", err)
	}
	if _, err := e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "nope", PlayerId: "p"}); code(err) != codes.NotFound {
		t.Fatalf("join of missing game: %v", err)
	}
}

func TestLeaseExpiry(t *testing.T) {
	clk := newClock()
	e := start(t, sqliteStore(t), newIssuer(t), onClock(clk))
	ctx := context.Background()
	e.deploy("arena")
	x := e.executor("ex1", 0)
	short, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.Instances.RenewLease(ctx, &rccv1.RenewLeaseRequest{Id: renewed.Id, LeaseSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	// Past the short lease, within the renewed one; x keeps beating at
	// every step, so it is not taken for lost when the clock jumps.
	advanceBeating(t, clk, 2*time.Second, x)
	testenv.WaitFor(t, "the expired instance's stop order", 5*time.Second, func() bool { r, ok := x.stopped(short.Id); return ok && r == "lease expired" })
	testenv.WaitFor(t, "the expired instance to stop", 5*time.Second, func() bool {
		got, err := e.admin.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: short.Id})
		return err == nil && got.State == rccv1.InstanceState_INSTANCE_STATE_STOPPED && got.Reason == "lease expired"
	})
	got, err := e.admin.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: renewed.Id})
	if err != nil || got.State != rccv1.InstanceState_INSTANCE_STATE_RUNNING {
		t.Fatalf("renewed = %v %v", got, err)
	}
	if _, err := e.admin.Instances.RenewLease(ctx, &rccv1.RenewLeaseRequest{Id: short.Id}); code(err) != codes.FailedPrecondition {
		t.Fatalf("renew of a stopped instance: %v", err)
	}
}

func TestExecutorLostRespawn(t *testing.T) {
	clk := newClock()
	e := start(t, sqliteStore(t), newIssuer(t), onClock(clk))
	ctx := context.Background()
	e.deploy("arena")
	a := e.executor("ex-a", 0)
	keep, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Respawn: true, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	drop, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena"})
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "both instances on a", 5*time.Second, func() bool { return a.has(keep.Id) && a.has(drop.Id) })
	b := e.executor("ex-b", 0)
	a.pause(true)
	var cfg coordinator.Config
	fastConfig(&cfg)
	// Past a's liveness window on the coordinator's clock, with b beating.
	advanceBeating(t, clk, time.Duration(cfg.MissedHeartbeats+1)*cfg.HeartbeatInterval, b)
	testenv.WaitFor(t, "a to be lost", 5*time.Second, func() bool {
		xs, err := e.admin.Executors.List(ctx, &rccv1.ListExecutorsRequest{})
		return err == nil && xs.Executors[0].State == rccv1.ExecutorState_EXECUTOR_STATE_LOST
	})
	var respawned *rccv1.Instance
	testenv.WaitFor(t, "the respawned instance to run on b", 5*time.Second, func() bool {
		list, err := e.admin.Instances.List(ctx, &rccv1.ListInstancesRequest{ExecutorId: b.id})
		if err != nil || len(list.Instances) != 1 {
			return false
		}
		respawned = list.Instances[0]
		return b.has(respawned.Id) && respawned.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING
	})
	if respawned.RespawnedFrom != keep.Id || respawned.Seed != 9 {
		t.Fatalf("respawned = %v", respawned)
	}
	for _, id := range []string{keep.Id, drop.Id} {
		got, err := e.admin.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: id})
		if err != nil || got.State != rccv1.InstanceState_INSTANCE_STATE_LOST || !strings.Contains(got.Reason, "ex-a lost") {
			t.Fatalf("instance on the lost executor = %v %v", got, err)
		}
	}
	// a comes back: told to re-register, then told to stop what it still runs.
	res, err := a.c.Executors.Heartbeat(ctx, &rccv1.HeartbeatRequest{ExecutorId: a.id})
	if err != nil || !res.Reregister {
		t.Fatalf("heartbeat of lost executor = %v %v", res, err)
	}
	if _, err := a.c.Executors.Register(ctx, &rccv1.RegisterExecutorRequest{Name: "ex-a", WsUrl: "ws://ex-a.test/play"}); err != nil {
		t.Fatal(err)
	}
	a.pause(false)
	testenv.WaitFor(t, "a to be told to stop its lost instances", 5*time.Second, func() bool {
		_, ok1 := a.stopped(keep.Id)
		_, ok2 := a.stopped(drop.Id)
		return ok1 && ok2
	})
}

func TestDrain(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()
	e.deploy("arena")
	a := e.executor("ex-a", 0)
	x, err := e.admin.Executors.Drain(ctx, &rccv1.DrainExecutorRequest{Id: a.id})
	if err != nil || x.State != rccv1.ExecutorState_EXECUTOR_STATE_DRAINING {
		t.Fatalf("drain = %v %v", x, err)
	}
	in, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena"})
	if err != nil || in.State != rccv1.InstanceState_INSTANCE_STATE_PENDING {
		t.Fatalf("spawn with only a draining executor = %v %v", in, err)
	}
}

// TestUndrain: an undrained executor takes the instances that waited
// while it drained; an executor may not undrain itself.
func TestUndrain(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()
	e.deploy("arena")
	a := e.executor("ex-a", 0)
	if _, err := e.admin.Executors.Drain(ctx, &rccv1.DrainExecutorRequest{Id: a.id}); err != nil {
		t.Fatal(err)
	}
	in, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena"})
	if err != nil || in.State != rccv1.InstanceState_INSTANCE_STATE_PENDING {
		t.Fatalf("spawn while draining = %v %v", in, err)
	}
	if _, err := a.c.Executors.Undrain(ctx, &rccv1.UndrainExecutorRequest{Id: a.id}); code(err) != codes.PermissionDenied {
		t.Fatalf("executor undrains itself: %v", err)
	}
	x, err := e.admin.Executors.Undrain(ctx, &rccv1.UndrainExecutorRequest{Id: a.id})
	if err != nil || x.State != rccv1.ExecutorState_EXECUTOR_STATE_ACTIVE {
		t.Fatalf("undrain = %v %v", x, err)
	}
	got, err := e.admin.Instances.Get(ctx, &rccv1.GetInstanceRequest{Id: in.Id})
	if err != nil || got.ExecutorId != a.id {
		t.Fatalf("pending instance after undrain = %v %v", got, err)
	}
	if _, err := e.admin.Executors.Undrain(ctx, &rccv1.UndrainExecutorRequest{Id: "x-nope"}); code(err) != codes.NotFound {
		t.Fatalf("undrain a missing executor: %v", err)
	}
}

// TestDeleteGame: a version or a game nothing runs is removed; one a live
// instance runs is refused with FAILED_PRECONDITION.
func TestDeleteGame(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()
	e.deploy("arena")
	if _, err := e.admin.Deploy(ctx, client.DeployRequest{Game: "arena", Module: minimalWasm, Description: "v2", FrameFuel: 1_000_000}); err != nil {
		t.Fatal(err)
	}
	in, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.Games.DeleteGame(ctx, &rccv1.DeleteGameRequest{Game: "arena"}); code(err) != codes.FailedPrecondition {
		t.Fatalf("delete a game in use: %v", err)
	}
	res, err := e.admin.Games.DeleteGame(ctx, &rccv1.DeleteGameRequest{Game: "arena", Version: 2})
	if err != nil || len(res.Versions) != 1 || res.Versions[0].Version != 2 {
		t.Fatalf("delete version 2 = %v %v", res, err)
	}
	if _, err := e.admin.Instances.Stop(ctx, &rccv1.StopInstanceRequest{Id: in.Id}); err != nil {
		t.Fatal(err)
	}
	if res, err = e.admin.Games.DeleteGame(ctx, &rccv1.DeleteGameRequest{Game: "arena"}); err != nil || len(res.Versions) != 1 {
		t.Fatalf("delete the game = %v %v", res, err)
	}
	if _, err := e.admin.Games.DeleteGame(ctx, &rccv1.DeleteGameRequest{Game: "arena"}); code(err) != codes.NotFound {
		t.Fatalf("delete it again: %v", err)
	}
	if _, err := e.admin.Games.DeleteGame(ctx, &rccv1.DeleteGameRequest{}); code(err) != codes.InvalidArgument {
		t.Fatalf("delete no game: %v", err)
	}
}

func TestExecutorDrainsItselfOnly(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()
	a := e.executor("ex-a", 0)
	b := e.executor("ex-b", 0)
	if _, err := a.c.Executors.Drain(ctx, &rccv1.DrainExecutorRequest{Id: b.id}); code(err) != codes.PermissionDenied {
		t.Fatalf("ex-a drains ex-b: %v", err)
	}
	x, err := a.c.Executors.Drain(ctx, &rccv1.DrainExecutorRequest{Id: a.id})
	if err != nil || x.State != rccv1.ExecutorState_EXECUTOR_STATE_DRAINING {
		t.Fatalf("self drain = %v %v", x, err)
	}
}

func TestWatch(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.deploy("arena")
	e.executor("ex1", 0)
	w, err := e.admin.Watch.Watch(ctx, &rccv1.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := w.Recv()
	if err != nil || !ev.Snapshot || ev.GetExecutor().GetName() != "ex1" {
		t.Fatalf("snapshot = %v %v", ev, err)
	}
	in, err := e.admin.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetInstance().GetId() == in.Id && ev.GetInstance().State == rccv1.InstanceState_INSTANCE_STATE_RUNNING {
			break
		}
	}
}

func TestWatchHeadersCarryTheVersion(t *testing.T) {
	for _, tc := range []struct{ name, version string }{{"with a version", "v1.2.3"}, {"without", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, sqliteStore(t), newIssuer(t), func(c *coordinator.Config) { c.Version = tc.version })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w, err := e.admin.Watch.Watch(ctx, &rccv1.WatchRequest{SkipSnapshot: true})
			if err != nil {
				t.Fatal(err)
			}
			md, err := w.Header()
			if err != nil {
				t.Fatal(err)
			}
			got := md.Get(client.VersionHeader)
			if tc.version == "" && len(got) != 0 || tc.version != "" && (len(got) != 1 || got[0] != tc.version) {
				t.Fatalf("%s header = %q, want %q", client.VersionHeader, got, tc.version)
			}
		})
	}
}

// issuerKey is a test hook: the env's issuer was built from a key we keep.
func (e *env) issuerKey() ed25519.PrivateKey {
	k, _ := keys.Load(e.issuer)
	return k.(ed25519.PrivateKey)
}

var keys sync.Map // *auth.Issuer -> ed25519.PrivateKey

var _ = base64.StdEncoding

// TestAuthRefusalsRepeat checks that a refusal is never remembered.
func TestAuthRefusalsRepeat(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	x, err := client.Dial(e.addr, client.Token(e.token(auth.RoleExecutor)))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for range 3 {
		if got := code(listGames(x)); got != codes.PermissionDenied {
			t.Fatalf("code = %v", got)
		}
	}
	if err := listGames(e.admin); err != nil {
		t.Fatal(err)
	}
	if err := listGames(e.admin); err != nil {
		t.Fatal(err)
	}
}

// TestExecutorIdentity: an executor token acts only for the executor named
// in its subject.
func TestExecutorIdentity(t *testing.T) {
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	ctx := context.Background()
	a := e.executor("ex-a", 0)
	b := e.dialAs(auth.RoleExecutor, "ex-b")
	defer b.Close()
	if _, err := b.Executors.Register(ctx, &rccv1.RegisterExecutorRequest{Name: "ex-a", WsUrl: "ws://evil/play"}); code(err) != codes.PermissionDenied {
		t.Fatalf("register under another name: %v", err)
	}
	if _, err := b.Executors.Heartbeat(ctx, &rccv1.HeartbeatRequest{ExecutorId: a.id}); code(err) != codes.PermissionDenied {
		t.Fatalf("heartbeat for another executor: %v", err)
	}
	if _, err := b.Executors.ReportInstance(ctx, &rccv1.ReportInstanceRequest{ExecutorId: a.id, Report: &rccv1.InstanceReport{InstanceId: "i-x"}}); code(err) != codes.PermissionDenied {
		t.Fatalf("report for another executor: %v", err)
	}
	s, err := b.Executors.Assignments(ctx, &rccv1.AssignmentsRequest{ExecutorId: a.id})
	if err == nil {
		_, err = s.Recv()
	}
	if code(err) != codes.PermissionDenied {
		t.Fatalf("assignments of another executor: %v", err)
	}
	if res, err := b.Executors.Heartbeat(ctx, &rccv1.HeartbeatRequest{ExecutorId: "x-unknown"}); err != nil || !res.Reregister {
		t.Fatalf("heartbeat of an unknown executor: %v %v", res, err)
	}
}
