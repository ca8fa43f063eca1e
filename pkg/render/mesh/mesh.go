// Package mesh builds the unit meshes of the shapes of docs/world.md for
// rcc-view's renderer, in pure Go: counter-clockwise front faces, outward
// normals, and for the capsule a per-vertex cap tag so the renderer can keep
// its caps round under any scale. It is the daemon's insides of rcc-view,
// not public API.
package mesh

import (
	"math"

	"github.com/rcc-games/rcc/pkg/world"
)

// Vertex is one vertex of a unit mesh.
type Vertex struct {
	// Pos is the position in the unit shape's local space.
	Pos [3]float32
	// Normal is the outward unit normal.
	Normal [3]float32
	// Cap is, for the capsule, +1 on the upper hemisphere and -1 on the
	// lower one (the renderer moves them apart by the length of the
	// cylinder between them); 0 for every other shape.
	Cap float32
}

// FloatsPerVertex is the number of float32 values of a Vertex in a vertex
// buffer: position, normal, cap.
const FloatsPerVertex = 7

// Mesh is an indexed triangle list.
type Mesh struct {
	Vertices []Vertex
	Indices  []uint16
}

// Floats returns the vertices as the interleaved float32 values a vertex
// buffer holds.
func (m *Mesh) Floats() []float32 {
	out := make([]float32, 0, len(m.Vertices)*FloatsPerVertex)
	for _, v := range m.Vertices {
		out = append(out, v.Pos[0], v.Pos[1], v.Pos[2], v.Normal[0], v.Normal[1], v.Normal[2], v.Cap)
	}
	return out
}

// Detail of the curved meshes.
const (
	// Segments is the number of divisions around the Y axis.
	Segments = 24
	// Rings is the number of divisions from pole to pole of the sphere
	// (half of them for each hemisphere of the capsule).
	Rings = 14
	// FarSegments and FarRings are the detail of the far level of detail,
	// for entities that cover few pixels.
	FarSegments = 12
	FarRings    = 6
	// TinySegments and TinyRings are the detail of the tiny level of
	// detail, for entities a few pixels across (at a radius of 10 pixels
	// the silhouette strays less than a pixel from the circle).
	TinySegments = 8
	TinyRings    = 4
)

// LOD is a level of detail.
type LOD int

// The levels of detail.
const (
	Near LOD = iota
	Far
	Tiny
	// NumLODs is the number of levels.
	NumLODs
)

// For returns the unit mesh of shape s at the near level of detail, or
// false for an unknown shape.
func For(s world.Shape) (*Mesh, bool) { return ForLOD(s, Near) }

// ForLOD returns the unit mesh of shape s at level of detail l.
func ForLOD(s world.Shape, l LOD) (*Mesh, bool) {
	seg, rings := Segments, Rings
	switch l {
	case Far:
		seg, rings = FarSegments, FarRings
	case Tiny:
		seg, rings = TinySegments, TinyRings
	}
	switch s {
	case world.ShapeBox:
		return Box(), true
	case world.ShapeSphere:
		return Sphere(seg, rings), true
	case world.ShapeCylinder:
		return Cylinder(seg), true
	case world.ShapeCapsule:
		return Capsule(seg, rings/2), true
	case world.ShapePlane:
		if l == Near {
			return PlaneGrid(PlaneCells), true
		}
		return Plane(), true
	case world.ShapeCone:
		return Cone(seg), true
	}
	return nil, false
}

func (m *Mesh) add(p, n [3]float32, capTag float32) uint16 {
	m.Vertices = append(m.Vertices, Vertex{Pos: p, Normal: n, Cap: capTag})
	return uint16(len(m.Vertices) - 1)
}

func (m *Mesh) tri(a, b, c uint16) { m.Indices = append(m.Indices, a, b, c) }

// quad adds the two triangles of a, b, c, d given counter-clockwise.
func (m *Mesh) quad(a, b, c, d uint16) { m.tri(a, b, c); m.tri(a, c, d) }

// Box is the cube of edge 1 centred on the origin, 4 vertices per face.
func Box() *Mesh {
	m := &Mesh{}
	faces := []struct{ n, u, v [3]float32 }{
		{[3]float32{1, 0, 0}, [3]float32{0, 0, -1}, [3]float32{0, 1, 0}},
		{[3]float32{-1, 0, 0}, [3]float32{0, 0, 1}, [3]float32{0, 1, 0}},
		{[3]float32{0, 1, 0}, [3]float32{1, 0, 0}, [3]float32{0, 0, -1}},
		{[3]float32{0, -1, 0}, [3]float32{1, 0, 0}, [3]float32{0, 0, 1}},
		{[3]float32{0, 0, 1}, [3]float32{1, 0, 0}, [3]float32{0, 1, 0}},
		{[3]float32{0, 0, -1}, [3]float32{-1, 0, 0}, [3]float32{0, 1, 0}},
	}
	for _, f := range faces {
		var idx [4]uint16
		for i, c := range [4][2]float32{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}} {
			var p [3]float32
			for k := 0; k < 3; k++ {
				p[k] = 0.5 * (f.n[k] + c[0]*f.u[k] + c[1]*f.v[k])
			}
			idx[i] = m.add(p, f.n, 0)
		}
		m.quad(idx[0], idx[1], idx[2], idx[3])
	}
	return m
}

// PlaneCells is how many cells across the near plane mesh has: enough
// vertices that the renderer's per-vertex fog follows the distance.
const PlaneCells = 16

// PlaneGrid is the 1×1 square in XZ facing +Y, in n×n cells.
func PlaneGrid(n int) *Mesh {
	n = max(n, 1)
	m := &Mesh{}
	up := [3]float32{0, 1, 0}
	for j := 0; j <= n; j++ {
		for i := 0; i <= n; i++ {
			m.add([3]float32{float32(i)/float32(n) - 0.5, 0, 0.5 - float32(j)/float32(n)}, up, 0)
		}
	}
	for j := 0; j < n; j++ {
		for i := 0; i < n; i++ {
			a := uint16(j*(n+1) + i)
			m.quad(a, a+1, a+uint16(n)+2, a+uint16(n)+1)
		}
	}
	return m
}

// Plane is the 1×1 square in XZ facing +Y.
func Plane() *Mesh {
	m := &Mesh{}
	up := [3]float32{0, 1, 0}
	a := m.add([3]float32{-0.5, 0, 0.5}, up, 0)
	b := m.add([3]float32{0.5, 0, 0.5}, up, 0)
	c := m.add([3]float32{0.5, 0, -0.5}, up, 0)
	d := m.add([3]float32{-0.5, 0, -0.5}, up, 0)
	m.quad(a, b, c, d)
	return m
}

func ring(seg, i int) (x, z float32) {
	a := 2 * math.Pi * float64(i) / float64(seg)
	s, c := math.Sincos(a)
	return float32(c), float32(-s) // counter-clockwise seen from above (+Y)
}

// Sphere is the sphere of diameter 1, seg divisions around Y and rings
// from pole to pole.
func Sphere(seg, rings int) *Mesh {
	m := &Mesh{}
	m.sphereBand(seg, 0, rings, rings, 0)
	return m
}

// sphereBand adds latitude rows r0..r1 (of rings from the north pole) of a
// sphere of radius 0.5, joined into triangles, with the given cap tag.
func (m *Mesh) sphereBand(seg, r0, r1, rings int, capTag float32) (first uint16) {
	first = uint16(len(m.Vertices))
	for r := r0; r <= r1; r++ {
		th := math.Pi * float64(r) / float64(rings)
		st, ct := math.Sincos(th)
		for i := 0; i <= seg; i++ {
			x, z := ring(seg, i)
			n := [3]float32{x * float32(st), float32(ct), z * float32(st)}
			m.add([3]float32{n[0] / 2, n[1] / 2, n[2] / 2}, n, capTag)
		}
	}
	row := seg + 1
	for r := 0; r < r1-r0; r++ {
		for i := 0; i < seg; i++ {
			a := first + uint16(r*row+i)
			b := a + 1
			c := a + uint16(row)
			d := c + 1
			// a b on the upper row, c d below; CCW seen from outside.
			m.quad(a, c, d, b)
		}
	}
	return first
}

// Capsule is the capsule of diameter 1 whose hemispheres touch at the
// origin: the upper one tagged Cap = +1, the lower -1, joined by a band of
// zero height that the renderer stretches into the cylinder.
func Capsule(seg, halfRings int) *Mesh {
	m := &Mesh{}
	rings := 2 * halfRings
	top := m.sphereBand(seg, 0, halfRings, rings, 1)
	bot := m.sphereBand(seg, halfRings, rings, rings, -1)
	row := uint16(seg + 1)
	eqTop := top + uint16(halfRings)*row
	for i := uint16(0); i < uint16(seg); i++ {
		a, b := eqTop+i, eqTop+i+1
		c, d := bot+i, bot+i+1
		m.quad(a, c, d, b)
	}
	return m
}

// Cylinder is the cylinder along Y of diameter 1 and height 1.
func Cylinder(seg int) *Mesh {
	m := &Mesh{}
	first := uint16(len(m.Vertices))
	for i := 0; i <= seg; i++ {
		x, z := ring(seg, i)
		n := [3]float32{x, 0, z}
		m.add([3]float32{x / 2, 0.5, z / 2}, n, 0)
		m.add([3]float32{x / 2, -0.5, z / 2}, n, 0)
	}
	for i := 0; i < seg; i++ {
		a := first + uint16(2*i)
		m.quad(a, a+1, a+3, a+2)
	}
	m.disc(seg, 0.5, 1)
	m.disc(seg, -0.5, -1)
	return m
}

// disc adds a disc of radius 0.5 at height y facing ny (+1 up, -1 down).
func (m *Mesh) disc(seg int, y, ny float32) {
	n := [3]float32{0, ny, 0}
	c := m.add([3]float32{0, y, 0}, n, 0)
	first := uint16(len(m.Vertices))
	for i := 0; i <= seg; i++ {
		x, z := ring(seg, i)
		m.add([3]float32{x / 2, y, z / 2}, n, 0)
	}
	for i := uint16(0); i < uint16(seg); i++ {
		if ny > 0 {
			m.tri(c, first+i, first+i+1)
		} else {
			m.tri(c, first+i+1, first+i)
		}
	}
}

// Cone is the cone along Y, base of diameter 1 at y = -0.5, apex at
// y = +0.5, with smooth side normals.
func Cone(seg int) *Mesh {
	m := &Mesh{}
	// The side's outward normal leans up by radius/height = 0.5.
	k := float32(1 / math.Sqrt(1.25))
	for i := 0; i < seg; i++ {
		x0, z0 := ring(seg, i)
		x1, z1 := ring(seg, i+1)
		xm, zm := ring(2*seg, 2*i+1)
		a := m.add([3]float32{x0 / 2, -0.5, z0 / 2}, [3]float32{x0 * k, 0.5 * k, z0 * k}, 0)
		b := m.add([3]float32{x1 / 2, -0.5, z1 / 2}, [3]float32{x1 * k, 0.5 * k, z1 * k}, 0)
		apex := m.add([3]float32{0, 0.5, 0}, [3]float32{xm * k, 0.5 * k, zm * k}, 0)
		m.tri(a, b, apex)
	}
	m.disc(seg, -0.5, -1)
	return m
}

// BoundingRadius returns the radius of a sphere around the entity's
// centre that holds its shape, whatever its rotation.
func BoundingRadius(s world.Vec3) float32 {
	ax := max(abs(s.X), abs(s.Y), abs(s.Z))
	return 0.87 * ax
}

func abs(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
