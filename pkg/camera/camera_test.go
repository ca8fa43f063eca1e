package camera

import (
	"math"
	"testing"

	"github.com/rcc-games/rcc/pkg/geom"
	"github.com/rcc-games/rcc/pkg/world"
)

func near(a, b float32, eps float64) bool { return math.Abs(float64(a-b)) < eps }

func TestYawMatchesTheController(t *testing.T) {
	c := New()
	for _, yaw := range []float32{0, 0.5, math.Pi / 2, -2} {
		c.Yaw, c.Pitch = yaw, 0
		f := c.Forward()
		// world.Controller: forward is (-sin ψ, 0, -cos ψ); moving forward
		// must go where the camera looks.
		x, z := world.Controller{MoveZ: 1, Yaw: yaw}.WorldMove()
		if !near(f.X, x, 1e-5) || !near(f.Z, z, 1e-5) {
			t.Errorf("yaw %v: camera looks (%v, %v), the controller moves (%v, %v)", yaw, f.X, f.Z, x, z)
		}
		rx, rz := world.Controller{MoveX: 1, Yaw: yaw}.WorldMove()
		if r := c.Right(); !near(r.X, rx, 1e-5) || !near(r.Z, rz, 1e-5) {
			t.Errorf("yaw %v: camera right (%v, %v), the controller strafes (%v, %v)", yaw, r.X, r.Z, rx, rz)
		}
	}
}

func TestLookAt(t *testing.T) {
	c := New()
	c.LookAt(geom.Vec3{X: 3, Y: 4, Z: 10}, geom.Vec3{X: 3, Y: 4})
	if !near(c.Yaw, 0, 1e-6) || !near(c.Pitch, 0, 1e-6) {
		t.Fatalf("looking towards -Z: yaw %v pitch %v", c.Yaw, c.Pitch)
	}
	// The target projects to the middle of the screen.
	x, y, _, ok := geom.Project(c.ViewProjection(640, 480), geom.Vec3{X: 3, Y: 4}, 640, 480)
	if !ok || !near(x, 320, 0.01) || !near(y, 240, 0.01) {
		t.Fatalf("target at (%v, %v, %v)", x, y, ok)
	}
}

func TestFollowGlidesAndSnaps(t *testing.T) {
	c := New()
	c.Follow(geom.Vec3{X: 1}, 0)
	if c.Mode != Follow || c.Target != (geom.Vec3{X: 1}) {
		t.Fatalf("first Follow did not cut to the target: %+v", c)
	}
	// A small step is glided over: after one 1/60 s frame part of the
	// way, after a second nearly all of it.
	c.Follow(geom.Vec3{X: 2}, 1.0/60)
	if c.Target.X <= 1 || c.Target.X >= 1.5 {
		t.Fatalf("after one frame the target is at %v", c.Target.X)
	}
	for i := 0; i < 60; i++ {
		c.Follow(geom.Vec3{X: 2}, 1.0/60)
	}
	if !near(c.Target.X, 2, 1e-3) {
		t.Fatalf("after a second the target is at %v", c.Target.X)
	}
	// A teleport is cut to.
	c.Follow(geom.Vec3{X: 50}, 1.0/60)
	if c.Target.X != 50 {
		t.Fatalf("teleport: target at %v", c.Target.X)
	}
	// The eye is Distance behind the aimed point, opposite to the look
	// direction.
	eye := c.Position()
	aim := c.Target.Add(geom.Vec3{Y: LookHeight})
	if d := aim.Sub(eye).Len(); !near(d, c.Distance, 1e-3) && eye.Y != MinEyeHeight {
		t.Fatalf("eye %v is %v from the aim, want %v", eye, d, c.Distance)
	}
	if dir := aim.Sub(eye).Normalize(); dir.Dot(c.Forward()) < 0.999 {
		t.Fatalf("eye is not behind the aim: %v vs forward %v", dir, c.Forward())
	}
}

func TestOrbitAndZoom(t *testing.T) {
	c := New()
	c.Follow(geom.Vec3{}, 0)
	y0 := c.Yaw
	c.Orbit(100, 0) // mouse to the right turns right (negative yaw)
	if c.Yaw >= y0 {
		t.Fatalf("yaw %v after moving the mouse right from %v", c.Yaw, y0)
	}
	c.Orbit(0, -1e6) // far up: the pitch is clamped
	if c.Pitch > 30*math.Pi/180+1e-6 {
		t.Fatalf("pitch %v beyond the follow limit", c.Pitch)
	}
	c.Orbit(0, 1e6)
	if c.Pitch < -80*math.Pi/180-1e-6 {
		t.Fatalf("pitch %v beyond the follow limit", c.Pitch)
	}
	d := c.Distance
	c.Zoom(1)
	if c.Distance >= d {
		t.Fatalf("zooming in went from %v to %v", d, c.Distance)
	}
	c.Zoom(-100)
	if c.Distance != MaxDistance {
		t.Fatalf("distance %v, want clamped to %v", c.Distance, MaxDistance)
	}
	c.Zoom(100)
	if c.Distance != MinDistance {
		t.Fatalf("distance %v, want clamped to %v", c.Distance, MinDistance)
	}
}

func TestFlyFromFollow(t *testing.T) {
	c := New()
	c.Follow(geom.Vec3{X: 5}, 0)
	eye := c.Position()
	c.Fly(geom.Vec3{}, 1, 0.1)
	if c.Mode != Free || !near(c.Eye.Sub(eye).Len(), 0, 1e-5) {
		t.Fatalf("leaving follow moved the eye from %v to %v", eye, c.Eye)
	}
	c.Yaw, c.Pitch = 0, 0
	c.Fly(geom.Vec3{Z: 1}, 1, 0.5) // forward for half a second
	want := eye.Add(geom.Vec3{Z: -FlySpeed * 0.5})
	if !near(c.Eye.Sub(want).Len(), 0, 1e-3) {
		t.Fatalf("flew to %v, want %v", c.Eye, want)
	}
	c.Fly(geom.Vec3{X: 1, Y: 1}, 2, 0.25)
	want = want.Add(geom.Vec3{X: FlySpeed * 0.5, Y: FlySpeed * 0.5})
	if !near(c.Eye.Sub(want).Len(), 0, 1e-3) {
		t.Fatalf("flew to %v, want %v", c.Eye, want)
	}
}

func TestFrameSeesTheBox(t *testing.T) {
	c := New()
	lo, hi := geom.Vec3{X: -20, Z: -10}, geom.Vec3{X: 20, Y: 3, Z: 10}
	c.Frame(lo, hi, 1280.0/720)
	vp := c.ViewProjection(1280, 720)
	for _, p := range []geom.Vec3{lo, hi, {X: -20, Z: 10}, {X: 20, Z: -10}} {
		if _, _, _, ok := geom.Project(vp, p, 1280, 720); !ok {
			t.Errorf("corner %v is out of view", p)
		}
	}
}
