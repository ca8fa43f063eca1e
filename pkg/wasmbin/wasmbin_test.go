package wasmbin_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/wasmbin"
)

// module builds a module from its sections, each given as id then body.
func module(sections ...any) []byte {
	b := []byte(wasmbin.Header)
	for i := 0; i < len(sections); i += 2 {
		b = wasmbin.AppendSection(b, sections[i].(wasmbin.SectionID), sections[i+1].([]byte))
	}
	return b
}

// wantError checks that err is an *wasmbin.Error of kind at offset off whose
// message contains msg.
func wantError(t *testing.T, err error, kind error, off int, msg string) {
	t.Helper()
	var e *wasmbin.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *wasmbin.Error", err, err)
	}
	if !errors.Is(err, kind) || e.Offset != off || !strings.Contains(e.Msg, msg) {
		t.Errorf("err = %v (offset %#x), want %v at offset %#x containing %q", err, e.Offset, kind, off, msg)
	}
}

func TestLEB128RoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 63, 64, 127, 128, 300, math.MaxUint32, math.MaxUint32 + 1, math.MaxUint64} {
		b := wasmbin.AppendULEB128([]byte{0xaa}, v)
		r := wasmbin.NewReader(b[1:], 1)
		got, err := r.U64()
		if err != nil || got != v || !r.EOF() {
			t.Errorf("U64 of AppendULEB128(%d) = %d, %v (eof %v)", v, got, err, r.EOF())
		}
	}
	for _, v := range []int64{0, 1, -1, 63, 64, -64, -65, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64} {
		b := wasmbin.AppendSLEB128(nil, v)
		r := wasmbin.NewReader(b, 0)
		got, err := r.S64()
		if err != nil || got != v || !r.EOF() {
			t.Errorf("S64 of AppendSLEB128(%d) = %d, %v", v, got, err)
		}
	}
}

func TestLEB128Errors(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		read func(r *wasmbin.Reader) error
		off  int
		msg  string
	}{
		{"u32 six bytes", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, u32, 0x10, "integer too long"},
		{"u32 too large", []byte{0xff, 0xff, 0xff, 0xff, 0x1f}, u32, 0x10, "integer too large"},
		{"u32 truncated", []byte{0x80, 0x80}, u32, 0x12, "unexpected end of data"},
		{"s32 too long", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, func(r *wasmbin.Reader) error { _, err := r.S32(); return err }, 0x10, "integer too long"},
		{"count beyond data", []byte{0x05, 0x00, 0x00}, func(r *wasmbin.Reader) error { _, err := r.Count(1); return err }, 0x10, "vector length 5 exceeds the remaining data"},
		{"name beyond data", []byte{0x04, 'a'}, func(r *wasmbin.Reader) error { _, err := r.Name(); return err }, 0x10, "vector length 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := wasmbin.NewReader(tt.b, 0x10)
			wantError(t, tt.read(&r), wasmbin.ErrMalformed, tt.off, tt.msg)
		})
	}
	r := wasmbin.NewReader([]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 0)
	if v, err := r.U32(); err != nil || v != math.MaxUint32 {
		t.Errorf("U32 of the largest value = %d, %v", v, err)
	}
}

func u32(r *wasmbin.Reader) error { _, err := r.U32(); return err }

func TestSectionsHeaderAndOrder(t *testing.T) {
	tests := []struct {
		name string
		wasm []byte
		kind error
		off  int
		msg  string
	}{
		{"short", []byte("\x00as"), wasmbin.ErrMalformed, 0, "missing the \\0asm magic header"},
		{"bad magic", []byte("\x00wasm\x01\x00\x00\x00"), wasmbin.ErrMalformed, 0, "bad magic number"},
		{"component", []byte("\x00asm\x0d\x00\x01\x00"), wasmbin.ErrUnsupported, 4, "binary version 0d 00 01 00"},
		{"unknown id", module(wasmbin.SectionID(14), []byte{}), wasmbin.ErrMalformed, 8, "unknown section id 14"},
		{"repeated", module(wasmbin.SectionType, []byte{0}, wasmbin.SectionType, []byte{0}), wasmbin.ErrMalformed, 11, "section 1 out of order or repeated"},
		{"misordered", module(wasmbin.SectionExport, []byte{0}, wasmbin.SectionGlobal, []byte{0}), wasmbin.ErrMalformed, 11, "section 6 out of order"},
		{"data count after code", module(wasmbin.SectionCode, []byte{0}, wasmbin.SectionDataCount, []byte{0}), wasmbin.ErrMalformed, 11, "section 12 out of order"},
		{"size beyond the module", append([]byte(wasmbin.Header), 1, 5, 0), wasmbin.ErrMalformed, 8, "section 1: size 5 exceeds the module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int
			var err error
			for _, err = range wasmbin.Sections(tt.wasm) {
				if err != nil {
					break
				}
				n++
			}
			wantError(t, err, tt.kind, tt.off, tt.msg)
		})
	}

	// Custom sections go anywhere; tag and data count sections go where
	// their proposals put them.
	wasm := module(wasmbin.SectionCustom, []byte{1, 'a'}, wasmbin.SectionType, []byte{0},
		wasmbin.SectionMemory, []byte{0}, wasmbin.SectionTag, []byte{0}, wasmbin.SectionCustom, []byte{1, 'b'},
		wasmbin.SectionGlobal, []byte{0}, wasmbin.SectionElement, []byte{0}, wasmbin.SectionDataCount, []byte{0},
		wasmbin.SectionCode, []byte{0}, wasmbin.SectionData, []byte{0}, wasmbin.SectionCustom, []byte{1, 'c'})
	var ids []wasmbin.SectionID
	for s, err := range wasmbin.Sections(wasm) {
		if err != nil {
			t.Fatal(err)
		}
		if wasm[s.Offset] != byte(s.ID) || s.Base+len(s.Body) > len(wasm) {
			t.Errorf("section %d: offset %d, base %d", s.ID, s.Offset, s.Base)
		}
		ids = append(ids, s.ID)
	}
	want := []wasmbin.SectionID{0, 1, 5, 13, 0, 6, 9, 12, 10, 11, 0}
	if !slices.Equal(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
}

func TestTypes(t *testing.T) {
	body := []byte{3,
		0x60, 2, 0x7f, 0x7e, 1, 0x7d, // (i32, i64) -> (f32)
		0x4e, 2, 0x60, 0, 0, 0x60, 1, 0x63, 0x70, 1, 0x63, 0x6f, // rec: () -> (), (funcref) -> (externref)
		0x60, 1, 0x69, 0, // (exnref) -> ()
	}
	r := wasmbin.NewReader(body, 100)
	types, err := r.Types()
	if err != nil {
		t.Fatal(err)
	}
	if !r.EOF() {
		t.Errorf("%d bytes left", len(r.Remaining()))
	}
	want := []wasmbin.FuncType{
		{Params: []wasmbin.ValType{wasmbin.I32, wasmbin.I64}, Results: []wasmbin.ValType{wasmbin.F32}, Offset: 101},
		{Rec: true, Offset: 109},
		{Params: []wasmbin.ValType{wasmbin.FuncRef}, Results: []wasmbin.ValType{wasmbin.ExternRef}, Rec: true, Offset: 112},
		{Params: []wasmbin.ValType{wasmbin.ExnRef}, Offset: 119},
	}
	if len(types) != len(want) {
		t.Fatalf("%d types, want %d", len(types), len(want))
	}
	for i, got := range types {
		w := want[i]
		if !slices.Equal(got.Params, w.Params) || !slices.Equal(got.Results, w.Results) || got.Rec != w.Rec || got.Offset != w.Offset {
			t.Errorf("type %d = %+v, want %+v", i, got, w)
		}
	}

	tests := []struct {
		name string
		body []byte
		kind error
		off  int
		msg  string
	}{
		{"struct", []byte{1, 0x5f, 0}, wasmbin.ErrUnsupported, 1, "type form 0x5f (GC types)"},
		{"struct in a group", []byte{1, 0x4e, 2, 0x60, 0, 0, 0x5e, 0, 0}, wasmbin.ErrUnsupported, 6, "type form 0x5e"},
		{"typed reference", []byte{1, 0x60, 1, 0x63, 0x00, 0}, wasmbin.ErrUnsupported, 3, "(ref null 0)"},
		{"non-nullable", []byte{1, 0x60, 1, 0x64, 0x70, 0}, wasmbin.ErrUnsupported, 3, "non-nullable reference type"},
		{"unknown value type", []byte{1, 0x60, 1, 0x40, 0}, wasmbin.ErrUnsupported, 3, "value type 0x40"},
		{"count", []byte{9, 0x60, 0, 0}, wasmbin.ErrMalformed, 0, "vector length 9"},
		{"truncated", []byte{1, 0x60, 1, 0x7f}, wasmbin.ErrMalformed, 4, "unexpected end of data"},
		{"params beyond data", []byte{1, 0x60, 2, 0x7f}, wasmbin.ErrMalformed, 2, "vector length 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := wasmbin.NewReader(tt.body, 0)
			_, err := r.Types()
			wantError(t, err, tt.kind, tt.off, tt.msg)
		})
	}
}

func TestFunctions(t *testing.T) {
	r := wasmbin.NewReader([]byte{3, 0, 1, 0}, 0)
	funcs, err := r.Functions(2)
	if err != nil || !slices.Equal(funcs, []uint32{0, 1, 0}) {
		t.Errorf("Functions = %v, %v", funcs, err)
	}
	r = wasmbin.NewReader([]byte{2, 0, 2}, 0)
	_, err = r.Functions(2)
	wantError(t, err, wasmbin.ErrMalformed, 2, "function 1 has unknown type 2")
}

func TestLimits(t *testing.T) {
	tests := []struct {
		b      []byte
		want   wasmbin.Limits
		shared bool
		is64   bool
	}{
		{[]byte{0x00, 0x02}, wasmbin.Limits{Flags: 0, Min: 2}, false, false},
		{[]byte{0x01, 0x02, 0x80, 0x02}, wasmbin.Limits{Flags: 1, Min: 2, Max: 256}, false, false},
		{[]byte{0x03, 0x01, 0x02}, wasmbin.Limits{Flags: 3, Min: 1, Max: 2}, true, false},
		{[]byte{0x05, 0x80, 0x80, 0x80, 0x80, 0x10, 0x01}, wasmbin.Limits{Flags: 5, Min: 1 << 32, Max: 1}, false, true},
		{[]byte{0x08, 0x01}, wasmbin.Limits{Flags: 8, Min: 1}, false, false},
	}
	for _, tt := range tests {
		r := wasmbin.NewReader(tt.b, 0)
		got, err := r.Limits()
		if err != nil || got != tt.want || got.Shared() != tt.shared || got.Is64() != tt.is64 || got.HasMax() != (tt.want.Flags&1 != 0) || !r.EOF() {
			t.Errorf("Limits(% x) = %+v, %v", tt.b, got, err)
		}
	}
	r := wasmbin.NewReader([]byte{0x00, 0x80, 0x80, 0x80, 0x80, 0x10}, 0)
	_, err := r.Limits()
	wantError(t, err, wasmbin.ErrMalformed, 1, "integer too large")
}

func TestImportExport(t *testing.T) {
	name := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	var b []byte
	for _, entry := range [][]byte{
		append(append(name("m"), name("f")...), 0x00, 0x03),
		append(append(name("m"), name("t")...), 0x01, 0x70, 0x00, 0x01),
		append(append(name("m"), name("mem")...), 0x02, 0x03, 0x01, 0x02),
		append(append(name("m"), name("g")...), 0x03, 0x7e, 0x01),
		append(append(name("m"), name("tag")...), 0x04, 0x00, 0x02),
	} {
		b = append(b, entry...)
	}
	r := wasmbin.NewReader(b, 0)
	var got []wasmbin.Import
	for !r.EOF() {
		im, err := r.Import()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, im)
	}
	if len(got) != 5 {
		t.Fatalf("%d imports", len(got))
	}
	if got[0].Kind != wasmbin.KindFunc || got[0].Index != 3 || got[0].Module != "m" || got[0].Name != "f" || b[got[0].KindOffset] != 0x00 {
		t.Errorf("function import = %+v", got[0])
	}
	if got[1].Kind != wasmbin.KindTable || got[1].Table.Elem != wasmbin.FuncRef || got[1].Table.Limits.Min != 1 {
		t.Errorf("table import = %+v", got[1])
	}
	if got[2].Kind != wasmbin.KindMemory || !got[2].Memory.Shared() || got[2].Memory.Max != 2 {
		t.Errorf("memory import = %+v", got[2])
	}
	if got[3].Kind != wasmbin.KindGlobal || got[3].Global != (wasmbin.GlobalType{Type: wasmbin.I64, Mutable: true}) {
		t.Errorf("global import = %+v", got[3])
	}
	if got[4].Kind != wasmbin.KindTag || got[4].Index != 2 {
		t.Errorf("tag import = %+v", got[4])
	}
	if got[4].Kind.String() != "tag" || wasmbin.KindMemory.String() != "memory" {
		t.Errorf("kind names %q, %q", got[4].Kind, wasmbin.KindMemory)
	}

	bad := append(append(name("m"), name("x")...), 0x05)
	r = wasmbin.NewReader(bad, 0)
	_, err := r.Import()
	wantError(t, err, wasmbin.ErrMalformed, 4, "import kind 0x5")
	r = wasmbin.NewReader(append(append(name("m"), name("t")...), 0x01, 0x7f, 0x00, 0x01), 0)
	_, err = r.Import()
	wantError(t, err, wasmbin.ErrUnsupported, 5, "table element type 0x7f")

	r = wasmbin.NewReader(append(name("memory"), 0x02, 0x00), 0)
	e, err := r.Export()
	if err != nil || e != (wasmbin.Export{Name: "memory", Kind: wasmbin.KindMemory, Index: 0}) {
		t.Errorf("Export = %+v, %v", e, err)
	}
}

// testdataModules returns the modules of the testdata of the packages that
// decode modules with wasmbin.
func testdataModules(t testing.TB) map[string][]byte {
	t.Helper()
	mods := map[string][]byte{}
	for _, dir := range []string{"../meter/testdata", "../wasmhost/testdata"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.wasm"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no modules in %s: %v", dir, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			mods[f] = b
		}
	}
	return mods
}

// decode reads every section of wasm that wasmbin decodes, to its end.
func decode(wasm []byte) error {
	var types []wasmbin.FuncType
	for s, err := range wasmbin.Sections(wasm) {
		if err != nil {
			return err
		}
		r := s.Reader()
		switch s.ID {
		case wasmbin.SectionType:
			types, err = r.Types()
		case wasmbin.SectionFunction:
			_, err = r.Functions(len(types))
		case wasmbin.SectionImport, wasmbin.SectionExport, wasmbin.SectionTable, wasmbin.SectionMemory:
			n, err := r.Entries(s.ID)
			for i := 0; i < n && err == nil; i++ {
				switch s.ID {
				case wasmbin.SectionImport:
					_, err = r.Import()
				case wasmbin.SectionExport:
					_, err = r.Export()
				case wasmbin.SectionTable:
					_, err = r.TableType()
				case wasmbin.SectionMemory:
					_, err = r.Limits()
				}
			}
			if err != nil {
				return err
			}
		default:
			continue
		}
		if err != nil {
			return err
		}
		if !r.EOF() {
			return &wasmbin.Error{Offset: r.Offset(), Msg: "trailing bytes", Err: wasmbin.ErrMalformed}
		}
	}
	return nil
}

func TestTestdataModules(t *testing.T) {
	for name, wasm := range testdataModules(t) {
		err := decode(wasm)
		if strings.HasSuffix(name, "not_wasm.wasm") {
			wantError(t, err, wasmbin.ErrMalformed, 0, "magic")
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzReader decodes arbitrary bytes: the reader must never panic, and
// every error it returns must be an *Error of one of its two kinds at an
// offset inside the module.
func FuzzReader(f *testing.F) {
	for _, wasm := range testdataModules(f) {
		f.Add(wasm)
	}
	f.Fuzz(func(t *testing.T, wasm []byte) {
		err := decode(wasm)
		if err == nil {
			return
		}
		var e *wasmbin.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v is a %T", err, err)
		}
		if !errors.Is(err, wasmbin.ErrMalformed) && !errors.Is(err, wasmbin.ErrUnsupported) {
			t.Fatalf("error %v is neither malformed nor unsupported", err)
		}
		if e.Offset < 0 || e.Offset > len(wasm) {
			t.Fatalf("error %v: offset outside the module of %d bytes", err, len(wasm))
		}
	})
}

func TestAppendCustomSection(t *testing.T) {
	base := module(wasmbin.SectionType, []byte{0})
	wasm := wasmbin.AppendCustomSection(slices.Clone(base), "rcc.test", []byte{1, 2, 3})
	var got []wasmbin.Section
	for s, err := range wasmbin.Sections(wasm) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if len(got) != 2 || got[1].ID != wasmbin.SectionCustom {
		t.Fatalf("sections = %+v, want type then custom", got)
	}
	r := got[1].Reader()
	name, err := r.Name()
	if err != nil || name != "rcc.test" || !slices.Equal(r.Remaining(), []byte{1, 2, 3}) {
		t.Errorf("custom section = %q %v, payload %v; want rcc.test, [1 2 3]", name, err, r.Remaining())
	}
}
