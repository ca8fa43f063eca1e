package executor

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rcc-games/rcc/pkg/protocol"
)

// session is one player's WebSocket connection. The handler's goroutine
// reads; a writer goroutine of its own writes; the scheduler's workers
// only append messages to its queue, so a slow client never blocks a tick.
type session struct {
	ex     *Executor
	in     *instance
	conn   *websocket.Conn
	player string
	log    *slog.Logger

	mu      sync.Mutex
	queue   []outMessage
	spare   []outMessage
	states  int // state messages in queue
	behind  int // state messages dropped since one was last written
	closing *closeRequest
	// left is set when the client closed with 1000 (normal closure): the
	// player quits on purpose and leaves the game at once, with no
	// reconnect grace.
	left   bool
	notify chan struct{} // cap 1: the queue or closing changed
	done   chan struct{} // closed when the reader has ended

	// delta is set when the client asked for Delta frames. The writer
	// alone uses base, the frame of the last state written (what the
	// client holds: TCP delivers in order), and sinceKey, the states
	// written since the last keyframe.
	delta    bool
	base     uint64
	sinceKey int
}

// outMessage is one WebSocket message waiting to be written: data, or a
// state broadcast (which a full queue may drop).
type outMessage struct {
	data  []byte
	state *broadcast
}

type closeRequest struct {
	code protocol.CloseCode
	text string
}

func newSession(ex *Executor, in *instance, conn *websocket.Conn, player string) *session {
	return &session{
		ex: ex, in: in, conn: conn, player: player,
		log:    in.log.With("player", player, "remote", conn.RemoteAddr().String()),
		notify: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
}

func (s *session) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// send queues a message that is not a state.
func (s *session) send(data []byte) { s.enqueue(outMessage{data: data}) }

// sendState queues a state broadcast. One beyond the queue's capacity
// drops the oldest queued one; a client that drops too many in a row is
// closed as too slow.
func (s *session) sendState(b *broadcast) { s.enqueue(outMessage{state: b}) }

func (s *session) enqueue(msg outMessage) {
	isState := msg.state != nil
	cfg := &s.ex.cfg
	s.mu.Lock()
	if s.closing != nil {
		s.mu.Unlock()
		return
	}
	if isState && s.states >= cfg.ClientQueue {
		for i, m := range s.queue {
			if m.state != nil {
				s.queue = append(s.queue[:i], s.queue[i+1:]...)
				s.states--
				break
			}
		}
		s.behind++
		s.ex.metrics.statesDropped.Inc()
		if s.behind >= cfg.SlowClientFrames {
			behind := s.behind
			s.mu.Unlock()
			s.close(protocol.CloseTooSlow, fmt.Sprintf("%d state frames dropped in a row", behind), false)
			return
		}
	}
	s.queue = append(s.queue, msg)
	if isState {
		s.states++
	}
	s.mu.Unlock()
	s.wake()
}

// close asks the writer to end the session with code: after the queued
// messages when flush is set, at once otherwise. The first call wins.
func (s *session) close(code protocol.CloseCode, detail string, flush bool) {
	s.mu.Lock()
	if s.closing != nil {
		s.mu.Unlock()
		return
	}
	s.closing = &closeRequest{code: code, text: code.Reason(detail)}
	if !flush {
		clear(s.queue)
		s.queue = s.queue[:0]
		s.states = 0
	}
	s.mu.Unlock()
	s.ex.metrics.closes.WithLabelValues(code.String()).Inc()
	switch code {
	case protocol.CloseReplaced, protocol.CloseInstanceStopped, protocol.CloseExecutorShutdown, protocol.CloseInstanceFailed:
		s.log.Info("closing player connection", "code", uint16(code), "reason", s.closing.text)
	default:
		s.log.Warn("closing player connection", "code", uint16(code), "reason", s.closing.text)
	}
	s.wake()
}

func (s *session) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing != nil
}

// writeLoop writes queued messages and pings until the session closes.
func (s *session) writeLoop() {
	cfg := &s.ex.cfg
	ping := time.NewTicker(cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-s.notify:
		case <-ping.C:
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(cfg.WriteTimeout)); err != nil {
				s.abort()
				return
			}
			continue
		case <-s.done:
			return
		}
		for {
			s.mu.Lock()
			msgs := s.queue
			s.queue, s.spare = s.spare[:0], nil
			s.states = 0
			closing := s.closing
			s.mu.Unlock()
			if len(msgs) == 0 {
				if closing != nil {
					s.writeClose(closing)
					return
				}
				break
			}
			if err := s.writeBurst(msgs); err != nil {
				if isTimeout(err) {
					s.log.Warn("closing player connection", "code", uint16(protocol.CloseTooSlow), "reason", "write timed out")
					s.ex.metrics.closes.WithLabelValues(protocol.CloseTooSlow.String()).Inc()
				}
				s.abort()
				return
			}
			clear(msgs)
			s.mu.Lock()
			s.spare = msgs[:0]
			s.mu.Unlock()
		}
	}
}

// writeBurst writes the messages taken from the queue at once. On a
// connection that coalesces (corkConn), two or more go out in one write.
func (s *session) writeBurst(msgs []outMessage) error {
	cfg := &s.ex.cfg
	cc, _ := s.conn.NetConn().(*corkConn)
	if len(msgs) < 2 {
		cc = nil
	}
	if cc != nil {
		cc.cork()
	}
	for _, m := range msgs {
		_ = s.conn.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
		n, err := s.write(m)
		if err != nil {
			if cc != nil {
				cc.discard()
			}
			return err
		}
		s.ex.metrics.bytesSent.Add(float64(n))
		if m.state != nil {
			s.mu.Lock()
			s.behind = 0
			s.mu.Unlock()
		}
	}
	if cc == nil {
		return nil
	}
	_ = cc.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
	wrote, err := cc.uncork()
	if wrote && err == nil {
		s.ex.metrics.coalesced.Add(float64(len(msgs) - 1))
	}
	return err
}

// write writes one message and returns its payload's length. A state is
// written as the encoding this client needs (see broadcast.message), and
// the state written becomes the client's base.
func (s *session) write(m outMessage) (int, error) {
	if m.state == nil {
		return len(m.data), s.conn.WriteMessage(websocket.BinaryMessage, m.data)
	}
	b := m.state
	keyDue := s.sinceKey >= s.ex.cfg.KeyframeInterval
	pm, n, kind := b.message(s.ex.delta, s.delta, s.base, keyDue)
	if err := s.conn.WritePreparedMessage(pm); err != nil {
		return 0, err
	}
	s.base = b.frame
	if kind == sentDelta {
		s.sinceKey++
	} else {
		s.sinceKey = 0
	}
	s.ex.metrics.statesSent.WithLabelValues(kind).Inc()
	return n, nil
}

// writeClose sends the error message and the close frame, then gives the
// client closeGrace to answer before the reader gives up.
func (s *session) writeClose(c *closeRequest) {
	deadline := time.Now().Add(closeGrace)
	if msg, err := protocol.Encode(&protocol.Error{Code: c.code, Message: c.text}); err == nil {
		_ = s.conn.SetWriteDeadline(deadline)
		_ = s.conn.WriteMessage(websocket.BinaryMessage, msg)
	}
	_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(int(c.code), c.text), deadline)
	_ = s.conn.NetConn().SetReadDeadline(deadline)
}

// abort ends a broken connection at once.
func (s *session) abort() { _ = s.conn.NetConn().Close() }

// readLoop reads the client's messages until the connection ends.
func (s *session) readLoop() {
	cfg := &s.ex.cfg
	idle := 2*cfg.PingInterval + cfg.WriteTimeout
	_ = s.conn.SetReadDeadline(time.Now().Add(idle))
	s.conn.SetPongHandler(func(string) error {
		if !s.isClosing() {
			_ = s.conn.SetReadDeadline(time.Now().Add(idle))
		}
		return nil
	})
	bucket := newTokenBucket(cfg.InputRate, cfg.InputBurst, time.Now())
	var window time.Time // start of the current one-second abuse window
	windowDrops := 0
	buf := make([]byte, 1+cfg.MaxInputBytes+1)
	for {
		typ, r, err := s.conn.NextReader()
		if err != nil {
			if websocket.IsCloseError(err, websocket.CloseNormalClosure) && !s.isClosing() {
				s.mu.Lock()
				s.left = true
				s.mu.Unlock()
			}
			if isTimeout(err) && !s.isClosing() {
				s.close(protocol.CloseIdle, "no message or pong for "+idle.String(), false)
				s.writeCloseNow()
			}
			return
		}
		if s.isClosing() {
			continue // waiting for the client's close frame
		}
		_ = s.conn.SetReadDeadline(time.Now().Add(idle))
		if s.isClosing() { // closed meanwhile: keep the close's short deadline
			_ = s.conn.SetReadDeadline(time.Now().Add(closeGrace))
		}
		n, err := io.ReadFull(r, buf)
		switch {
		case err == nil:
			s.close(protocol.CloseFrameTooLarge, fmt.Sprintf("frames are at most %d bytes", 1+cfg.MaxInputBytes), true)
			continue
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		default:
			return
		}
		if typ != websocket.BinaryMessage {
			s.close(protocol.CloseMalformedFrame, "text message", true)
			continue
		}
		if n == 0 {
			s.close(protocol.CloseMalformedFrame, "empty message", true)
			continue
		}
		if protocol.Type(buf[0]) == protocol.TypeMigrateAck && n == 1 {
			s.in.migrateAck(s)
			continue
		}
		if t := protocol.Type(buf[0]); t != protocol.TypeInput {
			s.close(protocol.CloseMalformedFrame, fmt.Sprintf("frame type 0x%02x is not an input", buf[0]), true)
			continue
		}
		now := time.Now()
		if !bucket.take(now) {
			s.ex.metrics.inputsDropped.WithLabelValues("rate").Inc()
			s.in.dropped.Add(1)
			if now.Sub(window) >= time.Second {
				window, windowDrops = now, 0
			}
			windowDrops++
			if windowDrops > cfg.InputRate {
				s.close(protocol.CloseInputRate, fmt.Sprintf("over %d inputs dropped within a second (limit %d/s)", cfg.InputRate, cfg.InputRate), true)
			}
			continue
		}
		if !s.in.queueInput(s.player, buf[1:n]) {
			s.ex.metrics.inputsDropped.WithLabelValues("queue_full").Inc()
			s.in.dropped.Add(1)
		}
	}
}

// writeCloseNow sends the close frame from the reader when the writer may
// be idle (an idle client): best effort.
func (s *session) writeCloseNow() {
	s.mu.Lock()
	c := s.closing
	s.mu.Unlock()
	if c != nil {
		_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(int(c.code), c.text), time.Now().Add(100*time.Millisecond))
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// tokenBucket is a rate limiter: rate tokens a second, up to burst.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newTokenBucket(rate, burst int, now time.Time) tokenBucket {
	return tokenBucket{rate: float64(rate), burst: float64(burst), tokens: float64(burst), last: now}
}

// take spends a token if one is there.
func (b *tokenBucket) take(now time.Time) bool {
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
