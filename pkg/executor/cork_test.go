package executor

import (
	"fmt"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// corked serves the harness's players through a corkListener, as Listen
// does.
func corked(_ *Config, srv *httptestServer) { srv.Listener = corkListener{Listener: srv.Listener} }

// TestCoalescedWrites: messages that wait in a client's queue together go
// out in one write and reach the client whole and in order.
func TestCoalescedWrites(t *testing.T) {
	h := newHarness(t, corked)
	h.start(InstanceSpec{ID: "rec", Game: "recorder", Module: testModule(t, "recorder"), MaxPlayers: 4})
	c, _ := h.join("alice", "rec") // the scheduler is not running: no states
	in := h.ex.lookup("rec")
	testenv.WaitFor(t, "alice's session", 5*time.Second, func() bool { return len(*in.sessions.Load()) == 1 })
	s := (*in.sessions.Load())[0]
	if _, ok := s.conn.NetConn().(*corkConn); !ok {
		t.Fatalf("the session's connection is a %T, not a corkConn", s.conn.NetConn())
	}
	// Queue five messages at once, the writer held off by the lock.
	s.mu.Lock()
	for i := range 5 {
		msg, _ := protocol.Encode(&protocol.PlayerJoined{Player: fmt.Sprint("p", i)})
		s.queue = append(s.queue, outMessage{data: msg})
	}
	s.queue = append(s.queue, outMessage{state: newBroadcast(1, []byte("state one"), nil)})
	s.mu.Unlock()
	s.wake()
	for i := range 5 {
		f, ok := c.next().(*protocol.PlayerJoined)
		if !ok || f.Player != fmt.Sprint("p", i) {
			t.Fatalf("message %d: %#v, want p%d joined", i, f, i)
		}
	}
	if st, ok := c.next().(*protocol.State); !ok || st.Frame != 1 || string(st.Data) != "state one" {
		t.Fatalf("sixth message %#v, want the state", st)
	}
	// Counted once the write has returned, which may be after the reads.
	testenv.WaitFor(t, "five messages counted as coalesced (six in one write)", 5*time.Second, func() bool {
		v, _ := metricValue(h.scrape(), "rcc_executor_coalesced_messages_total")
		return v == 5
	})
}
