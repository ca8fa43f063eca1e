package wasmhost

import (
	"bytes"
	"sync/atomic"
)

// Stream names the guest output a log line came from.
type Stream string

// The two guest output streams.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// LogFunc receives a guest's log lines. It is called synchronously from
// inside the guest call, so it must be quick.
type LogFunc func(stream Stream, line string)

// LogLimits bound what a guest may log.
type LogLimits struct {
	// MaxLineBytes truncates longer lines (default 1024).
	MaxLineBytes int
	// Burst is how many lines may pass at once (default 100).
	Burst int
	// LinesPerSecond refills the burst, in virtual time (default 50).
	LinesPerSecond int
	// FloodBytes is the most output one guest call may write; past it the
	// instance ends with ReasonLogFlood (default 1 MiB).
	FloodBytes int
}

func (l LogLimits) withDefaults() LogLimits {
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = 1024
	}
	if l.Burst <= 0 {
		l.Burst = 100
	}
	if l.LinesPerSecond <= 0 {
		l.LinesPerSecond = 50
	}
	if l.FloodBytes <= 0 {
		l.FloodBytes = 1 << 20
	}
	return l
}

// logCapture turns both guest streams into rate-limited lines. The budget
// refills with the instance's virtual clock, so what is kept is the same on
// every run.
type logCapture struct {
	limits   LogLimits
	sink     LogFunc
	clock    *virtualClock
	tokens   float64
	lastNs   int64
	callSize int // bytes written during the current guest call
	dropped  atomic.Uint64
	lines    atomic.Uint64
	writers  []*streamWriter
}

func newLogCapture(limits LogLimits, sink LogFunc, clock *virtualClock) *logCapture {
	limits = limits.withDefaults()
	return &logCapture{limits: limits, sink: sink, clock: clock, tokens: float64(limits.Burst)}
}

// writer returns the io.Writer for one of the guest's streams.
func (c *logCapture) writer(stream Stream) *streamWriter {
	w := &streamWriter{c: c, stream: stream}
	c.writers = append(c.writers, w)
	return w
}

// flush emits what the guest wrote after its last newline on each stream:
// its last words, when it fails in the middle of a line (a C assertion, a
// message printed without a newline before a trap).
func (c *logCapture) flush() {
	for _, w := range c.writers {
		if len(w.partial) > 0 {
			c.emit(w.stream, w.partial)
			w.partial = w.partial[:0]
		}
	}
}

// streamWriter is the io.Writer wazero gives the guest for one stream.
type streamWriter struct {
	c       *logCapture
	stream  Stream
	partial []byte
}

func (w *streamWriter) Write(p []byte) (int, error) {
	c := w.c
	c.callSize += len(p)
	if c.callSize > c.limits.FloodBytes {
		// Panicking unwinds the guest at once; wazero returns the value as
		// the call's error, which classify names log_flood.
		panic(errLogFlood)
	}
	data := p
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			room := c.limits.MaxLineBytes - len(w.partial)
			if room > 0 {
				w.partial = append(w.partial, data[:min(room, len(data))]...)
			}
			break
		}
		line := data[:i]
		if len(w.partial) > 0 {
			room := c.limits.MaxLineBytes - len(w.partial)
			w.partial = append(w.partial, line[:max(0, min(room, len(line)))]...)
			line = w.partial
		}
		c.emit(w.stream, line)
		w.partial = w.partial[:0]
		data = data[i+1:]
	}
	return len(p), nil
}

func (c *logCapture) emit(stream Stream, line []byte) {
	now := c.clock.frameTime()
	c.tokens += float64(now-c.lastNs) / 1e9 * float64(c.limits.LinesPerSecond)
	c.lastNs = now
	if c.tokens > float64(c.limits.Burst) {
		c.tokens = float64(c.limits.Burst)
	}
	if c.tokens < 1 {
		c.dropped.Add(1)
		return
	}
	c.tokens--
	c.lines.Add(1)
	if len(line) > c.limits.MaxLineBytes {
		line = line[:c.limits.MaxLineBytes]
	}
	if c.sink != nil {
		c.sink(stream, string(line))
	}
}

// startCall resets the per-call flood budget.
func (c *logCapture) startCall() { c.callSize = 0 }

// quiet reports whether the guest has written nothing to its logs yet.
func (c *logCapture) quiet() bool {
	if c.callSize > 0 || c.lines.Load() > 0 || c.dropped.Load() > 0 {
		return false
	}
	for _, w := range c.writers {
		if len(w.partial) > 0 {
			return false
		}
	}
	return true
}
