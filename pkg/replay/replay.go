package replay

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Format is the value of Header.Format for this version of the log.
const Format = "rcc-replay/1"

// Header is the first line of a log: what the instance was started with.
type Header struct {
	Format       string          `json:"format"`
	Game         string          `json:"game"`
	Version      string          `json:"version,omitempty"`
	InstanceID   string          `json:"instance_id,omitempty"`
	ModuleSHA256 string          `json:"module_sha256"`
	Seed         uint64          `json:"seed"`
	MaxPlayers   int             `json:"max_players"`
	TickHz       int             `json:"tick_hz"`
	Params       json.RawMessage `json:"params,omitempty"`
	// The sandbox limits the instance ran with; 0 is the host's default.
	InitFuel         int64  `json:"init_fuel,omitempty"`
	FrameFuel        int64  `json:"frame_fuel,omitempty"`
	MemoryLimitPages uint32 `json:"memory_limit_pages,omitempty"`
}

// Event kinds as written in a log.
const (
	KindJoin  = "join"
	KindLeave = "leave"
	KindInput = "input"
)

// Event is one join, leave or input, in arrival order within its frame.
type Event struct {
	Kind   string `json:"k"`
	Player string `json:"p"`
	// Data is the input's bytes (base64 in JSON).
	Data []byte `json:"d,omitempty"`
}

// Frame is one frame of a log: its number (from 1), the events delivered in
// it, and the sha256 of the state it produced, in hex.
type Frame struct {
	Frame       uint64  `json:"f"`
	Events      []Event `json:"e,omitempty"`
	StateSHA256 string  `json:"h"`
}

// Writer writes a log.
type Writer struct {
	w   *bufio.Writer
	enc *json.Encoder
}

// NewWriter writes h to w and returns a Writer for the frames.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	h.Format = Format
	bw := bufio.NewWriter(w)
	lw := &Writer{w: bw, enc: json.NewEncoder(bw)}
	if err := lw.enc.Encode(h); err != nil {
		return nil, fmt.Errorf("write replay header: %w", err)
	}
	return lw, nil
}

// WriteFrame appends one frame.
func (w *Writer) WriteFrame(f Frame) error {
	if err := w.enc.Encode(f); err != nil {
		return fmt.Errorf("write replay frame %d: %w", f.Frame, err)
	}
	return nil
}

// Flush writes any buffered lines to the underlying writer.
func (w *Writer) Flush() error { return w.w.Flush() }

// ErrFormat is wrapped by every error about a malformed log.
var ErrFormat = errors.New("not a replay log")

// Reader reads a log.
type Reader struct {
	sc     *bufio.Scanner
	line   int
	last   uint64
	header Header
}

// NewReader reads the header of a log.
func NewReader(r io.Reader) (*Reader, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	lr := &Reader{sc: sc}
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: empty", ErrFormat)
	}
	lr.line = 1
	if err := json.Unmarshal(sc.Bytes(), &lr.header); err != nil {
		return nil, fmt.Errorf("%w: line 1: %v", ErrFormat, err)
	}
	if lr.header.Format != Format {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrFormat, lr.header.Format, Format)
	}
	return lr, nil
}

// Header returns the log's header.
func (r *Reader) Header() Header { return r.header }

// Next returns the next frame, or io.EOF after the last one. Frames must
// be numbered in increasing order.
func (r *Reader) Next() (Frame, error) {
	if !r.sc.Scan() {
		if err := r.sc.Err(); err != nil {
			return Frame{}, err
		}
		return Frame{}, io.EOF
	}
	r.line++
	var f Frame
	if err := json.Unmarshal(r.sc.Bytes(), &f); err != nil {
		return Frame{}, fmt.Errorf("%w: line %d: %v", ErrFormat, r.line, err)
	}
	if f.Frame <= r.last {
		return Frame{}, fmt.Errorf("%w: line %d: frame %d after frame %d", ErrFormat, r.line, f.Frame, r.last)
	}
	for _, e := range f.Events {
		if e.Kind != KindJoin && e.Kind != KindLeave && e.Kind != KindInput {
			return Frame{}, fmt.Errorf("%w: line %d: event kind %q", ErrFormat, r.line, e.Kind)
		}
	}
	r.last = f.Frame
	return f, nil
}
