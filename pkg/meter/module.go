package meter

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rcc-games/rcc/pkg/wasmbin"
)

type module struct {
	sections        []wasmbin.Section
	importedGlobals int
	definedGlobals  int
	importedFuncs   int
	types           []wasmbin.FuncType
	funcParams      []uint32 // parameter count of each defined function
	exports         map[string]bool
	// mutable lists the indices of the defined mutable globals, which the
	// rewrite exports under reserved names (GlobalExportName).
	mutable []uint32
}

// parseModule decodes the sections of wasm with wasmbin and refuses what
// the rewrite does not handle: tags (exception handling), shared and 64-bit
// memories, more than one memory.
func parseModule(wasm []byte) (*module, error) {
	m := &module{exports: map[string]bool{}}
	haveCode := false
	for s, err := range wasmbin.Sections(wasm) {
		if err != nil {
			return nil, err
		}
		if err := m.parseSection(s); err != nil {
			return nil, err
		}
		if s.ID == wasmbin.SectionCode {
			haveCode = true
		}
		m.sections = append(m.sections, s)
	}
	if len(m.funcParams) > 0 && !haveCode {
		return nil, malformed(len(wasm), "function section without code section")
	}
	return m, nil
}

func (m *module) parseSection(s wasmbin.Section) error {
	r := s.Reader()
	switch s.ID {
	case wasmbin.SectionType:
		var err error
		m.types, err = r.Types()
		return err
	case wasmbin.SectionImport:
		return m.parseImports(&r)
	case wasmbin.SectionFunction:
		funcs, err := r.Functions(len(m.types))
		if err != nil {
			return err
		}
		// The type indices become parameter counts, in place.
		for i, t := range funcs {
			funcs[i] = uint32(len(m.types[t].Params))
		}
		m.funcParams = funcs
	case wasmbin.SectionTable:
		n, err := r.Entries(s.ID)
		if err != nil {
			return err
		}
		for range n {
			t, err := r.TableType()
			if err := checkLimits(t.Limits, false); err != nil {
				return err
			}
			if err != nil {
				return err
			}
		}
	case wasmbin.SectionMemory:
		n, err := r.Entries(s.ID)
		if err != nil {
			return err
		}
		if n > 1 {
			return unsupported(s.Base, "more than one memory (multi-memory)")
		}
		for range n {
			l, err := r.Limits()
			if err := checkLimits(l, true); err != nil {
				return err
			}
			if err != nil {
				return err
			}
		}
	case wasmbin.SectionTag:
		return unsupported(s.Offset, "tag section (exception handling)")
	case wasmbin.SectionGlobal:
		n, err := r.Entries(s.ID)
		if err != nil {
			return err
		}
		m.definedGlobals = n
		for i := range n {
			t, err := r.GlobalType()
			if err != nil {
				return err
			}
			if err := skipConstExpr(&r); err != nil {
				return err
			}
			if t.Mutable {
				m.mutable = append(m.mutable, uint32(m.importedGlobals+i))
			}
		}
	case wasmbin.SectionExport:
		n, err := r.Entries(s.ID)
		if err != nil {
			return err
		}
		for range n {
			e, err := r.Export()
			if err != nil {
				return err
			}
			m.exports[e.Name] = true
		}
	case wasmbin.SectionElement, wasmbin.SectionData:
		// Only check the length against the section size, so that a
		// forged count is refused before any runtime allocates for it.
		_, err := r.Entries(s.ID)
		return err
	case wasmbin.SectionCode:
		n, err := r.Entries(s.ID)
		if err != nil {
			return err
		}
		if n != len(m.funcParams) {
			return malformed(s.Base, fmt.Sprintf("code section has %d bodies for %d functions", n, len(m.funcParams)))
		}
	}
	return nil
}

// checkLimits refuses the limits of shared and 64-bit memories, and flags
// other than a maximum on tables. It is called before the error of reading
// the limits is looked at: an unsupported flags byte is reported first, as
// it is found first.
func checkLimits(l wasmbin.Limits, memory bool) error {
	switch {
	case l.Flags <= wasmbin.LimitsMax:
		return nil
	case memory && l.Shared() && l.Flags <= wasmbin.LimitsShared|wasmbin.LimitsMax:
		return unsupported(l.Offset, "shared memory (threads)")
	case memory && l.Is64():
		return unsupported(l.Offset, "64-bit memory (memory64)")
	}
	return unsupported(l.Offset, fmt.Sprintf("limits flags %#x", l.Flags))
}

func (m *module) parseImports(r *wasmbin.Reader) error {
	n, err := r.Entries(wasmbin.SectionImport)
	if err != nil {
		return err
	}
	for range n {
		// What the import has of an unsupported feature comes first: it
		// was found before whatever made the reading fail.
		im, err := r.Import()
		switch im.Kind {
		case wasmbin.KindTable:
			if err := checkLimits(im.Table.Limits, false); err != nil {
				return err
			}
		case wasmbin.KindMemory:
			if err := checkLimits(im.Memory, true); err != nil {
				return err
			}
		case wasmbin.KindTag:
			return unsupported(im.KindOffset, "tag import (exception handling)")
		}
		if err != nil {
			return err
		}
		switch im.Kind {
		case wasmbin.KindFunc:
			m.importedFuncs++
		case wasmbin.KindGlobal:
			m.importedGlobals++
		}
	}
	return nil
}

// skipConstExpr reads a constant expression up to its end: the constant
// instructions of WebAssembly 2.0 and the extended-constant arithmetic.
func skipConstExpr(r *wasmbin.Reader) error {
	for {
		at := r.Offset()
		op, err := r.Byte()
		if err != nil {
			return err
		}
		switch op {
		case opEnd:
			return nil
		case opI32Const:
			_, err = r.S32()
		case opI64Const:
			_, err = r.S64()
		case 0x43: // f32.const
			err = r.Skip(4)
		case 0x44: // f64.const
			err = r.Skip(8)
		case 0x23, 0xd2: // global.get, ref.func
			_, err = r.U32()
		case 0xd0: // ref.null
			_, err = r.Byte()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended constants: add, sub, mul
		case 0xfd: // v128.const
			var sub uint32
			if sub, err = r.U32(); err == nil {
				if sub != 12 {
					return malformed(at, fmt.Sprintf("SIMD opcode %d in a constant expression", sub))
				}
				err = r.Skip(16)
			}
		default:
			return malformed(at, fmt.Sprintf("opcode %#x in a constant expression", op))
		}
		if err != nil {
			return err
		}
	}
}

// reserved reports the first export of the module whose name the rewrite
// reserves, or "".
func (m *module) reserved() string {
	if m.exports[GlobalName] {
		return GlobalName
	}
	for name := range m.exports {
		if strings.HasPrefix(name, GlobalPrefix) {
			return name
		}
	}
	return ""
}

// rewrite produces the instrumented module; without fuel, only the exports
// of the mutable globals are added and the code is kept as it is.
func (m *module) rewrite(opts Options, fuelOn bool) ([]byte, error) {
	if name := m.reserved(); name != "" {
		return nil, &Error{Offset: 0, Msg: "export " + name + " exists", Err: ErrExported}
	}
	fuel := uint32(m.importedGlobals + m.definedGlobals)
	if m.importedGlobals+m.definedGlobals >= 1<<32-1 {
		return nil, unsupported(0, "too many globals")
	}
	out := make([]byte, 0, 64+sizeHint(m))
	out = append(out, wasmbin.Header...)
	globalDone, exportDone := false, false
	if !fuelOn {
		globalDone = true
	}
	emitGlobal := func(prefix []byte, count int) {
		body := wasmbin.AppendULEB128(nil, uint64(count+1))
		body = append(body, prefix...)
		body = append(body, byte(wasmbin.I64), wasmbin.MutVar, opI64Const)
		body = wasmbin.AppendSLEB128(body, opts.InitialFuel)
		body = append(body, opEnd)
		out = wasmbin.AppendSection(out, wasmbin.SectionGlobal, body)
		globalDone = true
	}
	addGlobal := func(body []byte, name string, index uint32) []byte {
		body = wasmbin.AppendULEB128(body, uint64(len(name)))
		body = append(body, name...)
		body = append(body, byte(wasmbin.KindGlobal))
		return wasmbin.AppendULEB128(body, uint64(index))
	}
	emitExport := func(prefix []byte, count int) {
		added := len(m.mutable)
		if fuelOn {
			added++
		}
		if added == 0 && prefix == nil {
			exportDone = true // no export section to add
			return
		}
		body := wasmbin.AppendULEB128(nil, uint64(count+added))
		body = append(body, prefix...)
		if fuelOn {
			body = addGlobal(body, GlobalName, fuel)
		}
		for _, g := range m.mutable {
			body = addGlobal(body, GlobalExportName(g), g)
		}
		out = wasmbin.AppendSection(out, wasmbin.SectionExport, body)
		exportDone = true
	}
	for _, s := range m.sections {
		if s.ID != wasmbin.SectionCustom {
			if !globalDone && s.ID.Order() > wasmbin.SectionGlobal.Order() {
				emitGlobal(nil, 0)
			}
			if !exportDone && s.ID.Order() > wasmbin.SectionExport.Order() {
				emitExport(nil, 0)
			}
		}
		switch s.ID {
		case wasmbin.SectionGlobal, wasmbin.SectionExport:
			r := s.Reader()
			n, _ := r.U32()
			if s.ID == wasmbin.SectionGlobal {
				if fuelOn {
					emitGlobal(r.Remaining(), int(n))
				} else {
					out = wasmbin.AppendSection(out, s.ID, s.Body)
				}
			} else {
				emitExport(r.Remaining(), int(n))
			}
		case wasmbin.SectionCode:
			if !fuelOn {
				out = wasmbin.AppendSection(out, s.ID, s.Body)
				continue
			}
			body, err := rewriteCode(s, fuel, uint32(m.importedFuncs), m.funcParams, opts)
			if err != nil {
				return nil, err
			}
			out = wasmbin.AppendSection(out, wasmbin.SectionCode, body)
		default:
			out = wasmbin.AppendSection(out, s.ID, s.Body)
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
		n += len(s.Body) + 6
		if s.ID == wasmbin.SectionCode {
			n += len(s.Body) / 2
		}
	}
	return n
}

// meterError turns an error of the reader into an *Error of the same kind,
// offset and message; other errors are returned as they are.
func meterError(err error) error {
	var be *wasmbin.Error
	if !errors.As(err, &be) {
		return err
	}
	kind := ErrMalformed
	if errors.Is(be.Err, wasmbin.ErrUnsupported) {
		kind = ErrUnsupported
	}
	return &Error{Offset: be.Offset, Msg: be.Msg, Err: kind}
}
