package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// TypeDelta is the type byte of a Delta frame, which a server sends in
// place of State to a client that asked for deltas (DeltaQuery).
const TypeDelta Type = 0x14

// DeltaQuery and DeltaZstd are the query parameter and value of the play
// URL with which a client asks for Delta frames instead of State frames.
// A server that grants it sets Welcome.Delta; a server that does not know
// the parameter ignores it and sends State frames, so a client must accept
// both.
const (
	DeltaQuery = "delta"
	DeltaZstd  = "zstd"
)

// DeltaHeaderBytes is the size of a Delta frame before its compressed
// payload: the type byte, the frame number, the base frame number and the
// state's length.
const DeltaHeaderBytes = 1 + 8 + 8 + 4

// ErrDeltaBase means a Delta frame names a base the decoder does not hold.
var ErrDeltaBase = errors.New("delta on a base the client does not hold")

// Delta is a state frame sent as the difference with a state the client
// already holds, its base: the state bytes are X XOR base, where X is
// Payload decompressed (zstd, RFC 8878) to Length bytes and base is
// extended with zero bytes (or cut) to Length. A keyframe has Base 0 and
// an empty base, so X is the state itself. docs/protocol.md is the
// reference.
type Delta struct {
	// Frame is the frame number of the state this delta reconstructs.
	Frame uint64
	// Base is the frame number of the state it applies to: the last
	// state the server sent this client. 0 for a keyframe.
	Base uint64
	// Length is the length of the reconstructed state bytes.
	Length uint32
	// Payload is one zstd frame that decompresses to exactly Length bytes.
	Payload []byte
}

// Type implements Frame.
func (*Delta) Type() Type { return TypeDelta }

// Keyframe reports whether the delta needs no base.
func (f *Delta) Keyframe() bool { return f.Base == 0 }

// AppendFrame implements Frame.
func (f *Delta) AppendFrame(dst []byte) ([]byte, error) {
	if f.Length > MaxStateBytes {
		return dst, fmt.Errorf("encode delta: %w: state of %d bytes, limit %d", ErrTooLarge, f.Length, MaxStateBytes)
	}
	return append(appendDeltaHeader(dst, f.Frame, f.Base, f.Length), f.Payload...), nil
}

func appendDeltaHeader(dst []byte, frame, base uint64, length uint32) []byte {
	dst = binary.LittleEndian.AppendUint64(append(dst, byte(TypeDelta)), frame)
	dst = binary.LittleEndian.AppendUint64(dst, base)
	return binary.LittleEndian.AppendUint32(dst, length)
}

func decodeDelta(b []byte) (*Delta, error) {
	if len(b) < DeltaHeaderBytes {
		return nil, fmt.Errorf("%w: delta of %d bytes, shorter than its %d-byte header", ErrMalformed, len(b), DeltaHeaderBytes)
	}
	le := binary.LittleEndian
	f := &Delta{Frame: le.Uint64(b[1:9]), Base: le.Uint64(b[9:17]), Length: le.Uint32(b[17:21]), Payload: b[DeltaHeaderBytes:]}
	if f.Length > MaxStateBytes {
		return nil, fmt.Errorf("%w: delta of a %d-byte state, limit %d", ErrTooLarge, f.Length, MaxStateBytes)
	}
	if f.Base >= f.Frame && f.Base != 0 {
		return nil, fmt.Errorf("%w: delta of frame %d on base %d, not an earlier one", ErrMalformed, f.Frame, f.Base)
	}
	return f, nil
}

// xorInto sets dst[i] = state[i] ^ base[i] over len(state), base extended
// with zeros; dst and state have the same length.
func xorInto(dst, state, base []byte) {
	n := min(len(state), len(base))
	for i := range n {
		dst[i] = state[i] ^ base[i]
	}
	copy(dst[n:], state[n:])
}

// DeltaEncoder encodes Delta frames. It is safe for concurrent use; one
// serves a whole server.
type DeltaEncoder struct {
	zw      *zstd.Encoder
	scratch sync.Pool // *[]byte, the XOR of one state
}

// NewDeltaEncoder returns an encoder at zstd's fastest level, without the
// optional content checksum (TCP and the WebSocket already deliver bytes
// intact).
func NewDeltaEncoder() (*DeltaEncoder, error) {
	zw, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderCRC(false),
		zstd.WithSingleSegment(true),
		zstd.WithZeroFrames(true))
	if err != nil {
		return nil, fmt.Errorf("new zstd encoder: %w", err)
	}
	return &DeltaEncoder{zw: zw}, nil
}

// AppendDelta appends the Delta frame of state (frame number frame) on
// base (frame number baseFrame; 0 and nil for a keyframe) to dst.
func (e *DeltaEncoder) AppendDelta(dst []byte, frame uint64, state []byte, baseFrame uint64, base []byte) ([]byte, error) {
	if len(state) > MaxStateBytes {
		return dst, fmt.Errorf("encode delta: %w: state of %d bytes, limit %d", ErrTooLarge, len(state), MaxStateBytes)
	}
	if baseFrame == 0 {
		base = nil
	} else if baseFrame >= frame {
		return dst, fmt.Errorf("encode delta: base frame %d is not before frame %d", baseFrame, frame)
	}
	p, _ := e.scratch.Get().(*[]byte)
	if p == nil {
		p = new([]byte)
	}
	x := slices.Grow((*p)[:0], len(state))[:len(state)]
	xorInto(x, state, base)
	dst = appendDeltaHeader(dst, frame, baseFrame, uint32(len(state)))
	dst = e.zw.EncodeAll(x, dst)
	*p = x
	e.scratch.Put(p)
	return dst, nil
}

// Close releases the encoder's resources.
func (e *DeltaEncoder) Close() error { return e.zw.Close() }

// DeltaDecoder reconstructs states from Delta frames. It is safe for
// concurrent use; many clients may share one.
type DeltaDecoder struct {
	zr *zstd.Decoder
}

// NewDeltaDecoder returns a decoder that decodes up to concurrency
// frames at once (0: GOMAXPROCS; a single client wants 1) and refuses a
// payload that would decompress past MaxStateBytes.
func NewDeltaDecoder(concurrency int) (*DeltaDecoder, error) {
	zr, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(concurrency),
		zstd.WithDecoderMaxMemory(MaxStateBytes),
		zstd.WithDecoderLowmem(true))
	if err != nil {
		return nil, fmt.Errorf("new zstd decoder: %w", err)
	}
	return &DeltaDecoder{zr: zr}, nil
}

// Apply appends the state bytes f reconstructs on base (the state of
// frame f.Base, ignored for a keyframe) to dst. dst must not overlap
// base. Errors wrap ErrMalformed.
func (d *DeltaDecoder) Apply(dst []byte, f *Delta, base []byte) ([]byte, error) {
	if f.Keyframe() {
		base = nil
	}
	start := len(dst)
	out, err := d.zr.DecodeAll(f.Payload, dst)
	if err != nil {
		return dst, fmt.Errorf("%w: delta of frame %d: %w", ErrMalformed, f.Frame, err)
	}
	x := out[start:]
	if len(x) != int(f.Length) {
		return dst, fmt.Errorf("%w: delta of frame %d decompresses to %d bytes, its header says %d", ErrMalformed, f.Frame, len(x), f.Length)
	}
	xorInto(x, x, base)
	return out, nil
}

// Close releases the decoder's resources.
func (d *DeltaDecoder) Close() { d.zr.Close() }
