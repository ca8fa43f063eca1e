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

func TestEnvTwins(t *testing.T) {
	var addr, db string
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	cmd.Flags().StringVar(&addr, "grpc-addr", ":7400", "")
	cmd.Flags().StringVar(&db, "db", "", "")
	env := map[string]string{"RCC_GRPC_ADDR": ":8000", "RCC_DB": "sqlite://env.db"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if err := cmd.ParseFlags([]string{"--db", "sqlite://flag.db"}); err != nil {
		t.Fatal(err)
	}
	if err := applyEnv(cmd, lookup); err != nil {
		t.Fatal(err)
	}
	if addr != ":8000" || db != "sqlite://flag.db" {
		t.Fatalf("addr %q db %q: want the environment's addr and the flag's db", addr, db)
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
		done <- run(ctx, []string{"coordinator", "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"}, &logs, &logs)
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
	c, err := client.Dial(addr, auth.Token(strings.TrimSpace(out)))
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

	// A connected executor's assignment stream and an operator's watch
	// stream do not hold the shutdown: they end at once with UNAVAILABLE.
	code, out, errOut = rccd(t, "token", "create", "--role", "executor", "--subject", "ex1", "--data-dir", dir)
	if code != 0 {
		t.Fatal(errOut)
	}
	xc, err := client.Dial(addr, auth.Token(strings.TrimSpace(out)))
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
		{[]string{"token", "revoke"}, `unknown command "revoke" for "rccd token"`},
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
