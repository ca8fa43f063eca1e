package meter_test

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/tetratelabs/wazero/api"

	"github.com/rcc-games/rcc/pkg/meter"
)

// globalsModule defines an immutable i32 (global 0), a mutable i64 set to 7
// (global 1) and a mutable f64 set to 1.5 (global 2), none exported, and
// exports "bump", which adds one to global 1.
func globalsModule(exports ...[]byte) []byte {
	mod := append([]byte{}, header...)
	mod = section(mod, 1, vec([]byte{0x60, 0, 0}))
	mod = section(mod, 3, vec([]byte{0}))
	f64 := []byte{0x7c, 0x01, 0x44}
	var b [8]byte
	bits := math.Float64bits(1.5)
	for i := range b {
		b[i] = byte(bits >> (8 * i))
	}
	f64 = append(append(f64, b[:]...), 0x0b)
	mod = section(mod, 6, vec(
		[]byte{0x7f, 0x00, 0x41, 0x05, 0x0b},
		[]byte{0x7e, 0x01, 0x42, 0x07, 0x0b},
		f64,
	))
	mod = section(mod, 7, vec(append([][]byte{append(str("bump"), 0, 0)}, exports...)...))
	// global.get 1, i64.const 1, i64.add, global.set 1
	mod = section(mod, 10, vec(funcBody(nil, []byte{0x23, 0x01, 0x42, 0x01, 0x7c, 0x24, 0x01, 0x0b})))
	return mod
}

// TestExportsMutableGlobals checks that the hidden mutable globals are
// exported under their reserved names, read and written through them, and
// that the immutable one is not.
func TestExportsMutableGlobals(t *testing.T) {
	mod := globalsModule()
	in := instantiate(t, instrument(t, mod, meter.Options{}))
	if g := in.mod.ExportedGlobal(meter.GlobalExportName(0)); g != nil {
		t.Errorf("immutable global 0 exported as %s", meter.GlobalExportName(0))
	}
	g1, ok := in.mod.ExportedGlobal("rcc_global_1").(api.MutableGlobal)
	if !ok {
		t.Fatal("global 1 is not exported as a mutable rcc_global_1")
	}
	g2, ok := in.mod.ExportedGlobal("rcc_global_2").(api.MutableGlobal)
	if !ok || g2.Type() != api.ValueTypeF64 || api.DecodeF64(g2.Get()) != 1.5 {
		t.Fatalf("rcc_global_2 = %v, want the mutable f64 1.5", in.mod.ExportedGlobal("rcc_global_2"))
	}
	if g1.Get() != 7 {
		t.Fatalf("rcc_global_1 = %d, want 7", g1.Get())
	}
	if _, _, err := in.call(100, "bump"); err != nil {
		t.Fatal(err)
	}
	if g1.Get() != 8 {
		t.Fatalf("after bump, rcc_global_1 = %d, want 8", g1.Get())
	}
	g1.Set(100)
	if _, _, err := in.call(100, "bump"); err != nil {
		t.Fatal(err)
	}
	if g1.Get() != 101 {
		t.Fatalf("after Set(100) and bump, rcc_global_1 = %d, want 101", g1.Get())
	}
}

// TestExportGlobalsKeepsCode checks that ExportGlobals adds the exports and
// nothing else: no fuel global, the code byte for byte.
func TestExportGlobalsKeepsCode(t *testing.T) {
	mod := globalsModule()
	out, err := meter.ExportGlobals(mod)
	if err != nil {
		t.Fatal(err)
	}
	in, got := sections(t, mod), sections(t, out)
	if len(in) != len(got) {
		t.Fatalf("%d sections in, %d out", len(in), len(got))
	}
	for i := range in {
		if in[i].id == 7 {
			if got[i].body[0] != in[i].body[0]+2 || !bytes.HasPrefix(got[i].body[1:], in[i].body[1:]) {
				t.Errorf("export section: % x -> % x, want two entries appended", in[i].body, got[i].body)
			}
			continue
		}
		if !bytes.Equal(in[i].body, got[i].body) {
			t.Errorf("section %d changed: % x -> % x", in[i].id, in[i].body, got[i].body)
		}
	}
	inst := instantiate(t, out)
	if inst.mod.ExportedGlobal(meter.GlobalName) != nil {
		t.Error("ExportGlobals added a fuel global")
	}
	if _, err := inst.plain("bump"); err != nil {
		t.Fatal(err)
	}
	if g := inst.mod.ExportedGlobal("rcc_global_1"); g == nil || g.Get() != 8 {
		t.Fatalf("rcc_global_1 = %v, want 8", g)
	}
}

// TestReservedGlobalNames checks that a module exporting a reserved name is
// refused by both rewrites.
func TestReservedGlobalNames(t *testing.T) {
	mod := globalsModule(append(str("rcc_global_1"), 3, 1))
	if _, err := meter.Instrument(mod, meter.Options{}); !errors.Is(err, meter.ErrExported) {
		t.Errorf("Instrument: err = %v, want ErrExported", err)
	}
	if _, err := meter.ExportGlobals(mod); !errors.Is(err, meter.ErrExported) {
		t.Errorf("ExportGlobals: err = %v, want ErrExported", err)
	}
}
