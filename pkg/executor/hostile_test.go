package executor

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// TestHostileCorpus runs every hostile module of the sandbox's corpus on
// one executor, each with a connected player, beside an arena: each ends
// with its own reason in its player's close frame, and the arena goes on.
func TestHostileCorpus(t *testing.T) {
	tests := []struct {
		module, reason string
		input          bool // the module misbehaves on input
	}{
		{"tick_loop", "fuel_exhausted", false},
		{"out_of_bounds", "trap", false},
		{"memory_bomb", "out_of_memory", false},
		{"huge_state", "state_too_large", false},
		{"bad_state_pointer", "bad_state_buffer", false},
		{"stdout_flood", "log_flood", false},
		{"recursion", "stack_overflow", false},
		{"proc_exit", "exit", false},
		{"input_loop", "fuel_exhausted", true},
	}
	control := startControl(t)
	h := newHarness(t)
	h.start(arenaSpec(t, "arena", 4))
	clients := make([]*client, len(tests))
	for i, tt := range tests {
		id := fmt.Sprint("hostile-", tt.module)
		h.start(InstanceSpec{ID: id, Game: tt.module, Module: testModule(t, tt.module)})
		clients[i], _ = h.join("victim", id)
	}
	player, _ := h.join("player", "arena")
	p := startPace(h, "arena", control)
	h.run()
	for i, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			c := clients[i]
			if tt.input {
				if err := c.send([]byte{1}); err != nil {
					t.Fatal(err)
				}
			}
			text := c.expectClose(protocol.CloseInstanceFailed, 10*time.Second)
			if _, detail := protocol.ParseReason(text); !strings.HasPrefix(detail, tt.reason) {
				t.Errorf("close reason %q, want the detail to start with %q", text, tt.reason)
			}
			st, _ := h.ex.Instance(fmt.Sprint("hostile-", tt.module))
			if st.State != StateFailed || string(st.Reason) != tt.reason {
				t.Errorf("status %s %q (%s), want failed %q", st.State, st.Reason, st.Detail, tt.reason)
			}
		})
	}
	// The arena is still running and serving, and kept pace with a
	// control arena on an executor without hostile neighbours over the
	// whole window: from the first frame until every hostile instance had
	// failed, and 60 control frames more.
	first, _ := player.nextState()
	testenv.WaitFor(t, "30 more arena frames", 10*time.Second, func() bool {
		st, _ := h.ex.Instance("arena")
		return st.State == StateRunning && st.Frames >= first.Frame+30
	})
	p.check(t, p.control.frames(controlID)-p.c0+60)
}
