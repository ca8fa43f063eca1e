package play

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/world"
)

// Defaults of Config.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultWelcomeTimeout   = 15 * time.Second
	DefaultReadTimeout      = 10 * time.Second
	DefaultPingInterval     = time.Second
	DefaultInputQueue       = 32
	DefaultReconnectFor     = 25 * time.Second
	DefaultMinBackoff       = 100 * time.Millisecond
	DefaultMaxBackoff       = 2 * time.Second
)

// writeTimeout bounds one write to the server; closeWait how long Close
// waits for the server's echo of its close frame.
const (
	writeTimeout = 5 * time.Second
	closeWait    = time.Second
)

// Config configures a Session. The zero value takes every default.
type Config struct {
	// Logger receives the session's logs (connections, drops,
	// reconnections); nil discards them.
	Logger *slog.Logger
	// Buffer tunes the snapshot buffer; its TickHz is taken from the
	// welcome.
	Buffer BufferConfig
	// RawStates skips decoding states as world snapshots: Render never has
	// anything to draw, LastState still has the bytes. For clients that do
	// not render (load generators) or games whose state is not a world
	// snapshot. Without it, states that do not decode are kept raw only.
	RawStates bool
	// FullStates turns deltas off: the session then asks for (and the
	// server sends) every state whole, as protocol version 1 did. By
	// default the session asks for Delta frames (protocol.DeltaQuery)
	// and reconstructs each state on the one before; a server that does
	// not grant them sends full states, which the session takes too.
	FullStates bool
	// Decoder reconstructs Delta frames; sessions may share one (a load
	// generator with thousands of sessions should). Nil: the session
	// makes its own at its first delta and closes it at the end.
	Decoder *protocol.DeltaDecoder
	// OnEvent, when set, is called for every welcome, state, player
	// joined or left, version change, drop and end, from the goroutine
	// that reads the connection: it must return quickly and must not
	// call Close.
	OnEvent func(Event)
	// HandshakeTimeout bounds the WebSocket upgrade (default 10 s);
	// WelcomeTimeout the wait for the welcome after it (default 15 s: the
	// executor waits up to 10 s for a starting instance).
	HandshakeTimeout, WelcomeTimeout time.Duration
	// ReadTimeout is how long the connection may stay silent before it
	// counts as lost (default 10 s; an instance sends a state every tick).
	ReadTimeout time.Duration
	// PingInterval is how often the round-trip time is measured with a
	// WebSocket ping (default 1 s).
	PingInterval time.Duration
	// InputQueue is how many inputs wait for the writer at most (default
	// 32); beyond it the oldest is dropped.
	InputQueue int
	// ReconnectFor is how long a dropped session tries to reconnect before
	// it gives up (default 25 s, within the executor's default reconnect
	// grace of 30 s); negative: never reconnect. MinBackoff and MaxBackoff
	// bound the waits between attempts (defaults 100 ms and 2 s), doubled
	// after each failure.
	ReconnectFor           time.Duration
	MinBackoff, MaxBackoff time.Duration
	// TLS is the configuration of wss:// connections (the CA the
	// executors' certificates chain to); nil verifies them against the
	// system roots.
	TLS *tls.Config
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	def(&c.WelcomeTimeout, DefaultWelcomeTimeout)
	def(&c.ReadTimeout, DefaultReadTimeout)
	def(&c.PingInterval, DefaultPingInterval)
	def(&c.MinBackoff, DefaultMinBackoff)
	def(&c.MaxBackoff, DefaultMaxBackoff)
	if c.ReconnectFor == 0 {
		c.ReconnectFor = DefaultReconnectFor
	}
	if c.InputQueue <= 0 {
		c.InputQueue = DefaultInputQueue
	}
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	return c
}

// ConnState is the state of a session's connection.
type ConnState int

// The states of a session, in order.
const (
	// Connecting: the first connection is being made.
	Connecting ConnState = iota
	// Connected: welcomed, states flowing.
	Connected
	// Reconnecting: the connection dropped; the session is getting a
	// fresh ticket and connecting again.
	Reconnecting
	// Closed: the session has ended (Close, a refusal, or reconnection
	// given up); Err says why.
	Closed
)

// String returns the state's name: connecting, connected, reconnecting or
// closed.
func (s ConnState) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Reconnecting:
		return "reconnecting"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("ConnState(%d)", int(s))
}

// EventKind says what an Event reports.
type EventKind int

// The kinds of events.
const (
	// EventWelcome: a connection was accepted (Welcome set; Resumed on a
	// reconnection that kept the player in the game).
	EventWelcome EventKind = iota + 1
	// EventState: a state frame (Frame, Data, and Snapshot for a world
	// snapshot).
	EventState
	// EventPlayerJoined and EventPlayerLeft: the roster changed (Player).
	EventPlayerJoined
	EventPlayerLeft
	// EventDisconnected: the connection ended and the session reconnects
	// (Err says why).
	EventDisconnected
	// EventClosed: the session ended (Err is why, nil after Close).
	EventClosed
	// EventVersion: the instance's game version changed under the
	// connection, a hot upgrade kept or rolled back (Version set).
	EventVersion
)

// Event is one thing that happened on a session, given to Config.OnEvent.
type Event struct {
	Kind EventKind
	// At is when the frame was read.
	At time.Time
	// Welcome is the welcome of an EventWelcome.
	Welcome *protocol.Welcome
	// Frame and Data are the frame number and state bytes of an
	// EventState; Snapshot is the decoded world snapshot, nil when the
	// state is not one or Config.RawStates is set. Data and Snapshot are
	// valid during the call only.
	Frame    uint64
	Data     []byte
	Snapshot *world.Snapshot
	// Size is the length of the message that carried the state: a State
	// frame, or the Delta frame it was reconstructed from.
	Size int
	// Player is the player of an EventPlayerJoined or EventPlayerLeft.
	Player string
	// Err is why the connection or the session ended.
	Err error
	// Version is the version_changed frame of an EventVersion.
	Version *protocol.VersionChanged
}

// Stats are a session's live figures, readable at any time.
type Stats struct {
	// State is the connection's state.
	State ConnState
	// Welcome is the latest welcome (zero before the first): instance,
	// player, game, tick rate, input limits, and Resumed. A
	// version_changed frame updates its tick and snapshot rates.
	Welcome protocol.Welcome
	// GameVersion is the game version the instance runs: the latest
	// welcome's, or the latest version_changed frame's when one came
	// after it (a hot upgrade kept or rolled back while connected).
	// VersionChanges counts those frames.
	GameVersion    string
	VersionChanges int
	// Connects counts accepted connections, Reconnects those after a
	// drop; Attempts counts the attempts of the reconnection under way.
	Connects, Reconnects, Attempts int
	// Err is why the connection dropped while Reconnecting, and why the
	// session ended once Closed (nil after Close).
	Err error
	// RTT is the smoothed round-trip time of WebSocket pings, LastRTT the
	// latest; 0 before the first pong.
	RTT, LastRTT time.Duration
	// SnapshotRate is the states received in the last second.
	SnapshotRate float64
	// Frame is the newest state's frame number; States the states
	// received, Missed the states missing between them (dropped by the
	// server for a slow client, or lost in a reconnection; at a snapshot
	// rate below the tick rate, the frames between two snapshots are not
	// missed); Bytes the bytes of every message received.
	Frame  uint64
	States uint64
	Missed uint64
	Bytes  uint64
	// Deltas and Keyframes count the states that came as Delta frames,
	// on a base and whole; the rest of States came as full State frames.
	Deltas, Keyframes uint64
	InputsSent        uint64
	InputsDropped     uint64
	// World reports whether the latest state decoded as a world snapshot.
	World bool
	// Buffer are the snapshot buffer's figures (interval, jitter, delay).
	Buffer BufferStats
}

// Session is one player's connection to an instance, reconnected after a
// drop while a ticket source allows. Every method is safe for concurrent
// use and none waits on the network but Ready and Close.
type Session struct {
	cfg  Config
	log  *slog.Logger
	src  TicketSource
	buf  *Buffer
	born time.Time

	ctx    context.Context // cancelled by Close to stop connecting
	cancel context.CancelFunc
	ready  chan struct{} // closed at the first welcome or the end
	done   chan struct{} // closed when the session has ended
	quit   chan struct{} // closed by Close

	mu        sync.Mutex
	st        Stats
	readyErr  error
	closing   bool
	conn      *websocket.Conn
	dialing   net.Conn // the TCP connection of an upgrade under way
	last      []byte   // the latest state's bytes
	lastFrame uint64
	arrivals  [256]time.Time
	nextArr   int

	inMu     sync.Mutex
	inputs   [][]byte // encoded input frames, oldest first
	inNotify chan struct{}

	dec    *protocol.DeltaDecoder // cfg.Decoder, or the session's own
	ownDec bool
	// A migration (docs/protocol.md): held stops the writer sending
	// inputs, ackHold makes it send a MigrateAck first; moveTo is the
	// play URL of the next connection, the instance's new executor.
	held, ackHold bool
	moveTo        string
}

// Start starts a session on src in the background and returns at once;
// Ready waits for its first welcome. The session reconnects after a drop,
// with a new URL from src, until Close.
func Start(src TicketSource, cfg Config) *Session {
	cfg = cfg.withDefaults()
	bc := cfg.Buffer
	s := &Session{
		cfg: cfg, log: cfg.Logger, src: src, buf: NewBuffer(bc), born: time.Now(),
		ready: make(chan struct{}), done: make(chan struct{}), quit: make(chan struct{}),
		inNotify: make(chan struct{}, 1),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.run()
	return s
}

// Connect connects with a ready play URL (protocol.PlayURL builds one) and
// waits for the welcome. Its one ticket serves once, so the session does
// not reconnect after a drop. A refusal is a *CloseError.
func Connect(ctx context.Context, playURL string, cfg Config) (*Session, error) {
	return startReady(ctx, URL(playURL), cfg)
}

// Join asks the coordinator c for a seat (with c's credentials), connects
// and waits for the welcome. The session reconnects after a drop with a
// fresh ticket from the coordinator, keeping the player's avatar within
// the executor's reconnect grace. A coordinator error is returned wrapped
// (status.Code gives its gRPC code), a refusal by the executor as a
// *CloseError.
func Join(ctx context.Context, c *client.Client, req JoinRequest, cfg Config) (*Session, error) {
	return startReady(ctx, Coordinator(c, req), cfg)
}

func startReady(ctx context.Context, src TicketSource, cfg Config) (*Session, error) {
	s := Start(src, cfg)
	if err := s.Ready(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// Ready waits for the session's first welcome and returns nil, or returns
// why the first connection failed (a *CloseError for a refusal), or ctx's
// error.
func (s *Session) Ready(ctx context.Context) error {
	select {
	case <-s.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readyErr
}

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session ended: nil while it runs, ErrClosed after
// Close, otherwise the refusal or drop that ended it (a *CloseError when
// the server closed the connection).
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.State != Closed {
		return nil
	}
	if s.st.Err == nil {
		return ErrClosed
	}
	return s.st.Err
}

// State returns the connection's state.
func (s *Session) State() ConnState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.State
}

// Stats returns the session's live figures.
func (s *Session) Stats() Stats {
	now := time.Now()
	s.mu.Lock()
	st := s.st
	n := 0
	for _, t := range s.arrivals {
		if !t.IsZero() && now.Sub(t) < time.Second {
			n++
		}
	}
	s.mu.Unlock()
	st.SnapshotRate = float64(n)
	st.Buffer = s.buf.Stats()
	return st
}

// Render blends the buffered snapshots for a render at now into dst,
// reusing its slices (see Buffer.Render); false when there is nothing to
// draw yet (or the game's states are not world snapshots). It never waits
// on the network.
func (s *Session) Render(dst *world.Snapshot, now time.Time) (Sample, bool) {
	return s.buf.Render(dst, now)
}

// LastState appends the latest state's bytes to dst and returns its frame
// number (0 before the first state), for games whose state is not a world
// snapshot.
func (s *Session) LastState(dst []byte) (frame uint64, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastFrame, append(dst, s.last...)
}

// Send queues an input for the server and returns at once. The writer
// sends inputs in order, within the rate the welcome announced; when the
// queue is full the oldest input is dropped (counted in
// Stats.InputsDropped). Inputs sent while reconnecting wait for the new
// connection. It returns ErrClosed once the session has ended, and an
// error for an input larger than the server accepts.
func (s *Session) Send(input []byte) error {
	s.mu.Lock()
	state, limit := s.st.State, int(s.st.Welcome.MaxInputBytes)
	s.mu.Unlock()
	if state == Closed {
		return ErrClosed
	}
	if limit == 0 {
		limit = protocol.MaxInputBytes
	}
	if len(input) > limit {
		return fmt.Errorf("send input: %w: %d bytes, the server accepts %d", protocol.ErrTooLarge, len(input), limit)
	}
	frame := make([]byte, 0, 1+len(input))
	frame = append(append(frame, byte(protocol.TypeInput)), input...)
	dropped := false
	s.inMu.Lock()
	if len(s.inputs) >= s.cfg.InputQueue {
		copy(s.inputs, s.inputs[1:])
		s.inputs = s.inputs[:len(s.inputs)-1]
		dropped = true
	}
	s.inputs = append(s.inputs, frame)
	s.inMu.Unlock()
	if dropped {
		s.mu.Lock()
		s.st.InputsDropped++
		s.mu.Unlock()
	}
	select {
	case s.inNotify <- struct{}{}:
	default:
	}
	return nil
}

// SendController queues a standard controller input (world.Controller,
// docs/world.md) like Send.
func (s *Session) SendController(c world.Controller) error {
	b, _ := c.AppendBinary(make([]byte, 0, world.ControllerSize))
	return s.Send(b)
}

// Close leaves the game: it closes the connection with 1000 (normal
// closure), which the executor takes as the player quitting (no reconnect
// grace), waits up to a second for the server's echo, and ends the
// session. It returns nil, or ErrClosed when the session had already
// ended.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		<-s.done
		return ErrClosed
	}
	s.closing = true
	ended := s.st.State == Closed
	if s.st.State != Connected {
		// Connecting: nothing to leave yet, stop at once.
		s.cancel()
		if s.conn != nil {
			_ = s.conn.NetConn().Close()
		}
		if s.dialing != nil {
			_ = s.dialing.Close()
		}
	}
	s.mu.Unlock()
	close(s.quit)
	select {
	case <-s.done:
	case <-time.After(2 * closeWait):
		s.cancel()
		s.mu.Lock()
		if s.conn != nil {
			_ = s.conn.NetConn().Close()
		}
		s.mu.Unlock()
		<-s.done
	}
	s.cancel()
	if ended {
		return ErrClosed
	}
	return nil
}

func (s *Session) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *Session) emit(e Event) {
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(e)
	}
}

// end marks the session closed with err (nil after Close).
func (s *Session) end(err error) {
	s.mu.Lock()
	s.st.State = Closed
	s.st.Err = err
	select {
	case <-s.ready:
	default:
		s.readyErr = err
		if err == nil {
			s.readyErr = ErrClosed
		}
		close(s.ready)
	}
	s.mu.Unlock()
	s.emit(Event{Kind: EventClosed, At: time.Now(), Err: err})
	if err != nil {
		s.log.Info("play session ended", "err", err)
	}
}

// run connects, serves and reconnects until the session ends.
func (s *Session) run() {
	defer close(s.done)
	defer s.cancel()
	defer func() {
		if s.ownDec {
			s.dec.Close()
		}
	}()
	first := true
	since := time.Now() // of the first attempt, then of the drop
	var lastErr error   // why the last connection or attempt ended
	backoff := s.cfg.MinBackoff
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !s.moving() {
			if s.cfg.ReconnectFor < 0 || time.Since(since) > s.cfg.ReconnectFor {
				s.end(lastErr)
				return
			}
			wait := time.Duration(float64(backoff) * (0.8 + 0.4*rand.Float64()))
			backoff = min(2*backoff, s.cfg.MaxBackoff)
			select {
			case <-time.After(wait):
			case <-s.quit:
				s.end(nil)
				return
			}
			if !first {
				s.mu.Lock()
				s.st.Attempts++
				s.mu.Unlock()
			}
		}
		if s.isClosing() {
			s.end(nil)
			return
		}
		conn, w, err := s.connect()
		if err != nil {
			var perm *PermanentError
			switch {
			case s.isClosing():
				s.end(nil)
				return
			case errors.Is(err, ErrNoTicket):
				if lastErr == nil {
					lastErr = err
				}
				s.end(lastErr) // a URL session: the drop or refusal is the reason
				return
			case errors.As(err, &perm),
				isRefusal(err) && !retryable(err),
				first && !isRefusal(err): // the first connection retries transient refusals only
				s.end(err)
				return
			}
			s.log.Info("connection attempt failed", "err", err)
			lastErr = err
			continue
		}
		s.inMu.Lock()
		s.held, s.ackHold = false, false // held inputs go on the new connection
		s.inMu.Unlock()
		s.welcomed(conn, w, first)
		first, backoff, attempt = false, s.cfg.MinBackoff, 0
		err = s.serve(conn, w)
		s.mu.Lock()
		s.conn = nil
		s.mu.Unlock()
		if s.isClosing() {
			s.end(nil)
			return
		}
		if !retryable(err) {
			s.end(err)
			return
		}
		s.log.Info("connection dropped, reconnecting", "err", err)
		since, lastErr = time.Now(), err
		s.mu.Lock()
		s.st.State, s.st.Err, s.st.Attempts = Reconnecting, err, 0
		s.mu.Unlock()
		s.emit(Event{Kind: EventDisconnected, At: since, Err: err})
	}
}

// isRefusal reports whether err is a close from the server.
func isRefusal(err error) bool {
	var ce *CloseError
	return errors.As(err, &ce)
}

// connect gets a URL, dials and reads the welcome.
func (s *Session) connect() (*websocket.Conn, *protocol.Welcome, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.HandshakeTimeout+s.cfg.WelcomeTimeout)
	defer cancel()
	s.inMu.Lock()
	u := s.moveTo
	s.moveTo = ""
	s.inMu.Unlock()
	if u == "" {
		var err error
		if u, err = s.src.PlayURL(ctx); err != nil {
			return nil, nil, err
		}
	}
	if !s.cfg.FullStates {
		u = withDelta(u)
	}
	var nd net.Dialer
	d := websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: s.cfg.HandshakeTimeout, TLSClientConfig: s.cfg.TLS,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := nd.DialContext(ctx, network, addr)
			if err == nil {
				s.mu.Lock()
				s.dialing = c // for Close to interrupt the upgrade
				closing := s.closing
				s.mu.Unlock()
				if closing {
					c.Close()
				}
			}
			return c, err
		}}
	conn, resp, err := d.DialContext(ctx, u, nil)
	s.mu.Lock()
	s.dialing = nil
	s.mu.Unlock()
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			return nil, nil, fmt.Errorf("%w: dial %s: %w (HTTP %s)", ErrConnectionLost, redact(u), err, resp.Status)
		}
		return nil, nil, fmt.Errorf("%w: dial %s: %w", ErrConnectionLost, redact(u), err)
	}
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()
	var errFrame *protocol.Error
	_ = conn.SetReadDeadline(time.Now().Add(s.cfg.WelcomeTimeout))
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			conn.Close()
			return nil, nil, connError(err, errFrame)
		}
		f, err := protocol.Decode(msg)
		if err != nil {
			continue // a newer frame type
		}
		switch f := f.(type) {
		case *protocol.Welcome:
			return conn, f, nil
		case *protocol.Error:
			errFrame = f
		}
	}
}

// withDelta adds the query parameter that asks for Delta frames to a play
// URL.
func withDelta(u string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + protocol.DeltaQuery + "=" + protocol.DeltaZstd
}

// redact drops the ticket from a play URL for errors and logs.
func redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// welcomed records an accepted connection.
func (s *Session) welcomed(conn *websocket.Conn, w *protocol.Welcome, first bool) {
	s.mu.Lock()
	prev := s.st.Welcome.InstanceID
	s.st.Welcome = *w
	s.st.GameVersion = w.GameVersion
	s.st.State, s.st.Err, s.st.Attempts = Connected, nil, 0
	s.st.Connects++
	if prev != w.InstanceID {
		s.lastFrame, s.last = 0, s.last[:0]
	}
	if !first {
		s.st.Reconnects++
	}
	select {
	case <-s.ready:
	default:
		close(s.ready)
	}
	s.mu.Unlock()
	if prev != w.InstanceID {
		s.buf.Reset()
		s.buf.setTickHz(int(w.TickHz))
	}
	s.log.Info("connected", "instance", w.InstanceID, "player", w.PlayerID, "resumed", w.Resumed)
	s.emit(Event{Kind: EventWelcome, At: time.Now(), Welcome: w})
}

// serve reads the connection until it ends, with a writer of its own for
// inputs, pings and the closing handshake. It returns why it ended.
func (s *Session) serve(conn *websocket.Conn, w *protocol.Welcome) error {
	defer conn.Close()
	conn.SetPongHandler(func(data string) error {
		if len(data) == 8 {
			sent := time.Duration(binary.LittleEndian.Uint64([]byte(data)))
			rtt := time.Since(s.born) - sent
			s.mu.Lock()
			s.st.LastRTT = rtt
			if s.st.RTT == 0 {
				s.st.RTT = rtt
			} else {
				s.st.RTT += (rtt - s.st.RTT) / 8
			}
			s.mu.Unlock()
		}
		return nil
	})
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeLoop(conn, w, stop)
	}()
	defer func() { close(stop); <-writerDone }()

	var errFrame *protocol.Error
	var rd bytes.Buffer
	// base is the last state received on this connection, the base of
	// the next delta (baseFrame its frame, 0 for none).
	var base, next []byte
	var baseFrame uint64
	for {
		_ = conn.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
		_, r, err := conn.NextReader()
		if err != nil {
			return connError(err, errFrame)
		}
		rd.Reset()
		if _, err := rd.ReadFrom(io.LimitReader(r, protocol.StateHeaderBytes+protocol.MaxStateBytes+1)); err != nil {
			return connError(err, errFrame)
		}
		msg := rd.Bytes()
		now := time.Now()
		s.mu.Lock()
		s.st.Bytes += uint64(len(msg))
		s.mu.Unlock()
		f, err := protocol.Decode(msg)
		if err != nil {
			continue // a newer frame type; a server never sends a bad one
		}
		switch f := f.(type) {
		case *protocol.State:
			s.state(f, now, len(msg))
			base, baseFrame = append(base[:0], f.Data...), f.Frame
		case *protocol.Delta:
			next, err = s.applyDelta(next[:0], f, base, baseFrame)
			if err != nil {
				// The server and this client disagree on the base:
				// reconnect, and start again from a keyframe.
				return fmt.Errorf("%w: %w", ErrConnectionLost, err)
			}
			base, next, baseFrame = next, base, f.Frame
			s.state(&protocol.State{Frame: f.Frame, Data: base}, now, len(msg))
		case *protocol.PlayerJoined:
			s.emit(Event{Kind: EventPlayerJoined, At: now, Player: f.Player})
		case *protocol.PlayerLeft:
			s.emit(Event{Kind: EventPlayerLeft, At: now, Player: f.Player})
		case *protocol.Error:
			errFrame = &protocol.Error{Code: f.Code, Message: f.Message}
		case *protocol.Migrate:
			if s.migrate(f) {
				return errMoved
			}
		case *protocol.VersionChanged:
			s.versionChanged(f, now)
		}
	}
}

// versionChanged takes a version_changed frame: the instance runs
// another version from now on.
func (s *Session) versionChanged(f *protocol.VersionChanged, now time.Time) {
	s.mu.Lock()
	from := s.st.GameVersion
	s.st.GameVersion = f.GameVersion
	s.st.VersionChanges++
	if f.TickHz != 0 {
		s.st.Welcome.TickHz = f.TickHz
	}
	if f.SnapshotHz != 0 {
		s.st.Welcome.SnapshotHz = f.SnapshotHz
	}
	s.mu.Unlock()
	s.log.Info("game version changed", "from", from, "to", f.GameVersion, "cause", f.Cause, "frame", f.Frame)
	s.emit(Event{Kind: EventVersion, At: now, Version: f})
}

// applyDelta reconstructs the state of a Delta frame on base, the state
// of frame baseFrame, into dst.
func (s *Session) applyDelta(dst []byte, f *protocol.Delta, base []byte, baseFrame uint64) ([]byte, error) {
	if !f.Keyframe() && f.Base != baseFrame {
		return dst, fmt.Errorf("%w: delta of frame %d on frame %d, this client holds %d", protocol.ErrDeltaBase, f.Frame, f.Base, baseFrame)
	}
	if s.dec == nil {
		if s.dec = s.cfg.Decoder; s.dec == nil {
			d, err := protocol.NewDeltaDecoder(1)
			if err != nil {
				return dst, err
			}
			s.dec, s.ownDec = d, true
		}
	}
	out, err := s.dec.Apply(dst, f, base)
	if err != nil {
		return dst, err
	}
	s.mu.Lock()
	if f.Keyframe() {
		s.st.Keyframes++
	} else {
		s.st.Deltas++
	}
	s.mu.Unlock()
	return out, nil
}

// errMoved ends a connection whose instance moved to another executor.
var errMoved = fmt.Errorf("%w: the instance moved to another executor", ErrConnectionLost)

// migrate follows a Migrate frame. It reports true when the session must
// connect to the instance's new executor.
func (s *Session) migrate(f *protocol.Migrate) bool {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	defer func() {
		select {
		case s.inNotify <- struct{}{}:
		default:
		}
	}()
	switch f.Phase {
	case protocol.MigrateHold:
		s.held, s.ackHold = true, true
	case protocol.MigrateGo:
		s.moveTo = f.URL
		s.log.Info("instance moved, following it", "url", redact(f.URL))
		return true
	case protocol.MigrateStay:
		s.held = false
	}
	return false
}

// moving reports whether the next connection goes to a migrated
// instance's new executor: it is made at once.
func (s *Session) moving() bool {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	return s.moveTo != ""
}

// state takes one state frame.
func (s *Session) state(f *protocol.State, now time.Time, size int) {
	var snap *world.Snapshot
	if !s.cfg.RawStates {
		snap = s.buf.Spare()
		if err := snap.UnmarshalBinary(f.Data); err != nil {
			s.buf.putSpare(snap)
			snap = nil
		}
	}
	s.mu.Lock()
	if s.lastFrame != 0 && f.Frame > s.lastFrame+1 {
		s.st.Missed += missed(f.Frame-s.lastFrame, s.st.Welcome.TickHz, s.st.Welcome.SnapshotHz)
	}
	if f.Frame > s.lastFrame {
		s.lastFrame = f.Frame
		s.last = append(s.last[:0], f.Data...)
	}
	s.st.Frame = s.lastFrame
	s.st.States++
	s.st.World = snap != nil
	s.arrivals[s.nextArr] = now
	s.nextArr = (s.nextArr + 1) % len(s.arrivals)
	s.mu.Unlock()
	s.emit(Event{Kind: EventState, At: now, Frame: f.Frame, Data: f.Data, Snapshot: snap, Size: size})
	if snap != nil {
		s.buf.Add(f.Frame, snap, now)
	}
}

// missed returns how many states are missing in a gap of gap frames
// between two states, at snapshotHz of tickHz (0: every tick).
func missed(gap uint64, tickHz, snapshotHz uint16) uint64 {
	if snapshotHz == 0 || snapshotHz >= tickHz {
		return gap - 1
	}
	n := uint64(math.Round(float64(gap) * float64(snapshotHz) / float64(tickHz)))
	if n <= 1 {
		return 0
	}
	return n - 1
}

// writeLoop writes queued inputs within the server's rate, pings, and the
// close frame when the session closes.
func (s *Session) writeLoop(conn *websocket.Conn, w *protocol.Welcome, stop <-chan struct{}) {
	ping := time.NewTicker(s.cfg.PingInterval)
	defer ping.Stop()
	bucket := newTokenBucket(int(w.InputRate), int(w.InputBurst), time.Now())
	var wait <-chan time.Time
	s.sendPing(conn)
	for {
		select {
		case <-stop:
			return
		case <-s.quit:
			_ = conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(closeWait))
			_ = conn.SetReadDeadline(time.Now().Add(closeWait))
			<-stop
			return
		case <-ping.C:
			if !s.sendPing(conn) {
				return
			}
			continue
		case <-s.inNotify:
		case <-wait:
			wait = nil
		}
		for wait == nil {
			s.inMu.Lock()
			if s.ackHold {
				s.ackHold = false
				s.inMu.Unlock()
				ack, _ := protocol.Encode(&protocol.MigrateAck{})
				_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
				if err := conn.WriteMessage(websocket.BinaryMessage, ack); err != nil {
					_ = conn.NetConn().Close()
					return
				}
				continue
			}
			if len(s.inputs) == 0 || s.held {
				s.inMu.Unlock()
				break
			}
			if d := bucket.take(time.Now()); d > 0 {
				s.inMu.Unlock()
				wait = time.After(d)
				break
			}
			frame := s.inputs[0]
			s.inputs = s.inputs[1:]
			if len(s.inputs) == 0 {
				s.inputs = nil
			}
			s.inMu.Unlock()
			_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := conn.WriteMessage(websocket.BinaryMessage, frame); err != nil {
				_ = conn.NetConn().Close()
				return
			}
			s.mu.Lock()
			s.st.InputsSent++
			s.mu.Unlock()
		}
	}
}

func (s *Session) sendPing(conn *websocket.Conn) bool {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(time.Since(s.born)))
	if err := conn.WriteControl(websocket.PingMessage, b[:], time.Now().Add(writeTimeout)); err != nil {
		_ = conn.NetConn().Close()
		return false
	}
	return true
}

// tokenBucket paces inputs to the server's announced rate.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newTokenBucket(rate, burst int, now time.Time) tokenBucket {
	return tokenBucket{rate: float64(rate), burst: float64(max(burst, 1)), tokens: float64(max(burst, 1)), last: now}
}

// take spends a token and returns 0, or returns how long until one is
// there. A bucket of rate 0 never waits.
func (b *tokenBucket) take(now time.Time) time.Duration {
	if b.rate <= 0 {
		return 0
	}
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
	}
	b.tokens--
	return 0
}
