package text

import (
	"testing"

	"golang.org/x/image/font"
)

func TestMeasureMatchesXImage(t *testing.T) {
	a := NewAtlas(512)
	f, err := a.AddFace(Regular, 15)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "a", "players 12 · RTT 23 ms", "Åsa wins", "AVATAR To"} {
		want := float32(font.MeasureString(a.FontFace(f), s)) / 64
		if got := a.Measure(f, s); got != want {
			t.Errorf("Measure(%q) = %v, x/image says %v", s, got, want)
		}
	}
}

func TestAppendPlacesGlyphsAtWholePixels(t *testing.T) {
	a := NewAtlas(512)
	f, _ := a.AddFace(Bold, 14)
	qs, end := a.Append(nil, f, "Hi there", 10.4, 20.6, [4]float32{1, 1, 1, 1})
	if len(qs) != 7 { // the space has no quad
		t.Fatalf("%d quads for 7 visible glyphs", len(qs))
	}
	if want := 10 + a.Measure(f, "Hi there"); end != want {
		t.Fatalf("pen ends at %v, want %v", end, want)
	}
	for _, q := range qs {
		for _, v := range []float32{q.X0, q.Y0, q.X1, q.Y1} {
			if v != float32(int(v)) {
				t.Fatalf("quad %+v is not on whole pixels", q)
			}
		}
		if q.U1 <= q.U0 || q.V1 <= q.V0 || q.U1 > 1 || q.V1 > 1 {
			t.Fatalf("quad %+v has bad texture coordinates", q)
		}
	}
	if qs[0].Y1 > 21 || qs[0].Y0 >= 21 {
		t.Fatalf("an H should stand on the baseline 21: %+v", qs[0])
	}
}

func TestGlyphsAreAddedOnDemandAndFallBack(t *testing.T) {
	a := NewAtlas(512)
	f, _ := a.AddFace(Regular, 15)
	v := a.Version
	a.Glyph(f, 'é')
	if a.Version == v {
		t.Fatal("a new glyph did not change the atlas")
	}
	v = a.Version
	a.Glyph(f, 'é')
	if a.Version != v {
		t.Fatal("a known glyph changed the atlas")
	}
	missing := a.Glyph(f, '\U0001F600') // no emoji in the Go fonts
	if q := a.Glyph(f, '?'); missing != q {
		t.Fatalf("a missing glyph is %+v, not '?' %+v", missing, q)
	}
}

func TestFullAtlasFallsBack(t *testing.T) {
	a := NewAtlas(64) // room for a handful of glyphs only
	f, err := a.AddFace(Regular, 30)
	if err != nil {
		t.Fatal(err)
	}
	for r := rune(0x400); r < 0x450; r++ { // Cyrillic, beyond what fits
		a.Glyph(f, r)
	}
	if n := len(a.glyphs); n == 0 {
		t.Fatal("no glyphs")
	}
	// It did not panic, and every glyph's coordinates stay inside.
	for k, g := range a.glyphs {
		if g.U1 > 1 || g.V1 > 1 {
			t.Fatalf("glyph %q outside the atlas: %+v", k.r, g)
		}
	}
}
