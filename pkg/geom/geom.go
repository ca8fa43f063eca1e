package geom

import (
	"math"

	"github.com/rcc-games/rcc/pkg/world"
)

// Vec3 is a 3D vector. It has the layout of world.Vec3, so the two convert
// into each other directly: geom.Vec3(e.Position).
type Vec3 struct{ X, Y, Z float32 }

// Add returns v+w.
func (v Vec3) Add(w Vec3) Vec3 { return Vec3{v.X + w.X, v.Y + w.Y, v.Z + w.Z} }

// Sub returns v-w.
func (v Vec3) Sub(w Vec3) Vec3 { return Vec3{v.X - w.X, v.Y - w.Y, v.Z - w.Z} }

// Mul returns v scaled by s.
func (v Vec3) Mul(s float32) Vec3 { return Vec3{v.X * s, v.Y * s, v.Z * s} }

// Dot returns the dot product of v and w.
func (v Vec3) Dot(w Vec3) float32 { return v.X*w.X + v.Y*w.Y + v.Z*w.Z }

// Cross returns the cross product v×w.
func (v Vec3) Cross(w Vec3) Vec3 {
	return Vec3{v.Y*w.Z - v.Z*w.Y, v.Z*w.X - v.X*w.Z, v.X*w.Y - v.Y*w.X}
}

// Len returns the length of v.
func (v Vec3) Len() float32 { return float32(math.Sqrt(float64(v.Dot(v)))) }

// Normalize returns v with length 1, or v itself when it is zero.
func (v Vec3) Normalize() Vec3 {
	l := v.Len()
	if l == 0 {
		return v
	}
	return v.Mul(1 / l)
}

// Lerp returns v + (w-v)·t.
func (v Vec3) Lerp(w Vec3, t float32) Vec3 { return v.Add(w.Sub(v).Mul(t)) }

// Quat is a rotation quaternion with the layout of world.Quat.
type Quat struct{ X, Y, Z, W float32 }

// Normalize returns q with norm 1; a zero or non-finite quaternion becomes
// the identity, so bad input from the wire never breaks a frame.
func (q Quat) Normalize() Quat {
	n := float64(q.X*q.X + q.Y*q.Y + q.Z*q.Z + q.W*q.W)
	if !(n > 1e-12) || math.IsInf(n, 0) {
		return Quat{W: 1}
	}
	s := float32(1 / math.Sqrt(n))
	return Quat{q.X * s, q.Y * s, q.Z * s, q.W * s}
}

// Rotate returns v rotated by q (which must be normalised).
func (q Quat) Rotate(v Vec3) Vec3 {
	u := Vec3{q.X, q.Y, q.Z}
	t := u.Cross(v).Mul(2)
	return v.Add(t.Mul(q.W)).Add(u.Cross(t))
}

// Mat4 is a 4×4 matrix in column-major order: element (row r, column c) is
// m[c*4+r], the layout glUniformMatrix4fv reads without transposing.
type Mat4 [16]float32

// Identity4 is the identity matrix.
var Identity4 = Mat4{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}

// Mul returns m·n.
func (m Mat4) Mul(n Mat4) Mat4 {
	var o Mat4
	for c := 0; c < 4; c++ {
		for r := 0; r < 4; r++ {
			var s float32
			for k := 0; k < 4; k++ {
				s += m[k*4+r] * n[c*4+k]
			}
			o[c*4+r] = s
		}
	}
	return o
}

// MulPoint returns m·(p, 1) as homogeneous coordinates x, y, z, w.
func (m Mat4) MulPoint(p Vec3) (x, y, z, w float32) {
	x = m[0]*p.X + m[4]*p.Y + m[8]*p.Z + m[12]
	y = m[1]*p.X + m[5]*p.Y + m[9]*p.Z + m[13]
	z = m[2]*p.X + m[6]*p.Y + m[10]*p.Z + m[14]
	w = m[3]*p.X + m[7]*p.Y + m[11]*p.Z + m[15]
	return
}

// Model returns the matrix that scales by s, rotates by q (normalised
// here) and then translates by t: how an entity's unit shape is placed.
func Model(t Vec3, q Quat, s Vec3) Mat4 {
	q = q.Normalize()
	x, y, z, w := q.X, q.Y, q.Z, q.W
	// Columns of the rotation matrix, each scaled by its axis' scale.
	return Mat4{
		(1 - 2*(y*y+z*z)) * s.X, (2 * (x*y + w*z)) * s.X, (2 * (x*z - w*y)) * s.X, 0,
		(2 * (x*y - w*z)) * s.Y, (1 - 2*(x*x+z*z)) * s.Y, (2 * (y*z + w*x)) * s.Y, 0,
		(2 * (x*z + w*y)) * s.Z, (2 * (y*z - w*x)) * s.Z, (1 - 2*(x*x+y*y)) * s.Z, 0,
		t.X, t.Y, t.Z, 1,
	}
}

// Perspective returns an OpenGL projection matrix (clip z in -w..w) with
// vertical field of view fovY in radians, aspect width/height and the near
// and far planes.
func Perspective(fovY, aspect, near, far float32) Mat4 {
	f := float32(1 / math.Tan(float64(fovY)/2))
	return Mat4{
		f / aspect, 0, 0, 0,
		0, f, 0, 0,
		0, 0, (far + near) / (near - far), -1,
		0, 0, 2 * far * near / (near - far), 0,
	}
}

// Ortho returns an orthographic projection mapping x in [l, r], y in
// [b, t] and z in [-n, -f] to clip space.
func Ortho(l, r, b, t, n, f float32) Mat4 {
	return Mat4{
		2 / (r - l), 0, 0, 0,
		0, 2 / (t - b), 0, 0,
		0, 0, -2 / (f - n), 0,
		-(r + l) / (r - l), -(t + b) / (t - b), -(f + n) / (f - n), 1,
	}
}

// LookAt returns the view matrix of an eye at eye looking at center with
// the given up direction.
func LookAt(eye, center, up Vec3) Mat4 {
	f := center.Sub(eye).Normalize()
	s := f.Cross(up).Normalize()
	u := s.Cross(f)
	return Mat4{
		s.X, u.X, -f.X, 0,
		s.Y, u.Y, -f.Y, 0,
		s.Z, u.Z, -f.Z, 0,
		-s.Dot(eye), -u.Dot(eye), f.Dot(eye), 1,
	}
}

// Project maps world point p through the view-projection matrix vp to
// window pixels of a width×height framebuffer, with y growing downwards
// (image rows, as image.RGBA and screenshots count them). depth is the
// window depth in [0, 1]; ok is false when p is behind the eye or outside
// the view.
func Project(vp Mat4, p Vec3, width, height int) (x, y, depth float32, ok bool) {
	cx, cy, cz, cw := vp.MulPoint(p)
	if cw <= 0 {
		return 0, 0, 0, false
	}
	nx, ny, nz := cx/cw, cy/cw, cz/cw
	x = (nx + 1) / 2 * float32(width)
	y = (1 - ny) / 2 * float32(height)
	depth = (nz + 1) / 2
	ok = nx >= -1 && nx <= 1 && ny >= -1 && ny <= 1 && nz >= -1 && nz <= 1
	return x, y, depth, ok
}

// Frustum holds the six planes of a view volume, each as (a, b, c, d) with
// the normal (a, b, c) of unit length pointing inwards.
type Frustum [6][4]float32

// FrustumOf extracts the view volume of a view-projection matrix.
func FrustumOf(vp Mat4) Frustum {
	row := func(r int) [4]float32 { return [4]float32{vp[r], vp[4+r], vp[8+r], vp[12+r]} }
	r0, r1, r2, r3 := row(0), row(1), row(2), row(3)
	var f Frustum
	for i, sign := range [6]float32{1, -1, 1, -1, 1, -1} {
		src := [3][4]float32{r0, r1, r2}[i/2]
		var p [4]float32
		for k := range p {
			p[k] = r3[k] + sign*src[k]
		}
		n := float32(math.Sqrt(float64(p[0]*p[0] + p[1]*p[1] + p[2]*p[2])))
		if n > 0 {
			for k := range p {
				p[k] /= n
			}
		}
		f[i] = p
	}
	return f
}

// SphereVisible reports whether a sphere of radius r at c is at least
// partly inside f.
func (f *Frustum) SphereVisible(c Vec3, r float32) bool {
	for i := range f {
		p := &f[i]
		if p[0]*c.X+p[1]*c.Y+p[2]*c.Z+p[3] < -r {
			return false
		}
	}
	return true
}

// SRGBToLinear converts one 8-bit sRGB channel to linear light in [0, 1]
// with the exact sRGB transfer function.
func SRGBToLinear(c uint8) float32 {
	v := float64(c) / 255
	if v <= 0.04045 {
		return float32(v / 12.92)
	}
	return float32(math.Pow((v+0.055)/1.055, 2.4))
}

// LinearToSRGB converts linear light in [0, 1] (clamped) to an 8-bit sRGB
// channel value.
func LinearToSRGB(v float32) uint8 {
	x := math.Max(0, math.Min(1, float64(v)))
	if x <= 0.0031308 {
		x *= 12.92
	} else {
		x = 1.055*math.Pow(x, 1/2.4) - 0.055
	}
	return uint8(math.Round(x * 255))
}

// FromWorld converts a world vector.
func FromWorld(v world.Vec3) Vec3 { return Vec3(v) }
