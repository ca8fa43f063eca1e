package executor

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// DefaultLogEntries is how many log entries each instance keeps on the
// executor (Config.LogEntries).
const DefaultLogEntries = 512

// LogStream says where a log entry came from.
type LogStream string

// Log streams.
const (
	LogStdout LogStream = "stdout"
	LogStderr LogStream = "stderr"
	// LogEvent is a lifecycle event of the instance; LogEntry.Event names it.
	LogEvent LogStream = "event"
)

// Lifecycle events of an instance's log.
const (
	EventStarted      = "started"
	EventPlayerJoined = "player_joined"
	EventPlayerLeft   = "player_left"
	EventFailed       = "failed"
	EventStopped      = "stopped"
	// EventDropped: lines the guest wrote past its log rate limit were
	// dropped (the sandbox's limit, wasmhost.LogLimits).
	EventDropped = "dropped"
	// EventShadow: a shadow run of the instance ended (its outcome) or
	// was refused.
	EventShadow = "shadow"
)

// LogEntry is one entry of an instance's log.
type LogEntry struct {
	// Seq numbers the instance's entries on this executor, from 1.
	Seq  uint64
	Time time.Time
	// Frame is the frame the instance was running: 0 while it starts.
	Frame  uint64
	Stream LogStream
	// Event names a LogEvent entry's event.
	Event string
	// Text is the line, without its newline, valid UTF-8 without NUL
	// bytes, or the event's text.
	Text string
}

// logRing keeps an instance's last log entries, and the last line it
// wrote to stderr for the reason of its failure.
type logRing struct {
	mu      sync.Mutex
	buf     []LogEntry // ring of cap entries
	next    uint64     // Seq of the next entry
	dropped uint64     // rate-limited lines already reported
	stderr  string     // last non-blank stderr line
	panic   string     // last stderr line of a Go panic or fatal error
}

func newLogRing(capacity int) *logRing {
	return &logRing{buf: make([]LogEntry, 0, capacity), next: 1}
}

// add appends an entry, overwriting the oldest when full.
func (r *logRing) add(e LogEntry) {
	e.Text = cleanText(e.Text)
	r.mu.Lock()
	defer r.mu.Unlock()
	e.Seq = r.next
	r.next++
	if e.Stream == LogStderr {
		if t := strings.TrimSpace(e.Text); t != "" {
			r.stderr = t
			if strings.HasPrefix(t, "panic: ") || strings.HasPrefix(t, "fatal error: ") {
				r.panic = t
			}
		}
	}
	if len(r.buf) < cap(r.buf) {
		r.buf = append(r.buf, e)
		return
	}
	r.buf[(e.Seq-1)%uint64(cap(r.buf))] = e
}

// event appends a lifecycle event.
func (r *logRing) event(frame uint64, name, text string) {
	r.add(LogEntry{Time: time.Now(), Frame: frame, Stream: LogEvent, Event: name, Text: text})
}

// noteDropped appends a dropped event when the sandbox dropped more lines
// (total counts them all) since the last note.
func (r *logRing) noteDropped(frame, total uint64) {
	r.mu.Lock()
	n := total - r.dropped
	if total <= r.dropped {
		n = 0
	}
	r.dropped = max(r.dropped, total)
	r.mu.Unlock()
	if n > 0 {
		r.event(frame, EventDropped, fmt.Sprintf("%d lines dropped by the log rate limit", n))
	}
}

// after returns the entries with a Seq greater than seq, oldest first, and
// how many of those were overwritten before they could be read.
func (r *logRing) after(seq uint64) (entries []LogEntry, lost uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) == 0 || seq+1 >= r.next {
		return nil, 0
	}
	oldest := r.next - uint64(len(r.buf))
	if seq+1 < oldest {
		lost = oldest - seq - 1
		seq = oldest - 1
	}
	entries = make([]LogEntry, 0, r.next-1-seq)
	for s := seq + 1; s < r.next; s++ {
		entries = append(entries, r.buf[(s-1)%uint64(cap(r.buf))])
	}
	return entries, lost
}

// lastError is the stderr line that best says why the guest failed: the
// last line of a Go panic or fatal error if it wrote one, else its last
// stderr line; "" when it wrote nothing to stderr.
func (r *logRing) lastError() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.panic != "" {
		return r.panic
	}
	return r.stderr
}

// cleanText makes a guest's line valid UTF-8 without NUL bytes.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// Logs returns the log entries of instance id with a Seq greater than
// after, oldest first, and how many entries after it the instance's ring
// (Config.LogEntries) overwrote before they were read. An unknown id
// returns an error wrapping ErrNotFound; an ended instance keeps its log
// until it is forgotten.
func (ex *Executor) Logs(id string, after uint64) (entries []LogEntry, lost uint64, err error) {
	in := ex.lookup(id)
	if in == nil {
		return nil, 0, fmt.Errorf("logs of instance %s: %w", id, ErrNotFound)
	}
	if w := in.live.Load(); w != nil {
		in.logs.noteDropped(in.curFrame.Load(), w.Stats().DroppedLogLines)
	}
	entries, lost = in.logs.after(after)
	return entries, lost, nil
}
