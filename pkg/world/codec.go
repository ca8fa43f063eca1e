package world

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// Wire format constants. The package documentation describes the format.
const (
	// Magic is the first four bytes of every encoded snapshot.
	Magic = "RCCW"
	// Version is the wire format version this package writes and reads.
	Version = 1

	// MaxEntities is the largest number of entities in a snapshot.
	MaxEntities = 16384
	// MaxPlayers is the largest number of players in a snapshot.
	MaxPlayers = 1024
	// MaxLabelLen is the longest entity label, in bytes.
	MaxLabelLen = 128
	// MaxPlayerIDLen is the longest player id, in bytes.
	MaxPlayerIDLen = 128

	// HeaderSize is the size of the fixed header, in bytes.
	HeaderSize = 20
	// EntitySize is the size of an entity record without its label.
	EntitySize = 50
	// PlayerSize is the size of a player record without its id.
	PlayerSize = 9

	// MaxEncodedLen bounds the length of any valid encoded snapshot.
	MaxEncodedLen = HeaderSize + MaxEntities*(EntitySize+MaxLabelLen) + MaxPlayers*(PlayerSize+MaxPlayerIDLen)
)

// Errors returned, wrapped with details, by Decode, Snapshot.UnmarshalBinary
// and Snapshot.AppendBinary. Test for them with errors.Is.
var (
	// ErrTruncated means the input ended before the snapshot did.
	ErrTruncated = errors.New("truncated snapshot")
	// ErrMagic means the input does not start with Magic.
	ErrMagic = errors.New("not a world snapshot (bad magic)")
	// ErrVersion means the snapshot has a version this package does not read.
	ErrVersion = errors.New("unsupported snapshot version")
	// ErrLimit means a count or a length is over its limit.
	ErrLimit = errors.New("snapshot limit exceeded")
	// ErrInvalid means a field has a value the format does not allow.
	ErrInvalid = errors.New("invalid snapshot")
)

// EncodedLen returns the exact number of bytes AppendBinary appends for s,
// assuming s is valid.
func (s *Snapshot) EncodedLen() int {
	n := HeaderSize + len(s.Entities)*EntitySize + len(s.Players)*PlayerSize
	for i := range s.Entities {
		n += len(s.Entities[i].Label)
	}
	for i := range s.Players {
		n += len(s.Players[i].ID)
	}
	return n
}

// Validate reports whether s can be encoded: counts and lengths within the
// limits, nonzero entity ids, known shapes, UTF-8 labels and player ids.
func (s *Snapshot) Validate() error {
	if len(s.Entities) > MaxEntities {
		return fmt.Errorf("world: %d entities, more than %d: %w", len(s.Entities), MaxEntities, ErrLimit)
	}
	if len(s.Players) > MaxPlayers {
		return fmt.Errorf("world: %d players, more than %d: %w", len(s.Players), MaxPlayers, ErrLimit)
	}
	for i := range s.Entities {
		e := &s.Entities[i]
		if e.ID == 0 {
			return fmt.Errorf("world: entity %d: id 0: %w", i, ErrInvalid)
		}
		if !e.Shape.Valid() {
			return fmt.Errorf("world: entity %d (id %d): unknown %v: %w", i, e.ID, e.Shape, ErrInvalid)
		}
		if len(e.Label) > MaxLabelLen {
			return fmt.Errorf("world: entity %d (id %d): label of %d bytes, more than %d: %w", i, e.ID, len(e.Label), MaxLabelLen, ErrLimit)
		}
		if !utf8.ValidString(e.Label) {
			return fmt.Errorf("world: entity %d (id %d): label is not UTF-8: %w", i, e.ID, ErrInvalid)
		}
	}
	for i := range s.Players {
		p := &s.Players[i]
		if len(p.ID) == 0 {
			return fmt.Errorf("world: player %d: empty id: %w", i, ErrInvalid)
		}
		if len(p.ID) > MaxPlayerIDLen {
			return fmt.Errorf("world: player %d: id of %d bytes, more than %d: %w", i, len(p.ID), MaxPlayerIDLen, ErrLimit)
		}
		if !utf8.ValidString(p.ID) {
			return fmt.Errorf("world: player %d: id is not UTF-8: %w", i, ErrInvalid)
		}
	}
	return nil
}

// AppendBinary appends the encoding of s to dst and returns the extended
// slice. It implements encoding.BinaryAppender. It allocates only when dst
// lacks the capacity, so reusing the returned slice (as dst[:0]) across
// frames makes encoding allocation-free in steady state. When s is not
// valid (see Validate) it returns dst unchanged and the error.
func (s *Snapshot) AppendBinary(dst []byte) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return dst, err
	}
	start := len(dst)
	dst = grow(dst, s.EncodedLen())
	b := dst[start:]

	copy(b[0:4], Magic)
	le.PutUint16(b[4:], Version)
	le.PutUint16(b[6:], 0) // flags
	le.PutUint64(b[8:], s.Frame)
	le.PutUint16(b[16:], uint16(len(s.Entities)))
	le.PutUint16(b[18:], uint16(len(s.Players)))
	off := HeaderSize
	for i := range s.Entities {
		e := &s.Entities[i]
		r := b[off : off+EntitySize]
		le.PutUint32(r[0:], e.ID)
		r[4] = byte(e.Shape)
		r[5] = byte(len(e.Label))
		putF32(r[6:], e.Position.X)
		putF32(r[10:], e.Position.Y)
		putF32(r[14:], e.Position.Z)
		putF32(r[18:], e.Rotation.X)
		putF32(r[22:], e.Rotation.Y)
		putF32(r[26:], e.Rotation.Z)
		putF32(r[30:], e.Rotation.W)
		putF32(r[34:], e.Scale.X)
		putF32(r[38:], e.Scale.Y)
		putF32(r[42:], e.Scale.Z)
		r[46], r[47], r[48], r[49] = e.Color.R, e.Color.G, e.Color.B, e.Color.A
		off += EntitySize
		off += copy(b[off:], e.Label)
	}
	for i := range s.Players {
		p := &s.Players[i]
		r := b[off : off+PlayerSize]
		le.PutUint32(r[0:], p.Entity)
		le.PutUint32(r[4:], uint32(p.Score))
		r[8] = byte(len(p.ID))
		off += PlayerSize
		off += copy(b[off:], p.ID)
	}
	return dst, nil
}

// MarshalBinary returns the encoding of s. It implements
// encoding.BinaryMarshaler.
func (s *Snapshot) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, s.EncodedLen()))
}

// Decode parses one encoded snapshot. The input must hold exactly one
// snapshot: trailing bytes are an error. Decode never panics; its errors
// wrap ErrTruncated, ErrMagic, ErrVersion, ErrLimit or ErrInvalid.
func Decode(data []byte) (*Snapshot, error) {
	s := new(Snapshot)
	if err := s.UnmarshalBinary(data); err != nil {
		return nil, err
	}
	return s, nil
}

// UnmarshalBinary decodes data into s, reusing the capacity of s's slices
// and, when a label or player id is unchanged from the previous contents
// at the same index, its string, so decoding a stream of similar snapshots
// into the same Snapshot does not allocate in steady state. It implements
// encoding.BinaryUnmarshaler. On error the contents of s are unspecified
// (but safe to reuse). The same rules as Decode apply.
func (s *Snapshot) UnmarshalBinary(data []byte) error {
	if len(data) < HeaderSize {
		if len(data) >= 4 && string(data[:4]) != Magic {
			return fmt.Errorf("world: %w", ErrMagic)
		}
		return fmt.Errorf("world: header: %d of %d bytes: %w", len(data), HeaderSize, ErrTruncated)
	}
	if string(data[:4]) != Magic {
		return fmt.Errorf("world: %w", ErrMagic)
	}
	if v := le.Uint16(data[4:]); v != Version {
		return fmt.Errorf("world: version %d, this decoder reads %d: %w", v, Version, ErrVersion)
	}
	if f := le.Uint16(data[6:]); f != 0 {
		return fmt.Errorf("world: header flags %#04x, must be 0: %w", f, ErrInvalid)
	}
	frame := le.Uint64(data[8:])
	ne := int(le.Uint16(data[16:]))
	np := int(le.Uint16(data[18:]))
	if ne > MaxEntities {
		return fmt.Errorf("world: %d entities, more than %d: %w", ne, MaxEntities, ErrLimit)
	}
	if np > MaxPlayers {
		return fmt.Errorf("world: %d players, more than %d: %w", np, MaxPlayers, ErrLimit)
	}
	// Refuse counts the input cannot possibly hold before allocating.
	if need := HeaderSize + ne*EntitySize + np*(PlayerSize+1); len(data) < need {
		return fmt.Errorf("world: %d entities and %d players need at least %d bytes, have %d: %w", ne, np, need, len(data), ErrTruncated)
	}

	s.Frame = frame
	s.Entities = resize(s.Entities, ne)
	s.Players = resize(s.Players, np)
	off := HeaderSize
	for i := 0; i < ne; i++ {
		if len(data)-off < EntitySize {
			return fmt.Errorf("world: entity %d at offset %d: %w", i, off, ErrTruncated)
		}
		r := data[off : off+EntitySize]
		e := &s.Entities[i]
		e.ID = le.Uint32(r[0:])
		if e.ID == 0 {
			return fmt.Errorf("world: entity %d at offset %d: id 0: %w", i, off, ErrInvalid)
		}
		e.Shape = Shape(r[4])
		if !e.Shape.Valid() {
			return fmt.Errorf("world: entity %d (id %d) at offset %d: unknown %v: %w", i, e.ID, off, e.Shape, ErrInvalid)
		}
		n := int(r[5])
		if n > MaxLabelLen {
			return fmt.Errorf("world: entity %d (id %d) at offset %d: label of %d bytes, more than %d: %w", i, e.ID, off, n, MaxLabelLen, ErrLimit)
		}
		e.Position = Vec3{f32(r[6:]), f32(r[10:]), f32(r[14:])}
		e.Rotation = Quat{f32(r[18:]), f32(r[22:]), f32(r[26:]), f32(r[30:])}
		e.Scale = Vec3{f32(r[34:]), f32(r[38:]), f32(r[42:])}
		e.Color = Color{r[46], r[47], r[48], r[49]}
		off += EntitySize
		if len(data)-off < n {
			return fmt.Errorf("world: entity %d (id %d) label at offset %d: %w", i, e.ID, off, ErrTruncated)
		}
		lb := data[off : off+n]
		if !utf8.Valid(lb) {
			return fmt.Errorf("world: entity %d (id %d) label at offset %d: not UTF-8: %w", i, e.ID, off, ErrInvalid)
		}
		if e.Label != string(lb) {
			e.Label = string(lb)
		}
		off += n
	}
	for i := 0; i < np; i++ {
		if len(data)-off < PlayerSize {
			return fmt.Errorf("world: player %d at offset %d: %w", i, off, ErrTruncated)
		}
		r := data[off : off+PlayerSize]
		p := &s.Players[i]
		p.Entity = le.Uint32(r[0:])
		p.Score = int32(le.Uint32(r[4:]))
		n := int(r[8])
		if n == 0 {
			return fmt.Errorf("world: player %d at offset %d: empty id: %w", i, off, ErrInvalid)
		}
		if n > MaxPlayerIDLen {
			return fmt.Errorf("world: player %d at offset %d: id of %d bytes, more than %d: %w", i, off, n, MaxPlayerIDLen, ErrLimit)
		}
		off += PlayerSize
		if len(data)-off < n {
			return fmt.Errorf("world: player %d id at offset %d: %w", i, off, ErrTruncated)
		}
		ib := data[off : off+n]
		if !utf8.Valid(ib) {
			return fmt.Errorf("world: player %d id at offset %d: not UTF-8: %w", i, off, ErrInvalid)
		}
		if p.ID != string(ib) {
			p.ID = string(ib)
		}
		off += n
	}
	if off != len(data) {
		return fmt.Errorf("world: %d trailing bytes at offset %d: %w", len(data)-off, off, ErrInvalid)
	}
	return nil
}

var le = binary.LittleEndian

func putF32(b []byte, v float32) { le.PutUint32(b, math.Float32bits(v)) }

func f32(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) }

// grow extends dst by n bytes, reallocating only when it lacks capacity.
func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) < n {
		nd := make([]byte, len(dst), len(dst)+n+len(dst)/4)
		copy(nd, dst)
		dst = nd
	}
	return dst[:len(dst)+n]
}

// resize returns s with length n, reusing its capacity when it suffices.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
