package mesh

import (
	"fmt"
	"math"
	"testing"

	"github.com/rcc-games/rcc/pkg/world"
)

func sub(a, b [3]float32) [3]float32 { return [3]float32{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func cross(a, b [3]float32) [3]float32 {
	return [3]float32{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
func dot(a, b [3]float32) float32 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

// TestMeshes checks every shape's mesh against docs/world.md: its extent,
// counter-clockwise front faces whose normals agree with the vertex
// normals, unit normals, and the capsule's cap tags.
func TestMeshes(t *testing.T) {
	tests := []struct {
		shape    world.Shape
		lo, hi   [3]float32
		wantCaps bool
	}{
		{world.ShapeBox, [3]float32{-0.5, -0.5, -0.5}, [3]float32{0.5, 0.5, 0.5}, false},
		{world.ShapeSphere, [3]float32{-0.5, -0.5, -0.5}, [3]float32{0.5, 0.5, 0.5}, false},
		{world.ShapeCylinder, [3]float32{-0.5, -0.5, -0.5}, [3]float32{0.5, 0.5, 0.5}, false},
		{world.ShapeCapsule, [3]float32{-0.5, -0.5, -0.5}, [3]float32{0.5, 0.5, 0.5}, true},
		{world.ShapePlane, [3]float32{-0.5, 0, -0.5}, [3]float32{0.5, 0, 0.5}, false},
		{world.ShapeCone, [3]float32{-0.5, -0.5, -0.5}, [3]float32{0.5, 0.5, 0.5}, false},
	}
	for _, tt := range tests {
		for lod := Near; lod < NumLODs; lod++ {
			t.Run(fmt.Sprintf("%v/lod=%d", tt.shape, lod), func(t *testing.T) {
				m, ok := ForLOD(tt.shape, lod)
				if !ok {
					t.Fatal("no mesh")
				}
				if len(m.Indices)%3 != 0 || len(m.Indices) == 0 {
					t.Fatalf("%d indices", len(m.Indices))
				}
				lo := [3]float32{9, 9, 9}
				hi := [3]float32{-9, -9, -9}
				caps := map[float32]bool{}
				for _, v := range m.Vertices {
					for k := 0; k < 3; k++ {
						lo[k] = min(lo[k], v.Pos[k])
						hi[k] = max(hi[k], v.Pos[k])
					}
					if l := dot(v.Normal, v.Normal); math.Abs(float64(l)-1) > 1e-4 {
						t.Fatalf("normal %v of length² %v", v.Normal, l)
					}
					caps[v.Cap] = true
				}
				for k := 0; k < 3; k++ {
					if math.Abs(float64(lo[k]-tt.lo[k])) > 1e-5 || math.Abs(float64(hi[k]-tt.hi[k])) > 1e-5 {
						t.Fatalf("extent %v..%v, want %v..%v", lo, hi, tt.lo, tt.hi)
					}
				}
				if tt.wantCaps != (caps[1] && caps[-1]) || !tt.wantCaps && len(caps) != 1 {
					t.Fatalf("cap tags %v", caps)
				}
				for i := 0; i < len(m.Indices); i += 3 {
					a, b, c := m.Vertices[m.Indices[i]], m.Vertices[m.Indices[i+1]], m.Vertices[m.Indices[i+2]]
					fn := cross(sub(b.Pos, a.Pos), sub(c.Pos, a.Pos))
					if dot(fn, fn) < 1e-12 {
						continue // the zero-height band of the capsule, stretched by the renderer
					}
					avg := [3]float32{a.Normal[0] + b.Normal[0] + c.Normal[0], a.Normal[1] + b.Normal[1] + c.Normal[1], a.Normal[2] + b.Normal[2] + c.Normal[2]}
					if dot(fn, avg) <= 0 {
						t.Fatalf("triangle %d (%v %v %v) winds clockwise against its normals", i/3, a.Pos, b.Pos, c.Pos)
					}
				}
			})
		}
	}
}

func TestCapsuleBandJoinsTheHemispheres(t *testing.T) {
	m := Capsule(8, 3)
	// Stretch the tagged vertices apart as the renderer does: the band's
	// triangles must then face outwards too.
	for i := 0; i < len(m.Indices); i += 3 {
		var p [3][3]float32
		var n [3]float32
		for j := 0; j < 3; j++ {
			v := m.Vertices[m.Indices[i+j]]
			p[j] = v.Pos
			p[j][1] += v.Cap
			for k := range n {
				n[k] += v.Normal[k]
			}
		}
		fn := cross(sub(p[1], p[0]), sub(p[2], p[0]))
		if dot(fn, fn) > 1e-12 && dot(fn, n) <= 0 {
			t.Fatalf("stretched triangle %d winds inwards", i/3)
		}
	}
}

func TestUnknownShape(t *testing.T) {
	if _, ok := For(0); ok {
		t.Fatal("a mesh for shape 0")
	}
	if _, ok := For(7); ok {
		t.Fatal("a mesh for shape 7")
	}
}
