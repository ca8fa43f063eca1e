package render_test

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"

	"github.com/rcc-games/rcc/pkg/camera"
	"github.com/rcc-games/rcc/pkg/demoscene"
	"github.com/rcc-games/rcc/pkg/geom"
	"github.com/rcc-games/rcc/pkg/render"
	"github.com/rcc-games/rcc/pkg/render/gltest"
	"github.com/rcc-games/rcc/pkg/world"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata/")

func TestMain(m *testing.M) { gltest.Main(m) }

func newRenderer(t *testing.T, samples int) *render.Renderer {
	t.Helper()
	return newRendererWith(t, render.Options{Samples: samples})
}

func newRendererWith(t *testing.T, opts render.Options) *render.Renderer {
	t.Helper()
	gltest.Context(t, 64, 64)
	r, err := render.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func draw1(t *testing.T, r *render.Renderer, f *render.Frame, w, h int) *image.RGBA {
	t.Helper()
	if err := r.Render(f, w, h); err != nil {
		t.Fatal(err)
	}
	img, err := r.ReadImage()
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestShapesAtProjectedPositions renders one entity of each shape, each
// in its own saturated colour, and checks that the pixel where the pure
// camera math projects each entity's centre has that entity's hue.
func TestShapesAtProjectedPositions(t *testing.T) {
	r := newRenderer(t, 4)
	const w, h = 800, 450
	colors := map[world.Shape]world.Color{
		world.ShapeBox:      {R: 220, G: 30, B: 30, A: 255},
		world.ShapeSphere:   {R: 30, G: 200, B: 40, A: 255},
		world.ShapeCylinder: {R: 40, G: 60, B: 230, A: 255},
		world.ShapeCapsule:  {R: 230, G: 210, B: 20, A: 255},
		world.ShapePlane:    {R: 220, G: 30, B: 220, A: 255},
		world.ShapeCone:     {R: 20, G: 210, B: 210, A: 255},
	}
	snap := &world.Snapshot{}
	for s := world.ShapeBox; s <= world.ShapeCone; s++ {
		i := float32(s - 1)
		snap.Entities = append(snap.Entities, world.Entity{
			ID: uint32(s), Shape: s,
			Position: world.Vec3{X: (i - 2.5) * 2.2, Y: 0.8, Z: float32(int(s)%2) * -1.5},
			Rotation: world.Identity, Scale: world.Vec3{X: 1.3, Y: 1.3, Z: 1.3}, Color: colors[s],
		})
	}
	cam := camera.New()
	cam.LookAt(geom.Vec3{Y: 6, Z: 9}, geom.Vec3{Y: 0.3})
	img := draw1(t, r, &render.Frame{Snapshot: snap, Camera: cam}, w, h)
	vp := cam.ViewProjection(w, h)
	for _, e := range snap.Entities {
		x, y, _, ok := geom.Project(vp, geom.Vec3(e.Position), w, h)
		if !ok {
			t.Fatalf("%v projects outside the view", e.Shape)
		}
		want, _ := gltest.Hue(color.RGBA{e.Color.R, e.Color.G, e.Color.B, 255})
		// 3×3 pixels around the projected centre must all match.
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				c := img.RGBAAt(int(x)+dx, int(y)+dy)
				got, sat := gltest.Hue(c)
				if sat < 0.35 || gltest.HueDistance(got, want) > 20 {
					t.Errorf("%v at (%d, %d): pixel %v (hue %.0f°, saturation %.2f), want hue %.0f°", e.Shape, int(x)+dx, int(y)+dy, c, got, sat, want)
				}
			}
		}
	}
	if t.Failed() {
		saveFailure(t, img)
	}
	if st := r.Stats(); st.Drawn != 6 || st.DrawCalls < 6 {
		t.Errorf("stats %+v, want 6 entities drawn in at least 6 calls", st)
	}
}

// TestRotationAndScale checks that a long box turned a quarter about Y
// lies along Z, not X, and that a translucent sphere in front of it lets it
// show through.
func TestRotationAndScale(t *testing.T) {
	r := newRenderer(t, 0)
	const w, h = 640, 480
	s, c := math.Sincos(math.Pi / 4)
	red := world.Color{R: 230, G: 20, B: 20, A: 255}
	snap := &world.Snapshot{Entities: []world.Entity{{
		ID: 1, Shape: world.ShapeBox, Position: world.Vec3{Y: 0.5},
		Rotation: world.Quat{Y: float32(s), W: float32(c)}, Scale: world.Vec3{X: 6, Y: 0.6, Z: 0.6}, Color: red,
	}}}
	cam := camera.New()
	cam.LookAt(geom.Vec3{Y: 12, Z: 0.01}, geom.Vec3{}) // from above
	vp := cam.ViewProjection(w, h)
	px := func(p geom.Vec3) (int, int) {
		x, y, _, ok := geom.Project(vp, p, w, h)
		if !ok {
			t.Fatalf("%v outside the view", p)
		}
		return int(x), int(y)
	}
	img := draw1(t, r, &render.Frame{Snapshot: snap, Camera: cam}, w, h)
	isRed := func(c color.RGBA) bool { hh, sat := gltest.Hue(c); return sat > 0.5 && gltest.HueDistance(hh, 0) < 20 }
	for _, tc := range []struct {
		p    geom.Vec3
		want bool
	}{
		{geom.Vec3{Y: 0.8, Z: 2.5}, true},
		{geom.Vec3{Y: 0.8, Z: -2.5}, true},
		{geom.Vec3{X: 2.5, Y: 0.8}, false},
		{geom.Vec3{X: -2.5, Y: 0.8}, false},
	} {
		x, y := px(tc.p)
		if got := isRed(img.RGBAAt(x, y)); got != tc.want {
			t.Errorf("at %v (pixel %d, %d): red %v, want %v (pixel %v)", tc.p, x, y, got, tc.want, img.RGBAAt(x, y))
		}
	}

	// A translucent blue sphere over the box's end: the pixel mixes both.
	snap.Entities = append(snap.Entities, world.Entity{
		ID: 2, Shape: world.ShapeSphere, Position: world.Vec3{Y: 2, Z: 2.5}, Rotation: world.Identity,
		Scale: world.Vec3{X: 1.5, Y: 1.5, Z: 1.5}, Color: world.Color{R: 20, G: 40, B: 240, A: 128},
	})
	img = draw1(t, r, &render.Frame{Snapshot: snap, Camera: cam}, w, h)
	x, y := px(geom.Vec3{Y: 0.8, Z: 2.2}) // the box top, seen through the sphere
	if c := img.RGBAAt(x, y); c.R < 90 || c.B < 90 || c.G > 110 {
		t.Errorf("translucent blue over red at (%d, %d) is %v, want a purple mix", x, y, c)
	}
	if t.Failed() {
		saveFailure(t, img)
	}
}

// TestHUDText draws a HUD line and compares it, pixel by pixel, with the
// same text rasterised by golang.org/x/image alone.
func TestHUDText(t *testing.T) {
	r := newRenderer(t, 4)
	const w, h = 640, 360
	cam := camera.New()
	line := "instance 7f3a · RTT 23 ms · Åsa wins"
	img := draw1(t, r, &render.Frame{Camera: cam, Lines: []string{line}}, w, h)

	atlas, face := r.HUDFace()
	ox, oy, _ := r.HUDTextOrigin()
	mask := image.NewAlpha(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: atlas.FontFace(face), Dot: fixed.P(int(ox), int(oy))}
	d.DrawString(line)
	var full, bright, empty, dark int
	b := mask.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			cov := mask.AlphaAt(x, y).A
			c := img.RGBAAt(x, y)
			switch {
			case cov == 255:
				full++
				if c.R > 235 && c.G > 235 && c.B > 235 {
					bright++
				}
			case cov == 0 && x > int(ox) && x < int(ox)+d.Dot.X.Round()-int(ox) && y > int(oy)-10 && y < int(oy)+3:
				empty++
				if c.R < 200 || c.G < 200 || c.B < 200 {
					dark++
				}
			}
		}
	}
	if full < 60 {
		t.Fatalf("x/image drew only %d fully covered pixels", full)
	}
	if bright < full*98/100 {
		t.Errorf("%d of %d fully covered glyph pixels are white on screen", bright, full)
	}
	if dark < empty*98/100 {
		t.Errorf("%d of %d pixels between glyphs are the dark panel", dark, empty)
	}

	// Without the line, the same place holds no text.
	plain := draw1(t, r, &render.Frame{Camera: cam}, w, h)
	var white int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if mask.AlphaAt(x, y).A == 255 {
				if c := plain.RGBAAt(x, y); c.R > 235 && c.G > 235 && c.B > 235 {
					white++
				}
			}
		}
	}
	if white > full/20 {
		t.Errorf("with no HUD line, %d of the glyph pixels are white", white)
	}
	if t.Failed() {
		saveFailure(t, img)
	}
}

// TestMessageIsDrawn checks that the centred message line changes the
// middle of the screen.
func TestMessageIsDrawn(t *testing.T) {
	r := newRenderer(t, 0)
	const w, h = 640, 360
	cam := camera.New()
	without := clone(draw1(t, r, &render.Frame{Camera: cam}, w, h))
	with := draw1(t, r, &render.Frame{Camera: cam, Message: "instance failed: fuel_exhausted"}, w, h)
	var changed int
	for y := h/2 - 60; y < h/2; y++ {
		for x := w / 4; x < 3*w/4; x++ {
			if with.RGBAAt(x, y) != without.RGBAAt(x, y) {
				changed++
			}
		}
	}
	if changed < 2000 {
		t.Fatalf("the message changed %d pixels of the middle of the screen", changed)
	}
}

// Golden image tolerance: a pixel differs when any channel differs by more
// than goldenChannelTolerance; the test fails when more than
// goldenPixelFraction of the pixels differ. This absorbs rounding changes
// between Mesa versions, not a moved or recoloured shape.
const (
	goldenChannelTolerance = 16
	goldenPixelFraction    = 0.005
)

// TestGolden renders demoscene.Showcase from a fixed camera and compares
// it with testdata/TestGolden.golden.png (rewrite it with
// go test ./pkg/render -run TestGolden -update, and look at it).
func TestGolden(t *testing.T) {
	r := newRenderer(t, 4)
	const w, h = 640, 360
	cam := camera.New()
	cam.LookAt(geom.Vec3{X: 2, Y: 7, Z: 13}, geom.Vec3{Y: 0.5})
	img := draw1(t, r, &render.Frame{
		Snapshot: demoscene.Showcase(), Camera: cam,
		Lines: []string{"golden scene", "8 entities"}, Side: []string{"players", "  alice  7", "  bob    3"},
	}, w, h)
	path := filepath.Join("testdata", t.Name()+".golden.png")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		writePNG(t, path, img)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if want.Bounds() != img.Bounds() {
		t.Fatalf("golden is %v, rendered %v", want.Bounds(), img.Bounds())
	}
	var diff int
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			a := img.RGBAAt(x, y)
			wr, wg, wb, _ := want.At(x, y).RGBA()
			b := color.RGBA{uint8(wr >> 8), uint8(wg >> 8), uint8(wb >> 8), 255}
			if absDiff(a.R, b.R) > goldenChannelTolerance || absDiff(a.G, b.G) > goldenChannelTolerance || absDiff(a.B, b.B) > goldenChannelTolerance {
				diff++
			}
		}
	}
	if limit := int(goldenPixelFraction * w * h); diff > limit {
		saveFailure(t, img)
		t.Fatalf("%d pixels differ from %s (tolerance %d per channel), more than %d", diff, path, goldenChannelTolerance, limit)
	}
}

// TestEncodingsAgree renders the showcase with the sRGB framebuffer and
// with encoding in the shaders: opaque surfaces must come out the same;
// only blended pixels (the translucent sphere, text edges, grid lines) may
// differ.
func TestEncodingsAgree(t *testing.T) {
	const w, h = 480, 270
	cam := camera.New()
	cam.LookAt(geom.Vec3{X: 2, Y: 7, Z: 13}, geom.Vec3{Y: 0.5})
	var imgs [2]*image.RGBA
	for i, enc := range []render.Encoding{render.EncodeFramebuffer, render.EncodeShader} {
		t.Run(fmt.Sprint(enc), func(t *testing.T) {
			r := newRendererWith(t, render.Options{Encode: enc})
			if r.Encoding() != enc {
				t.Fatalf("encoding %v, asked %v", r.Encoding(), enc)
			}
			imgs[i] = clone(draw1(t, r, &render.Frame{Snapshot: demoscene.Showcase(), Camera: cam, Lines: []string{"encodings"}}, w, h))
		})
	}
	if imgs[0] == nil || imgs[1] == nil {
		t.Fatal("a rendering failed")
	}
	vp := cam.ViewProjection(w, h)
	for _, e := range demoscene.Showcase().Entities {
		if e.Color.A != 255 || e.Shape == world.ShapePlane {
			continue // blended, or flat on the ground under a grid line
		}
		x, y, _, ok := geom.Project(vp, geom.Vec3(e.Position), w, h)
		if !ok {
			t.Fatalf("%v out of view", e.Shape)
		}
		for dy := -2; dy <= 2; dy++ {
			for dx := -2; dx <= 2; dx++ {
				a, b := imgs[0].RGBAAt(int(x)+dx, int(y)+dy), imgs[1].RGBAAt(int(x)+dx, int(y)+dy)
				if absDiff(a.R, b.R) > 4 || absDiff(a.G, b.G) > 4 || absDiff(a.B, b.B) > 4 {
					t.Errorf("%v at (%d, %d): %v with the sRGB framebuffer, %v encoded in the shader", e.Shape, int(x)+dx, int(y)+dy, a, b)
				}
			}
		}
	}
	if t.Failed() {
		saveFailure(t, imgs[1])
	}
}

func TestRenderRefusesBadSizes(t *testing.T) {
	r := newRenderer(t, 0)
	cam := camera.New()
	for _, sz := range [][2]int{{0, 10}, {10, -1}, {render.MaxSize + 1, 10}} {
		if err := r.Render(&render.Frame{Camera: cam}, sz[0], sz[1]); err == nil {
			t.Errorf("size %v accepted", sz)
		}
	}
	if err := r.Render(&render.Frame{}, 10, 10); err == nil {
		t.Error("a frame without a camera accepted")
	}
	// The renderer still works after refusing.
	img := draw1(t, r, &render.Frame{Camera: cam}, 32, 16)
	if img.Bounds().Dx() != 32 || img.Bounds().Dy() != 16 {
		t.Fatalf("image %v", img.Bounds())
	}
}

// TestBadEntitiesAreSkipped checks that non-finite positions and scales,
// unknown shapes and invisible colours are culled instead of breaking the
// frame.
func TestBadEntitiesAreSkipped(t *testing.T) {
	r := newRenderer(t, 0)
	inf := float32(math.Inf(1))
	snap := &world.Snapshot{Entities: []world.Entity{
		{ID: 1, Shape: world.ShapeBox, Position: world.Vec3{X: float32(math.NaN())}, Scale: world.Vec3{X: 1, Y: 1, Z: 1}, Color: world.Color{A: 255}},
		{ID: 2, Shape: world.ShapeSphere, Scale: world.Vec3{X: inf, Y: 1, Z: 1}, Color: world.Color{A: 255}},
		{ID: 3, Shape: 99, Scale: world.Vec3{X: 1, Y: 1, Z: 1}, Color: world.Color{A: 255}},
		{ID: 4, Shape: world.ShapeCone, Scale: world.Vec3{X: 1, Y: 1, Z: 1}, Color: world.Color{R: 255, A: 0}},
		{ID: 5, Shape: world.ShapeCapsule, Rotation: world.Quat{}, Scale: world.Vec3{X: 1, Y: 2, Z: 1}, Color: world.Color{R: 255, A: 255}},
	}}
	draw1(t, r, &render.Frame{Snapshot: snap, Camera: camera.New()}, 64, 64)
	if st := r.Stats(); st.Drawn != 1 || st.Culled != 4 {
		t.Fatalf("stats %+v, want 1 drawn (the capsule with a zero quaternion) and 4 culled", st)
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func clone(img *image.RGBA) *image.RGBA {
	c := image.NewRGBA(img.Bounds())
	draw.Draw(c, c.Bounds(), img, image.Point{}, draw.Src)
	return c
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// saveFailure writes what was rendered where a person can look at it.
func saveFailure(t *testing.T, img image.Image) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "..", fmt.Sprintf("%s.actual.png", filepath.Base(t.Name())))
	if dir := os.Getenv("RCC_TEST_ARTIFACTS"); dir != "" {
		p = filepath.Join(dir, filepath.Base(p))
	}
	writePNG(t, p, img)
	t.Logf("rendered image: %s", p)
}

func gltestContext(tb testing.TB) { gltest.Context(tb, 64, 64) }

// TestSteadyFramesDoNotAllocate renders a moving crowd with labels,
// translucency and a HUD: once the buffers have grown, a frame allocates
// nothing on the Go side.
func TestSteadyFramesDoNotAllocate(t *testing.T) {
	r := newRenderer(t, 0)
	var snap world.Snapshot
	demoscene.Crowd(&snap, 500, 0)
	cam := camera.New()
	cam.Frame(geom.Vec3{X: -30, Z: -30}, geom.Vec3{X: 30, Y: 1, Z: 30}, 320.0/180)
	f := &render.Frame{Snapshot: &snap, Camera: cam, Lines: []string{"steady", "frames"}, Side: []string{"a 1"}, Message: "hello"}
	step := 0.0
	frame := func() {
		step += 1.0 / 60
		demoscene.Crowd(&snap, 500, step)
		if err := r.Render(f, 320, 180); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 5; i++ {
		frame()
	}
	if n := testing.AllocsPerRun(20, frame); n != 0 {
		t.Fatalf("a frame allocates %v times", n)
	}
}
