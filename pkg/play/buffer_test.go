package play

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/world"
)

const (
	testHz    = 60
	testStep  = time.Second / testHz
	speed     = 5.0 // m/s of the moving entity, along +X
	movingID  = 1000
	staticID  = 1
	latency   = 20 * time.Millisecond
	simLength = 10 * time.Second
)

var epoch = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// frameSnap is frame n of a world with a static floor and one entity moving
// steadily along +X.
func frameSnap(n uint64, dst *world.Snapshot) *world.Snapshot {
	if dst == nil {
		dst = new(world.Snapshot)
	}
	dst.Reset()
	dst.Frame = n
	dst.Entities = append(dst.Entities,
		world.Entity{ID: staticID, Shape: world.ShapePlane, Rotation: world.Identity, Scale: world.Vec3{X: 30, Y: 1, Z: 30}, Color: world.Color{A: 255}},
		world.Entity{ID: movingID, Shape: world.ShapeCapsule, Position: world.Vec3{X: float32(speed * float64(n) / testHz), Y: 0.9},
			Rotation: world.Identity, Scale: world.Vec3{X: 1, Y: 1.8, Z: 1}, Color: world.Color{R: 200, A: 255}, Label: "p"})
	dst.Players = append(dst.Players, world.Player{ID: "p", Entity: movingID, Score: int32(n / 60)})
	return dst
}

// delivery is one state's arrival in a simulation.
type delivery struct {
	frame uint64
	at    time.Time
}

// network describes how states travel in a simulation.
type network struct {
	jitter   time.Duration // uniform extra latency, 0..jitter
	drop     float64       // share of states lost
	reorder  float64       // share of states swapped with the next
	stallAt  time.Duration // a stall: every state sent in [stallAt, stallAt+stall) arrives at its end
	stall    time.Duration
	every    uint64 // send one frame in every; 0 or 1: all
	stopSend time.Duration
}

// deliveries simulates the arrivals of simLength of states.
func (nw network) deliveries(seed uint64) []delivery {
	r := rand.New(rand.NewPCG(seed, 1))
	var out []delivery
	every := max(nw.every, 1)
	for n := uint64(1); time.Duration(n)*testStep < simLength; n++ {
		sent := time.Duration(n) * testStep
		if n%every != 0 || r.Float64() < nw.drop || (nw.stopSend > 0 && sent >= nw.stopSend) {
			continue
		}
		at := sent + latency
		if nw.jitter > 0 {
			at += time.Duration(r.Int64N(int64(nw.jitter)))
		}
		if nw.stall > 0 && sent >= nw.stallAt && sent < nw.stallAt+nw.stall {
			at = max(at, nw.stallAt+nw.stall+latency)
		}
		out = append(out, delivery{frame: n, at: epoch.Add(at)})
	}
	for i := 0; i+1 < len(out); i++ {
		if r.Float64() < nw.reorder {
			out[i].at, out[i+1].at = out[i+1].at, out[i].at
			out[i], out[i+1] = out[i+1], out[i]
			i++
		}
	}
	slices.SortStableFunc(out, func(a, b delivery) int { return a.at.Compare(b.at) })
	return out
}

// rendered is one rendered frame of a simulation.
type rendered struct {
	now time.Time
	s   Sample
	x   float32
	ok  bool
}

// simulate feeds the deliveries to a buffer and renders at about 144 fps
// with a jittery frame clock, returning every rendered frame.
func simulate(t *testing.T, cfg BufferConfig, ds []delivery, seed uint64) []rendered {
	t.Helper()
	b := NewBuffer(cfg)
	r := rand.New(rand.NewPCG(seed, 2))
	var dst world.Snapshot
	var out []rendered
	next := 0
	for now := epoch; now.Before(epoch.Add(simLength + time.Second)); now = now.Add(time.Duration(5e6 + r.Int64N(4e6))) {
		for next < len(ds) && !ds[next].at.After(now) {
			b.Add(ds[next].frame, frameSnap(ds[next].frame, b.Spare()), ds[next].at)
			next++
		}
		s, ok := b.Render(&dst, now)
		x := float32(math.NaN())
		if e := dst.Entity(movingID); ok && e != nil {
			x = e.Position.X
		}
		out = append(out, rendered{now: now, s: s, x: x, ok: ok})
	}
	return out
}

func TestBufferSteadyMotion(t *testing.T) {
	tests := []struct {
		name string
		nw   network
	}{
		{"steady", network{}},
		{"jittered", network{jitter: 30 * time.Millisecond}},
		{"dropped", network{drop: 0.2}},
		{"reordered", network{jitter: 5 * time.Millisecond, reorder: 0.15}},
		{"late", network{stallAt: 3 * time.Second, stall: 100 * time.Millisecond}},
		{"20 Hz", network{every: 3}},
		{"everything", network{jitter: 25 * time.Millisecond, drop: 0.1, reorder: 0.1, stallAt: 5 * time.Second, stall: 150 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames := simulate(t, BufferConfig{TickHz: testHz}, tt.nw.deliveries(7), 7)
			var prev *rendered
			extrapolated := false
			for i := range frames {
				f := &frames[i]
				if !f.ok {
					continue
				}
				if prev != nil && f.s.Time < prev.s.Time {
					t.Fatalf("at %v: render time %v went back from %v", f.now.Sub(epoch), f.s.Time, prev.s.Time)
				}
				if f.now.Sub(epoch) >= simLength { // no more states
					break
				}
				if f.now.Sub(epoch) < time.Second { // the clock settles
					prev = f
					continue
				}
				// A steadily moving entity is exactly where it was at the
				// render time, interpolated or extrapolated.
				want := float32(speed * f.s.Time.Seconds())
				if math.Abs(float64(f.x-want)) > 1e-3 {
					t.Fatalf("at %v: x = %v, want %v at render time %v (sample %+v)", f.now.Sub(epoch), f.x, want, f.s.Time, f.s)
				}
				if prev != nil {
					dt := f.now.Sub(prev.now).Seconds()
					dx := float64(f.x - prev.x)
					if dx < 0 {
						t.Fatalf("at %v: x went back from %v to %v", f.now.Sub(epoch), prev.x, f.x)
					}
					if maxDx := speed * dt * (1 + catchup + 0.01); dx > maxDx {
						t.Fatalf("at %v: x jumped by %v in %.1f ms, more than %v", f.now.Sub(epoch), dx, dt*1000, maxDx)
					}
				}
				if f.s.Extrapolated > 0 {
					extrapolated = true
				}
				prev = f
			}
			if tt.nw.stall > 0 && !extrapolated {
				t.Error("a late state did not make the buffer extrapolate")
			}
		})
	}
}

func TestBufferDelayAdapts(t *testing.T) {
	delayAt := func(nw network) time.Duration {
		frames := simulate(t, BufferConfig{TickHz: testHz}, nw.deliveries(3), 3)
		return frames[len(frames)/2].s.Delay
	}
	steady := delayAt(network{})
	if want := 2 * testStep; steady < want-time.Millisecond || steady > want+2*time.Millisecond {
		t.Errorf("delay at a steady 60 Hz: %v, want about two intervals (%v)", steady, want)
	}
	if slow := delayAt(network{every: 3}); slow < 6*testStep-2*time.Millisecond || slow > 6*testStep+3*time.Millisecond {
		t.Errorf("delay at 20 Hz: %v, want about two intervals (%v)", slow, 6*testStep)
	}
	if jittered := delayAt(network{jitter: 40 * time.Millisecond}); jittered < steady+25*time.Millisecond {
		t.Errorf("delay with 40 ms of jitter: %v, want about 40 ms more than %v", jittered, steady)
	}
}

func TestBufferBoundedExtrapolation(t *testing.T) {
	nw := network{stopSend: 4 * time.Second}
	ds := nw.deliveries(1)
	last := ds[len(ds)-1].frame
	frames := simulate(t, BufferConfig{TickHz: testHz}, ds, 1)
	limit := float32(speed * (float64(last)/testHz + DefaultMaxExtrapolation.Seconds()))
	end := frames[len(frames)-1]
	if end.s.Extrapolated != DefaultMaxExtrapolation {
		t.Errorf("extrapolated %v long after the last state, want the limit %v", end.s.Extrapolated, DefaultMaxExtrapolation)
	}
	for _, f := range frames {
		if f.ok && f.x > limit+1e-3 {
			t.Fatalf("at %v: x = %v, past the extrapolation limit %v", f.now.Sub(epoch), f.x, limit)
		}
	}
	if math.Abs(float64(end.x-limit)) > 1e-3 {
		t.Errorf("held at x = %v, want %v", end.x, limit)
	}
}

func TestBufferRenderTimeMonotonic(t *testing.T) {
	b := NewBuffer(BufferConfig{TickHz: testHz})
	for n := uint64(1); n <= 10; n++ {
		b.Add(n, frameSnap(n, nil), epoch.Add(time.Duration(n)*testStep))
	}
	now := epoch.Add(200 * time.Millisecond)
	first := b.Sample(now)
	// A clock that goes back (or a renderer passing an older time).
	again := b.Sample(now.Add(-50 * time.Millisecond))
	if again.Time < first.Time {
		t.Fatalf("render time went back from %v to %v", first.Time, again.Time)
	}
	// A new buffer's measurements change the target, not the past.
	b.Add(11, frameSnap(11, nil), now.Add(300*time.Millisecond))
	if s := b.Sample(now.Add(time.Millisecond)); s.Time < again.Time {
		t.Fatalf("render time went back from %v to %v after a late state", again.Time, s.Time)
	}
}

func TestBufferRefusesDuplicatesAndStale(t *testing.T) {
	b := NewBuffer(BufferConfig{TickHz: testHz})
	for n := uint64(10); n <= 20; n++ {
		if !b.Add(n, frameSnap(n, nil), epoch.Add(time.Duration(n)*testStep)) {
			t.Fatalf("frame %d refused", n)
		}
	}
	if b.Add(15, frameSnap(15, nil), epoch.Add(time.Second)) {
		t.Error("a duplicate frame was kept")
	}
	s := b.Sample(epoch.Add(20 * testStep))
	if s.FromFrame == 0 || s.FromFrame <= 10 {
		t.Fatalf("sample %+v", s)
	}
	if b.Add(s.FromFrame-1, frameSnap(s.FromFrame-1, nil), epoch.Add(21*testStep)) {
		t.Error("a frame older than the render time was kept")
	}
	// An older frame between the two rendered is still welcome.
	if !b.Add(s.ToFrame+5, frameSnap(s.ToFrame+5, nil), epoch.Add(22*testStep)) {
		t.Error("a newer frame was refused")
	}
	if got := b.Stats().Refused; got != 2 {
		t.Errorf("refused %d, want 2", got)
	}
	if st := b.Stats(); st.Newest != s.ToFrame+5 {
		t.Errorf("newest %d, want %d", st.Newest, s.ToFrame+5)
	}
}

func TestBufferEmpty(t *testing.T) {
	b := NewBuffer(BufferConfig{})
	var dst world.Snapshot
	if _, ok := b.Render(&dst, epoch); ok {
		t.Fatal("an empty buffer rendered")
	}
	if s := b.Sample(epoch); s.From != nil || s.To != nil {
		t.Fatalf("sample of an empty buffer: %+v", s)
	}
	// One snapshot: drawn as it is.
	b.Add(5, frameSnap(5, nil), epoch)
	if _, ok := b.Render(&dst, epoch.Add(time.Second)); !ok || dst.Frame != 5 || len(dst.Entities) != 2 {
		t.Fatalf("one snapshot rendered as %+v", dst)
	}
	b.Reset()
	if _, ok := b.Render(&dst, epoch.Add(2*time.Second)); ok {
		t.Fatal("a reset buffer rendered")
	}
}

func TestBlendTeleport(t *testing.T) {
	from, to := frameSnap(1, nil), frameSnap(2, nil)
	to.Entity(movingID).Position.X = 20 // respawned far away
	var bl Blender
	var dst world.Snapshot
	for _, alpha := range []float64{0, 0.25, 0.49, 0.5, 0.75, 1, 1.5} {
		bl.Blend(&dst, from, to, alpha, DefaultMaxSpeed/testHz)
		x := dst.Entity(movingID).Position.X
		want := from.Entity(movingID).Position.X
		if alpha >= 0.5 {
			want = 20
		}
		if x != want {
			t.Errorf("alpha %v: x = %v, want %v (no blending across a teleport)", alpha, x, want)
		}
	}
	// A plausible move blends.
	to.Entity(movingID).Position.X = from.Entity(movingID).Position.X + 0.5
	bl.Blend(&dst, from, to, 0.5, DefaultMaxSpeed/testHz)
	if x, want := dst.Entity(movingID).Position.X, from.Entity(movingID).Position.X+0.25; math.Abs(float64(x-want)) > 1e-6 {
		t.Errorf("plausible move at alpha 0.5: x = %v, want %v", x, want)
	}
}

func TestBlendEntitiesInOneSnapshotOnly(t *testing.T) {
	from, to := frameSnap(1, nil), frameSnap(2, nil)
	gone := world.Entity{ID: 7, Shape: world.ShapeSphere, Rotation: world.Identity, Scale: world.Vec3{X: 1, Y: 1, Z: 1}}
	born := world.Entity{ID: 8, Shape: world.ShapeBox, Rotation: world.Identity, Scale: world.Vec3{X: 1, Y: 1, Z: 1}}
	from.Entities = slices.Insert(from.Entities, 1, gone)
	to.Entities = append(to.Entities, born)
	var bl Blender
	var dst world.Snapshot
	for _, alpha := range []float64{0, 0.3, 0.5, 0.9, 1.2} {
		bl.Blend(&dst, from, to, alpha, DefaultMaxSpeed/testHz)
		hasGone, hasBorn := dst.Entity(7) != nil, dst.Entity(8) != nil
		if hasGone != (alpha < 0.5) || hasBorn != (alpha >= 0.5) {
			t.Errorf("alpha %v: removed entity drawn %v, new entity drawn %v", alpha, hasGone, hasBorn)
		}
		if dst.Entity(staticID) == nil || dst.Entity(movingID) == nil {
			t.Errorf("alpha %v: an entity of both snapshots is missing: %+v", alpha, dst.Entities)
		}
		if len(dst.Entities) != 3 {
			t.Errorf("alpha %v: %d entities, want 3", alpha, len(dst.Entities))
		}
	}
}

func TestBlendRotationScaleColour(t *testing.T) {
	from, to := frameSnap(1, nil), frameSnap(2, nil)
	e := to.Entity(movingID)
	e.Rotation = world.Quat{Y: float32(math.Sin(math.Pi / 4)), W: float32(math.Cos(math.Pi / 4))} // 90° about Y
	e.Scale.Y = 3.6
	e.Color = world.Color{R: 0, G: 100, A: 255}
	var bl Blender
	var dst world.Snapshot
	bl.Blend(&dst, from, to, 0.5, DefaultMaxSpeed/testHz)
	got := dst.Entity(movingID)
	if angle := 2 * math.Atan2(float64(got.Rotation.Y), float64(got.Rotation.W)); math.Abs(angle-math.Pi/4) > 1e-3 {
		t.Errorf("rotation halfway is %v rad about Y, want π/4", angle)
	}
	if math.Abs(float64(got.Scale.Y)-2.7) > 1e-5 || got.Color != (world.Color{R: 100, G: 50, A: 255}) {
		t.Errorf("scale %v colour %v halfway", got.Scale, got.Color)
	}
	// Past 1 only positions extrapolate.
	bl.Blend(&dst, from, to, 1.5, DefaultMaxSpeed/testHz)
	if got := dst.Entity(movingID); got.Scale.Y != 3.6 || math.Abs(float64(got.Rotation.Y-e.Rotation.Y)) > 1e-6 || got.Color != e.Color {
		t.Errorf("extrapolated pose %+v, want to's rotation, scale and colour", got)
	}
}

var playerIDs = []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p"}

// bigWorld is a snapshot of n moving entities.
func bigWorld(frame uint64, n int, dst *world.Snapshot) *world.Snapshot {
	if dst == nil {
		dst = new(world.Snapshot)
	}
	dst.Reset()
	dst.Frame = frame
	for i := range n {
		x := float32(i%40) + float32(frame)*0.05
		dst.Entities = append(dst.Entities, world.Entity{ID: uint32(i + 1), Shape: world.ShapeBox,
			Position: world.Vec3{X: x, Y: 1, Z: float32(i / 40)}, Rotation: world.Identity,
			Scale: world.Vec3{X: 1, Y: 1, Z: 1}, Color: world.Color{R: uint8(i), A: 255}})
	}
	for i, id := range playerIDs {
		dst.Players = append(dst.Players, world.Player{ID: id, Entity: uint32(i + 1)})
	}
	return dst
}

func TestRenderDoesNotAllocate(t *testing.T) {
	b := NewBuffer(BufferConfig{TickHz: testHz})
	var dst world.Snapshot
	frame := uint64(0)
	now := epoch
	step := func() {
		frame++
		now = now.Add(testStep)
		b.Add(frame, bigWorld(frame, 1000, b.Spare()), now)
		b.Render(&dst, now)
	}
	for range 100 {
		step()
	}
	if n := testing.AllocsPerRun(200, step); n != 0 {
		t.Errorf("%v allocations per state and rendered frame in steady state, want 0", n)
	}
}

func BenchmarkRender1000(b *testing.B) {
	buf := NewBuffer(BufferConfig{TickHz: testHz})
	for n := uint64(1); n <= 8; n++ {
		buf.Add(n, bigWorld(n, 1000, nil), epoch.Add(time.Duration(n)*testStep))
	}
	var dst world.Snapshot
	now := epoch.Add(8 * testStep)
	buf.Render(&dst, now)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Stay between the same two snapshots: the sampling and blending
		// of one rendered frame.
		buf.Render(&dst, now)
	}
	if len(dst.Entities) != 1000 {
		b.Fatalf("%d entities rendered", len(dst.Entities))
	}
}
