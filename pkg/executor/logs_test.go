package executor

import (
	"strings"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// TestLogsOfAPanic runs a Go guest that panics on a player's input: its
// lines and lifecycle events are in the instance's log, in order, with
// their frames, and its panic text is in the failure's reason and in the
// player's close frame.
func TestLogsOfAPanic(t *testing.T) {
	h := newHarness(t)
	h.start(InstanceSpec{ID: "p1", Game: "panicky", Version: "1", Module: gamebuildtest.Panicky(t),
		Params: []byte(`{"panic_at": 100000}`)})
	c, _ := h.join("alice", "p1")
	h.run()
	testenv.WaitFor(t, "frame 20", 10*time.Second, func() bool { st, _ := h.ex.Instance("p1"); return st.Frames >= 20 })
	if err := c.send([]byte("panic")); err != nil {
		t.Fatal(err)
	}
	text := c.expectClose(protocol.CloseInstanceFailed, 10*time.Second)
	if !strings.Contains(text, "panic: boom on input from alice") || len(text) > protocol.MaxCloseReasonBytes {
		t.Errorf("close reason %q (%d bytes), want the panic text within %d bytes", text, len(text), protocol.MaxCloseReasonBytes)
	}
	st, _ := h.ex.Instance("p1")
	if st.State != StateFailed || st.Reason != "trap" || !strings.HasSuffix(st.Detail, "; stderr: panic: boom on input from alice") {
		t.Fatalf("status %s %q %q", st.State, st.Reason, st.Detail)
	}
	if got := ReasonText(st.State, st.Reason, st.Detail); !strings.HasPrefix(got, "trap in on_input: unreachable; stderr: panic: boom on input from alice") {
		t.Errorf("reason text %q", got)
	}

	entries, lost, err := h.ex.Logs("p1", 0)
	if err != nil || lost != 0 {
		t.Fatalf("logs: %v, lost %d", err, lost)
	}
	var seen []string
	var lastFrame uint64
	for k, e := range entries {
		if e.Seq != uint64(k+1) || e.Time.IsZero() {
			t.Fatalf("entry %d = %+v", k, e)
		}
		if e.Frame < lastFrame {
			t.Errorf("entry %d at frame %d after frame %d", k, e.Frame, lastFrame)
		}
		lastFrame = e.Frame
		switch {
		case e.Stream == LogEvent:
			seen = append(seen, e.Event)
		case e.Stream == LogStdout && (strings.HasPrefix(e.Text, "panicky ready") || e.Text == "hello alice"):
			seen = append(seen, e.Text)
		case e.Stream == LogStderr && (e.Text == "alice asked for it" || strings.HasPrefix(e.Text, "panic: ")):
			seen = append(seen, e.Text)
		}
		if e.Stream == LogStdout && e.Text == "frame 10" && e.Frame != 10 {
			t.Errorf("line %q at frame %d, want 10", e.Text, e.Frame)
		}
	}
	want := []string{"panicky ready, panicking at frame 100000", EventStarted, EventPlayerJoined, "hello alice",
		"alice asked for it", "panic: boom on input from alice", EventFailed}
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Fatalf("log has\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	last := entries[len(entries)-1]
	if last.Event != EventFailed || !strings.Contains(last.Text, "panic: boom on input from alice") {
		t.Errorf("last entry %+v", last)
	}
	// Reading on from the last entry gives nothing new.
	if more, _, _ := h.ex.Logs("p1", last.Seq); len(more) != 0 {
		t.Errorf("after the last entry: %+v", more)
	}
	if _, _, err := h.ex.Logs("nope", 0); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("logs of an unknown instance: %v", err)
	}
}

// TestLogsBoundedUnderFlood: a guest that floods its stdout keeps at
// most Config.LogEntries entries, the rate limit's drops are noted, and
// a reader that fell behind learns how many entries it lost.
func TestLogsBoundedUnderFlood(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *httptestServer) { c.LogEntries = 16 })
	h.start(InstanceSpec{ID: "chatty", Game: "chatty", Module: testModule(t, "chatty")})
	h.run()
	testenv.WaitFor(t, "lines dropped by the rate limit", 10*time.Second, func() bool {
		entries, _, _ := h.ex.Logs("chatty", 0)
		for _, e := range entries {
			if e.Event == EventDropped {
				return true
			}
		}
		return false
	})
	entries, lost, err := h.ex.Logs("chatty", 0)
	if err != nil || len(entries) > 16 {
		t.Fatalf("%d entries kept, want at most 16 (%v)", len(entries), err)
	}
	if first := entries[0].Seq; lost != first-1 || lost == 0 {
		t.Fatalf("lost %d, first seq %d", lost, first)
	}
	next, lost2, _ := h.ex.Logs("chatty", entries[len(entries)-1].Seq)
	if lost2 != 0 && len(next) > 0 && next[0].Seq != entries[len(entries)-1].Seq+1+lost2 {
		t.Fatalf("read on: lost %d, next %+v", lost2, next[0])
	}
}

// TestLogsLastWordsInReason: a line the guest left without its newline
// when it trapped ends the failure's reason.
func TestLogsLastWordsInReason(t *testing.T) {
	h := newHarness(t)
	h.start(InstanceSpec{ID: "lw", Game: "last_words", Module: testModule(t, "last_words")})
	h.run()
	testenv.WaitFor(t, "the failure", 10*time.Second, func() bool { st, _ := h.ex.Instance("lw"); return st.State == StateFailed })
	st, _ := h.ex.Instance("lw")
	if got, want := ReasonText(st.State, st.Reason, st.Detail), "trap in tick: unreachable; stderr: assertion failed: hp >= 0"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
}
