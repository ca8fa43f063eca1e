package batch

import (
	"slices"
	"testing"

	"github.com/rcc-games/rcc/pkg/camera"
	"github.com/rcc-games/rcc/pkg/demoscene"
	"github.com/rcc-games/rcc/pkg/geom"
	"github.com/rcc-games/rcc/pkg/render/mesh"
	"github.com/rcc-games/rcc/pkg/world"
)

func ent(id uint32, s world.Shape, x, z float32, a uint8) world.Entity {
	return world.Entity{ID: id, Shape: s, Position: world.Vec3{X: x, Z: z}, Rotation: world.Identity,
		Scale: world.Vec3{X: 1, Y: 1, Z: 1}, Color: world.Color{R: 255, G: 128, A: a}}
}

// TestTranslucentBackToFront checks that translucent entities come out
// farthest first, split into runs of one shape, and opaque ones by shape.
func TestTranslucentBackToFront(t *testing.T) {
	s := &world.Snapshot{Entities: []world.Entity{
		ent(1, world.ShapeSphere, 0, -1, 100), // near
		ent(2, world.ShapeBox, 0, -9, 100),    // far
		ent(3, world.ShapeBox, 0, -5, 100),    // middle
		ent(4, world.ShapeCone, 0, -3, 255),   // opaque
		ent(5, world.ShapeSphere, 0, -7, 100), // between far and middle
	}}
	var b Batch
	b.Build(s, geom.Vec3{}, nil, 0)
	var order []float32
	for i := 0; i < len(b.Translucent); i += FloatsPerInstance {
		order = append(order, b.Translucent[i+2])
	}
	want := []float32{-9, -7, -5, -1}
	if len(order) != len(want) {
		t.Fatalf("translucent z order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("translucent z order %v, want %v", order, want)
		}
	}
	wantRuns := []Run{{world.ShapeBox, 0, 1, mesh.Near}, {world.ShapeSphere, 1, 1, mesh.Near}, {world.ShapeBox, 2, 1, mesh.Near}, {world.ShapeSphere, 3, 1, mesh.Near}}
	if len(b.Runs) != len(wantRuns) {
		t.Fatalf("runs %v, want %v", b.Runs, wantRuns)
	}
	for i := range wantRuns {
		if b.Runs[i] != wantRuns[i] {
			t.Fatalf("runs %v, want %v", b.Runs, wantRuns)
		}
	}
	if got := len(b.Opaque[mesh.Near][world.ShapeCone]) / FloatsPerInstance; got != 1 {
		t.Fatalf("%d opaque cones", got)
	}
	// Colours are linear: sRGB 128 is about 0.216.
	if g := b.Translucent[11]; g < 0.21 || g > 0.22 {
		t.Fatalf("linear green %v, want 0.216", g)
	}
	if a := b.Translucent[13]; a < 0.39 || a > 0.40 {
		t.Fatalf("alpha %v, want 100/255", a)
	}
}

// TestOpaqueFrontToBack checks that opaque instances of one shape come
// out nearest the eye first, whatever their order in the snapshot.
func TestOpaqueFrontToBack(t *testing.T) {
	s := &world.Snapshot{Entities: []world.Entity{
		ent(1, world.ShapeBox, 0, -6, 255),
		ent(2, world.ShapeBox, 0, -2, 255),
		ent(3, world.ShapeSphere, 0, -1, 255),
		ent(4, world.ShapeBox, 0, 9, 255),
		ent(5, world.ShapeBox, 0, -4, 255),
	}}
	var b Batch
	b.Build(s, geom.Vec3{}, nil, 0)
	var order []float32
	boxes := b.Opaque[mesh.Near][world.ShapeBox]
	for i := 0; i < len(boxes); i += FloatsPerInstance {
		order = append(order, boxes[i+2])
	}
	if want := []float32{-2, -4, -6, 9}; !slices.Equal(order, want) {
		t.Fatalf("opaque box z order %v, want %v", order, want)
	}
}

// TestShadowsSplitBySize checks that shadows small on screen go to
// SmallShadows and the others to Shadows.
func TestShadowsSplitBySize(t *testing.T) {
	s := &world.Snapshot{Entities: []world.Entity{
		ent(1, world.ShapeBox, 0, -3, 255),   // near: about 60 pixels
		ent(2, world.ShapeBox, 0, -100, 255), // far: about 2 pixels
	}}
	for i := range s.Entities {
		s.Entities[i].Position.Y = 0.5 // standing on the ground
	}
	var b Batch
	b.Build(s, geom.Vec3{Y: 1}, nil, 300)
	if len(b.Shadows) != FloatsPerShadow || b.Shadows[1] != -3 {
		t.Fatalf("large shadows %v, want the near box's", b.Shadows)
	}
	if len(b.SmallShadows) != FloatsPerShadow || b.SmallShadows[1] != -100 {
		t.Fatalf("small shadows %v, want the far box's", b.SmallShadows)
	}
}

func TestCullingAndLevelOfDetail(t *testing.T) {
	cam := camera.New()
	cam.LookAt(geom.Vec3{}, geom.Vec3{Z: -1})
	vp := cam.ViewProjection(800, 600)
	f := geom.FrustumOf(vp)
	s := &world.Snapshot{Entities: []world.Entity{
		ent(1, world.ShapeBox, 0, -5, 255),     // in view, near
		ent(2, world.ShapeBox, 0, 5, 255),      // behind the eye
		ent(3, world.ShapeBox, 0, -200, 255),   // in view, tiny
		ent(4, world.ShapeBox, 300, -5, 255),   // far to the right
		ent(5, world.ShapeSphere, 0, -4, 0),    // invisible
		ent(6, world.ShapeSphere, 0, -600, 9),  // beyond the far plane
		ent(7, world.ShapeBox, 0, -15, 255),    // in view, far
		ent(8, world.ShapeSphere, 0, -190, 99), // translucent, tiny
	}}
	s.Entities[0].Label = "near"
	s.Entities[2].Label = "too far for a tag"
	var b Batch
	b.Build(s, geom.Vec3{}, &f, 300)
	if b.Drawn != 4 || b.Culled != 4 {
		t.Fatalf("drawn %d, culled %d, want 4 and 4", b.Drawn, b.Culled)
	}
	if want := []Run{{world.ShapeSphere, 0, 1, mesh.Tiny}}; !slices.Equal(b.Runs, want) {
		t.Fatalf("translucent runs %v, want %v", b.Runs, want)
	}
	if n := len(b.Opaque[mesh.Near][world.ShapeBox]) / FloatsPerInstance; n != 1 {
		t.Fatalf("%d near boxes, want 1", n)
	}
	if n := len(b.Opaque[mesh.Far][world.ShapeBox]) / FloatsPerInstance; n != 1 {
		t.Fatalf("%d far boxes, want 1", n)
	}
	if n := len(b.Opaque[mesh.Tiny][world.ShapeBox]) / FloatsPerInstance; n != 1 {
		t.Fatalf("%d tiny boxes, want 1", n)
	}
	if len(b.Labels) != 1 || b.Labels[0].Text != "near" {
		t.Fatalf("labels %+v", b.Labels)
	}
	if a := b.Labels[0].Anchor; a.Y != LabelHeight(s.Entities[0].Scale) {
		t.Fatalf("label anchor %v", a)
	}
}

func TestBuildDoesNotAllocateInSteadyState(t *testing.T) {
	var s world.Snapshot
	demoscene.Crowd(&s, 2000, 0)
	var b Batch
	b.Build(&s, geom.Vec3{Y: 5}, nil, 500)
	if n := testing.AllocsPerRun(20, func() { b.Build(&s, geom.Vec3{Y: 5}, nil, 500) }); n != 0 {
		t.Fatalf("Build allocates %v times per frame", n)
	}
}

func BenchmarkBuild(b *testing.B) {
	var s world.Snapshot
	demoscene.Crowd(&s, 1000, 0)
	cam := camera.New()
	cam.Frame(geom.Vec3{X: -40, Z: -40}, geom.Vec3{X: 40, Y: 1, Z: 40}, 16.0/9)
	vp := cam.ViewProjection(1280, 720)
	f := geom.FrustumOf(vp)
	var bt Batch
	b.ReportAllocs()
	for b.Loop() {
		bt.Build(&s, cam.Position(), &f, 600)
	}
}

// TestManyRunsAreGroupedByShape checks the fallback: alternating shapes
// that would need more than MaxRuns draw calls come out grouped by shape,
// each group back to front, the group of the farthest entity first.
func TestManyRunsAreGroupedByShape(t *testing.T) {
	s := &world.Snapshot{}
	for i := 0; i < 2*MaxRuns; i++ {
		sh := world.ShapeBox
		if i%2 == 1 {
			sh = world.ShapeSphere
		}
		s.Entities = append(s.Entities, ent(uint32(i+1), sh, 0, -float32(i+1), 100))
	}
	var b Batch
	b.Build(s, geom.Vec3{}, nil, 0)
	if len(b.Runs) != 2 {
		t.Fatalf("runs %v, want 2", b.Runs)
	}
	// The farthest entity (i = 2·MaxRuns-1) is a sphere: spheres first.
	if b.Runs[0].Shape != world.ShapeSphere || b.Runs[0].Count != MaxRuns || b.Runs[1].Shape != world.ShapeBox {
		t.Fatalf("runs %v", b.Runs)
	}
	prev := float32(-1e9)
	for i := 0; i < MaxRuns; i++ { // within the spheres, back to front
		z := b.Translucent[i*FloatsPerInstance+2]
		if z < prev {
			t.Fatalf("sphere %d at z %v after %v", i, z, prev)
		}
		prev = z
	}
}
