package sdk

import (
	"encoding/binary"
	"fmt"
	"io"
	"unsafe"
)

// MaxAlloc is the largest buffer alloc hands out: the guest's whole linear
// memory is at most 64 MiB, so a larger request can only be a host bug.
const MaxAlloc = 64 << 20

// Return codes of the init export.
const (
	initOK        = 0
	initNoGame    = 1
	initBadConfig = 2
	initFailed    = 3
	initTwice     = 4
)

// guest holds the SDK's state between calls from the host and implements
// the exports in plain Go, so that they are tested on any platform; the
// wasip1-only file only converts between i32 and these methods.
type guest struct {
	game   Game
	inited bool

	// args is the buffer alloc hands out, reused across calls.
	args []byte
	// state holds the length prefix and the state, reused across frames.
	state []byte
	// saved holds what save_state returned, until the next call.
	saved []byte
	// ids interns the ids of joined players, so that input calls do not
	// allocate a string per message. It is only ever looked up.
	ids map[string]string
}

// alloc returns n bytes at the start of the reused argument buffer, or
// false when n is out of range. The buffer always has capacity afterwards,
// even for n = 0, so that its address is a real one.
func (g *guest) alloc(n int32) ([]byte, bool) {
	if n < 0 || n > MaxAlloc {
		return nil, false
	}
	if cap(g.args) < int(n) || cap(g.args) == 0 {
		// Grow geometrically, with room for typical inputs, but never
		// past MaxAlloc: memory is scarce near the limit.
		c := max(int(n), min(2*cap(g.args), MaxAlloc), 256)
		g.args = make([]byte, c)
	}
	return g.args[:n:n], true
}

// arg returns the n bytes at address ptr, which must lie inside the
// argument buffer.
func (g *guest) arg(call, what string, ptr uintptr, n int32) []byte {
	if n == 0 {
		return nil
	}
	if n < 0 || cap(g.args) == 0 {
		panic(fmt.Sprintf("sdk: %s: %s of %d bytes at %#x is outside the buffer alloc returned", call, what, n, ptr))
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(g.args[:1])))
	if ptr < base || ptr-base > uintptr(cap(g.args)) || uintptr(n) > uintptr(cap(g.args))-(ptr-base) {
		panic(fmt.Sprintf("sdk: %s: %s of %d bytes at %#x is outside the buffer alloc returned (%d bytes at %#x)", call, what, n, ptr, cap(g.args), base))
	}
	off := ptr - base
	return g.args[off : off+uintptr(n) : off+uintptr(n)]
}

// player returns the player id in b as a string, without allocating when
// the player has joined.
func (g *guest) player(b []byte) string {
	if id, ok := g.ids[string(b)]; ok {
		return id
	}
	return string(b)
}

func (g *guest) mustInit(call string) {
	if !g.inited {
		panic("sdk: " + call + " called before a successful init")
	}
}

// init implements the init export, writing failures to stderr.
func (g *guest) init(stderr io.Writer, data []byte) int32 {
	if g.game == nil {
		fmt.Fprintln(stderr, "sdk: init: no game registered (call sdk.Register from an init function of the main package)")
		return initNoGame
	}
	if g.inited {
		fmt.Fprintln(stderr, "sdk: init: called twice")
		return initTwice
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		fmt.Fprintf(stderr, "sdk: init: %v\n", err)
		return initBadConfig
	}
	if err := g.game.Init(cfg); err != nil {
		fmt.Fprintf(stderr, "%s: init: %v\n", gameName(cfg), err)
		return initFailed
	}
	g.inited = true
	return initOK
}

func gameName(cfg Config) string {
	if cfg.Game == "" {
		return "game"
	}
	return cfg.Game
}

func (g *guest) join(p []byte) {
	g.mustInit("on_join")
	id, ok := g.ids[string(p)]
	if !ok {
		id = string(p)
		if g.ids == nil {
			g.ids = make(map[string]string)
		}
		g.ids[id] = id
	}
	g.game.Join(id)
}

func (g *guest) leave(p []byte) {
	g.mustInit("on_leave")
	id := g.player(p)
	delete(g.ids, id)
	g.game.Leave(id)
}

func (g *guest) input(p, data []byte) {
	g.mustInit("on_input")
	g.game.Input(g.player(p), data)
}

func (g *guest) tick(dtMS float32) {
	g.mustInit("tick")
	g.game.Tick(dtMS / 1000)
}

// serialize returns the length-prefixed state, in a buffer reused across
// frames.
func (g *guest) serialize() []byte {
	g.mustInit("serialize_state")
	if cap(g.state) < 4 {
		g.state = make([]byte, 4, 4096)
	}
	dst := g.state[4:4]
	out, err := g.game.State(dst)
	if err != nil {
		panic(fmt.Sprintf("sdk: serialize_state: %v", err))
	}
	if uint64(len(out)) > MaxAlloc {
		panic(fmt.Sprintf("sdk: serialize_state: state of %d bytes, more than %d", len(out), MaxAlloc))
	}
	if len(out) > 0 && (cap(dst) == 0 || unsafe.SliceData(out) != unsafe.SliceData(dst[:1])) {
		// State grew past the buffer or returned its own slice: copy it,
		// and keep the larger buffer for the next frames.
		g.state = append(g.state[:4], out...)
	} else {
		g.state = g.state[:4+len(out)]
	}
	binary.LittleEndian.PutUint32(g.state, uint32(len(out)))
	return g.state
}

// saveState returns the length-prefixed state the game saves for its next
// version, or nil when the game is not Upgradable (the export returns 0).
func (g *guest) saveState(stderr io.Writer) []byte {
	g.mustInit("save_state")
	u, ok := g.game.(Upgradable)
	if !ok {
		return nil
	}
	out, err := u.SaveState(make([]byte, 4, 4096)[4:])
	if err != nil {
		fmt.Fprintf(stderr, "sdk: save_state: %v\n", err)
		return nil
	}
	if uint64(len(out)) > MaxAlloc {
		fmt.Fprintf(stderr, "sdk: save_state: state of %d bytes, more than %d\n", len(out), MaxAlloc)
		return nil
	}
	g.saved = binary.LittleEndian.AppendUint32(g.saved[:0], uint32(len(out)))
	g.saved = append(g.saved, out...)
	return g.saved
}

// loadState hands data to the game's LoadState: 0 on success, 1 for a
// game that is not Upgradable, 2 for an error (written to stderr).
func (g *guest) loadState(stderr io.Writer, data []byte) int32 {
	g.mustInit("load_state")
	u, ok := g.game.(Upgradable)
	if !ok {
		fmt.Fprintln(stderr, "sdk: load_state: the game does not implement sdk.Upgradable")
		return 1
	}
	if err := u.LoadState(data); err != nil {
		fmt.Fprintf(stderr, "sdk: load_state: %v\n", err)
		return 2
	}
	return 0
}
