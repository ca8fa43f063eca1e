package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestWasmABI builds the game as a WASI reactor and checks its exports and
// imports against the guest ABI v1: exactly these exports with exactly
// these signatures, and imports from wasi_snapshot_preview1 only.
func TestWasmABI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	out := filepath.Join(t.TempDir(), "arena.wasm")
	cmd := exec.Command(goBin, "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseModule(bin)
	if err != nil {
		t.Fatalf("parse module: %v", err)
	}

	want := map[string]string{
		"memory":          "memory",
		"_initialize":     "() -> ()",
		"alloc":           "(i32) -> (i32)",
		"init":            "(i32 i32) -> (i32)",
		"tick":            "(f32) -> ()",
		"on_input":        "(i32 i32 i32 i32) -> ()",
		"serialize_state": "() -> (i32)",
		"on_join":         "(i32 i32) -> ()",
		"on_leave":        "(i32 i32) -> ()",
	}
	for name, sig := range want {
		if got, ok := m.exports[name]; !ok {
			t.Errorf("export %q missing", name)
		} else if got != sig {
			t.Errorf("export %q is %s, want %s", name, got, sig)
		}
	}
	for name, sig := range m.exports {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected export %q %s", name, sig)
		}
	}
	for _, imp := range m.imports {
		if !strings.HasPrefix(imp, "wasi_snapshot_preview1.") {
			t.Errorf("import %q is not from wasi_snapshot_preview1", imp)
		}
	}
}

// module is what TestWasmABI needs from a WebAssembly binary: export names
// with their signatures (or "memory", "table", "global"), and imports as
// "module.name".
type module struct {
	exports map[string]string
	imports []string
}

// parseModule reads the type, import, function and export sections of a
// WebAssembly 1.0 binary.
func parseModule(bin []byte) (*module, error) {
	if !bytes.HasPrefix(bin, []byte("\x00asm\x01\x00\x00\x00")) {
		return nil, errors.New("not a WebAssembly 1.0 binary")
	}
	r := &reader{b: bin[8:]}
	var types []string
	var funcTypes []uint32 // type of every function, imported ones first
	m := &module{exports: map[string]string{}}
	for r.err == nil && len(r.b) > 0 {
		id := r.byte()
		sec := &reader{b: r.bytes(int(r.u32()))}
		switch id {
		case 1: // type
			for n := sec.u32(); n > 0 && sec.err == nil; n-- {
				if sec.byte() != 0x60 {
					return nil, errors.New("type section: not a function type")
				}
				params, results := sec.valtypes(), sec.valtypes()
				types = append(types, fmt.Sprintf("(%s) -> (%s)", params, results))
			}
		case 2: // import
			for n := sec.u32(); n > 0 && sec.err == nil; n-- {
				mod, name := sec.name(), sec.name()
				m.imports = append(m.imports, mod+"."+name)
				switch kind := sec.byte(); kind {
				case 0:
					funcTypes = append(funcTypes, sec.u32())
				case 1:
					sec.byte()
					sec.limits()
				case 2:
					sec.limits()
				case 3:
					sec.byte()
					sec.byte()
				default:
					return nil, fmt.Errorf("import %s.%s: unknown kind %d", mod, name, kind)
				}
			}
		case 3: // function
			for n := sec.u32(); n > 0 && sec.err == nil; n-- {
				funcTypes = append(funcTypes, sec.u32())
			}
		case 7: // export
			for n := sec.u32(); n > 0 && sec.err == nil; n-- {
				name, kind, idx := sec.name(), sec.byte(), sec.u32()
				switch kind {
				case 0:
					if int(idx) >= len(funcTypes) || int(funcTypes[idx]) >= len(types) {
						return nil, fmt.Errorf("export %q: bad function index %d", name, idx)
					}
					m.exports[name] = types[funcTypes[idx]]
				default:
					m.exports[name] = [...]string{1: "table", 2: "memory", 3: "global"}[min(kind, 3)]
				}
			}
		}
		if sec.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, sec.err)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	slices.Sort(m.imports)
	return m, nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errors.New("truncated")
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.fail()
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

// u32 reads an unsigned LEB128 number.
func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail()
	return 0
}

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

func (r *reader) limits() {
	if r.byte()&1 != 0 {
		r.u32()
	}
	r.u32()
}

func (r *reader) valtypes() string {
	names := map[byte]string{0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128", 0x70: "funcref", 0x6f: "externref"}
	var out []string
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		out = append(out, names[r.byte()])
	}
	return strings.Join(out, " ")
}
