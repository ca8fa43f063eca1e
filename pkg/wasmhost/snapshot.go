package wasmhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/api"
)

// Errors of snapshots. Each is wrapped with the detail.
var (
	// ErrNotSnapshottable: the instance cannot be captured now (it has
	// ended, or it holds a file open).
	ErrNotSnapshottable = errors.New("instance cannot be snapshotted")
	// ErrSnapshotMismatch: the snapshot is of another module, another
	// metering, or needs more memory than this engine allows.
	ErrSnapshotMismatch = errors.New("snapshot does not fit this module")
	// ErrBadSnapshot: the bytes are not a snapshot of this format, or
	// they are damaged (see ReadSnapshot).
	ErrBadSnapshot = errors.New("not a valid snapshot")
)

// Snapshot is an instance's whole state between two frames: its linear
// memory (the pages that are not all zeros), every mutable global, and the
// host's side of the sandbox. Restored into a fresh instance of the same
// module (Module.Restore), it continues exactly as the instance it was taken
// from: the same inputs give the same state bytes every later frame.
//
// Pending and Players are the embedder's: the events queued for the next
// frame and the players present, which the executor fills in before it
// writes the snapshot and reads back after restoring it.
type Snapshot struct {
	// ModuleSHA256 is the sha256 of the module's bytes; Metered says
	// whether the instance ran with fuel.
	ModuleSHA256 [32]byte
	Metered      bool

	// The instance's configuration, as init saw it, and its limits.
	InstanceID, Game, Version string
	Seed                      uint64
	MaxPlayers, TickHz        int
	Params                    json.RawMessage
	MemoryLimitPages          uint32
	InitFuel, FrameFuel       int64

	// Frame is the number of frames run; ClockLast the last reading of the
	// virtual clock, in nanoseconds.
	Frame     uint64
	ClockLast int64
	// Random is random_get's stream position (a ChaCha8 state).
	Random []byte
	// Budget is the fuel the last frame was given, FuelUsed what it used.
	Budget, FuelUsed int64

	// Globals are the mutable globals, by export name, sorted.
	Globals []Global
	// MemoryPages is the size of linear memory in pages; Pages hold those
	// that are not all zeros, in increasing order.
	MemoryPages uint32
	Pages       []Page

	Pending []Event
	Players []string
}

// Global is one mutable global of a snapshot: its export name, type and
// value bits (as api.Global returns them).
type Global struct {
	Name  string
	Type  api.ValueType
	Value uint64
}

// Page is one page of linear memory: its index and PageSize bytes.
type Page struct {
	Index uint32
	Data  []byte
}

// Snapshot captures the instance. It must be called between frames, which
// is the only time a caller can call it: an Instance is not safe for
// concurrent use. The snapshot holds copies; the instance goes on.
func (i *Instance) Snapshot() (*Snapshot, error) {
	if i.err != nil {
		return nil, fmt.Errorf("%w: the instance has ended: %v", ErrNotSnapshottable, i.err)
	}
	if i.files != nil {
		if held := i.files.held(); len(held) > 0 {
			return nil, fmt.Errorf("%w: the guest holds %d file(s) open in /assets (%s); close them before the frame ends",
				ErrNotSnapshottable, len(held), strings.Join(held, ", "))
		}
	}
	random, err := i.random.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: random stream: %v", ErrNotSnapshottable, err)
	}
	s := &Snapshot{
		ModuleSHA256: i.module.sum, Metered: i.module.metered,
		InstanceID: i.cfg.InstanceID, Game: i.cfg.Game, Version: i.cfg.Version, Seed: i.cfg.Seed,
		MaxPlayers: i.cfg.MaxPlayers, TickHz: i.cfg.TickHz, Params: bytes.Clone(i.cfg.Params),
		MemoryLimitPages: i.limitPages, InitFuel: i.initFuel, FrameFuel: i.frameFuel,
		Frame: i.clock.frame, ClockLast: i.clock.last, Random: random,
		Budget: i.budget, FuelUsed: i.fuelUsed.Load(),
	}
	for _, g := range i.globals {
		s.Globals = append(s.Globals, Global{Name: g.name, Type: g.g.Type(), Value: g.g.Get()})
	}
	buf := i.memory.buf
	s.MemoryPages = uint32(len(buf) / PageSize)
	for p := range s.MemoryPages {
		page := buf[int(p)*PageSize : int(p+1)*PageSize]
		if !isZero(page) {
			s.Pages = append(s.Pages, Page{Index: p, Data: bytes.Clone(page)})
		}
	}
	return s, nil
}

var zeroPage [PageSize]byte

func isZero(page []byte) bool { return bytes.Equal(page, zeroPage[:]) }

// Restore starts an instance of the module from a snapshot taken of an
// instance of the same module bytes. It instantiates the module without
// calling _initialize or init, then puts back linear memory, the mutable
// globals, the clock, the random stream and the counters: the next Frame is
// frame s.Frame+1 of the original. cfg gives what a snapshot cannot carry
// (Assets, Log, LogLimits); the identity, the limits and the fuel budgets
// are the snapshot's. The log's rate limit starts afresh.
func (m *Module) Restore(ctx context.Context, s *Snapshot, cfg InstanceConfig) (*Instance, error) {
	if s.ModuleSHA256 != m.sum {
		return nil, fmt.Errorf("%w: taken of module %x, this is %s", ErrSnapshotMismatch, s.ModuleSHA256[:6], m.Hash()[:12])
	}
	if s.Metered != m.metered {
		return nil, fmt.Errorf("%w: taken with metering %v, this engine meters %v", ErrSnapshotMismatch, s.Metered, m.metered)
	}
	if limit := m.engine.cfg.MemoryLimitPages; s.MemoryLimitPages > limit || s.MemoryLimitPages == 0 {
		return nil, fmt.Errorf("%w: the instance's memory limit of %d pages is over this engine's %d", ErrSnapshotMismatch, s.MemoryLimitPages, limit)
	}
	if s.MemoryPages > s.MemoryLimitPages {
		return nil, fmt.Errorf("%w: %d pages of memory over its limit of %d", ErrBadSnapshot, s.MemoryPages, s.MemoryLimitPages)
	}
	cfg.InstanceID, cfg.Game, cfg.Version, cfg.Seed = s.InstanceID, s.Game, s.Version, s.Seed
	cfg.MaxPlayers, cfg.TickHz, cfg.Params = s.MaxPlayers, s.TickHz, s.Params
	cfg.InitFuel, cfg.FrameFuel, cfg.MemoryLimitPages = s.InitFuel, s.FrameFuel, s.MemoryLimitPages
	inst, err := m.newInstance(ctx, cfg, s.MemoryLimitPages, nil)
	if err != nil {
		return nil, err
	}
	if err := inst.restore(s); err != nil {
		_ = inst.mod.Close(ctx)
		return nil, err
	}
	return inst, nil
}

// restore puts the snapshot's state into a fresh instance.
func (i *Instance) restore(s *Snapshot) error {
	if len(s.Globals) != len(i.globals) {
		return fmt.Errorf("%w: %d mutable globals, the module has %d", ErrSnapshotMismatch, len(s.Globals), len(i.globals))
	}
	for k, g := range s.Globals {
		have := i.globals[k]
		if g.Name != have.name || g.Type != have.g.Type() {
			return fmt.Errorf("%w: global %s of type %s, the module's is %s of type %s", ErrSnapshotMismatch,
				g.Name, api.ValueTypeName(g.Type), have.name, api.ValueTypeName(have.g.Type()))
		}
	}
	have := i.mem.Size() / PageSize
	if s.MemoryPages < have {
		return fmt.Errorf("%w: %d pages of memory, fewer than the module's minimum of %d", ErrBadSnapshot, s.MemoryPages, have)
	}
	if s.MemoryPages > have {
		if _, ok := i.mem.Grow(s.MemoryPages - have); !ok {
			return fmt.Errorf("%w: cannot grow memory to %d pages", ErrSnapshotMismatch, s.MemoryPages)
		}
	}
	buf := i.memory.buf
	clear(buf[:int(have)*PageSize]) // the data segments; grown pages are zero
	for _, p := range s.Pages {
		if p.Index >= s.MemoryPages || len(p.Data) != PageSize {
			return fmt.Errorf("%w: page %d of %d bytes in a memory of %d pages", ErrBadSnapshot, p.Index, len(p.Data), s.MemoryPages)
		}
		copy(buf[int(p.Index)*PageSize:], p.Data)
	}
	for k, g := range s.Globals {
		i.globals[k].g.Set(g.Value)
	}
	// Seed resets the partial-read buffer that UnmarshalBinary leaves alone
	// when the snapshot has none.
	i.random.Seed([32]byte{})
	if err := i.random.UnmarshalBinary(s.Random); err != nil {
		return fmt.Errorf("%w: random stream: %v", ErrBadSnapshot, err)
	}
	i.clock.frame, i.clock.last = s.Frame, s.ClockLast
	i.budget = s.Budget
	i.frames.Store(s.Frame)
	i.fuelUsed.Store(s.FuelUsed)
	i.memBytes.Store(uint64(i.mem.Size()))
	return nil
}

// namedGlobal is a mutable global of an instance and its export name.
type namedGlobal struct {
	name string
	g    api.MutableGlobal
}

// Hash is the sha256 of the snapshot's encoding: two snapshots of the same
// state have the same hash.
func (s *Snapshot) Hash() ([32]byte, error) {
	h := sha256.New()
	if err := s.writePayload(h); err != nil {
		return [32]byte{}, err
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, nil
}
