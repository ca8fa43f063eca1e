package world

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestControllerLayout(t *testing.T) {
	c := Controller{MoveX: 1, MoveY: -1, MoveZ: 0.5, Yaw: math.Pi / 2, Pitch: -math.Pi / 4, Buttons: ButtonJump | ButtonSprint}
	got, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0xC1, 127, 0x81, 64, 0x00, 0x40, 0x00, 0xE0, 0x11, 0x00}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding\n got % x\nwant % x", got, want)
	}
}

func TestControllerRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Controller
		want Controller
	}{
		{"zero", Controller{}, Controller{}},
		{"full axes", Controller{MoveX: -1, MoveY: 1, MoveZ: 1}, Controller{MoveX: -1, MoveY: 1, MoveZ: 1}},
		{"axes clamped", Controller{MoveX: 3, MoveZ: -7}, Controller{MoveX: 1, MoveZ: -1}},
		{"NaN is zero", Controller{MoveX: float32(math.NaN()), Yaw: float32(math.NaN())}, Controller{}},
		{"yaw wraps", Controller{Yaw: 2*math.Pi + 0.5}, Controller{Yaw: 0.5}},
		{"negative yaw", Controller{Yaw: -0.5}, Controller{Yaw: -0.5}},
		{"pitch clamped", Controller{Pitch: 3}, Controller{Pitch: math.Pi / 2}},
		{"reserved buttons dropped", Controller{Buttons: 0xFFFF}, Controller{Buttons: buttonsKnown}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.in.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got Controller
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			near := func(a, b float32, tol float64) bool { return math.Abs(float64(a-b)) <= tol }
			if !near(got.MoveX, tc.want.MoveX, 0.005) || !near(got.MoveY, tc.want.MoveY, 0.005) || !near(got.MoveZ, tc.want.MoveZ, 0.005) ||
				!near(got.Yaw, tc.want.Yaw, 1e-4) || !near(got.Pitch, tc.want.Pitch, 1e-4) || got.Buttons != tc.want.Buttons {
				t.Fatalf("round trip of %+v = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestControllerRefusesOtherInputs(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"arena's 3 bytes", []byte{127, 0, 1}},
		{"wrong tag", []byte{0xC2, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"too long", append([]byte{0xC1}, make([]byte, 10)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Controller
			if err := c.UnmarshalBinary(tc.b); !errors.Is(err, ErrController) {
				t.Fatalf("UnmarshalBinary(% x) = %v, want ErrController", tc.b, err)
			}
		})
	}
}

func TestControllerDecodesHostileValues(t *testing.T) {
	var c Controller
	b := []byte{0xC1, 0x80, 0x80, 0x80, 0xFF, 0x7F, 0xFF, 0x7F, 0xFF, 0xFF}
	if err := c.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if c.MoveX != -1 || c.MoveY != -1 || c.MoveZ != -1 {
		t.Errorf("axes of -128 decode to %v %v %v, want -1", c.MoveX, c.MoveY, c.MoveZ)
	}
	if math.Abs(float64(c.Pitch)-math.Pi/2) > 1e-6 {
		t.Errorf("pitch 32767 decodes to %v, want clamped to π/2", c.Pitch)
	}
	if c.Buttons&^buttonsKnown != 0 {
		t.Errorf("reserved buttons kept: %016b", c.Buttons)
	}
}

func TestControllerWorldMove(t *testing.T) {
	for _, tc := range []struct {
		name         string
		c            Controller
		wantX, wantZ float32
	}{
		{"forward at yaw 0 is -Z", Controller{MoveZ: 1}, 0, -1},
		{"right at yaw 0 is +X", Controller{MoveX: 1}, 1, 0},
		{"forward after a left quarter turn is -X", Controller{MoveZ: 1, Yaw: math.Pi / 2}, -1, 0},
		{"right after a left quarter turn is -Z", Controller{MoveX: 1, Yaw: math.Pi / 2}, 0, -1},
		{"back after a half turn is -Z", Controller{MoveZ: -1, Yaw: math.Pi}, 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, z := tc.c.WorldMove()
			if math.Abs(float64(x-tc.wantX)) > 1e-5 || math.Abs(float64(z-tc.wantZ)) > 1e-5 {
				t.Fatalf("WorldMove = (%v, %v), want (%v, %v)", x, z, tc.wantX, tc.wantZ)
			}
		})
	}
}

func FuzzControllerUnmarshal(f *testing.F) {
	f.Add([]byte{0xC1, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{127, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Controller
		if err := c.UnmarshalBinary(b); err != nil {
			return
		}
		again, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var d Controller
		if err := d.UnmarshalBinary(again); err != nil || d != c {
			t.Fatalf("re-encoding %+v does not decode to itself: %+v, %v", c, d, err)
		}
	})
}
