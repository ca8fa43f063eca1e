package wasmhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
)

// imageModules are the modules whose image starts must match the usual
// starts: every example game in build/games (Go, Rust, C,
// AssemblyScript) and the hostile corpus of testdata.
func imageModules(t *testing.T) map[string][]byte {
	t.Helper()
	mods := map[string][]byte{}
	for _, game := range []string{"arena", "rust-tag", "c-coins", "as-chase"} {
		mods[game] = gamebuildtest.Game(t, game)
	}
	files, _ := filepath.Glob("testdata/*.wasm")
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".wasm")
		mods[name] = readModule(t, name)
	}
	return mods
}

// requireImages ends the test where images cannot be mapped.
func requireImages(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("images are mapped from a memfd, which %s lacks: instances start the usual way there", runtime.GOOS)
	}
}

// TestImageStartIsBitExact starts every module twice with the same seed,
// configuration and inputs, on an engine without images and from the
// image on one with them, and runs both side by side: every frame's state
// bytes, the fuel used and the failure of those that fail must be the
// same. Every module that can have an image (no start function) must
// start from it.
func TestImageStartIsBitExact(t *testing.T) {
	requireImages(t)
	ctx := context.Background()
	cfg := Config{InitFuel: 50_000_000}
	plain := newEngine(t, Config{InitFuel: cfg.InitFuel, NoImages: true})
	imaged := newEngine(t, cfg)
	const frames = 40
	var started []string
	for name, wasm := range imageModules(t) {
		a, err := plain.Compile(ctx, wasm)
		if err != nil {
			continue // refused by Check: not a game
		}
		b, err := imaged.Compile(ctx, wasm)
		if err != nil {
			t.Fatalf("%s compiles on one engine only: %v", name, err)
		}
		icfg := InstanceConfig{InstanceID: "i-" + name, Game: name, Seed: 7, MaxPlayers: 4}
		if err := b.PrepareImage(ctx, icfg); err != nil {
			t.Logf("%s: no image: %v", name, err)
			continue
		}
		// Round 2 starts in a reservation of the image's pool (prepared
		// ahead after round 1's start, or the memory round 1 gave back),
		// with another seed: nothing of round 1 may show.
		for round := 1; round <= 2; round++ {
			icfg.Seed = uint64(6 + round)
			t.Run(fmt.Sprintf("%s/round=%d", name, round), func(t *testing.T) {
				orig, errA := a.Instantiate(ctx, icfg)
				img, errB := b.Instantiate(ctx, icfg)
				if (errA == nil) != (errB == nil) {
					t.Fatalf("start: usual %v, from the image %v", errA, errB)
				}
				if errA != nil {
					sameFailure(t, "start", errA, errB)
					return
				}
				defer orig.Close(ctx)
				defer img.Close(ctx)
				if orig.FromImage() || !img.FromImage() {
					t.Fatalf("FromImage: usual %v, imaged %v", orig.FromImage(), img.FromImage())
				}
				if round == 2 && !img.memory.pooled {
					t.Fatal("round 2 did not start in a reservation of the image's pool")
				}
				if round == 1 {
					started = append(started, name)
				}
				if a, b := orig.Stats(), img.Stats(); a.FuelUsed != b.FuelUsed || a.MemoryBytes != b.MemoryBytes {
					t.Fatalf("after init: usual %+v, from the image %+v", a, b)
				}
				for f := uint64(1); f <= frames; f++ {
					sa, errA := orig.Frame(ctx, events(f))
					sa = bytes.Clone(sa)
					sb, errB := img.Frame(ctx, events(f))
					if (errA == nil) != (errB == nil) {
						t.Fatalf("frame %d: usual %v, from the image %v", f, errA, errB)
					}
					if errA != nil {
						sameFailure(t, "frame", errA, errB)
						return
					}
					if !bytes.Equal(sa, sb) {
						t.Fatalf("frame %d: state bytes differ:\nusual      %x\nfrom image %x", f, sa, sb)
					}
					if a, b := orig.Stats(), img.Stats(); a.FuelUsed != b.FuelUsed || a.MemoryBytes != b.MemoryBytes {
						t.Fatalf("frame %d: usual %+v, from the image %+v", f, a, b)
					}
				}
			})
		}
	}
	for _, want := range []string{"arena", "rust-tag", "c-coins", "as-chase", "recorder", "big_memory", "chatty", "counter"} {
		if !strings.Contains(" "+strings.Join(started, " ")+" ", " "+want+" ") {
			t.Errorf("%s did not start from an image; those that did: %v", want, started)
		}
	}
	if st := imaged.StartStats(); st.FromImage < uint64(len(started)) {
		t.Errorf("StartStats %+v: fewer image starts than the %d seen", st, len(started))
	}
}

func sameFailure(t *testing.T, what string, a, b error) {
	t.Helper()
	var ea, eb *Error
	if !errors.As(a, &ea) || !errors.As(b, &eb) || ea.Reason != eb.Reason || ea.Call != eb.Call {
		t.Fatalf("%s: usual failed with %v, from the image with %v", what, a, b)
	}
	t.Logf("both failed at %s: %v", what, a)
}

// imagedRecorder returns an engine, the recorder module compiled on it
// with its image ready, and the configuration of the image.
func imagedRecorder(t *testing.T) (*Engine, *Module, InstanceConfig) {
	t.Helper()
	e := newEngine(t, Config{})
	m := compile(t, e, "recorder")
	cfg := InstanceConfig{Game: "rec"}
	if err := m.PrepareImage(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return e, m, cfg
}

// TestImageCopyOnWrite checks that instances from one image share none of
// their writes: one instance overwrites the image's memory, another
// started before and one started after still read the image's bytes.
func TestImageCopyOnWrite(t *testing.T) {
	requireImages(t)
	_, m, cfg := imagedRecorder(t)
	one, two := instantiate(t, m, cfg), instantiate(t, m, cfg)
	if !one.FromImage() || !two.FromImage() || !one.memory.mapped {
		t.Fatalf("not from the image: %v %v", one.FromImage(), two.FromImage())
	}
	want := bytes.Clone(two.memory.buf)
	for k := range one.memory.buf {
		one.memory.buf[k] = 0xA5
	}
	if !bytes.Equal(two.memory.buf, want) {
		t.Fatal("a write of one instance shows in the other")
	}
	three := instantiate(t, m, cfg)
	if !three.FromImage() || !bytes.Equal(three.memory.buf, want) {
		t.Fatal("a write of one instance shows in the image")
	}
	// The instance that wrote keeps its writes.
	if one.memory.buf[0] != 0xA5 || one.memory.buf[len(one.memory.buf)-1] != 0xA5 {
		t.Fatal("the writing instance lost its writes")
	}
}

// TestImageRecycledMemory checks the reservations that closed instances
// give back to their image: the next instance starts in one, and reads
// exactly the image's bytes where the last one wrote every byte of its
// memory, and zeros where it grew; an image keeps at most imagePoolSize of
// them, and none once its module is closed. (Preparing ahead is off here,
// so that every pooled reservation is a recycled one.)
func TestImageRecycledMemory(t *testing.T) {
	requireImages(t)
	defer func(on bool) { imagePrepare = on }(imagePrepare)
	imagePrepare = false
	ctx := context.Background()
	e, m, cfg := imagedRecorder(t)
	fresh := instantiate(t, m, cfg)
	want := bytes.Clone(fresh.memory.buf)
	file := fresh.memory.image

	one := instantiate(t, m, cfg)
	if one.memory.pooled {
		t.Fatal("the first instance after the image started in recycled memory")
	}
	if _, ok := one.mem.Grow(3); !ok {
		t.Fatal("cannot grow")
	}
	for k := range one.memory.buf {
		one.memory.buf[k] = 0xA5
	}
	one.Close(ctx)

	two := instantiate(t, m, cfg)
	if !two.FromImage() || !two.memory.pooled {
		t.Fatalf("not in the closed instance's memory: image %v, pooled %v", two.FromImage(), two.memory.pooled)
	}
	if !bytes.Equal(two.memory.buf, want) {
		t.Fatal("the recycled memory is not the image's")
	}
	if _, ok := two.mem.Grow(3); !ok {
		t.Fatal("cannot grow")
	}
	if tail := two.memory.buf[len(want):]; !bytes.Equal(tail, make([]byte, len(tail))) {
		t.Fatal("the memory past the image is not zeros after the last instance wrote it")
	}
	if st := e.StartStats(); st.Pooled != 1 || st.FromImage != 3 {
		t.Fatalf("StartStats %+v, want 3 from the image of which 1 pooled", st)
	}

	var many []*Instance
	for range imagePoolSize + 3 {
		many = append(many, instantiate(t, m, cfg))
	}
	for _, inst := range many {
		inst.Close(ctx)
	}
	if pooled, _ := file.pooled(); pooled != imagePoolSize {
		t.Fatalf("%d reservations pooled after %d closes, want %d", pooled, len(many), imagePoolSize)
	}
	two.Close(ctx)
	fresh.Close(ctx)
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if pooled, view := file.pooled(); pooled != 0 || view {
		t.Fatalf("the closed module's image keeps %d reservations (view %v)", pooled, view)
	}
}

// TestImageSnapshotAndUpgrade snapshots an image-started arena, restores
// it on an engine without images and upgrades another to the double-points
// variant: both go on as their usual-start twins do.
func TestImageSnapshotAndUpgrade(t *testing.T) {
	requireImages(t)
	ctx := context.Background()
	wasm := gamebuildtest.Arena(t)
	imaged, plain := newEngine(t, Config{}), newEngine(t, Config{NoImages: true})
	mi, err := imaged.Compile(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := plain.Compile(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	cfg := InstanceConfig{InstanceID: "a", Game: "arena", Seed: 42, MaxPlayers: 4}
	if err := mi.PrepareImage(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	img, twin := instantiate(t, mi, cfg), instantiate(t, mp, cfg)
	if !img.FromImage() {
		t.Fatal("not from the image")
	}
	for f := uint64(1); f <= 10; f++ {
		if _, err := img.Frame(ctx, events(f)); err != nil {
			t.Fatal(err)
		}
		if _, err := twin.Frame(ctx, events(f)); err != nil {
			t.Fatal(err)
		}
	}
	restored := moved(t, img, mp)
	sameFrames(t, twin, restored, 11, 30, "the restored image-started instance")

	variant := gamebuildtest.ArenaVariant(t, "arena_double_points")
	vi, err := imaged.Compile(ctx, variant)
	if err != nil {
		t.Fatal(err)
	}
	vp, err := plain.Compile(ctx, variant)
	if err != nil {
		t.Fatal(err)
	}
	if err := vi.PrepareImage(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	upImg := upgraded(t, restored, vi, cfg, 30)
	if !upImg.FromImage() {
		t.Fatal("the new version's instance did not start from its image")
	}
	upTwin := upgraded(t, twin, vp, cfg, 30)
	sameFrames(t, upTwin, upImg, 31, 50, "after the upgrade, the image-started instance")
}

// sameFrames runs frames from to to (the events of each) on twin and got
// side by side: got's state bytes must be twin's every frame.
func sameFrames(t *testing.T, twin, got *Instance, from, to uint64, what string) {
	t.Helper()
	ctx := context.Background()
	for f := from; f <= to; f++ {
		a, err := twin.Frame(ctx, events(f))
		if err != nil {
			t.Fatal(err)
		}
		a = bytes.Clone(a)
		b, err := got.Frame(ctx, events(f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("frame %d: %s differs from its twin", f, what)
		}
	}
}

// TestImageOff checks the ways an instance starts as usual: images turned
// off, and a module whose _initialize cannot be imaged.
func TestImageOff(t *testing.T) {
	ctx := context.Background()
	off := newEngine(t, Config{NoImages: true})
	m := compile(t, off, "recorder")
	if err := m.PrepareImage(ctx, InstanceConfig{Game: "rec"}); !errors.Is(err, errImageOff) {
		t.Fatalf("PrepareImage with images off: %v", err)
	}
	for range 2 {
		if inst := instantiate(t, m, InstanceConfig{Game: "rec"}); inst.FromImage() {
			t.Fatal("started from an image with images off")
		}
	}
	if st := off.StartStats(); st.FromImage != 0 || st.Initialized != 2 {
		t.Fatalf("StartStats %+v, want 2 initialized", st)
	}
	// The instance's own InitFuel below what _initialize spends: the usual
	// start, which fails for lack of fuel.
	requireImages(t)
	on := newEngine(t, Config{})
	wasm := gamebuildtest.Arena(t)
	am, err := on.Compile(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	cfg := InstanceConfig{Game: "arena"}
	if err := am.PrepareImage(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.InitFuel = 1000
	if _, err := am.Instantiate(ctx, cfg); err == nil {
		t.Fatal("an instance with 1000 fuel to start started")
	}
	// Another game name: another image, taken by its first start.
	other := instantiate(t, am, InstanceConfig{Game: "arena2"})
	if other.FromImage() {
		t.Fatal("a game of another name started from arena's image")
	}
}

// upgraded hands inst's saved state to a new instance of to, as the
// executor's hot upgrade does.
func upgraded(t *testing.T, inst *Instance, to *Module, cfg InstanceConfig, frame uint64) *Instance {
	t.Helper()
	ctx := context.Background()
	state, err := inst.SaveState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nw := instantiate(t, to, cfg)
	if err := nw.LoadState(ctx, state); err != nil {
		t.Fatal(err)
	}
	nw.ContinueFrom(frame)
	return nw
}

// TestImageFilesClosed checks that an engine's images hold no file
// descriptor once the engine is closed.
func TestImageFilesClosed(t *testing.T) {
	requireImages(t)
	ctx := context.Background()
	fds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	before := fds()
	e, err := NewEngine(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"recorder", "counter"} {
		m := compile(t, e, name)
		for _, game := range []string{"a", "b"} {
			if err := m.PrepareImage(ctx, InstanceConfig{Game: game}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if fds() < before+4 {
		t.Fatalf("%d descriptors with 4 images, %d before: the images are not memfds", fds(), before)
	}
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if after := fds(); after > before {
		t.Fatalf("%d descriptors after the engine closed, %d before", after, before)
	}
}
