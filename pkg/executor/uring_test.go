package executor

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// sendPaths runs test on each way an executor can write to its players:
// "write", the connection's own writes as each test sets them up, and
// "io_uring", every write of every connection through a send ring
// (ServeConfig.IOUring).
func sendPaths(t *testing.T, test func(t *testing.T, path harnessOption)) {
	t.Run("write", func(t *testing.T) { test(t, func(*Config, *httptestServer) {}) })
	t.Run("io_uring", func(t *testing.T) { test(t, onRing(t)) })
}

// onRing serves the harness's players through a send ring: the option
// goes last, after any that wraps the listener.
func onRing(t *testing.T) harnessOption {
	return func(_ *Config, srv *httptestServer) {
		r := newTestRing(t)
		if cl, ok := srv.Listener.(corkListener); ok {
			cl.ring = r
			srv.Listener = cl
			return
		}
		srv.Listener = corkListener{Listener: srv.Listener, ring: r}
	}
}

func newTestRing(t *testing.T) *sendRing {
	t.Helper()
	r, err := newSendRing()
	if err != nil {
		if runtime.GOOS != "linux" {
			t.Skipf("skipping: io_uring sends need Linux: %v", err)
		}
		testenv.Unavailable(t, "io_uring ("+err.Error()+")", "a Linux kernel with io_uring enabled (sysctl kernel.io_uring_disabled=0)")
	}
	// After the harness's own cleanup (which closes the connections).
	t.Cleanup(r.close)
	return r
}

// ringOf returns the ring of the harness's listener.
func ringOf(h *harness) *sendRing { return h.srv.Listener.(corkListener).ring }

// TestRingStatesInOrder: with every write on the ring, each of many
// players gets every state of an instance, in order, and the sends went
// out in batches.
func TestRingStatesInOrder(t *testing.T) {
	const players = 24
	h := newHarness(t, onRing(t))
	h.start(InstanceSpec{ID: "arena", Game: "arena", Module: arenaModule(t), MaxPlayers: players, TickHz: 60, SnapshotHz: 60})
	clients := make([]*client, players)
	for i := range clients {
		clients[i], _ = h.join("p"+string(rune('a'+i)), "arena")
	}
	h.run()
	errs := make(chan error, players)
	for i, c := range clients {
		go func() { errs <- readConsecutive(c, 120, fmt.Sprint("player ", i)) }()
	}
	for range players {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	r := ringOf(h)
	sends, batches := r.sends.Load(), r.batches.Load()
	t.Logf("%d sends in %d batches", sends, batches)
	if sends < players*120 {
		t.Errorf("%d sends on the ring, want at least %d (every state of every player)", sends, players*120)
	}
	if batches >= sends {
		t.Errorf("%d batches for %d sends: none batched", batches, sends)
	}
}

// TestRingClosedPeer: a player whose connection is reset while on the
// ring is gone from the instance, and the others keep getting states.
func TestRingClosedPeer(t *testing.T) {
	h := newHarness(t, onRing(t))
	h.start(InstanceSpec{ID: "arena", Game: "arena", Module: arenaModule(t), MaxPlayers: 4, TickHz: 60, SnapshotHz: 60})
	h.run()
	gone, _ := h.join("gone", "arena")
	stay, _ := h.join("stay", "arena")
	gone.nextState()
	// A reset rather than a close frame: the executor's next sends fail.
	if tc, ok := gone.conn.NetConn().(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	gone.conn.NetConn().Close()
	testenv.WaitFor(t, "the closed player to be gone", 10*time.Second, func() bool {
		st, _ := h.ex.Instance("arena")
		return strings.Join(st.Players, ",") == "stay"
	})
	first, _ := stay.nextState()
	for range 30 {
		st, _ := stay.nextState()
		if st.Frame <= first.Frame {
			t.Fatalf("frame %d after %d", st.Frame, first.Frame)
		}
		first = st
	}
	if ringOf(h).sends.Load() == 0 {
		t.Error("nothing was sent on the ring")
	}
}

// TestRingServer: Listen with IOUring serves players through the ring
// (and not with TLS), and Shutdown still tells them.
func TestRingServer(t *testing.T) {
	srv, err := Listen(ServeConfig{WSAddr: "127.0.0.1:0", IOUring: true})
	if err != nil {
		if strings.Contains(err.Error(), "io_uring") {
			testenv.Unavailable(t, "io_uring ("+err.Error()+")", "a Linux kernel with io_uring enabled (sysctl kernel.io_uring_disabled=0)")
		}
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	if srv.ring == nil {
		t.Fatal("no send ring with IOUring set")
	}
	if cl, ok := srv.ws.(corkListener); !ok || cl.ring != srv.ring {
		t.Fatalf("the players' listener %T does not send on the ring", srv.ws)
	}
}

// readConsecutive reads n states after the first and reports the first
// that does not follow the one before (without the test's helpers, which
// end the test from the test's goroutine only).
func readConsecutive(c *client, n int, who string) error {
	var last uint64
	for i := 0; i <= n; {
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			return fmt.Errorf("%s: read: %w", who, err)
		}
		f, err := protocol.Decode(b)
		if err != nil {
			return fmt.Errorf("%s: decode: %w", who, err)
		}
		st, ok := f.(*protocol.State)
		if !ok {
			continue
		}
		if i > 0 && st.Frame != last+1 {
			return fmt.Errorf("%s: frame %d after %d", who, st.Frame, last)
		}
		last = st.Frame
		i++
	}
	return nil
}
