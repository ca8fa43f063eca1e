package wasmhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rcc-games/rcc/pkg/lifecycle"
	"github.com/rcc-games/rcc/pkg/meter"
)

// events is a deterministic script: two players join at frame 1, p1 sends
// its frame number every frame, p2 leaves at frame 12.
func events(frame uint64) []Event {
	var evs []Event
	if frame == 1 {
		evs = append(evs, Event{Kind: EventJoin, Player: "p1"}, Event{Kind: EventJoin, Player: "p2"})
	}
	if frame == 12 {
		evs = append(evs, Event{Kind: EventLeave, Player: "p2"})
	}
	return append(evs, Event{Kind: EventInput, Player: "p1", Data: []byte{byte(frame), byte(frame >> 8)}})
}

// moved snapshots inst, writes and reads the snapshot back and restores it
// on another engine's module.
func moved(t *testing.T, inst *Instance, to *Module) *Instance {
	t.Helper()
	snap, err := inst.Snapshot()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	var buf bytes.Buffer
	if _, err := snap.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	read, err := ReadSnapshot(&buf, 0)
	if err != nil {
		t.Fatalf("read snapshot: %v", err)
	}
	want, _ := snap.Hash()
	if got, _ := read.Hash(); got != want {
		t.Fatalf("snapshot changed through its encoding")
	}
	restored, err := to.Restore(context.Background(), read, InstanceConfig{})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	t.Cleanup(func() { _ = restored.Close(context.Background()) })
	return restored
}

// TestSnapshotCorpus snapshots every module of testdata that survives its
// first frames, restores it on another engine and runs the original and the
// copy side by side: every frame's state bytes, and the failure (reason,
// call, frame) of those that fail later, must be the same. The modules that
// fail before the snapshot frame are not survivors and are left out.
func TestSnapshotCorpus(t *testing.T) {
	cfg := Config{InitFuel: 50_000_000}
	src, dst := newEngine(t, cfg), newEngine(t, cfg)
	files, _ := filepath.Glob("testdata/*.wasm")
	const at, until = 5, 40
	var survivors []string
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".wasm")
		wasm := readModule(t, name)
		m, err := src.Compile(context.Background(), wasm)
		if err != nil {
			continue
		}
		ctx := context.Background()
		orig, err := m.Instantiate(ctx, InstanceConfig{Game: name, Seed: 7})
		if err != nil {
			continue
		}
		survived := true
		for f := uint64(1); f <= at; f++ {
			if _, err := orig.Frame(ctx, events(f)); err != nil {
				survived = false
				break
			}
		}
		if !survived {
			continue
		}
		survivors = append(survivors, name)
		t.Run(name, func(t *testing.T) {
			defer orig.Close(ctx)
			to, err := dst.Compile(ctx, wasm)
			if err != nil {
				t.Fatal(err)
			}
			copy := moved(t, orig, to)
			for f := uint64(at + 1); f <= until; f++ {
				a, errA := orig.Frame(ctx, events(f))
				a = bytes.Clone(a)
				b, errB := copy.Frame(ctx, events(f))
				if (errA == nil) != (errB == nil) {
					t.Fatalf("frame %d: original %v, restored %v", f, errA, errB)
				}
				if errA != nil {
					var ea, eb *Error
					errors.As(errA, &ea)
					errors.As(errB, &eb)
					if ea.Reason != eb.Reason || ea.Call != eb.Call {
						t.Fatalf("frame %d: original failed with %v, restored with %v", f, errA, errB)
					}
					t.Logf("both failed at frame %d: %v", f, errA)
					return
				}
				if !bytes.Equal(a, b) {
					t.Fatalf("frame %d: state bytes differ:\noriginal %x\nrestored %x", f, a, b)
				}
			}
			if a, b := orig.Stats(), copy.Stats(); a.Frames != b.Frames || a.FuelUsed != b.FuelUsed || a.MemoryBytes != b.MemoryBytes {
				t.Errorf("stats differ: original %+v, restored %+v", a, b)
			}
		})
	}
	for _, want := range []string{"recorder", "big_memory", "chatty", "empty_export", "counter"} {
		if !strings.Contains(" "+strings.Join(survivors, " ")+" ", " "+want+" ") {
			t.Errorf("%s is not among the survivors %v", want, survivors)
		}
	}
}

// TestSnapshotOnlyNonZeroPages checks that the snapshot stores only pages
// that are not all zeros, and that a restored instance's other pages are
// zero even where the fresh instance's data segments had bytes.
func TestSnapshotOnlyNonZeroPages(t *testing.T) {
	e := newEngine(t, Config{})
	m := compile(t, e, "recorder")
	inst := instantiate(t, m, InstanceConfig{Game: "rec"})
	if _, err := inst.Frame(context.Background(), events(1)); err != nil {
		t.Fatal(err)
	}
	snap, err := inst.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Pages) == 0 || len(snap.Pages) >= int(snap.MemoryPages) {
		t.Fatalf("%d pages stored of %d, want some but not all", len(snap.Pages), snap.MemoryPages)
	}
	for _, p := range snap.Pages {
		if isZero(p.Data) {
			t.Errorf("page %d is all zeros but stored", p.Index)
		}
	}
	// Wipe the stored pages: the restored memory must be all zeros.
	for k := range snap.Pages {
		snap.Pages[k].Data = make([]byte, PageSize)
	}
	snap.Pages = snap.Pages[:0]
	restored, err := m.Restore(context.Background(), snap, InstanceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close(context.Background())
	if !isZero(restored.memory.buf[:PageSize]) {
		t.Error("restored memory keeps the fresh instance's data")
	}
}

// TestSnapshotRefusals checks the clear errors: an ended instance, a file
// held open, another module, a memory limit over the engine's.
func TestSnapshotRefusals(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, Config{})
	assets := fstest.MapFS{"hello.txt": {Data: []byte("hello world\n")}}
	fs := instantiate(t, compile(t, e, "escape_fs"), InstanceConfig{Game: "fs", Assets: assets})
	if _, err := fs.Frame(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Snapshot(); !errors.Is(err, ErrNotSnapshottable) || !strings.Contains(err.Error(), "hello.txt") {
		t.Errorf("snapshot with a file open: err = %v, want ErrNotSnapshottable naming hello.txt", err)
	}

	rec := compile(t, e, "recorder")
	inst := instantiate(t, rec, InstanceConfig{Game: "rec", MemoryLimitPages: 64})
	snap, err := inst.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := compile(t, e, "chatty").Restore(ctx, snap, InstanceConfig{}); !errors.Is(err, ErrSnapshotMismatch) {
		t.Errorf("restore into another module: err = %v, want ErrSnapshotMismatch", err)
	}
	small := newEngine(t, Config{MemoryLimitPages: 32})
	m, err := small.Compile(ctx, readModule(t, "recorder"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Restore(ctx, snap, InstanceConfig{}); !errors.Is(err, ErrSnapshotMismatch) || !strings.Contains(err.Error(), "64 pages") {
		t.Errorf("restore over the engine's memory limit: err = %v, want ErrSnapshotMismatch naming 64 pages", err)
	}
	unmetered := newEngine(t, Config{NoFuel: true, WallClockGuard: true})
	m, err = unmetered.Compile(ctx, readModule(t, "recorder"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Restore(ctx, snap, InstanceConfig{}); !errors.Is(err, ErrSnapshotMismatch) {
		t.Errorf("restore of a metered snapshot without fuel: err = %v, want ErrSnapshotMismatch", err)
	}

	_ = inst.Close(ctx)
	if _, err := inst.Snapshot(); !errors.Is(err, ErrNotSnapshottable) {
		t.Errorf("snapshot of a closed instance: err = %v, want ErrNotSnapshottable", err)
	}
}

// TestSnapshotUnmetered checks that an engine without fuel snapshots the
// module's hidden globals too (meter.ExportGlobals).
func TestSnapshotUnmetered(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, Config{NoFuel: true, WallClockGuard: true})
	m := compile(t, e, "recorder")
	a := instantiate(t, m, InstanceConfig{Game: "rec"})
	for f := uint64(1); f <= 3; f++ {
		if _, err := a.Frame(ctx, events(f)); err != nil {
			t.Fatal(err)
		}
	}
	b := moved(t, a, m)
	for f := uint64(4); f <= 20; f++ {
		x, _ := a.Frame(ctx, events(f))
		x = bytes.Clone(x)
		y, err := b.Frame(ctx, events(f))
		if err != nil || !bytes.Equal(x, y) {
			t.Fatalf("frame %d: %x / %x, %v", f, x, y, err)
		}
	}
}

// TestReadSnapshotRefusesDamage checks that every kind of damage is an
// ErrBadSnapshot and never a panic: truncation, a flipped bit anywhere,
// another version, trailing bytes, a memory over the reader's limit.
func TestReadSnapshotRefusesDamage(t *testing.T) {
	enc := encodedSnapshot(t)
	cases := map[string][]byte{
		"empty":       nil,
		"header only": enc[:12],
		"truncated":   enc[:len(enc)-3],
		"version 2":   append(append(append([]byte{}, enc[:8]...), 2, 0), enc[10:]...),
		"trailing":    append(bytes.Clone(enc), 0),
	}
	for _, at := range []int{3, 20, len(enc) / 2, len(enc) - 5} {
		b := bytes.Clone(enc)
		b[at] ^= 0x10
		cases[fmt.Sprintf("bit flip at %d", at)] = b
	}
	for name, b := range cases {
		if _, err := ReadSnapshot(bytes.NewReader(b), 0); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: err = %v, want ErrBadSnapshot", name, err)
		}
	}
	if _, err := ReadSnapshot(bytes.NewReader(enc), 1); !errors.Is(err, ErrBadSnapshot) || !strings.Contains(err.Error(), "over the limit of 1") {
		t.Errorf("memory over the reader's limit: err = %v", err)
	}
}

// encodedSnapshot is a snapshot of the recorder after two frames, with
// pending events and players.
func encodedSnapshot(t testing.TB) []byte {
	e := newEngine(t, Config{})
	inst := instantiate(t, compile(t, e, "recorder"), InstanceConfig{Game: "rec"})
	for f := uint64(1); f <= 2; f++ {
		if _, err := inst.Frame(context.Background(), events(f)); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := inst.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	snap.Pending = []Event{{Kind: EventInput, Player: "p1", Data: []byte("up")}, {Kind: EventLeave, Player: "p2"}}
	snap.Players = []string{"p1", "p2"}
	var buf bytes.Buffer
	if _, err := snap.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzReadSnapshot feeds damaged snapshots to the reader: it must refuse
// them with ErrBadSnapshot or read a snapshot that encodes back to the same
// content, and never panic or allocate past its bounds.
func FuzzReadSnapshot(f *testing.F) {
	f.Add(encodedSnapshot(f))
	f.Add([]byte(snapshotMagic + "\x01\x00\x01\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ReadSnapshot(bytes.NewReader(b), 64)
		if err != nil {
			if !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("err = %v, want ErrBadSnapshot", err)
			}
			return
		}
		roundTrip(t, s)
	})
}

// FuzzSnapshotPayload fuzzes the payload decoder under the compression, so
// that mutations reach every field.
func FuzzSnapshotPayload(f *testing.F) {
	s, err := ReadSnapshot(bytes.NewReader(encodedSnapshot(f)), 0)
	if err != nil {
		f.Fatal(err)
	}
	var payload bytes.Buffer
	if err := s.writePayload(&payload); err != nil {
		f.Fatal(err)
	}
	f.Add(payload.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := readPayload(bytes.NewReader(b), 64)
		if err != nil {
			if !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("err = %v, want ErrBadSnapshot", err)
			}
			return
		}
		roundTrip(t, s)
	})
}

func roundTrip(t *testing.T, s *Snapshot) {
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatalf("a snapshot read back does not write: %v", err)
	}
	again, err := ReadSnapshot(&buf, 64)
	if err != nil {
		t.Fatalf("a snapshot written does not read: %v", err)
	}
	h1, _ := s.Hash()
	h2, _ := again.Hash()
	if h1 != h2 {
		t.Fatal("a snapshot changed through writing and reading")
	}
}

// TestCheckReservedExports checks that a module exporting the names the
// host reserves for its globals is reported by Check and refused by
// Compile, naming the export.
func TestCheckReservedExports(t *testing.T) {
	wasm, err := meter.ExportGlobals(readModule(t, "recorder"))
	if err != nil {
		t.Fatal(err)
	}
	r := Check(wasm, 0)
	if r.OK() || r.Problems[0].Code != ProblemReservedExport || !strings.Contains(r.Problems[0].Message, "export rcc_global_0") {
		t.Errorf("problems = %+v, want reserved_export naming rcc_global_0", r.Problems)
	}
	if _, err := newEngine(t, Config{}).Compile(context.Background(), wasm); ReasonOf(err) != lifecycle.ReasonInvalidModule ||
		!strings.Contains(err.Error(), "rcc_global_0") {
		t.Errorf("compile: err = %v, want invalid_module naming rcc_global_0", err)
	}
}
