package coordinator_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// grpcurlPath finds grpcurl on PATH or in the repository's bin/ (where make
// setup installs it).
func grpcurlPath(t *testing.T) string {
	if p, err := exec.LookPath("grpcurl"); err == nil {
		return p
	}
	if p, err := filepath.Abs("../../bin/grpcurl"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	testenv.Unavailable(t, "grpcurl", "make setup puts it in bin/")
	return ""
}

// TestGrpcurl drives the coordinator with stock grpcurl: services listed
// through reflection, health SERVING, and an authenticated call.
func TestGrpcurl(t *testing.T) {
	bin := grpcurlPath(t)
	e := start(t, sqliteStore(t), newIssuer(t), nil)
	e.deploy("arena")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"-plaintext"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("grpcurl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	list := run(e.addr, "list")
	for _, svc := range []string{"grpc.health.v1.Health", "rcc.v1.GameService", "rcc.v1.InstanceService", "rcc.v1.ExecutorService", "rcc.v1.WatchService"} {
		if !strings.Contains(list, svc) {
			t.Errorf("list lacks %s:\n%s", svc, list)
		}
	}
	if out := run(e.addr, "grpc.health.v1.Health/Check"); !strings.Contains(out, `"SERVING"`) {
		t.Fatalf("health: %s", out)
	}
	tok := string(e.token(auth.RoleAdmin))
	if out := run("-H", "authorization: Bearer "+tok, e.addr, "rcc.v1.GameService/ListGames"); !strings.Contains(out, `"arena"`) {
		t.Fatalf("ListGames: %s", out)
	}
	out, err := exec.Command(bin, "-plaintext", e.addr, "rcc.v1.GameService/ListGames").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Unauthenticated") {
		t.Fatalf("call without token: %v\n%s", err, out)
	}
}
