// Package control turns what a player holds (keys, a gamepad's sticks and
// buttons) and the camera's heading into the standard controller input,
// world.Controller, in pure Go, and tells when it changed so that a client
// sends changes only. It is the daemon's insides of rcc-view, not public
// API.
package control

import (
	"math"

	"github.com/rcc-games/rcc/pkg/geom"
	"github.com/rcc-games/rcc/pkg/world"
)

// Input is what is held this frame.
type Input struct {
	// Forward, Back, Left, Right, Up and Down are movement keys (W S A D
	// or the arrows; Up and Down fly a spectator).
	Forward, Back, Left, Right, Up, Down bool
	// Jump, Sprint, Crouch, Primary, Secondary and Use are the buttons.
	Jump, Sprint, Crouch, Primary, Secondary, Use bool
	// StickX and StickY are a gamepad's left stick, -1..1, x to the
	// right and y down (as GLFW reports it), dead zone already applied.
	StickX, StickY float32
}

// DeadZone is the stick deflection below which a gamepad axis reads 0.
const DeadZone = 0.15

// Axis applies the dead zone to a stick axis and rescales the rest to
// -1..1.
func Axis(v float32) float32 {
	a := float32(math.Abs(float64(v)))
	if a < DeadZone || v != v {
		return 0
	}
	s := min((a-DeadZone)/(1-DeadZone), 1)
	if v < 0 {
		return -s
	}
	return s
}

// Move returns the movement axes of in: x strafes right, y rises, z goes
// forward, each -1..1; a stick adds to the keys.
func Move(in Input) geom.Vec3 {
	var m geom.Vec3
	if in.Forward {
		m.Z++
	}
	if in.Back {
		m.Z--
	}
	if in.Right {
		m.X++
	}
	if in.Left {
		m.X--
	}
	if in.Up {
		m.Y++
	}
	if in.Down {
		m.Y--
	}
	m.X = max(-1, min(1, m.X+in.StickX))
	m.Z = max(-1, min(1, m.Z-in.StickY))
	return m
}

// Controller returns the controller input for in with the camera's yaw
// and pitch.
func Controller(in Input, yaw, pitch float32) world.Controller {
	m := Move(in)
	c := world.Controller{MoveX: m.X, MoveY: m.Y, MoveZ: m.Z, Yaw: yaw, Pitch: pitch}
	for _, b := range []struct {
		held bool
		bit  world.Buttons
	}{
		{in.Jump, world.ButtonJump}, {in.Primary, world.ButtonPrimary},
		{in.Secondary, world.ButtonSecondary}, {in.Crouch, world.ButtonCrouch},
		{in.Sprint, world.ButtonSprint}, {in.Use, world.ButtonUse},
	} {
		if b.held {
			c.Buttons |= b.bit
		}
	}
	return c
}

// Sender remembers the last controller input sent. The zero value has
// sent nothing.
type Sender struct {
	last [world.ControllerSize]byte
	sent bool
}

// Changed reports whether c encodes differently from the last input
// Changed accepted, and if so remembers it: the caller then sends c. Two
// inputs that encode alike (a yaw change below one step of 2π/65536) are
// the same input.
func (s *Sender) Changed(c world.Controller) bool {
	var b [world.ControllerSize]byte
	enc, _ := c.AppendBinary(b[:0])
	if s.sent && [world.ControllerSize]byte(enc) == s.last {
		return false
	}
	s.last = [world.ControllerSize]byte(enc)
	s.sent = true
	return true
}
