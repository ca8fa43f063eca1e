package sdk

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// recorder is a Game that logs every call.
type recorder struct {
	cfg     Config
	initErr error
	log     []string
	state   func(dst []byte) ([]byte, error)
}

func (r *recorder) Init(cfg Config) error {
	r.cfg = cfg
	r.log = append(r.log, "init")
	return r.initErr
}
func (r *recorder) Join(p string)  { r.log = append(r.log, "join "+p) }
func (r *recorder) Leave(p string) { r.log = append(r.log, "leave "+p) }
func (r *recorder) Input(p string, data []byte) {
	r.log = append(r.log, fmt.Sprintf("input %s %x", p, data))
}
func (r *recorder) Tick(dt float32) { r.log = append(r.log, fmt.Sprintf("tick %g", dt)) }
func (r *recorder) State(dst []byte) ([]byte, error) {
	if r.state != nil {
		return r.state(dst)
	}
	return append(dst, "state"...), nil
}

func addrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// call writes args into the buffer alloc returns, as the host does, and
// returns the address of each argument.
func call(t *testing.T, g *guest, args ...[]byte) []uintptr {
	t.Helper()
	total := 0
	for _, a := range args {
		total += len(a)
	}
	buf, ok := g.alloc(int32(total))
	if !ok {
		t.Fatalf("alloc(%d) failed", total)
	}
	base := addrOf(g.args)
	var ptrs []uintptr
	off := 0
	for _, a := range args {
		copy(buf[off:], a)
		ptrs = append(ptrs, base+uintptr(off))
		off += len(a)
	}
	return ptrs
}

func initGuest(t *testing.T, game Game, config string) *guest {
	t.Helper()
	g := &guest{game: game}
	p := call(t, g, []byte(config))
	var stderr bytes.Buffer
	if code := g.init(&stderr, g.arg("init", "config", p[0], int32(len(config)))); code != initOK {
		t.Fatalf("init = %d, stderr %q", code, stderr.String())
	}
	return g
}

func TestAlloc(t *testing.T) {
	tests := []struct {
		name string
		n    int32
		ok   bool
	}{
		{"zero", 0, true},
		{"small", 10, true},
		{"large", 1 << 20, true},
		{"max", MaxAlloc, true},
		{"negative", -1, false},
		{"over max", MaxAlloc + 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g guest
			b, ok := g.alloc(tt.n)
			if ok != tt.ok {
				t.Fatalf("alloc(%d) ok = %v, want %v", tt.n, ok, tt.ok)
			}
			if !ok {
				return
			}
			if len(b) != int(tt.n) || cap(g.args) == 0 || cap(g.args) < int(tt.n) {
				t.Fatalf("alloc(%d): len %d, buffer cap %d", tt.n, len(b), cap(g.args))
			}
		})
	}
}

func TestAllocReuse(t *testing.T) {
	var g guest
	g.alloc(100)
	first := addrOf(g.args)
	for _, n := range []int32{1, 50, 256, 0} {
		g.alloc(n)
		if addrOf(g.args) != first {
			t.Fatalf("alloc(%d) moved the buffer although it fits", n)
		}
	}
	g.alloc(10000)
	if cap(g.args) < 10000 {
		t.Fatalf("alloc(10000): cap %d", cap(g.args))
	}
	if allocs := testing.AllocsPerRun(100, func() { g.alloc(64) }); allocs != 0 {
		t.Fatalf("alloc of a size that fits allocates %v times", allocs)
	}
}

func TestArgBounds(t *testing.T) {
	var g guest
	g.alloc(16)
	base := addrOf(g.args)
	c := uintptr(cap(g.args))
	tests := []struct {
		name  string
		ptr   uintptr
		n     int32
		panic bool
	}{
		{"whole buffer", base, int32(c), false},
		{"inside", base + 3, 5, false},
		{"ends at the end", base + c - 1, 1, false},
		{"empty anywhere", 12345, 0, false},
		{"before", base - 1, 2, true},
		{"past the end", base + c - 1, 2, true},
		{"starts past the end", base + c + 1, 1, true},
		{"far away", base + 1<<30, 1, true},
		{"negative length", base, -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if (r != nil) != tt.panic {
					t.Fatalf("panic = %v, want panic %v", r, tt.panic)
				}
				if r != nil && !strings.Contains(fmt.Sprint(r), "outside the buffer alloc returned") {
					t.Fatalf("panic message %q", r)
				}
			}()
			b := g.arg("on_input", "input", tt.ptr, tt.n)
			if len(b) != int(tt.n) {
				t.Fatalf("got %d bytes, want %d", len(b), tt.n)
			}
			if tt.n > 0 && addrOf(b) != tt.ptr {
				t.Fatalf("slice at %#x, want %#x", addrOf(b), tt.ptr)
			}
		})
	}

	t.Run("no buffer yet", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		var empty guest
		empty.arg("init", "config", 4096, 1)
	})
}

func TestInit(t *testing.T) {
	tests := []struct {
		name    string
		game    Game
		config  string
		twice   bool
		code    int32
		message string
	}{
		{"ok", &recorder{}, `{"game":"g","seed":1}`, false, initOK, ""},
		{"no game", nil, `{}`, false, initNoGame, "no game registered"},
		{"not json", &recorder{}, `{"seed":`, false, initBadConfig, "sdk: init: parse config"},
		{"bad field", &recorder{}, `{"seed":-1}`, false, initBadConfig, "seed"},
		{"game error", &recorder{initErr: errors.New("no such map")}, `{"game":"arena"}`, false, initFailed, "arena: init: no such map"},
		{"twice", &recorder{}, `{}`, true, initTwice, "called twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &guest{game: tt.game}
			var stderr bytes.Buffer
			code := g.init(&stderr, []byte(tt.config))
			if tt.twice {
				code = g.init(&stderr, []byte(tt.config))
			}
			if code != tt.code {
				t.Fatalf("init = %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if tt.message == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tt.message) {
				t.Fatalf("stderr %q, want it to contain %q", stderr.String(), tt.message)
			}
			if g.inited != (tt.code == initOK || tt.twice) {
				t.Fatalf("inited = %v", g.inited)
			}
		})
	}
}

func TestBeforeInit(t *testing.T) {
	calls := map[string]func(g *guest){
		"on_join":         func(g *guest) { g.join([]byte("p")) },
		"on_leave":        func(g *guest) { g.leave([]byte("p")) },
		"on_input":        func(g *guest) { g.input([]byte("p"), nil) },
		"tick":            func(g *guest) { g.tick(16) },
		"serialize_state": func(g *guest) { g.serialize() },
	}
	for name, f := range calls {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), name+" called before a successful init") {
					t.Fatalf("panic %v", r)
				}
			}()
			f(&guest{game: &recorder{}})
		})
	}
}

func TestDispatch(t *testing.T) {
	r := &recorder{}
	g := initGuest(t, r, `{"instance_id":"i-1","game":"test","seed":7,"max_players":4,"tick_hz":60}`)
	if r.cfg.InstanceID != "i-1" || r.cfg.Seed != 7 || r.cfg.MaxPlayers != 4 || r.cfg.TickHz != 60 {
		t.Fatalf("config %+v", r.cfg)
	}
	p := call(t, g, []byte("alice"))
	g.join(g.arg("on_join", "player id", p[0], 5))
	p = call(t, g, []byte("alice"), []byte{1, 2, 3})
	g.input(g.arg("on_input", "player id", p[0], 5), g.arg("on_input", "input", p[1], 3))
	p = call(t, g, []byte("bob"), nil)
	g.input(g.arg("on_input", "player id", p[0], 3), g.arg("on_input", "input", p[1], 0))
	g.tick(50)
	p = call(t, g, []byte("alice"))
	g.leave(g.arg("on_leave", "player id", p[0], 5))
	want := []string{"init", "join alice", "input alice 010203", "input bob ", "tick 0.05", "leave alice"}
	if strings.Join(r.log, "|") != strings.Join(want, "|") {
		t.Fatalf("calls:\n got %q\nwant %q", r.log, want)
	}
	if _, ok := g.ids["alice"]; ok {
		t.Fatal("left player still interned")
	}
}

func TestInputDoesNotAllocate(t *testing.T) {
	r := &recorder{}
	g := initGuest(t, r, `{}`)
	p := call(t, g, []byte("alice"))
	g.join(g.arg("on_join", "player id", p[0], 5))
	p = call(t, g, []byte("alice"), []byte{1, 2, 3})
	id, in := g.arg("on_input", "player id", p[0], 5), g.arg("on_input", "input", p[1], 3)
	g.game = nopGame{}
	if allocs := testing.AllocsPerRun(100, func() { g.input(id, in) }); allocs != 0 {
		t.Fatalf("input of a joined player allocates %v times", allocs)
	}
}

type nopGame struct{}

func (nopGame) Init(Config) error                { return nil }
func (nopGame) Join(string)                      {}
func (nopGame) Leave(string)                     {}
func (nopGame) Input(string, []byte)             {}
func (nopGame) Tick(float32)                     {}
func (nopGame) State(dst []byte) ([]byte, error) { return append(dst, 1, 2, 3), nil }

func TestSerialize(t *testing.T) {
	big := bytes.Repeat([]byte{7}, 10000)
	tests := []struct {
		name  string
		state func(dst []byte) ([]byte, error)
		want  []byte
	}{
		{"append", func(dst []byte) ([]byte, error) { return append(dst, "abc"...), nil }, []byte("abc")},
		{"empty", func(dst []byte) ([]byte, error) { return dst, nil }, nil},
		{"nil", func(dst []byte) ([]byte, error) { return nil, nil }, nil},
		{"own slice", func(dst []byte) ([]byte, error) { return []byte("mine"), nil }, []byte("mine")},
		{"grows", func(dst []byte) ([]byte, error) { return append(dst, big...), nil }, big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := initGuest(t, &recorder{state: tt.state}, `{}`)
			for frame := 0; frame < 3; frame++ {
				out := g.serialize()
				if len(out) < 4 {
					t.Fatalf("frame %d: %d bytes", frame, len(out))
				}
				n := uint32(out[0]) | uint32(out[1])<<8 | uint32(out[2])<<16 | uint32(out[3])<<24
				if int(n) != len(tt.want) || !bytes.Equal(out[4:], tt.want) {
					t.Fatalf("frame %d: length %d, bytes %q, want %q", frame, n, out[4:], tt.want)
				}
			}
		})
	}
}

func TestSerializeSteadyState(t *testing.T) {
	g := initGuest(t, nopGame{}, `{}`)
	g.serialize()
	if allocs := testing.AllocsPerRun(100, func() { g.serialize() }); allocs != 0 {
		t.Fatalf("serialize allocates %v times per frame", allocs)
	}
}

func TestSerializeError(t *testing.T) {
	g := initGuest(t, &recorder{state: func([]byte) ([]byte, error) { return nil, errors.New("too many things") }}, `{}`)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "sdk: serialize_state: too many things") {
			t.Fatalf("panic %v", r)
		}
	}()
	g.serialize()
}

func TestRegister(t *testing.T) {
	saved := theGuest
	defer func() { theGuest = saved }()
	theGuest = guest{}
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Fatalf("%s did not panic", name)
			}
		}()
		f()
	}
	mustPanic("Register(nil)", func() { Register(nil) })
	g := &recorder{}
	Register(g)
	if theGuest.game != g {
		t.Fatal("Register did not set the game")
	}
	mustPanic("second Register", func() { Register(&recorder{}) })
}
