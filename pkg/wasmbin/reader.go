package wasmbin

import "fmt"

// Reader decodes a byte slice of a module from its start. base is the
// offset of the slice's first byte in the whole module, so that errors can
// name absolute byte offsets. The zero Reader reads nothing.
type Reader struct {
	b    []byte
	pos  int
	base int
}

// NewReader returns a Reader of b, whose first byte is at offset base of
// the module.
func NewReader(b []byte, base int) Reader {
	return Reader{b: b, base: base}
}

// Offset returns the offset in the module of the next byte to read.
func (r *Reader) Offset() int { return r.base + r.pos }

// Pos returns the index in the reader's slice of the next byte to read.
func (r *Reader) Pos() int { return r.pos }

// EOF reports whether every byte has been read.
func (r *Reader) EOF() bool { return r.pos >= len(r.b) }

// Remaining returns the bytes not read yet.
func (r *Reader) Remaining() []byte { return r.b[r.pos:] }

func (r *Reader) errEOF() error {
	return malformed(r.Offset(), "unexpected end of data")
}

// Byte reads one byte.
func (r *Reader) Byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.errEOF()
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

// Peek returns the next byte without reading it.
func (r *Reader) Peek() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.errEOF()
	}
	return r.b[r.pos], nil
}

// Skip reads n bytes and ignores them.
func (r *Reader) Skip(n int) error {
	if n < 0 || n > len(r.b)-r.pos {
		return r.errEOF()
	}
	r.pos += n
	return nil
}

// Bytes reads n bytes and returns them; the result shares the reader's
// slice.
func (r *Reader) Bytes(n int) ([]byte, error) {
	start := r.pos
	if err := r.Skip(n); err != nil {
		return nil, err
	}
	return r.b[start:r.pos], nil
}

// uleb reads an unsigned LEB128 number of at most bits bits.
func (r *Reader) uleb(bits uint) (uint64, error) {
	start := r.Offset()
	var v uint64
	var shift uint
	for {
		c, err := r.Byte()
		if err != nil {
			return 0, err
		}
		if shift >= bits {
			return 0, malformed(start, "integer too long")
		}
		v |= uint64(c&0x7f) << shift
		if rest := bits - shift; rest < 7 && c&0x7f>>rest != 0 {
			return 0, malformed(start, "integer too large")
		}
		shift += 7
		if c&0x80 == 0 {
			return v, nil
		}
	}
}

// sleb reads a signed LEB128 number of at most bits bits.
func (r *Reader) sleb(bits uint) (int64, error) {
	start := r.Offset()
	var v int64
	var shift uint
	for {
		c, err := r.Byte()
		if err != nil {
			return 0, err
		}
		if shift >= bits {
			return 0, malformed(start, "integer too long")
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, nil
		}
	}
}

// U32 reads an unsigned 32-bit LEB128 integer (an index, a count, a size).
func (r *Reader) U32() (uint32, error) {
	v, err := r.uleb(32)
	return uint32(v), err
}

// U64 reads an unsigned 64-bit LEB128 integer.
func (r *Reader) U64() (uint64, error) { return r.uleb(64) }

// S32 reads a signed 32-bit LEB128 integer (the immediate of i32.const).
func (r *Reader) S32() (int32, error) {
	v, err := r.sleb(32)
	return int32(v), err
}

// S33 reads a signed 33-bit LEB128 integer (a heap type or a block type).
func (r *Reader) S33() (int64, error) { return r.sleb(33) }

// S64 reads a signed 64-bit LEB128 integer (the immediate of i64.const).
func (r *Reader) S64() (int64, error) { return r.sleb(64) }

// Count reads a vector length and checks that at least min bytes per
// element remain, so that a forged length cannot make the caller allocate.
func (r *Reader) Count(min int) (int, error) {
	start := r.Offset()
	n, err := r.U32()
	if err != nil {
		return 0, err
	}
	if min > 0 && int(n) > (len(r.b)-r.pos)/min {
		return 0, malformed(start, fmt.Sprintf("vector length %d exceeds the remaining data", n))
	}
	return int(n), nil
}

// Entries reads the entry count at the start of the body of section id,
// checking that the remaining bytes can hold that many entries of the
// section's smallest size.
func (r *Reader) Entries(id SectionID) (int, error) {
	return r.Count(minEntrySize(id))
}

// minEntrySize is a lower bound of the size of one entry of section id.
func minEntrySize(id SectionID) int {
	switch id {
	case SectionImport:
		return 4 // two empty names, a kind, an index
	case SectionGlobal, SectionExport:
		return 3
	case SectionType, SectionTable, SectionMemory:
		return 2
	}
	return 1
}

// Name reads a length-prefixed name. It does not check that the name is
// UTF-8.
func (r *Reader) Name() (string, error) {
	n, err := r.Count(1)
	if err != nil {
		return "", err
	}
	b, err := r.Bytes(n)
	return string(b), err
}

// AppendULEB128 appends v as an unsigned LEB128 integer.
func AppendULEB128(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// AppendSLEB128 appends v as a signed LEB128 integer.
func AppendSLEB128(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// AppendSection appends a section: its id, the size of body and body.
func AppendSection(b []byte, id SectionID, body []byte) []byte {
	b = append(b, byte(id))
	b = AppendULEB128(b, uint64(len(body)))
	return append(b, body...)
}

// AppendCustomSection appends a custom section: its name, then payload.
// Appended to a module it changes the module's bytes, and so its
// content-addressed identity, without changing what it does.
func AppendCustomSection(b []byte, name string, payload []byte) []byte {
	body := AppendULEB128(nil, uint64(len(name)))
	body = append(body, name...)
	return AppendSection(b, SectionCustom, append(body, payload...))
}
