package executor

import (
	"fmt"
	"net"
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
func TestCoalescedWrites(t *testing.T) { sendPaths(t, testCoalescedWrites) }

func testCoalescedWrites(t *testing.T, path harnessOption) {
	h := newHarness(t, corked, path)
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

// TestCorkDeadlines: a corkConn keeps a deadline in place when the one
// asked for ends no later and at most a quarter of its wait earlier, and
// otherwise sets the one asked for plus a quarter of the wait; a deadline
// still ends a blocked read on a real connection, never before it was due.
func TestCorkDeadlines(t *testing.T) {
	var cur time.Time
	var sets []time.Time
	set := func(d time.Time) error { sets = append(sets, d); return nil }
	now := time.Now()
	_ = setDeadline(now.Add(4*time.Second), &cur, set)
	if len(sets) != 1 || sets[0].Before(now.Add(4900*time.Millisecond)) || sets[0].After(now.Add(5*time.Second)) {
		t.Fatalf("first deadline set %v, want about now+5s", sets)
	}
	for i := 1; i <= 10; i++ { // later asks within the quarter: kept
		_ = setDeadline(now.Add(4*time.Second+time.Duration(i)*50*time.Millisecond), &cur, set)
	}
	if len(sets) != 1 {
		t.Errorf("%d sets for asks the deadline in place covers", len(sets))
	}
	_ = setDeadline(now.Add(6*time.Second), &cur, set) // beyond it: set again
	_ = setDeadline(now.Add(time.Second), &cur, set)   // much earlier: set again
	_ = setDeadline(time.Time{}, &cur, set)            // none
	_ = setDeadline(time.Time{}, &cur, set)            // none again: nothing to do
	if len(sets) != 4 || !sets[1].After(now.Add(6*time.Second)) || !sets[2].Before(now.Add(2*time.Second)) || !sets[3].IsZero() {
		t.Errorf("sets %v", sets)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			time.Sleep(2 * time.Second) // sends nothing
			c.Close()
		}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	c := &corkConn{Conn: raw}
	start := time.Now()
	for range 5 {
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	}
	_, err = c.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("read: %v, want a timeout", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("the read timed out after %v, want 200-250 ms (and scheduling)", d)
	}
}
