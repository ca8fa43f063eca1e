package meter

import (
	"bytes"
	"fmt"
)

const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// sectionRank is the position of each known non-custom section in the order
// the binary format requires.
var sectionRank = map[byte]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5,
	secTag: 6, secGlobal: 7, secExport: 8, secStart: 9, secElement: 10,
	secDataCount: 11, secCode: 12, secData: 13,
}

var magic = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

type section struct {
	id   byte
	off  int    // offset of the section id in the module
	body []byte // the section's content
	base int    // offset of body[0] in the module
}

type module struct {
	sections        []section
	importedGlobals int
	definedGlobals  int
	definedFuncs    int
	importedFuncs   int
	typeParams      []uint32 // parameter count of each type
	funcParams      []uint32 // parameter count of each defined function
	exports         map[string]bool
}

func parseModule(wasm []byte) (*module, error) {
	if len(wasm) < len(magic) || !bytes.Equal(wasm[:4], magic[:4]) {
		return nil, malformed(0, "not a WebAssembly binary (bad magic number)")
	}
	if !bytes.Equal(wasm[4:8], magic[4:]) {
		return nil, unsupported(4, fmt.Sprintf("binary version % x (only version 1 core modules are supported)", wasm[4:8]))
	}
	m := &module{exports: map[string]bool{}}
	r := &reader{b: wasm, pos: len(magic)}
	lastRank := 0
	haveCode := false
	for !r.eof() {
		off := r.off()
		id, _ := r.byte()
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		base := r.off()
		body, err := r.bytes(int(size))
		if err != nil {
			return nil, malformed(off, fmt.Sprintf("section %d: size %d exceeds the module", id, size))
		}
		s := section{id: id, off: off, body: body, base: base}
		if id != secCustom {
			rank, ok := sectionRank[id]
			if !ok {
				return nil, malformed(off, fmt.Sprintf("unknown section id %d", id))
			}
			if rank <= lastRank {
				return nil, malformed(off, fmt.Sprintf("section %d out of order or repeated", id))
			}
			lastRank = rank
		}
		if err := m.parseSection(s); err != nil {
			return nil, err
		}
		if id == secCode {
			haveCode = true
		}
		m.sections = append(m.sections, s)
	}
	if m.definedFuncs > 0 && !haveCode {
		return nil, malformed(len(wasm), "function section without code section")
	}
	return m, nil
}

func (m *module) parseSection(s section) error {
	r := &reader{b: s.body, base: s.base}
	switch s.id {
	case secType:
		return m.parseTypes(r)
	case secImport:
		return m.parseImports(r)
	case secFunction:
		n, err := r.count(1)
		if err != nil {
			return err
		}
		m.definedFuncs = n
		m.funcParams = make([]uint32, n)
		for i := range n {
			off := r.off()
			t, err := r.u32()
			if err != nil {
				return err
			}
			if int64(t) >= int64(len(m.typeParams)) {
				return malformed(off, fmt.Sprintf("function %d has unknown type %d", i, t))
			}
			m.funcParams[i] = m.typeParams[t]
		}
	case secTable:
		n, err := r.count(2)
		if err != nil {
			return err
		}
		for range n {
			if err := parseTableType(r); err != nil {
				return err
			}
		}
	case secMemory:
		n, err := r.count(2)
		if err != nil {
			return err
		}
		if n > 1 {
			return unsupported(s.base, "more than one memory (multi-memory)")
		}
		for range n {
			if err := parseLimits(r, true); err != nil {
				return err
			}
		}
	case secTag:
		return unsupported(s.off, "tag section (exception handling)")
	case secGlobal:
		n, err := r.count(3)
		m.definedGlobals = n
		return err
	case secExport:
		n, err := r.count(3)
		if err != nil {
			return err
		}
		for range n {
			name, err := r.name()
			if err != nil {
				return err
			}
			if _, err := r.byte(); err != nil {
				return err
			}
			if _, err := r.u32(); err != nil {
				return err
			}
			m.exports[name] = true
		}
	case secElement, secData:
		// Only check the length against the section size, so that a
		// forged count is refused before any runtime allocates for it.
		_, err := r.count(1)
		return err
	case secCode:
		n, err := r.count(1)
		if err != nil {
			return err
		}
		if n != m.definedFuncs {
			return malformed(s.base, fmt.Sprintf("code section has %d bodies for %d functions", n, m.definedFuncs))
		}
	}
	return nil
}

func (m *module) parseTypes(r *reader) error {
	n, err := r.count(2)
	if err != nil {
		return err
	}
	for range n {
		off := r.off()
		form, err := r.byte()
		if err != nil {
			return err
		}
		k := 1
		if form == 0x4e {
			// A recursion group of plain function types, as wazero
			// accepts; the rewrite does not depend on types.
			if k, err = r.count(3); err != nil {
				return err
			}
			off = r.off()
			if k > 0 {
				if form, err = r.byte(); err != nil {
					return err
				}
			}
		}
		for i := range k {
			if i > 0 {
				off = r.off()
				if form, err = r.byte(); err != nil {
					return err
				}
			}
			if form != 0x60 {
				return unsupported(off, fmt.Sprintf("type form %#x (GC types)", form))
			}
			params, err := parseFuncType(r)
			if err != nil {
				return err
			}
			m.typeParams = append(m.typeParams, params)
		}
	}
	return nil
}

// parseFuncType reads the rest of a function type and returns its number
// of parameters.
func parseFuncType(r *reader) (uint32, error) {
	var params uint32
	for i := range 2 { // params, results
		k, err := r.count(1)
		if err != nil {
			return 0, err
		}
		if i == 0 {
			params = uint32(k)
		}
		for range k {
			if err := parseValType(r); err != nil {
				return 0, err
			}
		}
	}
	return params, nil
}

// parseValType reads a value type: a number, vector or reference type. The
// nullable abstract forms (ref null func) and (ref null extern) are the same
// types as funcref and externref; other reference types are refused.
func parseValType(r *reader) error {
	off := r.off()
	t, err := r.byte()
	if err != nil {
		return err
	}
	if isValType(t) {
		return nil
	}
	return refType(r, off, t)
}

// refType checks the rest of a reference type whose first byte t, at off,
// was already read.
func refType(r *reader, off int, t byte) error {
	switch t {
	case 0x63:
		h, err := r.sleb(33)
		if err != nil {
			return err
		}
		if h == -0x10 || h == -0x11 { // func, extern
			return nil
		}
		return unsupported(off, fmt.Sprintf("reference type (ref null %d) (typed function references or GC)", h))
	case 0x64:
		return unsupported(off, "non-nullable reference type (typed function references)")
	case 0x69:
		// exnref: wazero accepts it in types without exception handling,
		// whose instructions are refused anyway.
		return nil
	}
	return unsupported(off, fmt.Sprintf("value type %#x", t))
}

func isValType(t byte) bool {
	switch t {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		return true
	}
	return false
}

func parseTableType(r *reader) error {
	off := r.off()
	t, err := r.byte()
	if err != nil {
		return err
	}
	if t != 0x70 && t != 0x6f {
		return unsupported(off, fmt.Sprintf("table element type %#x", t))
	}
	return parseLimits(r, false)
}

func parseLimits(r *reader, memory bool) error {
	off := r.off()
	flags, err := r.byte()
	if err != nil {
		return err
	}
	switch {
	case flags <= 1:
	case memory && flags&0x02 != 0 && flags <= 3:
		return unsupported(off, "shared memory (threads)")
	case memory && flags&0x04 != 0:
		return unsupported(off, "64-bit memory (memory64)")
	default:
		return unsupported(off, fmt.Sprintf("limits flags %#x", flags))
	}
	if _, err := r.u32(); err != nil {
		return err
	}
	if flags == 1 {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

func (m *module) parseImports(r *reader) error {
	n, err := r.count(4)
	if err != nil {
		return err
	}
	for range n {
		if _, err := r.name(); err != nil {
			return err
		}
		if _, err := r.name(); err != nil {
			return err
		}
		off := r.off()
		kind, err := r.byte()
		if err != nil {
			return err
		}
		switch kind {
		case 0: // function
			if _, err := r.u32(); err != nil {
				return err
			}
			m.importedFuncs++
		case 1:
			if err := parseTableType(r); err != nil {
				return err
			}
		case 2:
			if err := parseLimits(r, true); err != nil {
				return err
			}
		case 3:
			if err := parseValType(r); err != nil {
				return err
			}
			if _, err := r.byte(); err != nil {
				return err
			}
			m.importedGlobals++
		case 4:
			return unsupported(off, "tag import (exception handling)")
		default:
			return malformed(off, fmt.Sprintf("import kind %#x", kind))
		}
	}
	return nil
}

// rewrite produces the instrumented module.
func (m *module) rewrite(opts Options) ([]byte, error) {
	if m.exports[GlobalName] {
		return nil, &Error{Offset: 0, Msg: "export " + GlobalName + " exists", Err: ErrExported}
	}
	fuel := uint32(m.importedGlobals + m.definedGlobals)
	if m.importedGlobals+m.definedGlobals >= 1<<32-1 {
		return nil, unsupported(0, "too many globals")
	}
	out := make([]byte, 0, 64+sizeHint(m))
	out = append(out, magic...)
	globalDone, exportDone := false, false
	emitGlobal := func(prefix []byte, count int) {
		body := appendULEB(nil, uint64(count+1))
		body = append(body, prefix...)
		body = append(body, 0x7e, 0x01, 0x42)
		body = appendSLEB(body, opts.InitialFuel)
		body = append(body, 0x0b)
		out = appendSection(out, secGlobal, body)
		globalDone = true
	}
	emitExport := func(prefix []byte, count int) {
		body := appendULEB(nil, uint64(count+1))
		body = append(body, prefix...)
		body = appendULEB(body, uint64(len(GlobalName)))
		body = append(body, GlobalName...)
		body = append(body, 0x03)
		body = appendULEB(body, uint64(fuel))
		out = appendSection(out, secExport, body)
		exportDone = true
	}
	for _, s := range m.sections {
		rank := sectionRank[s.id]
		if s.id != secCustom {
			if !globalDone && rank > sectionRank[secGlobal] {
				emitGlobal(nil, 0)
			}
			if !exportDone && rank > sectionRank[secExport] {
				emitExport(nil, 0)
			}
		}
		switch s.id {
		case secGlobal, secExport:
			r := &reader{b: s.body, base: s.base}
			n, _ := r.u32()
			if s.id == secGlobal {
				emitGlobal(s.body[r.pos:], int(n))
			} else {
				emitExport(s.body[r.pos:], int(n))
			}
		case secCode:
			body, err := rewriteCode(s, fuel, uint32(m.importedFuncs), m.funcParams, opts)
			if err != nil {
				return nil, err
			}
			out = appendSection(out, secCode, body)
		default:
			out = append(out, s.id)
			out = appendULEB(out, uint64(len(s.body)))
			out = append(out, s.body...)
		}
	}
	if !globalDone {
		emitGlobal(nil, 0)
	}
	if !exportDone {
		emitExport(nil, 0)
	}
	return out, nil
}

func sizeHint(m *module) int {
	n := 0
	for _, s := range m.sections {
		n += len(s.body) + 6
		if s.id == secCode {
			n += len(s.body) / 2
		}
	}
	return n
}

func appendSection(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = appendULEB(out, uint64(len(body)))
	return append(out, body...)
}
