package wasmhost

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"

	"github.com/rcc-games/rcc/pkg/lifecycle"
	"github.com/rcc-games/rcc/pkg/meter"
	"github.com/rcc-games/rcc/pkg/wasmbin"
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
	// ProblemReservedExport: an export uses a name the host reserves for
	// its own rewrite of the module (fuel and snapshots, pkg/meter).
	ProblemReservedExport = "reserved_export"
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
	return &Error{Reason: lifecycle.ReasonInvalidModule, Detail: strings.Join(msgs, "; ")}
}

func (r *Report) add(code, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Code: code, Message: fmt.Sprintf(format, args...)})
}

type funcType struct {
	params, results []api.ValueType
}

func (t funcType) String() string {
	return fmt.Sprintf("(%s) -> (%s)", typeNames(t.params), typeNames(t.results))
}

func (t funcType) equal(o funcType) bool {
	return bytes.Equal(t.params, o.params) && bytes.Equal(t.results, o.results)
}

func typeNames(ts []api.ValueType) string {
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
	// The hot-upgrade pair (docs/abi.md, upgrade.go).
	{"save_state", sig("", i32), false},
	{"load_state", sig(i32+i32, i32), false},
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
		name := imp.Module + "." + imp.Name
		r.Imports = append(r.Imports, name)
		switch {
		case imp.Module != WASIModule:
			r.add(ProblemImport, "import %s: only %s may be imported", name, WASIModule)
		case imp.Kind != wasmbin.KindFunc:
			r.add(ProblemImport, "import %s: only functions may be imported, not a %s", name, imp.Kind)
		default:
			want, ok := wasi[imp.Name]
			if !ok {
				r.add(ProblemImport, "import %s: not a %s function the host provides", name, WASIModule)
			} else if got := m.types[imp.Index]; !got.equal(want) {
				r.add(ProblemImport, "import %s: type %s, want %s", name, got, want)
			}
		}
	}

	exports := map[string]wasmbin.Export{}
	for _, e := range m.exports {
		exports[e.Name] = e
		r.Exports = append(r.Exports, e.Name)
	}
	sort.Strings(r.Exports)
	for _, name := range r.Exports {
		if name == meter.GlobalName || strings.HasPrefix(name, meter.GlobalPrefix) {
			r.add(ProblemReservedExport, "export %s: the names %s and %s… are reserved for the host", name, meter.GlobalName, meter.GlobalPrefix)
		}
	}
	if e, ok := exports["memory"]; !ok {
		r.add(ProblemMissingExport, "missing export memory (the linear memory)")
	} else if e.Kind != wasmbin.KindMemory {
		r.add(ProblemExportType, "export memory is a %s, want a memory", e.Kind)
	}
	for _, want := range abiExports {
		e, ok := exports[want.name]
		if !ok {
			if want.required {
				r.add(ProblemMissingExport, "missing export %s %s", want.name, want.sig)
			}
			continue
		}
		if e.Kind != wasmbin.KindFunc {
			r.add(ProblemExportType, "export %s is a %s, want a function %s", want.name, e.Kind, want.sig)
			continue
		}
		got, err := m.funcType(e.Index)
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

	for _, l := range m.memories {
		// Without Limits64 (refused by parseModule) both fit in 32 bits.
		mem := struct{ min, max uint32 }{uint32(l.Min), uint32(l.Max)}
		r.MemoryMinPages = mem.min
		if l.HasMax() {
			r.MemoryMaxPages = mem.max
		}
		if mem.min > memoryLimitPages {
			r.add(ProblemMemory, "memory declares a minimum of %d pages (%d MiB), over the limit of %d pages (%d MiB)",
				mem.min, mem.min/16, memoryLimitPages, memoryLimitPages/16)
		}
		if l.HasMax() && mem.max > memoryLimitPages {
			r.add(ProblemMemory, "memory declares a maximum of %d pages (%d MiB), over the limit of %d pages (%d MiB)",
				mem.max, mem.max/16, memoryLimitPages, memoryLimitPages/16)
		}
		if l.Shared() {
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

// The module as far as Check needs it, decoded with wasmbin.

type parsedModule struct {
	types         []funcType
	imports       []wasmbin.Import
	importedFuncs []uint32 // type indices
	funcs         []uint32 // type indices of defined functions
	memories      []wasmbin.Limits
	exports       []wasmbin.Export
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

// parseModule reads the sections Check needs and skips the others. Beyond
// what wasmbin refuses, it refuses recursion groups, limits flags other than
// a maximum and shared, names that are not UTF-8, unknown export kinds and
// imported functions of unknown types. Shared memory and the number of
// memories are left to Check, which reports them as problems.
func parseModule(b []byte) (*parsedModule, error) {
	m := &parsedModule{}
	for s, err := range wasmbin.Sections(b) {
		if err != nil {
			return nil, err
		}
		r := s.Reader()
		switch s.ID {
		case wasmbin.SectionType:
			err = parseTypes(&r, m)
		case wasmbin.SectionImport:
			err = parseImports(&r, m)
		case wasmbin.SectionFunction:
			m.funcs, err = r.Functions(len(m.types))
		case wasmbin.SectionMemory:
			err = parseMemories(&r, m)
		case wasmbin.SectionExport:
			err = parseExports(&r, m)
		}
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

// vec calls each for every entry of the section that r reads.
func vec(r *wasmbin.Reader, id wasmbin.SectionID, each func() error) error {
	n, err := r.Entries(id)
	if err != nil {
		return err
	}
	for range n {
		if err := each(); err != nil {
			return err
		}
	}
	return nil
}

func parseTypes(r *wasmbin.Reader, m *parsedModule) error {
	types, err := r.Types()
	if err != nil {
		return err
	}
	for _, t := range types {
		if t.Rec {
			return fmt.Errorf("type at offset %#x is in a recursion group (form %#x), want a plain function type (form %#x)", t.Offset, wasmbin.FormRec, wasmbin.FormFunc)
		}
		m.types = append(m.types, funcType{params: apiTypes(t.Params), results: apiTypes(t.Results)})
	}
	return nil
}

func apiTypes(ts []wasmbin.ValType) []api.ValueType {
	out := make([]api.ValueType, len(ts))
	for i, t := range ts {
		out[i] = api.ValueType(t)
	}
	return out
}

// checkLimits refuses limits flags other than a maximum and shared (64-bit
// memories and tables, unknown flags).
func checkLimits(l wasmbin.Limits) error {
	if l.Flags > wasmbin.LimitsMax|wasmbin.LimitsShared {
		return fmt.Errorf("unsupported limits flag 0x%x (64-bit memory?) at offset %#x", l.Flags, l.Offset)
	}
	return nil
}

func checkName(what, name string) error {
	if !utf8.ValidString(name) {
		return fmt.Errorf("%s name %q is not UTF-8", what, name)
	}
	return nil
}

func parseImports(r *wasmbin.Reader, m *parsedModule) error {
	return vec(r, wasmbin.SectionImport, func() error {
		im, err := r.Import()
		if err != nil {
			return err
		}
		if err := checkName("import", im.Module); err != nil {
			return err
		}
		if err := checkName("import", im.Name); err != nil {
			return err
		}
		switch im.Kind {
		case wasmbin.KindFunc:
			if im.Index >= uint32(len(m.types)) {
				return fmt.Errorf("import %s.%s: type index %d out of range", im.Module, im.Name, im.Index)
			}
			m.importedFuncs = append(m.importedFuncs, im.Index)
		case wasmbin.KindTable:
			err = checkLimits(im.Table.Limits)
		case wasmbin.KindMemory:
			err = checkLimits(im.Memory)
		}
		if err != nil {
			return err
		}
		m.imports = append(m.imports, im)
		return nil
	})
}

func parseMemories(r *wasmbin.Reader, m *parsedModule) error {
	return vec(r, wasmbin.SectionMemory, func() error {
		l, err := r.Limits()
		if err != nil {
			return err
		}
		if err := checkLimits(l); err != nil {
			return err
		}
		m.memories = append(m.memories, l)
		return nil
	})
}

func parseExports(r *wasmbin.Reader, m *parsedModule) error {
	return vec(r, wasmbin.SectionExport, func() error {
		e, err := r.Export()
		if err != nil {
			return err
		}
		if err := checkName("export", e.Name); err != nil {
			return err
		}
		if e.Kind > wasmbin.KindTag {
			return fmt.Errorf("export %s: unknown kind %d", e.Name, e.Kind)
		}
		m.exports = append(m.exports, e)
		return nil
	})
}

// globalExports returns the sorted names of the global exports of wasm.
func globalExports(wasm []byte) ([]string, error) {
	m, err := parseModule(wasm)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range m.exports {
		if e.Kind == wasmbin.KindGlobal {
			names = append(names, e.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}
