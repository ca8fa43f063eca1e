package executor

import (
	"errors"
	"net"
	"sync"
	"time"
)

// corkListener accepts connections whose writes a session's writer can
// hold back and send in one system call (corkConn), with a send buffer of
// sndbuf bytes when positive.
type corkListener struct {
	net.Listener
	sndbuf int
	// ring, when set, sends every connection's writes (ServeConfig.IOUring).
	ring *sendRing
}

func (l corkListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok && l.sndbuf > 0 {
		_ = tc.SetWriteBuffer(l.sndbuf)
	}
	cc := &corkConn{Conn: c}
	if l.ring != nil {
		cc.ring = newRingWriter(l.ring, c)
	}
	return cc, nil
}

// corkConn is a player's connection that coalesces writes: between cork
// and uncork, what gorilla/websocket writes (one Write per message) is
// kept and then written at once. gorilla/websocket has no call that writes
// several messages together, so the coalescing is done under it. Anything
// written while not corked (the upgrade's response, control frames from
// the reader) goes straight through.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    []byte
	// rd and wd are the read and write deadlines last set on Conn, under
	// dmu (not mu, which a blocked write holds).
	dmu    sync.Mutex
	rd, wd time.Time
	// ring, when set, is the only path of the writes to Conn.
	ring *ringWriter
}

// deadlineSlack is how much later than asked a corkConn's deadline may
// be, as a fraction of the time asked for: gorilla/websocket sets the
// write deadline before every message (and the session the read deadline
// after every input), and each set is a timer change in the runtime; a
// deadline still in place that ends no earlier than asked and at most a
// quarter of the wait later is kept instead.
const deadlineSlack = 4

// SetWriteDeadline sets the write deadline to t, or keeps the one set
// when it ends between t and a quarter of the wait later.
func (c *corkConn) SetWriteDeadline(t time.Time) error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	return setDeadline(t, &c.wd, c.Conn.SetWriteDeadline)
}

// SetReadDeadline is SetWriteDeadline for reads.
func (c *corkConn) SetReadDeadline(t time.Time) error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	return setDeadline(t, &c.rd, c.Conn.SetReadDeadline)
}

// SetDeadline sets both deadlines.
func (c *corkConn) SetDeadline(t time.Time) error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	return errors.Join(setDeadline(t, &c.rd, c.Conn.SetReadDeadline), setDeadline(t, &c.wd, c.Conn.SetWriteDeadline))
}

// setDeadline sets the deadline that *cur records with set: to t plus a
// quarter of the wait, unless *cur already ends between t and that.
func setDeadline(t time.Time, cur *time.Time, set func(time.Time) error) error {
	if t.IsZero() {
		if cur.IsZero() {
			return nil
		}
		*cur = time.Time{}
		return set(t)
	}
	wait := time.Until(t)
	if !cur.IsZero() && !cur.Before(t) && cur.Sub(t) <= wait/deadlineSlack {
		return nil
	}
	if wait > 0 {
		t = t.Add(wait / deadlineSlack)
	}
	*cur = t
	return set(t)
}

// maxCorkBuffer is the largest buffer a corkConn keeps between bursts.
const maxCorkBuffer = 64 << 10

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	return c.write(p)
}

// write writes p to the connection: through the send ring when it has
// one, else with the connection's Write. Callers hold mu.
func (c *corkConn) write(p []byte) (int, error) {
	if c.ring != nil {
		return c.ring.write(p)
	}
	return c.Conn.Write(p)
}

// cork holds back the writes that follow until uncork.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// discard drops what was held back, for a connection that failed.
func (c *corkConn) discard() {
	c.mu.Lock()
	c.corked, c.buf = false, nil
	c.mu.Unlock()
}

// uncork writes what was held back, in one write, and lets writes
// through again. It reports whether there was anything to write.
func (c *corkConn) uncork() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	if len(c.buf) == 0 {
		return false, nil
	}
	_, err := c.write(c.buf)
	if cap(c.buf) > maxCorkBuffer {
		c.buf = nil
	} else {
		c.buf = c.buf[:0]
	}
	return true, err
}
