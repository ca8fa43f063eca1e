package control

import (
	"math"
	"testing"

	"github.com/rcc-games/rcc/pkg/world"
)

func TestControllerFollowsTheCameraHeading(t *testing.T) {
	tests := []struct {
		name   string
		in     Input
		yaw    float32
		wx, wz float32 // world direction expected from Controller.WorldMove
	}{
		{"forward at yaw 0 goes -Z", Input{Forward: true}, 0, 0, -1},
		{"right at yaw 0 goes +X", Input{Right: true}, 0, 1, 0},
		{"back at yaw 0 goes +Z", Input{Back: true}, 0, 0, 1},
		{"forward turned left a quarter goes -X", Input{Forward: true}, math.Pi / 2, -1, 0},
		{"stick up is forward", Input{StickY: -1}, 0, 0, -1},
		{"opposite keys cancel", Input{Left: true, Right: true}, 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Controller(tt.in, tt.yaw, 0)
			// Through the wire, as a game sees it.
			b, _ := c.MarshalBinary()
			var got world.Controller
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			x, z := got.WorldMove()
			if math.Abs(float64(x-tt.wx)) > 0.02 || math.Abs(float64(z-tt.wz)) > 0.02 {
				t.Fatalf("world move (%.2f, %.2f), want (%.2f, %.2f)", x, z, tt.wx, tt.wz)
			}
		})
	}
}

func TestButtons(t *testing.T) {
	c := Controller(Input{Jump: true, Sprint: true}, 0, 0)
	if c.Buttons != world.ButtonJump|world.ButtonSprint {
		t.Fatalf("buttons %b", c.Buttons)
	}
}

func TestSenderSendsChangesOnly(t *testing.T) {
	var s Sender
	c := Controller(Input{}, 0, 0)
	if !s.Changed(c) {
		t.Fatal("the first input is not a change")
	}
	if s.Changed(c) {
		t.Fatal("the same input again is a change")
	}
	c.Yaw += 1e-6 // below one encoded step
	if s.Changed(c) {
		t.Fatal("a yaw change below one step is a change")
	}
	c.Yaw += 0.01
	if !s.Changed(c) {
		t.Fatal("a yaw change is not a change")
	}
	if !s.Changed(Controller(Input{Jump: true}, c.Yaw, 0)) {
		t.Fatal("a jump is not a change")
	}
}

func TestAxisDeadZone(t *testing.T) {
	for _, tc := range []struct{ in, want float32 }{
		{0, 0}, {0.1, 0}, {-0.14, 0}, {1, 1}, {-1, -1}, {float32(math.NaN()), 0},
		{DeadZone + (1-DeadZone)/2, 0.5},
	} {
		if got := Axis(tc.in); math.Abs(float64(got-tc.want)) > 1e-5 {
			t.Errorf("Axis(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
