package wasmhost

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"
)

// WASIModule is the only import module a game may use.
const WASIModule = "wasi_snapshot_preview1"

// PageSize is the size of one WebAssembly memory page.
const PageSize = 65536

// DefaultMemoryLimitPages is the default cap on linear memory: 64 MiB.
const DefaultMemoryLimitPages = 1024

// Problem codes reported by Check.
const (
	ProblemMalformed     = "malformed"
	ProblemMissingExport = "missing_export"
	ProblemExportType    = "export_type"
	ProblemImport        = "forbidden_import"
	ProblemMemory        = "memory_limit"
)

// Problem is one way a module breaks the guest ABI.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Report is the result of checking a module against the guest ABI.
type Report struct {
	Size     int             `json:"size_bytes"`
	Imports  []string        `json:"imports"`
	Exports  []string        `json:"exports"`
	Optional map[string]bool `json:"optional_exports"`
	// MemoryMinPages and MemoryMaxPages describe the module's memory; max is
	// 0 when the module declares none.
	MemoryMinPages uint32    `json:"memory_min_pages"`
	MemoryMaxPages uint32    `json:"memory_max_pages,omitempty"`
	Problems       []Problem `json:"problems"`
}

// OK reports whether the module has no problems.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Err returns nil when the module is valid and otherwise an *Error with
// reason invalid_module listing every problem.
func (r *Report) Err() error {
	if r.OK() {
		return nil
	}
	msgs := make([]string, len(r.Problems))
	for i, p := range r.Problems {
		msgs[i] = p.Message
	}
	return &Error{Reason: ReasonInvalidModule, Detail: strings.Join(msgs, "; ")}
}

func (r *Report) add(code, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Code: code, Message: fmt.Sprintf(format, args...)})
}

type funcType struct {
	params, results []api.ValueType
}

func (t funcType) String() string {
	return fmt.Sprintf("(%s) -> (%s)", valueTypes(t.params), valueTypes(t.results))
}

func (t funcType) equal(o funcType) bool {
	return bytes.Equal(t.params, o.params) && bytes.Equal(t.results, o.results)
}

func valueTypes(ts []api.ValueType) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return strings.Join(names, ", ")
}

func sig(params, results string) funcType {
	return funcType{params: []byte(params), results: []byte(results)}
}

const (
	i32 = string(rune(api.ValueTypeI32))
	f32 = string(rune(api.ValueTypeF32))
)

// abiExport is one export of the guest ABI.
type abiExport struct {
	name     string
	sig      funcType
	required bool
}

var abiExports = []abiExport{
	{"alloc", sig(i32, i32), true},
	{"init", sig(i32+i32, i32), true},
	{"tick", sig(f32, ""), true},
	{"on_input", sig(i32+i32+i32+i32, ""), true},
	{"serialize_state", sig("", i32), true},
	{"_initialize", sig("", ""), false},
	{"on_join", sig(i32+i32, ""), false},
	{"on_leave", sig(i32+i32, ""), false},
}

// Check validates wasm against the guest ABI v1 without compiling it: the
// binary's structure, the required and optional exports and their types,
// imports (only functions of wasi_snapshot_preview1 that the host provides)
// and the declared memory against memoryLimitPages (0 means the default).
// It reports every problem it finds, not only the first.
func Check(wasm []byte, memoryLimitPages uint32) *Report {
	if memoryLimitPages == 0 {
		memoryLimitPages = DefaultMemoryLimitPages
	}
	r := &Report{Size: len(wasm), Optional: map[string]bool{}, Imports: []string{}, Exports: []string{}}
	m, err := parseModule(wasm)
	if err != nil {
		r.add(ProblemMalformed, "not a valid WebAssembly module: %v", err)
		return r
	}
	wasi := wasiSignatures()
	for _, imp := range m.imports {
		name := imp.module + "." + imp.name
		r.Imports = append(r.Imports, name)
		switch {
		case imp.module != WASIModule:
			r.add(ProblemImport, "import %s: only %s may be imported", name, WASIModule)
		case imp.kind != kindFunc:
			r.add(ProblemImport, "import %s: only functions may be imported, not a %s", name, kindNames[imp.kind])
		default:
			want, ok := wasi[imp.name]
			if !ok {
				r.add(ProblemImport, "import %s: not a %s function the host provides", name, WASIModule)
			} else if got := m.types[imp.typeIndex]; !got.equal(want) {
				r.add(ProblemImport, "import %s: type %s, want %s", name, got, want)
			}
		}
	}

	exports := map[string]export{}
	for _, e := range m.exports {
		exports[e.name] = e
		r.Exports = append(r.Exports, e.name)
	}
	sort.Strings(r.Exports)
	if e, ok := exports["memory"]; !ok {
		r.add(ProblemMissingExport, "missing export memory (the linear memory)")
	} else if e.kind != kindMemory {
		r.add(ProblemExportType, "export memory is a %s, want a memory", kindNames[e.kind])
	}
	for _, want := range abiExports {
		e, ok := exports[want.name]
		if !ok {
			if want.required {
				r.add(ProblemMissingExport, "missing export %s %s", want.name, want.sig)
			}
			continue
		}
		if e.kind != kindFunc {
			r.add(ProblemExportType, "export %s is a %s, want a function %s", want.name, kindNames[e.kind], want.sig)
			continue
		}
		got, err := m.funcType(e.index)
		if err != nil {
			r.add(ProblemMalformed, "export %s: %v", want.name, err)
			continue
		}
		if !got.equal(want.sig) {
			r.add(ProblemExportType, "export %s has type %s, want %s", want.name, got, want.sig)
			continue
		}
		if !want.required {
			r.Optional[want.name] = true
		}
	}

	for _, mem := range m.memories {
		r.MemoryMinPages = mem.min
		if mem.hasMax {
			r.MemoryMaxPages = mem.max
		}
		if mem.min > memoryLimitPages {
			r.add(ProblemMemory, "memory declares a minimum of %d pages (%d MiB), over the limit of %d pages (%d MiB)",
				mem.min, mem.min/16, memoryLimitPages, memoryLimitPages/16)
		}
		if mem.hasMax && mem.max > memoryLimitPages {
			r.add(ProblemMemory, "memory declares a maximum of %d pages (%d MiB), over the limit of %d pages (%d MiB)",
				mem.max, mem.max/16, memoryLimitPages, memoryLimitPages/16)
		}
		if mem.shared {
			r.add(ProblemMemory, "shared memory is not supported")
		}
	}
	if len(m.memories) > 1 {
		r.add(ProblemMemory, "%d memories declared, at most one is supported", len(m.memories))
	}
	return r
}

var (
	wasiOnce sync.Once
	wasiSigs map[string]funcType
)

// wasiSignatures returns the WASI preview 1 functions wazero provides.
func wasiSignatures() map[string]funcType {
	wasiOnce.Do(func() {
		wasiSigs = map[string]funcType{}
		for name, def := range wasiFunctionDefinitions() {
			wasiSigs[name] = funcType{params: def.ParamTypes(), results: def.ResultTypes()}
		}
	})
	return wasiSigs
}

// The wasm binary format, as far as Check needs it.

const (
	kindFunc   = 0
	kindTable  = 1
	kindMemory = 2
	kindGlobal = 3
	kindTag    = 4
)

var kindNames = map[byte]string{kindFunc: "function", kindTable: "table", kindMemory: "memory", kindGlobal: "global", kindTag: "tag"}

type importEntry struct {
	module, name string
	kind         byte
	typeIndex    uint32
}

type export struct {
	name  string
	kind  byte
	index uint32
}

type memoryType struct {
	min, max       uint32
	hasMax, shared bool
}

type parsedModule struct {
	types         []funcType
	imports       []importEntry
	importedFuncs []uint32 // type indices
	funcs         []uint32 // type indices of defined functions
	memories      []memoryType
	exports       []export
}

func (m *parsedModule) funcType(index uint32) (funcType, error) {
	var ti uint32
	switch n := uint32(len(m.importedFuncs)); {
	case index < n:
		ti = m.importedFuncs[index]
	case index-n < uint32(len(m.funcs)):
		ti = m.funcs[index-n]
	default:
		return funcType{}, fmt.Errorf("function index %d out of range", index)
	}
	if ti >= uint32(len(m.types)) {
		return funcType{}, fmt.Errorf("type index %d out of range", ti)
	}
	return m.types[ti], nil
}

var errTruncated = errors.New("unexpected end of data")

type reader struct {
	b   []byte
	off int
}

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) u32() (uint32, error) {
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 || n > 5 || v > 0xFFFFFFFF {
		if n == 0 {
			return 0, errTruncated
		}
		return 0, fmt.Errorf("bad LEB128 integer at offset %d", r.off)
	}
	r.off += n
	return uint32(v), nil
}

func (r *reader) bytes(n uint32) ([]byte, error) {
	if uint64(r.off)+uint64(n) > uint64(len(r.b)) {
		return nil, errTruncated
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	b, err := r.bytes(n)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("name at offset %d is not UTF-8", r.off-len(b))
	}
	return string(b), nil
}

func (r *reader) limits() (memoryType, error) {
	var mt memoryType
	flag, err := r.byte()
	if err != nil {
		return mt, err
	}
	if flag > 3 {
		return mt, fmt.Errorf("unsupported limits flag 0x%x (64-bit memory?)", flag)
	}
	if mt.min, err = r.u32(); err != nil {
		return mt, err
	}
	if flag&1 != 0 {
		mt.hasMax = true
		if mt.max, err = r.u32(); err != nil {
			return mt, err
		}
	}
	mt.shared = flag&2 != 0
	return mt, nil
}

func (r *reader) valueTypes() ([]api.ValueType, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if n > 1000 {
		return nil, fmt.Errorf("%d value types in one signature", n)
	}
	ts, err := r.bytes(n)
	if err != nil {
		return nil, err
	}
	return append([]api.ValueType(nil), ts...), nil
}

// parseModule reads the sections Check needs and skips the others.
func parseModule(b []byte) (*parsedModule, error) {
	if len(b) < 8 || !bytes.Equal(b[:4], []byte("\x00asm")) {
		return nil, errors.New("missing the \\0asm magic header")
	}
	if v := binary.LittleEndian.Uint32(b[4:8]); v != 1 {
		return nil, fmt.Errorf("binary version %d, want 1", v)
	}
	m := &parsedModule{}
	r := &reader{b: b, off: 8}
	for r.off < len(b) {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		body, err := r.bytes(size)
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
		s := &reader{b: body}
		switch id {
		case 1:
			err = parseTypes(s, m)
		case 2:
			err = parseImports(s, m)
		case 3:
			err = parseFuncs(s, m)
		case 5:
			err = parseMemories(s, m)
		case 7:
			err = parseExports(s, m)
		case 0, 4, 6, 8, 9, 10, 11, 12, 13:
		default:
			err = fmt.Errorf("unknown section id %d", id)
		}
		if err != nil {
			return nil, fmt.Errorf("section %d at offset %d: %w", id, r.off-int(size), err)
		}
	}
	return m, nil
}

func vec(s *reader, each func() error) error {
	n, err := s.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		if err := each(); err != nil {
			return err
		}
	}
	return nil
}

func parseTypes(s *reader, m *parsedModule) error {
	return vec(s, func() error {
		form, err := s.byte()
		if err != nil {
			return err
		}
		if form != 0x60 {
			return fmt.Errorf("type form 0x%x, want 0x60 (func)", form)
		}
		var t funcType
		if t.params, err = s.valueTypes(); err != nil {
			return err
		}
		if t.results, err = s.valueTypes(); err != nil {
			return err
		}
		m.types = append(m.types, t)
		return nil
	})
}

func parseImports(s *reader, m *parsedModule) error {
	return vec(s, func() error {
		var e importEntry
		var err error
		if e.module, err = s.name(); err != nil {
			return err
		}
		if e.name, err = s.name(); err != nil {
			return err
		}
		if e.kind, err = s.byte(); err != nil {
			return err
		}
		switch e.kind {
		case kindFunc:
			if e.typeIndex, err = s.u32(); err != nil {
				return err
			}
			if e.typeIndex >= uint32(len(m.types)) {
				return fmt.Errorf("import %s.%s: type index %d out of range", e.module, e.name, e.typeIndex)
			}
			m.importedFuncs = append(m.importedFuncs, e.typeIndex)
		case kindTable:
			if _, err = s.byte(); err != nil {
				return err
			}
			_, err = s.limits()
		case kindMemory:
			_, err = s.limits()
		case kindGlobal:
			_, err = s.bytes(2)
		case kindTag:
			_, err = s.byte()
			if err == nil {
				_, err = s.u32()
			}
		default:
			return fmt.Errorf("import %s.%s: unknown kind %d", e.module, e.name, e.kind)
		}
		if err != nil {
			return err
		}
		m.imports = append(m.imports, e)
		return nil
	})
}

func parseFuncs(s *reader, m *parsedModule) error {
	return vec(s, func() error {
		ti, err := s.u32()
		if err != nil {
			return err
		}
		if ti >= uint32(len(m.types)) {
			return fmt.Errorf("function type index %d out of range", ti)
		}
		m.funcs = append(m.funcs, ti)
		return nil
	})
}

func parseMemories(s *reader, m *parsedModule) error {
	return vec(s, func() error {
		mt, err := s.limits()
		if err != nil {
			return err
		}
		m.memories = append(m.memories, mt)
		return nil
	})
}

func parseExports(s *reader, m *parsedModule) error {
	return vec(s, func() error {
		var e export
		var err error
		if e.name, err = s.name(); err != nil {
			return err
		}
		if e.kind, err = s.byte(); err != nil {
			return err
		}
		if e.kind > kindTag {
			return fmt.Errorf("export %s: unknown kind %d", e.name, e.kind)
		}
		if e.index, err = s.u32(); err != nil {
			return err
		}
		m.exports = append(m.exports, e)
		return nil
	})
}
