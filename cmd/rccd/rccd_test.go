package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/testenv"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func rccd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTokenCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	code, out, errOut := rccd(t, "token", "create", "--role", "admin", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	fi, err := os.Stat(filepath.Join(dir, auth.KeyFileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	key, err := auth.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(key.Public().(ed25519.PublicKey), auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Verify(strings.TrimSpace(out))
	if err != nil || claims.Role != auth.RoleAdmin {
		t.Fatalf("token: %+v %v", claims, err)
	}
	if code, _, errOut := rccd(t, "token", "create", "--role", "root", "--data-dir", dir); code == 0 || !strings.Contains(errOut, "unknown role") {
		t.Fatalf("bad role: %d %s", code, errOut)
	}
	if claims.ExpiresAt.Sub(claims.IssuedAt) != auth.DefaultAdminTTL {
		t.Fatalf("admin token lives %v, want %v", claims.ExpiresAt.Sub(claims.IssuedAt), auth.DefaultAdminTTL)
	}
	// A player token names its player.
	if code, _, errOut := rccd(t, "token", "create", "--role", "player", "--data-dir", dir); code == 0 || !strings.Contains(errOut, "--subject") {
		t.Fatalf("player token without a subject: %d %s", code, errOut)
	}
	code, out, errOut = rccd(t, "token", "create", "--role", "player", "--subject", "alice", "--data-dir", dir)
	if code != 0 || !strings.Contains(errOut, "subject alice, role player") {
		t.Fatalf("player token: exit %d %s", code, errOut)
	}
	pc, err := v.Verify(strings.TrimSpace(out))
	if err != nil || pc.Role != auth.RolePlayer || pc.Subject != "alice" || pc.ExpiresAt.Sub(pc.IssuedAt) != auth.DefaultPlayerTTL {
		t.Fatalf("player token: %+v %v", pc, err)
	}
}

func TestTokenCreateSave(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	code, out, errOut := rccd(t, "token", "create", "--role", "admin", "--data-dir", t.TempDir(), "--save", "--addr", "127.0.0.1:7401")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	path, _ := client.DefaultCredentialsPath()
	creds, err := client.LoadCredentials(path)
	if err != nil || creds.Addr != "127.0.0.1:7401" || string(creds.Token) != strings.TrimSpace(out) {
		t.Fatalf("credentials %+v %v", creds, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials mode %v", fi.Mode())
	}
}

// TestConfigPrecedence: a flag wins over its RCC_* twin, which wins over
// the --config file (or RCC_CONFIG's), which wins over the default; a bad
// value or an unknown name is an error saying where it came from.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full := file("full.yaml", "grpc-addr: \":7001\"\ndb: sqlite://file.db\nlabel: [zone=file, tier=1]\nheartbeat-interval: 3s\n")
	other := file("other.yaml", "grpc-addr: \":7002\"\n")
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    executorLike
		wantErr string
	}{
		{name: "defaults", want: executorLike{addr: ":7400", hb: 2 * time.Second}},
		{name: "file over defaults", args: []string{"--config", full},
			want: executorLike{addr: ":7001", db: "sqlite://file.db", labels: "zone=file,tier=1", hb: 3 * time.Second}},
		{name: "RCC_CONFIG names the file", env: map[string]string{"RCC_CONFIG": full},
			want: executorLike{addr: ":7001", db: "sqlite://file.db", labels: "zone=file,tier=1", hb: 3 * time.Second}},
		{name: "--config over RCC_CONFIG", args: []string{"--config", other}, env: map[string]string{"RCC_CONFIG": full},
			want: executorLike{addr: ":7002", hb: 2 * time.Second}},
		{name: "environment over file", args: []string{"--config", full}, env: map[string]string{"RCC_GRPC_ADDR": ":8000", "RCC_LABEL": "zone=env"},
			want: executorLike{addr: ":8000", db: "sqlite://file.db", labels: "zone=env", hb: 3 * time.Second}},
		{name: "flag over environment and file", args: []string{"--config", full, "--grpc-addr", ":9000", "--label", "zone=flag"},
			env:  map[string]string{"RCC_GRPC_ADDR": ":8000", "RCC_DB": "sqlite://env.db"},
			want: executorLike{addr: ":9000", db: "sqlite://env.db", labels: "zone=flag", hb: 3 * time.Second}},
		{name: "named twin", env: map[string]string{"RCC_EXECUTOR_TOKEN": "exec", "RCC_TOKEN": "admin"},
			want: executorLike{addr: ":7400", hb: 2 * time.Second, token: "exec"}},
		{name: "empty file", args: []string{"--config", file("empty.yaml", "")}, want: executorLike{addr: ":7400", hb: 2 * time.Second}},
		{name: "bad environment value", env: map[string]string{"RCC_HEARTBEAT_INTERVAL": "soon"}, wantErr: "RCC_HEARTBEAT_INTERVAL="},
		{name: "bad file value", args: []string{"--config", file("bad.yaml", "heartbeat-interval: soon\n")}, wantErr: "config file: heartbeat-interval"},
		{name: "unknown name in file", args: []string{"--config", file("unknown.yaml", "grpc-adr: :1\n")}, wantErr: `"grpc-adr" is not a flag`},
		{name: "not a mapping", args: []string{"--config", file("list.yaml", "- a\n")}, wantErr: "want a mapping"},
		{name: "missing file", args: []string{"--config", filepath.Join(dir, "none.yaml")}, wantErr: "read config file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got executorLike
			var labels []string
			cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
			f := cmd.Flags()
			f.StringVar(&got.addr, "grpc-addr", ":7400", "")
			f.StringVar(&got.db, "db", "", "")
			f.StringArrayVar(&labels, "label", nil, "")
			f.DurationVar(&got.hb, "heartbeat-interval", 2*time.Second, "")
			f.StringVar(&got.token, "token", "", "")
			setEnvName(cmd, "token", "RCC_EXECUTOR_TOKEN")
			withConfigFile(cmd)
			if err := cmd.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			err := applySources(cmd, lookup)
			got.labels = strings.Join(labels, ",")
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case got != tc.want:
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// executorLike is the configuration TestConfigPrecedence reads.
type executorLike struct {
	addr, db, labels, token string
	hb                      time.Duration
}

// TestExecutorTokenIsNotRCCToken: rccd executor does not take rccctl's
// RCC_TOKEN for its own; it says which variable it wants.
func TestExecutorTokenIsNotRCCToken(t *testing.T) {
	t.Setenv("RCC_TOKEN", "admin-token")
	t.Setenv("RCC_EXECUTOR_TOKEN", "")
	os.Unsetenv("RCC_EXECUTOR_TOKEN")
	code, _, errOut := rccd(t, "executor", "--data-dir", t.TempDir())
	if code != exitUsage || !strings.Contains(errOut, "RCC_EXECUTOR_TOKEN") || !strings.Contains(errOut, "rccctl's token") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestMigrate(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "m.db")
	for range 2 {
		if code, out, errOut := rccd(t, "migrate", "--db", db); code != 0 || !strings.Contains(out, "migrations applied") {
			t.Fatalf("migrate: %d %s %s", code, out, errOut)
		}
	}
}

// lockedBuffer collects log lines written from another goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCoordinatorServes starts rccd coordinator, checks health and an admin
// call, and shuts it down with its context.
func TestCoordinatorServes(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs lockedBuffer
	done := make(chan int, 1)
	t.Setenv("RCC_DATA_DIR", dir)
	go func() {
		done <- run(ctx, []string{"coordinator", "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
			"--audit-log", filepath.Join(dir, "audit.jsonl")}, &logs, &logs)
	}()
	var addr, metricsAddr string
	defer func() {
		if addr == "" {
			t.Logf("logs:\n%s", logs.String())
		}
	}()
	testenv.WaitFor(t, "the coordinator's start line in its logs", 10*time.Second, func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "coordinator started" {
				addr, _ = rec["grpc_addr"].(string)
				metricsAddr, _ = rec["metrics_addr"].(string)
			}
		}
		return addr != ""
	})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", h, err)
	}
	code, out, errOut := rccd(t, "token", "create", "--role", "admin", "--data-dir", dir)
	if code != 0 {
		t.Fatal(errOut)
	}
	c, err := client.Dial(addr, client.Token(strings.TrimSpace(out)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Games.ListGames(ctx, &rccv1.ListGamesRequest{}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`rcc_instances{state="running"} 0`, `rcc_executors{state="active"} 0`, "rcc_coordinator_store_up 1",
		"rcc_coordinator_spawns_total 0", "go_goroutines"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// A revoked token is refused from the coordinator's next reap on.
	code, out, errOut = rccd(t, "token", "create", "--role", "admin", "--subject", "leaver", "--data-dir", dir)
	if code != 0 {
		t.Fatal(errOut)
	}
	leaver, err := client.Dial(addr, client.Token(strings.TrimSpace(out)))
	if err != nil {
		t.Fatal(err)
	}
	defer leaver.Close()
	if _, err := leaver.Games.ListGames(ctx, &rccv1.ListGamesRequest{}); err != nil {
		t.Fatal(err)
	}
	code, revoked, errOut := rccd(t, "token", "revoke", strings.TrimSpace(out), "--data-dir", dir, "--reason", "left")
	if code != 0 || !strings.Contains(revoked, "subject leaver") {
		t.Fatalf("revoke: exit %d %s %s", code, revoked, errOut)
	}
	testenv.WaitFor(t, "the revoked token to be refused", 10*time.Second, func() bool {
		_, err := leaver.Games.ListGames(ctx, &rccv1.ListGamesRequest{})
		return status.Code(err) == codes.Unauthenticated
	})
	if _, err := c.Games.ListGames(ctx, &rccv1.ListGamesRequest{}); err != nil {
		t.Fatalf("another admin token after a revocation: %v", err)
	}
	if code, _, errOut := rccd(t, "token", "revoke", "a.b", "--data-dir", dir); code == 0 || !strings.Contains(errOut, "malformed") {
		t.Fatalf("revoke garbage: exit %d %s", code, errOut)
	}
	// The audit trail has its own file: the revoked token's calls, before
	// and after.
	audit, err := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"event":"admin_call","method":"/rcc.v1.GameService/ListGames","outcome":"OK"`,
		`"event":"auth_refused"`, `"reason":"token revoked`, `"subject":"leaver"`} {
		if !strings.Contains(string(audit), want) {
			t.Errorf("the audit log lacks %s:\n%s", want, audit)
		}
	}
	if strings.Contains(logs.String(), `"event":"admin_call"`) {
		t.Errorf("audit lines in the main log with --audit-log")
	}

	// A connected executor's assignment stream and an operator's watch
	// stream do not hold the shutdown: they end at once with UNAVAILABLE.
	code, out, errOut = rccd(t, "token", "create", "--role", "executor", "--subject", "ex1", "--data-dir", dir)
	if code != 0 {
		t.Fatal(errOut)
	}
	xc, err := client.Dial(addr, client.Token(strings.TrimSpace(out)))
	if err != nil {
		t.Fatal(err)
	}
	defer xc.Close()
	sctx, stopStreams := context.WithCancel(context.Background())
	defer stopStreams()
	reg, err := xc.Executors.Register(sctx, &rccv1.RegisterExecutorRequest{Name: "ex1", WsUrl: "ws://ex1.test/play"})
	if err != nil {
		t.Fatal(err)
	}
	assignments, err := xc.Executors.Assignments(sctx, &rccv1.AssignmentsRequest{ExecutorId: reg.Executor.Id})
	if err != nil {
		t.Fatal(err)
	}
	watch, err := c.Watch.Watch(sctx, &rccv1.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil { // the snapshot: the stream is served
		t.Fatal(err)
	}
	streamEnds := make(chan error, 2)
	go func() {
		_, err := assignments.Recv()
		streamEnds <- err
	}()
	go func() {
		for {
			if _, err := watch.Recv(); err != nil {
				streamEnds <- err
				return
			}
		}
	}()

	begin := time.Now()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("coordinator did not stop")
	}
	if d := time.Since(begin); d > time.Second {
		t.Fatalf("shutdown with open streams took %v", d)
	}
	for range 2 {
		if err := <-streamEnds; status.Code(err) != codes.Unavailable {
			t.Fatalf("stream ended with %v, want UNAVAILABLE", err)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"coordinator stopped"`) {
		t.Fatalf("logs:\n%s", logs.String())
	}
}

// TestUsageErrors: rccd exits 2 on a wrong command line, as rccctl does,
// and 0 with its build on version.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus" for "rccd"`},
		{[]string{"token"}, "rccd token: missing subcommand: want one of create"},
		{[]string{"token", "bogus"}, `unknown command "bogus" for "rccd token"`},
		{[]string{"token", "revoke"}, "missing TOKEN-ID|TOKEN"},
		{[]string{"dev", "extra"}, `unexpected argument "extra"`},
		{[]string{"dev", "--data-dir", ""}, "--data-dir is empty"},
		{[]string{"coordinator", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"version", "-o", "yaml"}, `--output "yaml"`},
	} {
		code, _, errOut := rccd(t, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("rccd %s: exit %d, want %d with %q:\n%s", strings.Join(tc.args, " "), code, exitUsage, tc.want, errOut)
		}
	}
	code, out, errOut := rccd(t, "version", "--output", "json")
	var v struct {
		Version   string `json:"version"`
		GoVersion string `json:"go_version"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &v) != nil || v.Version == "" || !strings.HasPrefix(v.GoVersion, "go1.") {
		t.Fatalf("version: exit %d %s %s", code, out, errOut)
	}
}

// TestConfigRefused: a value from the file or the environment goes through
// the same checks as a flag, and a refusal is a usage error (exit 2) that
// says where the value came from.
func TestConfigRefused(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("log-entries: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknown, []byte("ws-addr: \":1\"\nno-such-flag: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"file value checked", nil, []string{"coordinator", "--data-dir", dir, "--config", bad}, "--log-entries 0"},
		{"environment value checked", map[string]string{"RCC_LOG_ENTRIES": "0"}, []string{"coordinator", "--data-dir", dir}, "--log-entries 0"},
		{"flag of another command", nil, []string{"coordinator", "--data-dir", dir, "--config", unknown}, `"ws-addr" is not a flag of rccd coordinator`},
		{"dev reads the file too", map[string]string{"RCC_CONFIG": unknown, "XDG_CONFIG_HOME": dir}, []string{"dev", "--data-dir", dir, "--no-credentials"},
			`"no-such-flag" is not a flag of rccd dev`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if code, _, errOut := rccd(t, tc.args...); code != exitUsage || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d: %s; want exit 2 and %q", code, errOut, tc.want)
			}
		})
	}
}
