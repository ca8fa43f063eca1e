package executor

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/wasmhost"
	"github.com/rcc-games/rcc/pkg/world"
)

const testExecutorID = "exec-test"

// cacheDir shares compiled modules between the test binary's engines.
var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "executor-cache")
	if err != nil {
		panic(err)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// arenaModule is the arena game's module, built once per test binary.
func arenaModule(t testing.TB) []byte { return gamebuildtest.Arena(t) }

// testModule reads one of wasmhost's test modules.
func testModule(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "wasmhost", "testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// harness is an executor behind a loopback HTTP server.
type harness struct {
	t         testing.TB
	ex        *Executor
	srv       *httptest.Server
	metrics   *httptest.Server
	issuer    *auth.Issuer
	issuerKey ed25519.PrivateKey
	cancel    context.CancelFunc
	runDone   chan error

	mu      sync.Mutex
	changes []InstanceStatus
}

type harnessOption func(*Config, *httptestServer)

type httptestServer = httptest.Server

// newHarness starts an executor with cfg's defaults overridden by opts.
// Its scheduler runs only after h.run.
func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := auth.NewIssuer(priv, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(pub, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, issuer: issuer, issuerKey: priv}
	cfg := Config{
		ID:       testExecutorID,
		Verifier: verifier,
		Sandbox:  wasmhost.Config{CacheDir: cacheDir},
		Logger:   slog.New(slog.NewJSONHandler(io.Discard, nil)),
		// Long enough for a start under the race detector, short enough
		// that the refusal of an unknown instance is quick.
		StartWait: 500 * time.Millisecond,
		OnChange: func(s InstanceStatus) {
			h.mu.Lock()
			h.changes = append(h.changes, s)
			h.mu.Unlock()
		},
	}
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h.srv = httptest.NewUnstartedServer(nil)
	for _, o := range opts {
		o(&cfg, h.srv)
	}
	ex, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.ex = ex
	h.srv.Config.Handler = ex.Handler()
	h.srv.Start()
	h.metrics = httptest.NewServer(ex.MetricsHandler())
	t.Cleanup(h.close)
	return h
}

// run starts the scheduler.
func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.runDone = make(chan error, 1)
	go func() { h.runDone <- h.ex.Run(ctx) }()
}

// shutdown cancels Run and waits for it.
func (h *harness) shutdown() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.runDone:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		h.t.Error("Run did not return after cancel")
	}
}

func (h *harness) close() {
	h.shutdown()
	h.srv.CloseClientConnections()
	h.srv.Close()
	h.metrics.Close()
	_ = h.ex.Close(context.Background())
}

func (h *harness) start(spec InstanceSpec) {
	h.t.Helper()
	if err := h.ex.Start(context.Background(), spec); err != nil {
		h.t.Fatalf("start %s: %v", spec.ID, err)
	}
}

func (h *harness) ticket(player, instance string) string {
	h.t.Helper()
	return h.ticketFor(h.issuer, auth.TicketRequest{PlayerID: player, InstanceID: instance, ExecutorID: testExecutorID})
}

func (h *harness) ticketFor(iss *auth.Issuer, req auth.TicketRequest) string {
	h.t.Helper()
	tok, _, err := iss.Ticket(req)
	if err != nil {
		h.t.Fatal(err)
	}
	return string(tok)
}

func (h *harness) url(instance, ticket string) string {
	u, err := protocol.PlayURL(h.srv.URL, instance, ticket)
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

// client is a player's WebSocket connection.
type client struct {
	t    testing.TB
	conn *websocket.Conn
}

func (h *harness) dialURL(u string, dialer *websocket.Dialer) *client {
	h.t.Helper()
	if dialer == nil {
		dialer = websocket.DefaultDialer
	}
	conn, resp, err := dialer.Dial(u, nil)
	if err != nil {
		h.t.Fatalf("dial: %v", err)
	}
	resp.Body.Close()
	c := &client{t: h.t, conn: conn}
	h.t.Cleanup(func() { conn.Close() })
	return c
}

// join connects player to instance with a fresh ticket and returns the
// client and its welcome.
func (h *harness) join(player, instance string) (*client, *protocol.Welcome) {
	h.t.Helper()
	c := h.dialURL(h.url(instance, h.ticket(player, instance)), nil)
	f := c.next()
	w, ok := f.(*protocol.Welcome)
	if !ok {
		h.t.Fatalf("%s: first frame %#v, want a welcome", player, f)
	}
	return c, w
}

// next reads one frame within 5 s.
func (c *client) next() protocol.Frame {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	typ, b, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if typ != websocket.BinaryMessage {
		c.t.Fatalf("message type %d, want binary", typ)
	}
	f, err := protocol.Decode(b)
	if err != nil {
		c.t.Fatalf("decode: %v", err)
	}
	return f
}

// send writes one input.
func (c *client) send(data []byte) error {
	msg, err := protocol.Encode(&protocol.Input{Data: data})
	if err != nil {
		return err
	}
	return c.conn.WriteMessage(websocket.BinaryMessage, msg)
}

// expectClose reads until the connection closes and checks the code of
// the close frame and of the Error frame before it. It returns the reason.
func (c *client) expectClose(want protocol.CloseCode, within time.Duration) string {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var errFrame *protocol.Error
	for {
		_ = c.conn.SetReadDeadline(deadline)
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				c.t.Fatalf("connection ended with %v, want close code %d (%v)", err, want, want)
			}
			if protocol.CloseCode(ce.Code) != want {
				c.t.Fatalf("close code %d %q, want %d (%v)", ce.Code, ce.Text, want, want)
			}
			if name, _ := protocol.ParseReason(ce.Text); name != want.String() {
				c.t.Errorf("close reason %q does not start with %q", ce.Text, want.String())
			}
			if errFrame == nil {
				c.t.Errorf("no error frame before the close frame")
			} else if errFrame.Code != want || errFrame.Message != ce.Text {
				c.t.Errorf("error frame %d %q, close frame %d %q", errFrame.Code, errFrame.Message, ce.Code, ce.Text)
			}
			return ce.Text
		}
		if f, err := protocol.Decode(b); err == nil {
			if e, ok := f.(*protocol.Error); ok {
				errFrame = e
			}
		}
	}
}

// scrape fetches and parses /metrics.
func (h *harness) scrape() map[string]*dto.MetricFamily {
	h.t.Helper()
	resp, err := http.Get(h.metrics.URL)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		h.t.Fatalf("parse metrics: %v", err)
	}
	return fams
}

// metricValue returns the value of the series of name with the labels in
// want (name=value pairs), and whether it exists.
func metricValue(fams map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	fam, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range fam.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// smallBuffers shrinks the kernel socket buffers of the server's accepted
// connections, so that a client that does not read fills them quickly.
func smallBuffers(_ *Config, srv *httptest.Server) {
	l := srv.Listener
	srv.Listener = &bufListener{Listener: l}
}

type bufListener struct{ net.Listener }

func (l *bufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// smallReadDialer dials with a small receive buffer.
var smallReadDialer = &websocket.Dialer{
	NetDial: func(network, addr string) (net.Conn, error) {
		d := net.Dialer{Control: nil}
		c, err := d.Dial(network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	},
	HandshakeTimeout: 5 * time.Second,
}

// pace compares an instance's progress with a control arena's on an
// executor of its own (another harness in this process, with its own
// scheduler and workers). Both share the machine, so load from other
// processes slows both alike; what the subject's neighbours cost it shows
// as the subject falling behind the control. Progress is counted in each
// executor's own frames, never in wall time.
type pace struct {
	subject, control *harness
	id               string
	s0, c0           uint64
}

const controlID = "control"

// startControl starts the control arena and its executor's scheduler.
func startControl(t testing.TB) *harness {
	t.Helper()
	c := newHarness(t)
	c.start(arenaSpec(t, controlID, 4))
	c.run()
	return c
}

// frames is the number of frames instance id has run.
func (h *harness) frames(id string) uint64 {
	st, err := h.ex.Instance(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return st.Frames
}

// startPace begins the comparison of instance id of subject with control.
func startPace(subject *harness, id string, control *harness) *pace {
	return &pace{subject: subject, control: control, id: id, s0: subject.frames(id), c0: control.frames(controlID)}
}

// check waits until the control has run n frames since startPace and
// fails the test if the subject ran fewer than half as many meanwhile, or
// stopped running.
func (p *pace) check(t testing.TB, n uint64) {
	t.Helper()
	testenv.WaitFor(t, fmt.Sprintf("the control arena to run %d frames", n), 2*time.Minute, func() bool {
		return p.control.frames(controlID) >= p.c0+n
	})
	st, _ := p.subject.ex.Instance(p.id)
	ran, control := st.Frames-p.s0, p.control.frames(controlID)-p.c0
	t.Logf("%s ran %d frames while the control ran %d", p.id, ran, control)
	if st.State != StateRunning || 2*ran < control {
		t.Errorf("%s is %s and ran %d frames while the control arena ran %d: want it running, at least half as many", p.id, st.State, ran, control)
	}
}

// walkPlayers has every session send a controller input 30 times a
// second, walking forward and turning every second, until the returned
// func is called.
func walkPlayers(sessions []*play.Session) (stop func()) {
	done := make(chan struct{})
	for i, s := range sessions {
		go func() {
			tick := time.NewTicker(time.Second / 30)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				case <-tick.C:
				}
				_ = s.SendController(world.Controller{MoveX: float32((n/30+i)%3 - 1), MoveY: 1})
			}
		}()
	}
	return func() { close(done) }
}
