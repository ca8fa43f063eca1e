package geom

import (
	"math"
	"testing"
)

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-4 }

func vnear(a, b Vec3) bool { return near(a.X, b.X) && near(a.Y, b.Y) && near(a.Z, b.Z) }

func TestModelMatchesQuaternionRotation(t *testing.T) {
	s, c := math.Sincos(0.7 / 2)
	q := Quat{X: float32(s) * 0.6, Y: float32(s) * 0.8, W: float32(c)} // 0.7 rad about (0.6, 0.8, 0)
	scale := Vec3{2, 3, 0.5}
	pos := Vec3{1, -2, 5}
	m := Model(pos, q, scale)
	for _, p := range []Vec3{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {0.3, -0.2, 0.9}} {
		x, y, z, w := m.MulPoint(p)
		want := q.Rotate(Vec3{p.X * scale.X, p.Y * scale.Y, p.Z * scale.Z}).Add(pos)
		if w != 1 || !vnear(Vec3{x, y, z}, want) {
			t.Errorf("Model·%v = (%v %v %v %v), want %v", p, x, y, z, w, want)
		}
	}
}

func TestQuarterTurnAboutY(t *testing.T) {
	s, c := math.Sincos(math.Pi / 4)
	q := Quat{Y: float32(s), W: float32(c)}
	// A quarter turn counter-clockwise seen from above takes +X to -Z.
	if got := q.Rotate(Vec3{1, 0, 0}); !vnear(got, Vec3{0, 0, -1}) {
		t.Fatalf("rotated +X to %v, want -Z", got)
	}
}

func TestNormalizeBadQuaternions(t *testing.T) {
	for _, q := range []Quat{{}, {X: float32(math.NaN())}, {W: float32(math.Inf(1))}} {
		if got := q.Normalize(); got != (Quat{W: 1}) {
			t.Errorf("Normalize(%v) = %v, want the identity", q, got)
		}
	}
	if got := (Quat{W: 2}).Normalize(); got != (Quat{W: 1}) {
		t.Errorf("Normalize(w=2) = %v", got)
	}
}

func TestProjectCentreAndCorners(t *testing.T) {
	vp := Perspective(math.Pi/2, 2, 0.1, 100).Mul(LookAt(Vec3{0, 0, 5}, Vec3{}, Vec3{0, 1, 0}))
	x, y, d, ok := Project(vp, Vec3{}, 200, 100)
	if !ok || !near(x, 100) || !near(y, 50) || d <= 0 || d >= 1 {
		t.Fatalf("origin projects to (%v, %v, %v, %v), want the centre", x, y, d, ok)
	}
	// With a 90° vertical field of view, y = +5 at distance 5 is the top
	// edge; x = +10 (aspect 2) the right edge.
	if _, y, _, _ := Project(vp, Vec3{0, 5, 0}, 200, 100); !near(y, 0) {
		t.Errorf("top edge at y %v", y)
	}
	if x, _, _, _ := Project(vp, Vec3{10, 0, 0}, 200, 100); !near(x, 200) {
		t.Errorf("right edge at x %v", x)
	}
	if _, _, _, ok := Project(vp, Vec3{0, 0, 10}, 200, 100); ok {
		t.Error("a point behind the eye projects")
	}
}

func TestFrustum(t *testing.T) {
	vp := Perspective(math.Pi/3, 1, 0.1, 50).Mul(LookAt(Vec3{}, Vec3{0, 0, -1}, Vec3{0, 1, 0}))
	f := FrustumOf(vp)
	for _, tc := range []struct {
		c    Vec3
		r    float32
		want bool
	}{
		{Vec3{0, 0, -10}, 1, true},
		{Vec3{0, 0, 10}, 1, false},
		{Vec3{0, 0, 0.5}, 1, true}, // straddles the near plane
		{Vec3{0, 0, -60}, 1, false},
		{Vec3{30, 0, -10}, 1, false},
		{Vec3{30, 0, -10}, 30, true},
	} {
		if got := f.SphereVisible(tc.c, tc.r); got != tc.want {
			t.Errorf("sphere %v r %v visible %v, want %v", tc.c, tc.r, got, tc.want)
		}
	}
}

func TestSRGB(t *testing.T) {
	for i := 0; i < 256; i++ {
		if got := LinearToSRGB(SRGBToLinear(uint8(i))); got != uint8(i) {
			t.Fatalf("round trip of %d gives %d", i, got)
		}
	}
	if v := SRGBToLinear(128); !near(v, 0.2158605) {
		t.Fatalf("sRGB 128 is %v linear", v)
	}
}
