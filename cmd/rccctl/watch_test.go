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
// header and then a row per change, in fixed columns, as they happen; an
// event that changes nothing a row shows but figures prints none.
func TestWatchTable(t *testing.T) {
	srv := coordinatortest.Start(t, coordinator.Config{})
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("RCC_CONTEXT", "")
	t.Setenv("RCC_ADDR", srv.Addr)
	t.Setenv("RCC_TOKEN", string(srv.Token(auth.RoleAdmin, "watch")))
	if code, out, errOut := rccctl(t, "game", "deploy", "../../pkg/coordinator/testdata/minimal.wasm", "--name", "mini"); code != 0 {
		t.Fatalf("deploy: %s%s", out, errOut)
	}
	var out, errOut testenv.SyncBuffer
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
	// One row per change: pending, then stopped (a pending instance stops
	// at once), the same pending twice (snapshot and event) printed once.
	if len(lines) != 3 {
		t.Fatalf("want a header and two rows:\n%s", out.String())
	}
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

// TestWatchTableHeartbeats: the heartbeats of a running instance's
// executor, which resend it with fresh figures, add no rows to the table;
// its changes of state do.
func TestWatchTableHeartbeats(t *testing.T) {
	srv := coordinatortest.Start(t, coordinator.Config{HeartbeatInterval: 50 * time.Millisecond, MissedHeartbeats: 100,
		ReapInterval: 50 * time.Millisecond, ResyncInterval: 200 * time.Millisecond})
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("RCC_CONTEXT", "")
	t.Setenv("RCC_ADDR", srv.Addr)
	t.Setenv("RCC_TOKEN", string(srv.Token(auth.RoleAdmin, "watch")))
	if code, out, errOut := rccctl(t, "game", "deploy", "../../pkg/coordinator/testdata/minimal.wasm", "--name", "mini"); code != 0 {
		t.Fatalf("deploy: %s%s", out, errOut)
	}
	startExecutor(t, srv, "ex-watch")
	var out, jsonOut, errOut testenv.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 2)
	go func() { done <- run(ctx, []string{"instance", "ls", "--watch"}, &out, &errOut) }()
	go func() { done <- run(ctx, []string{"instance", "ls", "--watch", "-o", "json"}, &jsonOut, &errOut) }()
	var in struct{ ID string }
	_, spawned, _ := rccctl(t, "instance", "spawn", "mini", "-o", "json")
	if err := json.Unmarshal([]byte(spawned), &in); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the running row", 30*time.Second, func() bool { return strings.Contains(out.String(), "running") })
	// Heartbeats with figures reach the JSON stream...
	testenv.WaitFor(t, "five events with figures", 30*time.Second, func() bool {
		return strings.Count(jsonOut.String(), `"reported_at"`) >= 5
	})
	rccctl(t, "instance", "stop", in.ID)
	testenv.WaitFor(t, "the stopped row", 30*time.Second, func() bool { return strings.Contains(out.String(), "stopped") })
	cancel()
	<-done
	<-done
	// ...and none to the table: each row changes the state.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	stateCol := strings.Index(lines[0], "STATE")
	prev := ""
	for _, l := range lines[1:] {
		s := strings.Fields(l[stateCol:])[0]
		if s == prev {
			t.Fatalf("two rows with state %s in a row:\n%s", s, out.String())
		}
		prev = s
	}
	if prev != "stopped" || len(lines) > 6 {
		t.Fatalf("rows:\n%s", out.String())
	}
}
