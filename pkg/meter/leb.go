package meter

import "fmt"

// reader decodes a byte slice of a module. base is the offset of b[0] in
// the whole module, so that errors can name absolute byte offsets.
type reader struct {
	b    []byte
	pos  int
	base int
}

func (r *reader) off() int { return r.base + r.pos }

func (r *reader) eof() bool { return r.pos >= len(r.b) }

func (r *reader) errEOF() error {
	return malformed(r.off(), "unexpected end of data")
}

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.errEOF()
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) peek() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.errEOF()
	}
	return r.b[r.pos], nil
}

func (r *reader) skip(n int) error {
	if n < 0 || n > len(r.b)-r.pos {
		return r.errEOF()
	}
	r.pos += n
	return nil
}

func (r *reader) bytes(n int) ([]byte, error) {
	start := r.pos
	if err := r.skip(n); err != nil {
		return nil, err
	}
	return r.b[start:r.pos], nil
}

// uleb reads an unsigned LEB128 number of at most bits bits.
func (r *reader) uleb(bits uint) (uint64, error) {
	start := r.off()
	var v uint64
	var shift uint
	for {
		c, err := r.byte()
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
func (r *reader) sleb(bits uint) (int64, error) {
	start := r.off()
	var v int64
	var shift uint
	for {
		c, err := r.byte()
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

func (r *reader) u32() (uint32, error) {
	v, err := r.uleb(32)
	return uint32(v), err
}

// count reads a vector length and checks that at least min bytes per
// element remain, so that a forged length cannot make us allocate.
func (r *reader) count(min int) (int, error) {
	start := r.off()
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if min > 0 && int(n) > (len(r.b)-r.pos)/min {
		return 0, malformed(start, fmt.Sprintf("vector length %d exceeds the remaining data", n))
	}
	return int(n), nil
}

// name reads a length-prefixed string.
func (r *reader) name() (string, error) {
	n, err := r.count(1)
	if err != nil {
		return "", err
	}
	b, err := r.bytes(n)
	return string(b), err
}

func appendULEB(b []byte, v uint64) []byte {
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

func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
