package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// TestInstanceShadow runs rccctl instance shadow through a real
// coordinator and executor: the running version as candidate compares its
// frames with no difference (exit 0), a candidate whose load_state traps
// reports that failure (exit 1), both in JSON held by golden files, and
// the instance runs on.
func TestInstanceShadow(t *testing.T) {
	srv := coordinatortest.Start(t, coordinator.Config{HeartbeatInterval: 100 * time.Millisecond, MissedHeartbeats: 50,
		ReapInterval: 50 * time.Millisecond, ResyncInterval: 200 * time.Millisecond})
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("RCC_ADDR", "")
	t.Setenv("RCC_TOKEN", "")
	t.Setenv("RCC_CONTEXT", "")
	conn := []string{"--addr", srv.Addr, "--token", string(srv.Token(auth.RoleAdmin, "shadow"))}
	ctl := func(t *testing.T, want int, args ...string) string {
		t.Helper()
		code, out, errOut := rccctl(t, append(args, conn...)...)
		if code != want {
			t.Fatalf("rccctl %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out
	}
	ctl(t, exitOK, "game", "deploy", corpus+"upgradable.wasm", "--name", "counter")
	ctl(t, exitOK, "game", "deploy", corpus+"upgrade_trap.wasm", "--name", "counter")
	var spawned struct{ ID string }
	if err := json.Unmarshal([]byte(ctl(t, exitOK, "instance", "spawn", "counter", "--version", "1", "-o", "json")), &spawned); err != nil {
		t.Fatal(err)
	}
	id := spawned.ID
	startExecutor(t, srv, "ex-shadow")
	testenv.WaitFor(t, "the instance to run", 30*time.Second, func() bool {
		return strings.Contains(ctl(t, exitOK, "instance", "get", id, "-o", "json"), `"state": "running"`)
	})

	// report reads the JSON report, checks it names the instance, and
	// writes it with the run's live figures as zeros.
	// report reads the JSON report (every member known), checks it names
	// the instance, and writes it with the run's live figures as zeros.
	report := func(t *testing.T, out string) (shadowOut, string) {
		t.Helper()
		var r shadowOut
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if r.InstanceID != id {
			t.Errorf("instance_id %v, want %s", r.InstanceID, id)
		}
		norm := r
		norm.InstanceID, norm.FromFrame, norm.ElapsedMs = "<id-1>", 0, 0
		norm.Live.TickP50ms, norm.Live.TickP99ms, norm.Candidate.TickP50ms, norm.Candidate.TickP99ms = 0, 0, 0, 0
		var b strings.Builder
		if err := writeJSON(&b, norm); err != nil {
			t.Fatal(err)
		}
		return r, b.String()
	}

	t.Run("same_version", func(t *testing.T) {
		m, norm := report(t, ctl(t, exitOK, "instance", "shadow", id, "--version", "1", "--frames", "90", "-o", "json"))
		if m.Start != "snapshot" || m.Differs || m.Frames != 90 || m.Ended != "frames" || m.Live.FuelP50 != m.Candidate.FuelP50 {
			t.Errorf("report %s", norm)
		}
		golden(t, norm)
	})
	t.Run("load_state_traps", func(t *testing.T) {
		m, norm := report(t, ctl(t, exitFail, "instance", "shadow", id, "--version", "2", "-o", "json"))
		if m.FailureReason != "trap" || !strings.Contains(m.Failure, "load_state") || m.Ended != "candidate_failed" || m.Start != "load_state" {
			t.Errorf("report %s", norm)
		}
		golden(t, norm)
	})
	t.Run("table", func(t *testing.T) {
		out := ctl(t, exitOK, "instance", "shadow", id, "--version", "1", "--for", "500ms")
		for _, want := range []string{"first difference  none", "ended: time", "live", "candidate", "SIDE"} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("detached", func(t *testing.T) {
		out := ctl(t, exitOK, "instance", "shadow", id, "--version", "1", "--frames", "60", "--detach", "-o", "json")
		var o shadowOrderOut
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil || !o.Detached || o.InstanceID != id || o.Version != 1 || o.LiveVersion != 1 {
			t.Fatalf("detached answer %+v (%v)\n%s", o, err, out)
		}
		// The outcome, which nobody waited for, is in the instance's log.
		testenv.WaitFor(t, "the detached run's outcome in the instance's log", 60*time.Second, func() bool {
			logs := ctl(t, exitOK, "instance", "logs", id, "--tail", "50")
			return strings.Contains(logs, "shadow: shadow run of version 1 from frame") && strings.Contains(logs, ": 60 frames, no difference (ended: frames)")
		})
		if out := ctl(t, exitOK, "instance", "shadow", id, "--version", "2", "--detach"); !strings.Contains(out, "ordered; its outcome goes to the instance's log") {
			t.Errorf("detached table answer:\n%s", out)
		}
		testenv.WaitFor(t, "the failed detached run in the instance's log", 60*time.Second, func() bool {
			logs := ctl(t, exitOK, "instance", "logs", id, "--tail", "50")
			return strings.Contains(logs, "shadow run of version 2 from frame") && strings.Contains(logs, "the candidate failed after 0 frames")
		})
	})
	ctl(t, exitFail, "instance", "shadow", "i-nope", "--version", "1")
	if out := ctl(t, exitOK, "instance", "get", id, "-o", "json"); !strings.Contains(out, `"state": "running"`) || !strings.Contains(out, `"version": 1`) {
		t.Errorf("after the shadow runs:\n%s", out)
	}
}
