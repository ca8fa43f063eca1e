package camera

import (
	"math"

	"github.com/rcc-games/rcc/pkg/geom"
)

// Mode says what the camera does.
type Mode int

const (
	// Free is the spectator camera: it flies where Fly moves it.
	Free Mode = iota
	// Follow is the third-person camera behind a followed point.
	Follow
)

// Limits and defaults of the camera.
const (
	// MinDistance and MaxDistance bound the follow distance (metres).
	MinDistance = 1.5
	MaxDistance = 80
	// DefaultDistance is the follow distance of a new camera.
	DefaultDistance = 8
	// FollowRate is how fast the followed point is caught up with, per
	// second: after 1/FollowRate s about 63 % of a jump is covered.
	FollowRate = 10
	// SnapDistance is a jump of the followed point (a teleport, a respawn)
	// the camera cuts to instead of gliding.
	SnapDistance = 10
	// LookHeight is how far above the followed point the camera aims.
	LookHeight = 0.9
	// FlySpeed is the spectator's speed in metres per second.
	FlySpeed = 12
	// MinEyeHeight keeps the follow camera above the ground plane y = 0.
	MinEyeHeight = 0.3
)

// Camera is the view of the world. The zero value is not ready; use New.
type Camera struct {
	// Mode is Free or Follow.
	Mode Mode
	// Yaw and Pitch give the look direction in radians (world.Controller
	// convention).
	Yaw, Pitch float32
	// Distance is the follow distance from the aimed point to the eye.
	Distance float32
	// Target is the smoothed followed point (Follow mode).
	Target geom.Vec3
	// Eye is the spectator's position (Free mode).
	Eye geom.Vec3
	// FovY is the vertical field of view in radians; Near and Far the
	// clip planes.
	FovY, Near, Far float32
	// Sensitivity is the orbit speed in radians per mouse pixel.
	Sensitivity float32

	hasTarget bool
}

// New returns a free camera at a height of 8 m, 14 m back from the origin,
// looking at it.
func New() *Camera {
	c := &Camera{
		Distance:    DefaultDistance,
		FovY:        50 * math.Pi / 180,
		Near:        0.1,
		Far:         500,
		Sensitivity: 0.0035,
	}
	c.LookAt(geom.Vec3{Y: 8, Z: 14}, geom.Vec3{})
	return c
}

// Forward returns the unit look direction.
func (c *Camera) Forward() geom.Vec3 {
	sy, cy := math.Sincos(float64(c.Yaw))
	sp, cp := math.Sincos(float64(c.Pitch))
	return geom.Vec3{X: float32(-sy * cp), Y: float32(sp), Z: float32(-cy * cp)}
}

// Right returns the unit horizontal direction to the right of the heading.
func (c *Camera) Right() geom.Vec3 {
	sy, cy := math.Sincos(float64(c.Yaw))
	return geom.Vec3{X: float32(cy), Z: float32(-sy)}
}

// Position returns the eye: the spectator's position, or the point
// Distance behind the aimed point in Follow mode (kept above the ground).
func (c *Camera) Position() geom.Vec3 {
	if c.Mode == Free {
		return c.Eye
	}
	e := c.aim().Sub(c.Forward().Mul(c.Distance))
	if e.Y < MinEyeHeight {
		e.Y = MinEyeHeight
	}
	return e
}

func (c *Camera) aim() geom.Vec3 { return c.Target.Add(geom.Vec3{Y: LookHeight}) }

// LookAt makes c a free camera at eye looking at center.
func (c *Camera) LookAt(eye, center geom.Vec3) {
	c.Mode = Free
	c.Eye = eye
	d := center.Sub(eye)
	h := math.Hypot(float64(d.X), float64(d.Z))
	c.Yaw = float32(math.Atan2(float64(-d.X), float64(-d.Z)))
	c.Pitch = float32(math.Atan2(float64(d.Y), h))
	c.clampPitch()
}

// Orbit turns the camera by a mouse movement of dx, dy pixels (x to the
// right, y down, as window systems report it).
func (c *Camera) Orbit(dx, dy float64) {
	c.Yaw -= float32(dx) * c.Sensitivity
	c.Yaw = float32(math.Remainder(float64(c.Yaw), 2*math.Pi))
	c.Pitch -= float32(dy) * c.Sensitivity
	c.clampPitch()
}

// Turn turns the camera by yaw and pitch radians (a gamepad's right stick).
func (c *Camera) Turn(yaw, pitch float32) {
	c.Yaw = float32(math.Remainder(float64(c.Yaw+yaw), 2*math.Pi))
	c.Pitch += pitch
	c.clampPitch()
}

func (c *Camera) clampPitch() {
	lo, hi := float32(-89*math.Pi/180), float32(89*math.Pi/180)
	if c.Mode == Follow {
		lo, hi = -80*math.Pi/180, 30*math.Pi/180
	}
	c.Pitch = max(lo, min(hi, c.Pitch))
}

// Zoom changes the follow distance by wheel steps: positive steps (the
// wheel away from the user) come closer, each by about 12 %.
func (c *Camera) Zoom(steps float64) {
	d := float64(c.Distance) * math.Pow(0.88, steps)
	c.Distance = float32(max(MinDistance, min(MaxDistance, d)))
}

// Follow makes c a third-person camera behind target, the followed
// entity's position, dt seconds after the previous call. The aimed point
// glides towards the target at FollowRate and cuts to it on the first call
// and on jumps longer than SnapDistance.
func (c *Camera) Follow(target geom.Vec3, dt float32) {
	if c.Mode != Follow {
		c.Mode = Follow
		c.clampPitch()
	}
	if !c.hasTarget || target.Sub(c.Target).Len() > SnapDistance {
		c.Target = target
		c.hasTarget = true
		return
	}
	k := float32(1 - math.Exp(-float64(dt)*FollowRate))
	c.Target = c.Target.Lerp(target, k)
}

// Fly makes c a spectator camera (starting where the eye is) and moves it
// for dt seconds: move.X strafes right, move.Y rises, move.Z goes where the
// camera looks; each in -1..1, times FlySpeed, times speed (1 normally).
func (c *Camera) Fly(move geom.Vec3, speed, dt float32) {
	if c.Mode != Free {
		c.Eye = c.Position()
		c.Mode = Free
		c.hasTarget = false
		c.clampPitch()
	}
	d := c.Forward().Mul(move.Z).Add(c.Right().Mul(move.X)).Add(geom.Vec3{Y: move.Y})
	c.Eye = c.Eye.Add(d.Mul(FlySpeed * speed * dt))
}

// View returns the view matrix.
func (c *Camera) View() geom.Mat4 {
	eye := c.Position()
	return geom.LookAt(eye, eye.Add(c.Forward()), geom.Vec3{Y: 1})
}

// Projection returns the projection matrix for a framebuffer of the given
// aspect ratio (width/height).
func (c *Camera) Projection(aspect float32) geom.Mat4 {
	if !(aspect > 0) {
		aspect = 1
	}
	return geom.Perspective(c.FovY, aspect, c.Near, c.Far)
}

// ViewProjection returns Projection·View for a width×height framebuffer.
func (c *Camera) ViewProjection(width, height int) geom.Mat4 {
	return c.Projection(float32(width) / float32(max(height, 1))).Mul(c.View())
}

// Frame makes c a free camera that sees the box from lo to hi from above
// and in front (towards +Z), as close as it can with the whole box in view
// of a framebuffer of the given aspect ratio (width/height).
func (c *Camera) Frame(lo, hi geom.Vec3, aspect float32) {
	center := lo.Add(hi).Mul(0.5)
	dir := geom.Vec3{Y: 0.55, Z: 0.84}.Normalize()
	r := hi.Sub(lo).Len()/2 + 0.5
	corners := [8]geom.Vec3{}
	for i := range corners {
		p := lo
		if i&1 != 0 {
			p.X = hi.X
		}
		if i&2 != 0 {
			p.Y = hi.Y
		}
		if i&4 != 0 {
			p.Z = hi.Z
		}
		corners[i] = p
	}
	const w = 1000
	h := int(w / max(aspect, 0.1))
	dist := r * 0.3
	for ; dist < r*20; dist *= 1.04 {
		c.LookAt(center.Add(dir.Mul(dist)), center)
		vp := c.ViewProjection(w, h)
		in := true
		for _, p := range corners {
			x, y, _, ok := geom.Project(vp, p, w, h)
			if !ok || x < 0.03*w || x > 0.97*w || y < 0.03*float32(h) || y > 0.97*float32(h) {
				in = false
				break
			}
		}
		if in {
			return
		}
	}
}
