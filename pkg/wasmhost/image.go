package wasmhost

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"

	"github.com/rcc-games/rcc/pkg/wasmbin"
)

// An image is a module's instance as it is right after _initialize,
// before init: its linear memory and mutable globals, the virtual clock's
// last reading and the fuel _initialize spent. Everything _initialize
// sees is the same for every instance of a module with the same game name
// (args = [game]) and the same presence of /assets: the virtual clock at
// frame 0, the module's own random stream (see Instance.start), no
// configuration (init brings it). So the image, taken once, serves every
// later instance: each maps the image's memory copy-on-write, gets its
// globals, and only init runs. The module's variant without data segments
// is what those instances instantiate, so that nothing is copied into the
// mapped memory. docs/snapshots.md describes it.
type image struct {
	file      *imageFile
	pages     uint32   // linear memory, in pages
	globals   []uint64 // Instance.globals' values, in their order
	clockLast int64
	spent     int64 // fuel of _initialize
}

// imageKey is what an image depends on beside the module.
type imageKey struct {
	game   string
	assets bool
}

func keyOf(cfg InstanceConfig) imageKey { return imageKey{game: cfg.Game, assets: cfg.Assets != nil} }

// imaging is a module's images and its variant without data segments.
type imaging struct {
	// able is set at compile time when the module can start from an image:
	// it has no data count section (passive segments, which memory.init
	// may copy from).
	able bool
	code []byte // the variant's code, until it is compiled

	once   sync.Once
	ready  chan struct{} // closed when the variant's compilation ended
	starts atomic.Int32  // starts that asked for an image

	mu      sync.Mutex
	variant wazero.CompiledModule // nil until compiled, or if that failed
	images  map[imageKey]*image   // a nil image: none can be taken for the key
	err     error                 // of the variant's compilation
	closed  bool                  // the module was closed or evicted
}

// errImageOff is the error of a start from an image that could not be
// made (memory not mapped, an image that does not fit): the instance then
// starts the usual way.
var errImageOff = errors.New("no start from an image")

// withoutData returns code without its start function and without the
// contents of its data segments, both of which the image has seen to, or
// false if an instance of it cannot start from an image (see
// imaging.able). Without a data count section, no instruction can refer to
// a segment and the data section goes; with one, each active segment
// becomes an empty passive one, which is what an active segment is after
// instantiation (dropped), so memory.init and data.drop behave the same.
func withoutData(code []byte) ([]byte, bool) {
	out := append([]byte(nil), wasmbin.Header...)
	dataCount := false
	for s, err := range wasmbin.Sections(code) {
		if err != nil {
			return nil, false
		}
		switch s.ID {
		case wasmbin.SectionStart:
			continue
		case wasmbin.SectionDataCount:
			dataCount = true
		case wasmbin.SectionData:
			if !dataCount {
				continue
			}
			body, ok := droppedSegments(s.Reader())
			if !ok {
				return nil, false
			}
			out = wasmbin.AppendSection(out, wasmbin.SectionData, body)
			continue
		}
		out = append(out, code[s.Offset:s.Base+len(s.Body)]...)
	}
	return out, true
}

// droppedSegments reads a data section and returns one of as many empty
// passive segments, or false if it has a passive segment (which
// _initialize may have dropped) or one it cannot read.
func droppedSegments(r wasmbin.Reader) ([]byte, bool) {
	n, err := r.Count(1)
	if err != nil {
		return nil, false
	}
	body := wasmbin.AppendULEB128(nil, uint64(n))
	for range n {
		flag, err := r.U32()
		if err != nil {
			return nil, false
		}
		switch flag {
		case 0:
		case 2:
			if _, err := r.U32(); err != nil { // memory index
				return nil, false
			}
		default:
			return nil, false
		}
		if !skipConstExpr(&r) {
			return nil, false
		}
		size, err := r.U32()
		if err != nil || r.Skip(int(size)) != nil {
			return nil, false
		}
		body = append(body, 1, 0) // passive, no bytes
	}
	return body, r.EOF()
}

// skipConstExpr reads a data segment's offset expression through its end.
func skipConstExpr(r *wasmbin.Reader) bool {
	for {
		op, err := r.Byte()
		if err != nil {
			return false
		}
		switch op {
		case 0x0b: // end
			return true
		case 0x41: // i32.const
			_, err = r.S32()
		case 0x42: // i64.const
			_, err = r.S64()
		case 0x23: // global.get
			_, err = r.U32()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended constant arithmetic
		default:
			return false
		}
		if err != nil {
			return false
		}
	}
}

// setImaging prepares the module's images at compile time.
func (m *Module) setImaging(code []byte) {
	m.imaging.ready = make(chan struct{})
	m.imaging.images = map[imageKey]*image{}
	if m.engine.cfg.NoImages {
		return
	}
	m.imaging.code, m.imaging.able = withoutData(code)
}

// compileVariant compiles the variant without data segments, once, in the
// background of the second start (a module that only ever runs one
// instance at a time never pays for a second compilation): that start and
// those that follow before it is ready take the usual way. Closing the
// engine cancels it.
func (m *Module) compileVariant() {
	im := &m.imaging
	im.once.Do(func() {
		code := im.code
		im.code = nil
		if !m.engine.background(func(ctx context.Context) { m.finishVariant(ctx, code) }) {
			im.mu.Lock()
			im.err = fmt.Errorf("compile the variant without data segments: %w", ErrModuleClosed)
			im.mu.Unlock()
			close(im.ready)
		}
	})
}

// finishVariant compiles the variant's code and keeps it, unless the
// module was closed meanwhile.
func (m *Module) finishVariant(ctx context.Context, code []byte) {
	im := &m.imaging
	defer close(im.ready)
	compiled, err := m.engine.rt.CompileModule(ctx, code)
	e := m.engine
	im.mu.Lock()
	defer im.mu.Unlock()
	if err != nil {
		im.err = fmt.Errorf("compile the variant without data segments: %w", err)
		return
	}
	e.mu.Lock()
	closed := m.closed
	if !closed {
		m.size += int64(len(code))
		e.cached += int64(len(code))
	}
	e.mu.Unlock()
	if closed {
		_ = compiled.Close(ctx)
		im.err = ErrModuleClosed
		return
	}
	im.variant = compiled
}

// PrepareImage makes the module ready to start instances of cfg's game
// (and presence of assets) from an image, and waits until it is: it
// compiles the variant without data segments and takes the image with a
// first, throwaway start if no instance took it yet. It returns an error
// if images are off (Config.NoImages), if the module cannot have one, or
// if taking it failed; Instantiate works as well either way.
func (m *Module) PrepareImage(ctx context.Context, cfg InstanceConfig) error {
	im := &m.imaging
	if m.engine.cfg.NoImages || !im.able {
		return fmt.Errorf("module %s: %w", m.Hash()[:12], errImageOff)
	}
	m.compileVariant()
	select {
	case <-im.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	im.mu.Lock()
	img, taken := im.images[keyOf(cfg)]
	err := im.err
	im.mu.Unlock()
	if err != nil {
		return err
	}
	if !taken {
		cfg.Log = nil
		inst, err := m.newInstance(ctx, cfg, m.limitOf(cfg), nil)
		if err != nil {
			return err
		}
		if err = inst.initialize(ctx); err == nil {
			m.takeImage(inst)
		}
		_ = inst.Close(ctx)
		if err != nil {
			return err
		}
		im.mu.Lock()
		img = im.images[keyOf(cfg)]
		im.mu.Unlock()
	}
	if img == nil {
		return fmt.Errorf("module %s: _initialize wrote logs, opened files or could not be captured: %w", m.Hash()[:12], errImageOff)
	}
	return nil
}

// imageStart is an image and the variant its instances instantiate.
type imageStart struct {
	*image
	variant wazero.CompiledModule
}

// readyImage returns the image an instance of cfg can start from, or nil.
// The first call starts compiling the module's variant.
func (m *Module) readyImage(cfg InstanceConfig, limit uint32) *imageStart {
	im := &m.imaging
	if m.engine.cfg.NoImages || !im.able {
		return nil
	}
	// The first start takes the image; the variant is compiled from the
	// second on, when the module shows it runs more than once.
	if im.starts.Add(1) < 2 {
		select {
		case <-im.ready: // PrepareImage compiled it already
		default:
			return nil
		}
	}
	m.compileVariant()
	select {
	case <-im.ready:
	default:
		return nil
	}
	im.mu.Lock()
	img, variant := im.images[keyOf(cfg)], im.variant
	im.mu.Unlock()
	if img == nil || variant == nil || img.pages > limit {
		return nil
	}
	// An instance whose budget _initialize would exhaust fails the usual way.
	if m.metered && img.spent >= cmp.Or(cfg.InitFuel, m.engine.cfg.InitFuel) {
		return nil
	}
	return &imageStart{image: img, variant: variant}
}

// takeImage takes the module's image of i's key, if there is none yet,
// from i right after _initialize. An _initialize that wrote to the logs or
// opened a file cannot be imaged (instances from the image would not do
// it): the key is then marked as having none.
func (m *Module) takeImage(i *Instance) {
	im := &m.imaging
	if m.engine.cfg.NoImages || !im.able || i.err != nil {
		return
	}
	key := keyOf(i.cfg)
	im.mu.Lock()
	_, taken := im.images[key]
	im.mu.Unlock()
	if taken {
		return
	}
	var img *image
	if i.logs.quiet() && (i.files == nil || i.files.openedSinceBaseline() == 0) && !i.memory.refused {
		img = i.capture()
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	if _, taken := im.images[key]; taken || im.closed {
		if img != nil {
			img.file.close()
		}
		return
	}
	im.images[key] = img
}

// capture copies i's memory into an image file, or returns nil.
func (i *Instance) capture() *image {
	file, err := newImageFile(i.memory.buf)
	if err != nil {
		return nil
	}
	img := &image{file: file, pages: uint32(len(i.memory.buf) / PageSize), clockLast: i.clock.last, spent: i.spent()}
	for _, g := range i.globals {
		img.globals = append(img.globals, g.g.Get())
	}
	return img
}

// startFromImage starts an instance from the image: the variant's
// instance, its memory mapped from the image, then the image's globals,
// clock and fuel, then init. An image that cannot be used returns
// errImageOff before any guest code runs.
func (m *Module) startFromImage(ctx context.Context, cfg InstanceConfig, limit uint32, st *imageStart) (*Instance, error) {
	inst, err := m.newInstance(ctx, cfg, limit, st)
	if err != nil {
		return nil, err
	}
	if err := inst.fromImageState(st.image); err != nil {
		_ = inst.closeModule(ctx)
		return nil, fmt.Errorf("%w: %v", errImageOff, err)
	}
	if err := inst.callInit(ctx); err != nil {
		return nil, err
	}
	inst.fromImage = true
	// Now that the start is over, the pool may prepare reservations for
	// the next ones (the first start from an image learns what to prepare).
	if inst.memory.pooled {
		inst.memory.image.refill(inst.memory.limit)
	} else {
		inst.memory.image.learn(inst.memory.buf)
	}
	m.engine.imageStarts.Add(1)
	if inst.memory.pooled {
		m.engine.pooledStarts.Add(1)
	}
	return inst, nil
}

// fromImageState puts the image's state after _initialize into a fresh
// instance of the variant whose memory is the image's.
func (i *Instance) fromImageState(img *image) error {
	if !i.memory.mapped {
		return errors.New("memory not mapped from the image")
	}
	if len(img.globals) != len(i.globals) {
		return fmt.Errorf("%d globals in the image, %d in the instance", len(img.globals), len(i.globals))
	}
	have := i.mem.Size() / PageSize
	if img.pages < have {
		return fmt.Errorf("an image of %d pages, under the module's minimum of %d", img.pages, have)
	}
	if img.pages > have {
		if _, ok := i.mem.Grow(img.pages - have); !ok {
			return fmt.Errorf("cannot grow memory to the image's %d pages", img.pages)
		}
	}
	for k, v := range img.globals {
		i.globals[k].g.Set(v)
	}
	i.clock.last = img.clockLast
	i.seedRandom()
	i.setBudget(i.initFuel)
	if i.fuel != nil {
		i.fuel.Set(uint64(i.initFuel - img.spent))
	}
	return nil
}

// closeImages releases the module's variant and images, when the module
// is closed or evicted.
func (m *Module) closeImages(ctx context.Context) {
	im := &m.imaging
	im.mu.Lock()
	defer im.mu.Unlock()
	im.closed = true
	for k, img := range im.images {
		if img != nil {
			img.file.close()
		}
		delete(im.images, k)
	}
	if im.variant != nil {
		_ = im.variant.Close(ctx)
		im.variant = nil
	}
}

// FromImage reports whether the instance started from its module's image
// rather than by running _initialize.
func (i *Instance) FromImage() bool { return i.fromImage }

// StartStats counts the instances an engine started, by the way they
// started.
type StartStats struct {
	// FromImage started from their module's image, Initialized by running
	// _initialize (or without one, the module's data segments). Restored
	// instances are in neither.
	FromImage, Initialized uint64
	// Pooled is the part of FromImage that started in a reservation from
	// the image's pool (a closed instance's memory reset to the image, or
	// one prepared ahead) rather than in a new mapping.
	Pooled uint64
}

// StartStats returns the engine's counts of starts.
func (e *Engine) StartStats() StartStats {
	return StartStats{FromImage: e.imageStarts.Load(), Pooled: e.pooledStarts.Load(), Initialized: e.initStarts.Load()}
}
