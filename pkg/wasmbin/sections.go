package wasmbin

import (
	"fmt"
	"iter"
)

// Section is one section of a module.
type Section struct {
	// ID is the section id.
	ID SectionID
	// Offset is the offset of the id byte in the module.
	Offset int
	// Body is the section's content, after its size.
	Body []byte
	// Base is the offset of Body[0] in the module.
	Base int
}

// Reader returns a Reader of the section's body.
func (s Section) Reader() Reader { return NewReader(s.Body, s.Base) }

// Sections returns an iterator over the sections of the module wasm, in
// order. It first checks the header: a module that does not start with the
// magic number is malformed, one of another version (such as a component)
// unsupported. It refuses unknown section ids, sections out of the
// required order or repeated (custom sections may go anywhere) and sizes
// that exceed the module. After the first error it yields nothing more.
func Sections(wasm []byte) iter.Seq2[Section, error] {
	return func(yield func(Section, error) bool) {
		if len(wasm) < len(Header) || string(wasm[:len(Magic)]) != Magic {
			yield(Section{}, malformed(0, "missing the \\0asm magic header (bad magic number)"))
			return
		}
		if string(wasm[len(Magic):len(Header)]) != Header[len(Magic):] {
			yield(Section{}, unsupported(len(Magic), fmt.Sprintf("binary version % x (only version 1 core modules are supported)", wasm[len(Magic):len(Header)])))
			return
		}
		r := Reader{b: wasm, pos: len(Header)}
		last := 0
		for !r.EOF() {
			off := r.Offset()
			c, _ := r.Byte()
			id := SectionID(c)
			size, err := r.U32()
			if err != nil {
				yield(Section{}, err)
				return
			}
			base := r.Offset()
			body, err := r.Bytes(int(size))
			if err != nil {
				yield(Section{}, malformed(off, fmt.Sprintf("section %d: size %d exceeds the module", id, size)))
				return
			}
			if id != SectionCustom {
				order := id.Order()
				if order == 0 {
					yield(Section{}, malformed(off, fmt.Sprintf("unknown section id %d", id)))
					return
				}
				if order <= last {
					yield(Section{}, malformed(off, fmt.Sprintf("section %d out of order or repeated", id)))
					return
				}
				last = order
			}
			if !yield(Section{ID: id, Offset: off, Body: body, Base: base}, nil) {
				return
			}
		}
	}
}
