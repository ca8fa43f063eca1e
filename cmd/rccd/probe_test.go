package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/probe"
)

// TestProbe runs the hostile battery of pkg/probe against real processes:
// rccd coordinator on SQLite and one rccd executor. Add probes to
// probe.Cases.
func TestProbe(t *testing.T) {
	module, err := os.ReadFile(filepath.Join("..", "..", "pkg", "coordinator", "testdata", "minimal.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, "sqlite://"+filepath.Join(t.TempDir(), "rcc.db"))
	x := c.executor("ex-probe")
	c.deploy("probe", module)
	tok, _, err := c.issuer.RoleToken(auth.RoleAdmin, "probe", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	probe.Run(t, &probe.Target{Addr: c.addr, Admin: c.admin, AdminToken: string(tok), CoordinatorPID: c.coord.cmd.Process.Pid,
		Game: "probe", Module: module, ExecutorID: x.id})
}
