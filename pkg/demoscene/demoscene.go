// Package demoscene makes world snapshots for rcc-view's documentation,
// tests and benchmarks, in pure Go: Showcase, a fixed scene with every
// shape of docs/world.md, and Crowd, N moving entities on a floor. It is
// the daemon's insides of rcc-view, not public API.
package demoscene

import (
	"math"

	"github.com/rcc-games/rcc/pkg/world"
)

func rgba(r, g, b, a uint8) world.Color { return world.Color{R: r, G: g, B: b, A: a} }

// yawQuat is the rotation by a radians about +Y.
func yawQuat(a float64) world.Quat {
	s, c := math.Sincos(a / 2)
	return world.Quat{Y: float32(s), W: float32(c)}
}

// Showcase is a fixed scene: a floor, one entity of each shape in a row
// (box, sphere, cylinder, capsule, plane, cone, left to right along +X),
// labelled with their names, a translucent sphere in front, and two
// players, the first ("alice") following the capsule.
func Showcase() *world.Snapshot {
	s := &world.Snapshot{Frame: 1}
	s.Entities = append(s.Entities, world.Entity{
		ID: 1, Shape: world.ShapePlane, Rotation: world.Identity,
		Scale: world.Vec3{X: 24, Y: 1, Z: 16}, Color: rgba(150, 156, 140, 255),
	})
	row := []struct {
		shape world.Shape
		scale world.Vec3
		color world.Color
		label string
	}{
		{world.ShapeBox, world.Vec3{X: 1.4, Y: 1.4, Z: 1.4}, rgba(230, 57, 70, 255), "box"},
		{world.ShapeSphere, world.Vec3{X: 1.5, Y: 1.5, Z: 1.5}, rgba(42, 157, 143, 255), "sphere"},
		{world.ShapeCylinder, world.Vec3{X: 1.2, Y: 1.6, Z: 1.2}, rgba(244, 162, 97, 255), "cylinder"},
		{world.ShapeCapsule, world.Vec3{X: 1, Y: 1.8, Z: 1}, rgba(69, 123, 255, 255), "alice"},
		{world.ShapePlane, world.Vec3{X: 1.6, Y: 1, Z: 1.6}, rgba(255, 214, 10, 255), "plane"},
		{world.ShapeCone, world.Vec3{X: 1.4, Y: 1.8, Z: 1.4}, rgba(131, 56, 236, 255), "cone"},
	}
	for i, r := range row {
		x := float32(i)*2.6 - 6.5
		y := r.scale.Y / 2
		rot := world.Identity
		if r.shape == world.ShapeBox {
			rot = yawQuat(math.Pi / 6)
		}
		if r.shape == world.ShapePlane {
			y = 0.02
		}
		s.Entities = append(s.Entities, world.Entity{
			ID: uint32(10 + i), Shape: r.shape, Position: world.Vec3{X: x, Y: y, Z: 0},
			Rotation: rot, Scale: r.scale, Color: r.color, Label: r.label,
		})
	}
	s.Entities = append(s.Entities, world.Entity{
		ID: 30, Shape: world.ShapeSphere, Position: world.Vec3{X: 0, Y: 0.9, Z: 3.2},
		Rotation: world.Identity, Scale: world.Vec3{X: 1.8, Y: 1.8, Z: 1.8}, Color: rgba(120, 200, 255, 120),
	})
	s.Players = []world.Player{
		{ID: "alice", Entity: 13, Score: 7},
		{ID: "bob", Entity: 0, Score: 3},
	}
	return s
}

// CrowdSide is the floor's side in Crowd for n entities: about 2.5 m per
// entity in a square.
func CrowdSide(n int) float32 {
	return float32(math.Max(20, math.Ceil(math.Sqrt(float64(n)))*2.5))
}

// Crowd fills dst with a floor (id 1) and n entities of every shape in
// turn (ids from 100), on a square grid, bobbing and turning with time t
// in seconds; every tenth is translucent and every fifth is labelled. It
// reuses dst's slices.
func Crowd(dst *world.Snapshot, n int, t float64) {
	side := CrowdSide(n)
	dst.Frame = uint64(t * 60)
	if cap(dst.Entities) < n+1 {
		dst.Entities = make([]world.Entity, 0, n+1)
	}
	ents := dst.Entities[:0]
	ents = append(ents, world.Entity{
		ID: 1, Shape: world.ShapePlane, Rotation: world.Identity,
		Scale: world.Vec3{X: side + 4, Y: 1, Z: side + 4}, Color: rgba(150, 156, 140, 255),
	})
	cols := int(math.Ceil(math.Sqrt(float64(n))))
	step := side / float32(max(cols, 1))
	palette := [...]world.Color{
		rgba(230, 57, 70, 255), rgba(42, 157, 143, 255), rgba(244, 162, 97, 255),
		rgba(69, 123, 157, 255), rgba(233, 196, 106, 255), rgba(131, 56, 236, 255),
		rgba(6, 214, 160, 255), rgba(255, 0, 110, 255),
	}
	for i := 0; i < n; i++ {
		shape := world.Shape(i%6 + 1)
		x := (float32(i%cols)+0.5)*step - side/2
		z := (float32(i/cols)+0.5)*step - side/2
		phase := float64(i) * 0.37
		c := palette[i%len(palette)]
		if i%10 == 9 {
			c.A = 140
		}
		y := float32(0.6 + 0.25*math.Sin(t*2+phase))
		if shape == world.ShapePlane {
			y = 0.02
		}
		e := world.Entity{
			ID: uint32(100 + i), Shape: shape, Position: world.Vec3{X: x, Y: y, Z: z},
			Rotation: yawQuat(t + phase), Scale: world.Vec3{X: 1, Y: 1.1, Z: 1}, Color: c,
		}
		if i%5 == 0 {
			e.Label = labels[i/5%len(labels)]
		}
		ents = append(ents, e)
	}
	dst.Entities = ents
	dst.Players = dst.Players[:0]
}

var labels = [...]string{"ada", "grace", "linus", "ken", "dennis", "barbara", "edsger", "frances"}
