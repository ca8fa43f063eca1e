// Package batch turns a world snapshot into what rcc-view's renderer
// uploads each frame, in pure Go: per-shape instance data of the opaque
// entities, the translucent entities sorted back to front (in runs of one
// shape), and the name tags to draw, with entities outside the view culled.
// Buffers are reused from frame to frame, so a steady scene builds without
// allocating. It is the daemon's insides of rcc-view, not public API.
package batch

import (
	"cmp"
	"math"
	"slices"

	"github.com/rcc-games/rcc/pkg/geom"
	"github.com/rcc-games/rcc/pkg/render/mesh"
	"github.com/rcc-games/rcc/pkg/world"
)

// FloatsPerInstance is the number of float32 values per instance: position
// (3), scale (3), rotation quaternion (4, normalised), linear colour with
// straight alpha (4).
const FloatsPerInstance = 14

// FloatsPerShadow is the number of float32 values per ground shadow.
const FloatsPerShadow = 4

// Ground shadows: an entity whose bottom is at most ShadowHeight above
// y = 0 (and not below it) casts a soft disc there, darkest when it
// touches the ground.
const (
	ShadowHeight   = 4
	ShadowDarkness = 0.42
)

// NumShapes is one more than the highest shape code: instance lists are
// indexed by world.Shape.
const NumShapes = int(world.ShapeCone) + 1

// Run is a stretch of Translucent holding instances of one shape at one
// level of detail.
type Run struct {
	Shape world.Shape
	// First and Count are in instances, not floats.
	First, Count int
	// LOD is the level of detail of the run's mesh.
	LOD mesh.LOD
}

// Label is a name tag to draw.
type Label struct {
	// Anchor is the world point just above the entity the tag hangs at.
	Anchor geom.Vec3
	// Text is the entity's label.
	Text string
	// Distance is the distance from the eye to Anchor.
	Distance float32
}

// Limits of the name tags.
const (
	// MaxLabelDistance is how far from the eye name tags are drawn.
	MaxLabelDistance = 60
	// MaxLabels is how many name tags, the nearest, are drawn at most.
	MaxLabels = 256
)

// Batch is one frame's draw lists. The zero value is ready; reuse it.
type Batch struct {
	// Opaque holds, per level of detail and shape, the instances of the
	// opaque entities, nearest the eye first (so that a software
	// renderer's depth test rejects what they hide before shading it).
	Opaque [mesh.NumLODs][NumShapes][]float32
	// Translucent holds the instances of the entities with alpha below
	// 255, farthest from the eye first; Runs splits it by shape and level
	// of detail. When an exact order would need more than MaxRuns runs
	// (one draw call each), they are sorted back to front within each
	// shape and level instead, the groups drawn farthest first by their
	// farthest entity.
	Translucent []float32
	Runs        []Run
	// Labels are the name tags, farthest first (so nearer ones draw
	// over them), at most MaxLabels.
	Labels []Label
	// Shadows holds a soft round shadow on the ground (y = 0) per entity
	// near it: x, z, radius and darkness, FloatsPerShadow values each.
	Shadows []float32
	// SmallShadows holds, the same way, the shadows whose radius on
	// screen is below SmallShadowPixels: drawn as squares, where the
	// larger ones are drawn as octagons (fewer fragments, more
	// triangles).
	SmallShadows []float32
	// Drawn and Culled count the entities drawn and those skipped
	// (outside the view, invisible or with non-finite fields).
	Drawn, Culled int

	order  []sortKey
	opaque []opaqueKey
	lin    [256]float32
	init   bool
}

type sortKey struct {
	dist2 float32
	index int
	lod   mesh.LOD
}

type opaqueKey struct {
	dist2 float32
	index int32
	lod   mesh.LOD
}

// MaxRuns is the most draw calls the exact back-to-front order of the
// translucent entities may take before Build groups them by shape.
const MaxRuns = 24

// FarPixels is the on-screen radius, in pixels, below which an opaque
// entity is drawn with the far level of detail.
const FarPixels = 28

// TinyPixels is the on-screen radius, in pixels, below which an opaque
// entity is drawn with the tiny level of detail.
const TinyPixels = 10

// Build fills b from s for an eye at eye whose view volume is f (nil: no
// culling). pixelsPerUnit is how many pixels a length of 1 at distance 1
// from the eye covers on screen (framebuffer height / (2·tan(fovY/2))),
// which picks each entity's level of detail; 0 means always near.
func (b *Batch) Build(s *world.Snapshot, eye geom.Vec3, f *geom.Frustum, pixelsPerUnit float32) {
	if !b.init {
		for i := range b.lin {
			b.lin[i] = geom.SRGBToLinear(uint8(i))
		}
		b.init = true
	}
	for l := range b.Opaque {
		for i := range b.Opaque[l] {
			b.Opaque[l][i] = b.Opaque[l][i][:0]
		}
	}
	b.Translucent = b.Translucent[:0]
	b.Runs = b.Runs[:0]
	b.Labels = b.Labels[:0]
	b.Shadows = b.Shadows[:0]
	b.SmallShadows = b.SmallShadows[:0]
	b.order = b.order[:0]
	b.opaque = b.opaque[:0]
	b.Drawn, b.Culled = 0, 0

	for i := range s.Entities {
		e := &s.Entities[i]
		p := geom.Vec3(e.Position)
		if !e.Shape.Valid() || e.Color.A == 0 || !finite(p) || !finite(geom.Vec3(e.Scale)) {
			b.Culled++
			continue
		}
		radius := mesh.BoundingRadius(e.Scale)
		if f != nil && !f.SphereVisible(p, radius) {
			b.Culled++
			continue
		}
		b.Drawn++
		if e.Label != "" {
			b.addLabel(e, eye)
		}
		d := p.Sub(eye)
		d2 := d.Dot(d)
		b.addShadow(e, pixelsPerUnit, d2)
		lod := levelOfDetail(radius*pixelsPerUnit, d2)
		if e.Color.A == 255 {
			b.opaque = append(b.opaque, opaqueKey{d2, int32(i), lod})
			continue
		}
		b.order = append(b.order, sortKey{d2, i, lod})
	}
	slices.SortFunc(b.opaque, func(x, y opaqueKey) int {
		if c := cmp.Compare(x.dist2, y.dist2); c != 0 {
			return c
		}
		return cmp.Compare(x.index, y.index)
	})
	for _, k := range b.opaque {
		e := &s.Entities[k.index]
		b.Opaque[k.lod][e.Shape] = b.appendInstance(b.Opaque[k.lod][e.Shape], e)
	}
	slices.SortFunc(b.order, func(x, y sortKey) int {
		if c := cmp.Compare(y.dist2, x.dist2); c != 0 {
			return c
		}
		return cmp.Compare(x.index, y.index)
	})
	if runs(s, b.order) > MaxRuns {
		// Group by shape and level of detail, keeping each group's
		// back-to-front order; the groups go in the order of their
		// farthest entity.
		var rank [mesh.NumLODs][NumShapes]int
		for l := range rank {
			for i := range rank[l] {
				rank[l][i] = -1
			}
		}
		next := 0
		for _, k := range b.order {
			if sh := s.Entities[k.index].Shape; rank[k.lod][sh] < 0 {
				rank[k.lod][sh] = next
				next++
			}
		}
		slices.SortStableFunc(b.order, func(x, y sortKey) int {
			return cmp.Compare(rank[x.lod][s.Entities[x.index].Shape], rank[y.lod][s.Entities[y.index].Shape])
		})
	}
	for n, k := range b.order {
		e := &s.Entities[k.index]
		b.Translucent = b.appendInstance(b.Translucent, e)
		if l := len(b.Runs); l > 0 && b.Runs[l-1].Shape == e.Shape && b.Runs[l-1].LOD == k.lod {
			b.Runs[l-1].Count++
		} else {
			b.Runs = append(b.Runs, Run{Shape: e.Shape, First: n, Count: 1, LOD: k.lod})
		}
	}
	if len(b.Labels) > MaxLabels {
		slices.SortFunc(b.Labels, func(x, y Label) int { return cmp.Compare(x.Distance, y.Distance) })
		b.Labels = b.Labels[:MaxLabels]
	}
	slices.SortStableFunc(b.Labels, func(x, y Label) int { return cmp.Compare(y.Distance, x.Distance) })
}

// runs counts the changes of shape or level of detail along order, plus
// one.
func runs(s *world.Snapshot, order []sortKey) int {
	n := 0
	prev, prevLOD := world.Shape(0), mesh.LOD(-1)
	for _, k := range order {
		if sh := s.Entities[k.index].Shape; sh != prev || k.lod != prevLOD {
			n++
			prev, prevLOD = sh, k.lod
		}
	}
	return n
}

// levelOfDetail picks the mesh for an entity whose bounding radius covers
// radiusPixels pixels at distance 1, at squared distance d2 from the eye
// (radiusPixels 0: always near).
func levelOfDetail(radiusPixels, d2 float32) mesh.LOD {
	if radiusPixels <= 0 {
		return mesh.Near
	}
	px2 := radiusPixels * radiusPixels
	switch {
	case px2 < TinyPixels*TinyPixels*d2:
		return mesh.Tiny
	case px2 < FarPixels*FarPixels*d2:
		return mesh.Far
	}
	return mesh.Near
}

// SmallShadowPixels is the radius on screen, in pixels, below which a
// shadow goes to SmallShadows.
const SmallShadowPixels = 12

func (b *Batch) addShadow(e *world.Entity, pixelsPerUnit, d2 float32) {
	if e.Shape == world.ShapePlane {
		return
	}
	sx, sy, sz := abs(e.Scale.X), abs(e.Scale.Y), abs(e.Scale.Z)
	h := e.Position.Y - sy/2
	if h < -0.05 || h > ShadowHeight {
		return
	}
	h = max(h, 0)
	r := 0.62 * max(sx, sz) * (1 + 0.12*h)
	k := ShadowDarkness * (1 - h/ShadowHeight) * float32(e.Color.A) / 255
	if rp := r * pixelsPerUnit; rp*rp < SmallShadowPixels*SmallShadowPixels*d2 {
		b.SmallShadows = append(b.SmallShadows, e.Position.X, e.Position.Z, r, k)
		return
	}
	b.Shadows = append(b.Shadows, e.Position.X, e.Position.Z, r, k)
}

func abs(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

func (b *Batch) addLabel(e *world.Entity, eye geom.Vec3) {
	a := geom.Vec3(e.Position).Add(geom.Vec3{Y: LabelHeight(e.Scale)})
	d := a.Sub(eye).Len()
	if d > MaxLabelDistance {
		return
	}
	b.Labels = append(b.Labels, Label{Anchor: a, Text: e.Label, Distance: d})
}

// LabelHeight is how far above an entity's centre its name tag hangs.
func LabelHeight(scale world.Vec3) float32 {
	return 0.5*float32(math.Abs(float64(scale.Y))) + 0.35
}

func (b *Batch) appendInstance(dst []float32, e *world.Entity) []float32 {
	q := geom.Quat(e.Rotation).Normalize()
	return append(dst,
		e.Position.X, e.Position.Y, e.Position.Z,
		e.Scale.X, e.Scale.Y, e.Scale.Z,
		q.X, q.Y, q.Z, q.W,
		b.lin[e.Color.R], b.lin[e.Color.G], b.lin[e.Color.B], float32(e.Color.A)/255,
	)
}

func finite(v geom.Vec3) bool {
	for _, f := range [3]float32{v.X, v.Y, v.Z} {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return false
		}
	}
	return true
}
