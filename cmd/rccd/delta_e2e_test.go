package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/world"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// gateProxy forwards players' TCP connections to an executor. It can hold
// back what the executor sends (as a congested network does) and cut every
// connection (as a dropped one is).
type gateProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	held   bool
	resume chan struct{} // closed when the hold ends
	conns  []net.Conn
}

func newGateProxy(t *testing.T, target string) *gateProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &gateProxy{l: l, target: target, resume: make(chan struct{})}
	close(p.resume)
	t.Cleanup(func() { l.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *gateProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		// A small window towards the executor, set before the handshake,
		// so that holding back fills its socket and its queue for this
		// player quickly.
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048)
			})
		}}
		up, err := d.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() {
			buf := make([]byte, 2048)
			for {
				n, err := up.Read(buf)
				if n > 0 {
					p.mu.Lock()
					wait := p.resume
					p.mu.Unlock()
					<-wait
					if _, werr := c.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			c.Close()
		}()
	}
}

func (p *gateProxy) hold() {
	p.mu.Lock()
	if !p.held {
		p.held, p.resume = true, make(chan struct{})
	}
	p.mu.Unlock()
}

func (p *gateProxy) release() {
	p.mu.Lock()
	if p.held {
		p.held = false
		close(p.resume)
	}
	p.mu.Unlock()
}

func (p *gateProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// proxiedJoin joins through the coordinator and points the play URL at the
// proxy.
type proxiedJoin struct {
	c      *cluster
	proxy  *gateProxy
	player string
}

func (j proxiedJoin) PlayURL(ctx context.Context) (string, error) {
	resp, err := j.c.admin.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: j.player})
	if err != nil {
		return "", err
	}
	return protocol.PlayURL("ws://"+j.proxy.l.Addr().String(), resp.InstanceId, resp.Ticket)
}

// recorded keeps every state a session received, by frame.
type recorded struct {
	mu     sync.Mutex
	states map[uint64][]byte
}

func (r *recorded) onEvent(ev play.Event) {
	if ev.Kind == play.EventState {
		r.mu.Lock()
		r.states[ev.Frame] = bytes.Clone(ev.Data)
		r.mu.Unlock()
	}
}

// metricSum reads an executor's /metrics and adds up the series of name.
func metricSum(t testing.TB, addr, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// TestE2EDeltaAndFullStates: with rccd coordinator and executor as
// processes, a player on deltas and one on full states see the same state
// bytes at every frame both received, through states the executor drops
// while the network holds them back, and through a cut connection and the
// reconnection.
// The same with --io-uring: the executor's sends through io_uring.
func TestE2EDeltaAndFullStates(t *testing.T) {
	t.Run("write", func(t *testing.T) { testE2EDeltaAndFullStates(t) })
	t.Run("io_uring", func(t *testing.T) { testE2EDeltaAndFullStates(t, "--io-uring") })
}

func testE2EDeltaAndFullStates(t *testing.T, flags ...string) {
	arena := arenaModule(t)
	c := newCluster(t, "sqlite://"+filepath.Join(t.TempDir(), "rcc.db"))
	// A small send buffer per player, so that a stalled player has states
	// dropped within seconds.
	x := c.executor("ex-a", append([]string{"--socket-write-buffer", "4096"}, flags...)...)
	u, err := url.Parse(x.wsURL)
	if err != nil {
		t.Fatal(err)
	}
	// A proxy of its own for each player.
	dproxy, fproxy := newGateProxy(t, u.Host), newGateProxy(t, u.Host)
	c.deploy("arena", arena)
	// A state every tick for both players (deltas default to 30 Hz), so
	// that they receive the same frames.
	in := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600, SnapshotHz: 60})
	c.waitInstance(in.Id, "running", isState(rccv1.InstanceState_INSTANCE_STATE_RUNNING))

	dr := &recorded{states: map[uint64][]byte{}}
	fr := &recorded{states: map[uint64][]byte{}}
	cfg := func(r *recorded, full bool) play.Config {
		return play.Config{RawStates: true, FullStates: full, OnEvent: r.onEvent, MinBackoff: 20 * time.Millisecond}
	}
	d := play.Start(proxiedJoin{c, dproxy, "delta"}, cfg(dr, false))
	f := play.Start(proxiedJoin{c, fproxy, "full"}, cfg(fr, true))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, s := range []*play.Session{d, f} {
		t.Cleanup(func() { _ = s.Close() })
		if err := s.Ready(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.SendController(world.Controller{MoveX: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if !d.Stats().Welcome.Delta || f.Stats().Welcome.Delta {
		t.Fatal("the delta session was not granted deltas, or the full one was")
	}
	states := func(n uint64) func() bool {
		return func() bool { return d.Stats().States >= n && f.Stats().States >= n }
	}
	testenv.WaitFor(t, "states on both sessions", 30*time.Second, states(60))

	// Drops: the network holds back what the delta player gets until the
	// executor drops states for it.
	dproxy.hold()
	testenv.WaitFor(t, "the executor to drop states", 30*time.Second, func() bool {
		return metricSum(t, x.metrics, "rcc_executor_state_frames_dropped_total") > 0
	})
	dproxy.release()
	testenv.WaitFor(t, "states after the drops", 30*time.Second, func() bool {
		return d.Stats().Missed > 0 && d.Stats().Keyframes >= 2
	})
	before := d.Stats().States

	// A cut connection: both sessions reconnect with fresh tickets.
	dproxy.cut()
	fproxy.cut()
	testenv.WaitFor(t, "both sessions to reconnect", 30*time.Second, func() bool {
		sd, sf := d.Stats(), f.Stats()
		return sd.Reconnects == 1 && sf.Reconnects == 1 && sd.State == play.Connected && sf.State == play.Connected
	})
	testenv.WaitFor(t, "states after the reconnection", 30*time.Second, states(before+60))
	sd, sf := d.Stats(), f.Stats()
	_ = d.Close()
	_ = f.Close()

	dr.mu.Lock()
	fr.mu.Lock()
	defer dr.mu.Unlock()
	defer fr.mu.Unlock()
	compared := 0
	for n, want := range fr.states {
		if got, ok := dr.states[n]; ok {
			compared++
			if !bytes.Equal(got, want) {
				t.Fatalf("frame %d: the delta player has %d bytes that differ from the full player's %d", n, len(got), len(want))
			}
		}
	}
	t.Logf("%d frames compared; delta player: %d states, %d deltas, %d keyframes, %d missed; full player: %d states, %d missed",
		compared, sd.States, sd.Deltas, sd.Keyframes, sd.Missed, sf.States, sf.Missed)
	if compared < 150 {
		t.Errorf("only %d frames received by both players", compared)
	}
	// A keyframe at each connection and after the drops.
	if sd.Keyframes < 3 || sd.Deltas == 0 || sf.Deltas != 0 {
		t.Errorf("delta player %d keyframes and %d deltas, full player %d deltas", sd.Keyframes, sd.Deltas, sf.Deltas)
	}
}
