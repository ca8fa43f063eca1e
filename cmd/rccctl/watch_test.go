package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// TestWatchTable: without --output json, instance ls --watch prints a
// header and then a row per change, in fixed columns, as they happen.
func TestWatchTable(t *testing.T) {
	srv := coordinatortest.Start(t, coordinator.Config{})
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("RCC_CONTEXT", "")
	t.Setenv("RCC_ADDR", srv.Addr)
	t.Setenv("RCC_TOKEN", string(srv.Token(auth.RoleAdmin, "watch")))
	if code, out, errOut := rccctl(t, "game", "deploy", "../../pkg/coordinator/testdata/minimal.wasm", "--name", "mini"); code != 0 {
		t.Fatalf("deploy: %s%s", out, errOut)
	}
	var out, errOut syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"instance", "ls", "--watch", "--game", "mini"}, &out, &errOut) }()

	var in struct{ ID string }
	_, spawned, _ := rccctl(t, "instance", "spawn", "mini", "--label", "team=red", "-o", "json")
	if err := json.Unmarshal([]byte(spawned), &in); err != nil {
		t.Fatal(err)
	}
	// The watch may start after the spawn (then the snapshot has it) or
	// before (then the change does): either way a pending row comes.
	testenv.WaitFor(t, "the pending row", 10*time.Second, func() bool { return strings.Contains(out.String(), "pending") })
	rccctl(t, "instance", "stop", in.ID)
	testenv.WaitFor(t, "the stopped row", 10*time.Second, func() bool { return strings.Contains(out.String(), "stopped") })
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.HasPrefix(lines[0], "TIME      ID                    GAME") {
		t.Fatalf("header %q", lines[0])
	}
	idCol := strings.Index(lines[0], "ID")
	stateCol := strings.Index(lines[0], "STATE")
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l[idCol:], in.ID) || !strings.HasSuffix(l, "team=red") {
			t.Errorf("row %q: want %s in the ID column and its labels last", l, in.ID)
		}
		if s := strings.Fields(l[stateCol:])[0]; s != "pending" && s != "stopped" {
			t.Errorf("row %q: state %q in the STATE column", l, s)
		}
	}
}
