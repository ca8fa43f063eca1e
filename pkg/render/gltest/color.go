package gltest

import (
	"image/color"
	"math"
)

// Hue returns the hue of c in degrees (0 to 360) and its saturation (0 to
// 1), for tests that recognise an entity in a rendered picture by its
// colour whatever the lighting did to its brightness.
func Hue(c color.Color) (h, s float64) {
	r16, g16, b16, _ := c.RGBA()
	r, g, b := float64(r16), float64(g16), float64(b16)
	mx, mn := math.Max(r, math.Max(g, b)), math.Min(r, math.Min(g, b))
	if mx == 0 || mx == mn {
		return 0, 0
	}
	d := mx - mn
	switch mx {
	case r:
		h = math.Mod((g-b)/d, 6)
	case g:
		h = (b-r)/d + 2
	default:
		h = (r-g)/d + 4
	}
	h *= 60
	if h < 0 {
		h += 360
	}
	return h, d / mx
}

// HueDistance is the distance in degrees between two hues, around the
// colour circle (0 to 180).
func HueDistance(a, b float64) float64 {
	d := math.Abs(a - b)
	return math.Min(d, 360-d)
}
