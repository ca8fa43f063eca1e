package coordinator_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/store"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// auditLines decodes the JSON audit lines written so far.
func auditLines(t *testing.T, buf *testenv.SyncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// findAudit returns the audit lines whose fields include every one of want.
func findAudit(t *testing.T, buf *testenv.SyncBuffer, want map[string]string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range auditLines(t, buf) {
		ok := true
		for k, v := range want {
			if s, _ := m[k].(string); s != v {
				ok = false
			}
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

func withAudit(buf *testenv.SyncBuffer, more ...func(*coordinator.Config)) func(*coordinator.Config) {
	return func(cfg *coordinator.Config) {
		cfg.AuditLogger = slog.New(slog.NewJSONHandler(buf, nil))
		for _, f := range more {
			f(cfg)
		}
	}
}

// TestRegistrationConflict: a stolen executor token cannot move a live
// executor to another address (its players would follow): the second
// registration is refused, audited as a conflict, and Join keeps sending
// players to the real executor. Once the executor is lost, it may move,
// and the move is its own audit event.
func TestRegistrationConflict(t *testing.T) {
	var buf testenv.SyncBuffer
	clk := newClock()
	e := start(t, sqliteStore(t), newIssuer(t), withAudit(&buf, onClock(clk)))
	ctx := context.Background()
	e.deploy("arena")
	a := e.executor("ex-a", 0)
	thief := e.dialAs(auth.RoleExecutor, "ex-a") // the same name: a copy of its token
	defer thief.Close()
	_, err := thief.Executors.Register(ctx, &rccv1.RegisterExecutorRequest{Name: "ex-a", WsUrl: "ws://127.0.0.1:47999/play"})
	if code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "lost") {
		t.Fatalf("second registration of a live executor: %v, want FailedPrecondition", err)
	}
	got := findAudit(t, &buf, map[string]string{"event": "executor_registration_conflict", "name": "ex-a",
		"refused_ws_url": "ws://127.0.0.1:47999/play", "ws_url": "ws://ex-a.test/play", "subject": "ex-a", "role": "executor"})
	if len(got) != 1 || got[0]["remote"] == "" || got[0]["token_id"] == "" {
		t.Fatalf("conflict audit lines = %v\nall:\n%s", got, buf.String())
	}
	join, err := e.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(join.WsUrl, "ws://ex-a.test/play") {
		t.Fatalf("join sent alice to %s", join.WsUrl)
	}
	if len(findAudit(t, &buf, map[string]string{"event": "executor_registered", "name": "ex-a"})) != 1 {
		t.Fatalf("no registration event:\n%s", buf.String())
	}

	// The real executor falls silent and is declared lost; then the name
	// may move, and the move is audited with both addresses.
	a.pause(true)
	var cfg coordinator.Config
	fastConfig(&cfg)
	clk.advance(2 * time.Duration(cfg.MissedHeartbeats) * cfg.HeartbeatInterval)
	testenv.WaitFor(t, "ex-a to be lost", 5*time.Second, func() bool {
		x, err := e.st.GetExecutor(ctx, a.id)
		return err == nil && x.State == store.ExecutorLost
	})
	res, err := thief.Executors.Register(ctx, &rccv1.RegisterExecutorRequest{Name: "ex-a", WsUrl: "ws://ex-a.new/play"})
	if err != nil || res.Executor.Id != a.id {
		t.Fatalf("register after lost: %v %v", res, err)
	}
	if got := findAudit(t, &buf, map[string]string{"event": "executor_moved", "ws_url": "ws://ex-a.new/play",
		"previous_ws_url": "ws://ex-a.test/play"}); len(got) != 1 {
		t.Fatalf("move audit lines = %v\nall:\n%s", got, buf.String())
	}
}

// TestAuditTrail: every admin call is audited with who, from where, what
// and the outcome; refused authentications with their reason.
func TestAuditTrail(t *testing.T) {
	var buf testenv.SyncBuffer
	e := start(t, sqliteStore(t), newIssuer(t), withAudit(&buf))
	ctx := context.Background()
	tok, claims, err := e.issuer.RoleToken(auth.RoleAdmin, "alice@ops", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(e.addr, client.Token(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "nothing-deployed"}); code(err) != codes.NotFound {
		t.Fatalf("spawn of an unknown game: %v", err)
	}
	if err := listGames(c); err != nil {
		t.Fatal(err)
	}
	spawn := findAudit(t, &buf, map[string]string{"event": "admin_call", "method": rccv1.InstanceService_Spawn_FullMethodName,
		"subject": "alice@ops", "token_id": claims.ID, "role": "admin", "outcome": "NotFound"})
	if len(spawn) != 1 || !strings.HasPrefix(spawn[0]["remote"].(string), "127.0.0.1:") || spawn[0]["error"] == "" {
		t.Fatalf("spawn audit = %v\nall:\n%s", spawn, buf.String())
	}
	if len(findAudit(t, &buf, map[string]string{"event": "admin_call", "method": rccv1.GameService_ListGames_FullMethodName, "outcome": "OK"})) != 1 {
		t.Fatalf("no list audit:\n%s", buf.String())
	}
	// Executor calls are not admin actions.
	e.executor("ex-a", 0)
	if got := findAudit(t, &buf, map[string]string{"event": "admin_call", "role": "executor"}); len(got) != 0 {
		t.Fatalf("executor calls audited as admin calls: %v", got)
	}

	bad, err := client.Dial(e.addr, client.Token("not-a-jwt"))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	// A flood of refusals is logged up to a burst, the rest counted.
	for range 100 {
		if got := code(listGames(bad)); got != codes.Unauthenticated {
			t.Fatalf("garbage token: %v", got)
		}
	}
	refused := findAudit(t, &buf, map[string]string{"event": "auth_refused", "outcome": "Unauthenticated"})
	if len(refused) == 0 || len(refused) > 40 || !strings.Contains(refused[0]["reason"].(string), "malformed") {
		t.Fatalf("%d refusal lines (want a rate-limited few): %v", len(refused), refused)
	}
	if err := listGames(bad); code(err) != codes.Unauthenticated {
		t.Fatal(err)
	}
}

// TestRevokedToken: a revoked token is refused on every call, cached or
// not, by a coordinator that reads the deny-list on its reap, and by a new
// coordinator on the same store (revocations survive restarts).
func TestRevokedToken(t *testing.T) {
	var buf testenv.SyncBuffer
	st := sqliteStore(t)
	is := newIssuer(t)
	e := start(t, st, is, withAudit(&buf))
	ctx := context.Background()
	tok, claims, err := is.RoleToken(auth.RoleExecutor, "ex-a", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(e.addr, client.Token(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	register := func(c *client.Client) error {
		_, err := c.Executors.Register(ctx, &rccv1.RegisterExecutorRequest{Name: "ex-a", WsUrl: "ws://ex-a/play"})
		return err
	}
	if err := register(c); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeToken(ctx, store.Revocation{ID: claims.ID, Subject: claims.Subject, ExpiresAt: claims.ExpiresAt, RevokedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the revoked token to be refused", 10*time.Second, func() bool { return code(register(c)) == codes.Unauthenticated })
	if err := register(c); !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("refusal = %v", err)
	}
	if got := findAudit(t, &buf, map[string]string{"event": "auth_refused", "token_id": claims.ID, "subject": "ex-a"}); len(got) == 0 {
		t.Fatalf("no audited refusal:\n%s", buf.String())
	}
	// Other tokens of the same subject still work.
	other := e.dialAs(auth.RoleExecutor, "ex-a")
	defer other.Close()
	if err := register(other); err != nil {
		t.Fatal(err)
	}
	e.srv.Close()
	again := start(t, st, is, nil)
	c2, err := client.Dial(again.addr, client.Token(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := register(c2); code(err) != codes.Unauthenticated {
		t.Fatalf("revoked token after a restart: %v", err)
	}
}

// TestRenewToken: an executor renews its own token: same subject and
// role, a new id, a day long; the renewal is audited; an admin cannot.
func TestRenewToken(t *testing.T) {
	var buf testenv.SyncBuffer
	e := start(t, sqliteStore(t), newIssuer(t), withAudit(&buf))
	ctx := context.Background()
	x := e.dialAs(auth.RoleExecutor, "ex-a")
	defer x.Close()
	res, err := x.Executors.RenewToken(ctx, &rccv1.RenewTokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(e.issuer.PublicKey(), auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := v.Verify(res.Token)
	if err != nil || cl.Subject != "ex-a" || cl.Role != auth.RoleExecutor || cl.ExpiresAt.Sub(cl.IssuedAt) != auth.DefaultExecutorTTL {
		t.Fatalf("renewed token %+v, %v", cl, err)
	}
	if got := findAudit(t, &buf, map[string]string{"event": "token_renewed", "subject": "ex-a", "new_token_id": cl.ID}); len(got) != 1 {
		t.Fatalf("renewal audit:\n%s", buf.String())
	}
	if _, err := e.admin.Executors.RenewToken(ctx, &rccv1.RenewTokenRequest{}); code(err) != codes.PermissionDenied {
		t.Fatalf("admin renewal: %v", err)
	}
}
