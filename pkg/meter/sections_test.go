package meter_test

import (
	"bytes"
	"testing"

	"github.com/rcc-games/rcc/pkg/meter"
)

type rawSection struct {
	id   byte
	body []byte
}

// sections splits a module into its sections, assuming it is well formed.
func sections(t *testing.T, wasm []byte) []rawSection {
	t.Helper()
	var out []rawSection
	b := wasm[8:]
	for len(b) > 0 {
		id := b[0]
		b = b[1:]
		var size, shift uint64
		for {
			c := b[0]
			b = b[1:]
			size |= uint64(c&0x7f) << shift
			shift += 7
			if c&0x80 == 0 {
				break
			}
		}
		out = append(out, rawSection{id: id, body: b[:size]})
		b = b[size:]
	}
	return out
}

// TestKeepsSections checks that every section but the global, export and
// code sections comes out byte for byte, in the same order, custom sections
// included, and that the global and export sections are only appended to.
func TestKeepsSections(t *testing.T) {
	custom := func(name string, data string) []byte {
		return section(nil, 0, append(str(name), data...))
	}
	mod := append([]byte{}, header...)
	mod = append(mod, custom("producers", "\x01\x08language\x01\x02Go\x041.26")...)
	mod = section(mod, 1, vec([]byte{0x60, 0, 0}))
	mod = section(mod, 3, vec([]byte{0}, []byte{0}))
	mod = section(mod, 4, vec([]byte{0x70, 0x00, 0x02}))
	mod = section(mod, 5, vec([]byte{0x00, 0x01}))
	mod = section(mod, 6, vec([]byte{0x7f, 0x01, 0x41, 0x05, 0x0b}))
	mod = section(mod, 7, vec(append(str("run"), 0, 0), append(str("g"), 3, 0)))
	mod = section(mod, 8, uleb(nil, 1)) // start: function 1
	mod = section(mod, 9, vec([]byte{0x00, 0x41, 0x00, 0x0b, 0x01, 0x00}))
	mod = section(mod, 12, uleb(nil, 1))
	mod = section(mod, 10, vec(funcBody(nil, []byte{0x01, 0x0b}), funcBody(nil, []byte{0x0b})))
	mod = section(mod, 11, vec([]byte{0x01, 0x02, 'h', 'i'}))
	mod = append(mod, custom("name", "\x01\x0c\x02\x00\x03run\x01\x04init")...)
	mod = append(mod, custom("target_features", "\x01+\x0bbulk-memory")...)

	out, err := meter.Instrument(mod, meter.Options{InitialFuel: 100})
	if err != nil {
		t.Fatal(err)
	}
	in, got := sections(t, mod), sections(t, out)
	if len(in) != len(got) {
		t.Fatalf("%d sections in, %d out", len(in), len(got))
	}
	appended := map[byte]byte{6: 1, 7: 2}
	for i := range in {
		a, b := in[i], got[i]
		if a.id != b.id {
			t.Fatalf("section %d: id %d became %d", i, a.id, b.id)
		}
		switch a.id {
		case 6, 7: // entries appended (the fuel global; its export and that of the
			// mutable global 0): the count changes, the rest is kept
			if a.body[0]+appended[a.id] != b.body[0] || !bytes.HasPrefix(b.body[1:], a.body[1:]) {
				t.Errorf("section %d: entries not kept: % x -> % x", a.id, a.body, b.body)
			}
		case 10:
		default:
			if !bytes.Equal(a.body, b.body) {
				t.Errorf("section %d changed: % x -> % x", a.id, a.body, b.body)
			}
		}
	}
	// The module still runs: the start function and the export work.
	in2 := instantiate(t, out)
	if _, _, err := in2.call(10, "run"); err != nil {
		t.Fatal(err)
	}
}

// TestAddsSectionsWhenMissing instruments a module with neither globals nor
// exports.
func TestAddsSectionsWhenMissing(t *testing.T) {
	mod := append([]byte{}, header...)
	mod = section(mod, 1, vec([]byte{0x60, 0, 0}))
	mod = section(mod, 3, vec([]byte{0}))
	mod = section(mod, 8, uleb(nil, 0))
	mod = section(mod, 10, vec(funcBody(nil, []byte{0x41, 0x01, 0x1a, 0x0b})))
	for _, fuel := range []int64{0, 1, 2} {
		out, err := meter.Instrument(mod, meter.Options{InitialFuel: fuel})
		if err != nil {
			t.Fatal(err)
		}
		ids := []byte{}
		for _, s := range sections(t, out) {
			ids = append(ids, s.id)
		}
		if !bytes.Equal(ids, []byte{1, 3, 6, 7, 8, 10}) {
			t.Fatalf("section ids % d", ids)
		}
		// The start function costs 2 (i32.const, drop).
		ctx := t.Context()
		rt := newRuntime(ctx)
		_, err = rt.Instantiate(ctx, out)
		if (err == nil) != (fuel >= 2) {
			t.Errorf("InitialFuel %d: instantiate err = %v", fuel, err)
		}
		rt.Close(ctx)
	}
}

// TestChecksModes shows the difference between the modes on a function
// whose entry is cheap and whose if arm is long: with CheckLoops the call
// returns with negative fuel, with CheckEveryRun it traps.
func TestChecksModes(t *testing.T) {
	code := []byte{0x41, 0x01, 0x04, 0x40}
	for range 100 {
		code = append(code, 0x41, 0x01, 0x1a)
	}
	mod := funcModule(append(code, 0x0b, 0x0b)...)
	for _, tc := range []struct {
		checks   meter.Checks
		wantTrap bool
	}{{meter.CheckEveryRun, true}, {meter.CheckLoops, false}} {
		in := instantiate(t, instrument(t, mod, meter.Options{Checks: tc.checks}))
		_, used, err := in.call(50, "run")
		if (err != nil) != tc.wantTrap {
			t.Errorf("%v: err = %v, want trap %v", tc.checks, err, tc.wantTrap)
		}
		// Entry run: i32.const, if (2); then arm: 200.
		if used != 202 {
			t.Errorf("%v: used %d, want 202", tc.checks, used)
		}
	}
}
