// Package text lays out lines of text for rcc-view's renderer in pure Go:
// glyphs of the Go fonts rasterised with golang.org/x/image/font into one
// grey-scale atlas image (the renderer uploads it as a texture when it
// changes), and strings turned into textured quads at whole pixels. It is
// the daemon's insides of rcc-view, not public API.
package text

import (
	"fmt"
	"image"
	"image/draw"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Face is a font at one size, registered in an Atlas.
type Face int

// Glyph is where one rasterised glyph sits in the atlas and how it is
// placed relative to the pen on the baseline (pixels, y down).
type Glyph struct {
	// X0, Y0, X1, Y1 is the glyph's box relative to the pen position.
	X0, Y0, X1, Y1 float32
	// U0, V0, U1, V1 are its texture coordinates in the atlas.
	U0, V0, U1, V1 float32
	// Advance is how far the pen moves.
	Advance float32
}

// Quad is one textured rectangle in pixels (y down) with a linear RGBA
// colour (straight alpha) multiplying the atlas coverage.
type Quad struct {
	X0, Y0, X1, Y1 float32
	U0, V0, U1, V1 float32
	Color          [4]float32
}

type glyphKey struct {
	face Face
	r    rune
}

type faceInfo struct {
	face    font.Face
	ascent  float32
	descent float32
	height  float32
}

// Atlas holds rasterised glyphs of several faces in one grey-scale image.
type Atlas struct {
	// Image is the atlas; coverage 0..255 per pixel.
	Image *image.Alpha
	// Version grows whenever Image changes, so the renderer knows when to
	// upload it again.
	Version int

	faces  []faceInfo
	glyphs map[glyphKey]Glyph
	x, y   int
	rowH   int
	solid  [4]float32
}

// NewAtlas returns an empty atlas of size×size pixels whose top-left 4×4
// pixels are fully covered, for solid rectangles (see Solid).
func NewAtlas(size int) *Atlas {
	a := &Atlas{Image: image.NewAlpha(image.Rect(0, 0, size, size)), glyphs: map[glyphKey]Glyph{}}
	draw.Draw(a.Image, image.Rect(0, 0, 4, 4), image.Opaque, image.Point{}, draw.Src)
	s := float32(size)
	a.solid = [4]float32{1.5 / s, 1.5 / s, 2.5 / s, 2.5 / s}
	a.x, a.rowH = 6, 6
	return a
}

// Style names the Go font a face uses.
type Style int

const (
	// Regular is Go Regular.
	Regular Style = iota
	// Bold is Go Bold.
	Bold
)

// AddFace registers the Go font of the given style at size pixels (em) and
// returns its handle.
func (a *Atlas) AddFace(style Style, size float64) (Face, error) {
	ttf := goregular.TTF
	if style == Bold {
		ttf = gobold.TTF
	}
	f, err := opentype.Parse(ttf)
	if err != nil {
		return 0, fmt.Errorf("parse font: %w", err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return 0, fmt.Errorf("font face: %w", err)
	}
	m := face.Metrics()
	a.faces = append(a.faces, faceInfo{
		face:    face,
		ascent:  float32(m.Ascent.Ceil()),
		descent: float32(m.Descent.Ceil()),
		height:  float32(m.Height.Ceil()),
	})
	id := Face(len(a.faces) - 1)
	for r := rune(32); r < 127; r++ {
		a.Glyph(id, r)
	}
	return id, nil
}

// FontFace returns the x/image face behind f (for tests that rasterise
// text independently).
func (a *Atlas) FontFace(f Face) font.Face { return a.faces[f].face }

// Ascent returns the distance from the top of a line to its baseline.
func (a *Atlas) Ascent(f Face) float32 { return a.faces[f].ascent }

// LineHeight returns the distance between baselines.
func (a *Atlas) LineHeight(f Face) float32 { return a.faces[f].height }

// Solid returns texture coordinates inside the atlas' fully covered
// block, for drawing rectangles of a plain colour.
func (a *Atlas) Solid() (u0, v0, u1, v1 float32) {
	return a.solid[0], a.solid[1], a.solid[2], a.solid[3]
}

// Glyph returns r's glyph in face f, rasterising it into the atlas the
// first time. A rune the font lacks, or one that no longer fits, gives the
// glyph of '?'.
func (a *Atlas) Glyph(f Face, r rune) Glyph {
	k := glyphKey{f, r}
	if g, ok := a.glyphs[k]; ok {
		return g
	}
	fi := &a.faces[f]
	dr, mask, mp, adv, ok := fi.face.Glyph(fixed.Point26_6{}, r)
	if !ok && r != '?' {
		g := a.Glyph(f, '?')
		a.glyphs[k] = g
		return g
	}
	g := Glyph{Advance: float32(adv) / 64}
	if w, h := dr.Dx(), dr.Dy(); w > 0 && h > 0 {
		size := a.Image.Rect.Dx()
		if a.x+w+1 > size {
			a.x, a.y = 0, a.y+a.rowH+1
			a.rowH = 0
		}
		if a.y+h+1 > size {
			if r == '?' {
				return g
			}
			return a.Glyph(f, '?')
		}
		at := image.Rect(a.x, a.y, a.x+w, a.y+h)
		draw.Draw(a.Image, at, mask, mp, draw.Src)
		s := float32(size)
		g.X0, g.Y0 = float32(dr.Min.X), float32(dr.Min.Y)
		g.X1, g.Y1 = float32(dr.Max.X), float32(dr.Max.Y)
		g.U0, g.V0 = float32(at.Min.X)/s, float32(at.Min.Y)/s
		g.U1, g.V1 = float32(at.Max.X)/s, float32(at.Max.Y)/s
		a.x += w + 1
		a.rowH = max(a.rowH, h)
		a.Version++
	}
	a.glyphs[k] = g
	return g
}

// Measure returns the advance width of s in face f.
func (a *Atlas) Measure(f Face, s string) float32 {
	var w float32
	prev := rune(-1)
	face := a.faces[f].face
	for _, r := range s {
		if prev >= 0 {
			w += float32(face.Kern(prev, r)) / 64
		}
		w += a.Glyph(f, r).Advance
		prev = r
	}
	return w
}

// Append appends the quads of s in face f with its pen starting at x on
// the baseline y (both rounded to whole pixels, so glyphs land on pixels
// as the rasteriser drew them), and returns them with the pen's end x.
func (a *Atlas) Append(dst []Quad, f Face, s string, x, y float32, color [4]float32) ([]Quad, float32) {
	x = float32(math.Round(float64(x)))
	y = float32(math.Round(float64(y)))
	face := a.faces[f].face
	pen := fixed.Int26_6(x * 64)
	prev := rune(-1)
	for _, r := range s {
		if prev >= 0 {
			pen += face.Kern(prev, r)
		}
		g := a.Glyph(f, r)
		px := float32(pen.Round())
		if g.X1 > g.X0 {
			dst = append(dst, Quad{
				X0: px + g.X0, Y0: y + g.Y0, X1: px + g.X1, Y1: y + g.Y1,
				U0: g.U0, V0: g.V0, U1: g.U1, V1: g.V1,
				Color: color,
			})
		}
		pen += fixed.Int26_6(g.Advance * 64)
		prev = r
	}
	return dst, float32(pen) / 64
}

// Rect appends a solid rectangle.
func (a *Atlas) Rect(dst []Quad, x0, y0, x1, y1 float32, color [4]float32) []Quad {
	u0, v0, u1, v1 := a.Solid()
	return append(dst, Quad{X0: x0, Y0: y0, X1: x1, Y1: y1, U0: u0, V0: v0, U1: u1, V1: v1, Color: color})
}
