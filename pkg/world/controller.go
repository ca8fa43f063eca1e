package world

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ControllerTag is the first byte of a controller input: the kind
// (controller) and its layout version (1).
const ControllerTag = 0xC1

// ErrController means bytes are not a controller input of this layout.
var ErrController = errors.New("not a controller input")

// ControllerSize is the length in bytes of an encoded controller input.
const ControllerSize = 10

// Buttons is the bitfield of a controller's buttons.
type Buttons uint16

// The buttons of layout version 1; the other bits are reserved (sent as 0,
// ignored by receivers).
const (
	ButtonJump Buttons = 1 << iota
	ButtonPrimary
	ButtonSecondary
	ButtonCrouch
	ButtonSprint
	ButtonUse

	buttonsKnown = ButtonUse<<1 - 1
)

// Controller is the standard controller input: what a gamepad or keyboard
// and mouse say, in a fixed 10-byte layout any game may accept as an input
// message. Movement axes are relative to the player's heading (Yaw), so a
// client sends what the player pressed and the game turns it into world
// space with WorldMove.
type Controller struct {
	// MoveX is strafing, -1 (left) to 1 (right); MoveY is up and down
	// (for flying or swimming games), -1 to 1; MoveZ is forward (1) and
	// back (-1).
	MoveX, MoveY, MoveZ float32
	// Yaw is the heading in radians about +Y: 0 looks towards -Z, and a
	// positive yaw turns left (counter-clockwise seen from above).
	Yaw float32
	// Pitch is the look angle in radians: positive looks up; it is
	// carried within ±π/2.
	Pitch float32
	// Buttons are the buttons held.
	Buttons Buttons
}

// angleUnit is one step of an encoded angle: 2π/65536 radians.
const angleUnit = 2 * math.Pi / 65536

// AppendBinary appends the encoding of c to dst:
//
//	off size type  field
//	0   1    u8    tag 0xC1 (controller, layout version 1)
//	1   1    i8    move x, -127..127 (+ right)
//	2   1    i8    move y, -127..127 (+ up)
//	3   1    i8    move z, -127..127 (+ forward)
//	4   2    i16   yaw, in units of 2π/65536 (0 looks towards -Z, + turns left)
//	6   2    i16   pitch, likewise, -16384..16384 (+ looks up)
//	8   2    u16   buttons: bit 0 jump, 1 primary, 2 secondary, 3 crouch,
//	               4 sprint, 5 use; bits 6-15 reserved (0)
//
// Axes are clamped to [-1, 1], the yaw wrapped to one turn, the pitch
// clamped to ±π/2 and NaN sent as 0, so every Controller encodes.
func (c Controller) AppendBinary(dst []byte) ([]byte, error) {
	var b [ControllerSize]byte
	b[0] = ControllerTag
	b[1] = byte(encodeAxis(c.MoveX))
	b[2] = byte(encodeAxis(c.MoveY))
	b[3] = byte(encodeAxis(c.MoveZ))
	binary.LittleEndian.PutUint16(b[4:], uint16(encodeYaw(c.Yaw)))
	binary.LittleEndian.PutUint16(b[6:], uint16(encodePitch(c.Pitch)))
	binary.LittleEndian.PutUint16(b[8:], uint16(c.Buttons&buttonsKnown))
	return append(dst, b[:]...), nil
}

// MarshalBinary returns the encoding of c (see AppendBinary).
func (c Controller) MarshalBinary() ([]byte, error) { return c.AppendBinary(nil) }

// UnmarshalBinary decodes a controller input. It refuses a length other than
// ControllerSize or a first byte other than ControllerTag (errors wrapping
// ErrController), so a game can tell a controller from its own input formats;
// an axis of -128 reads as -1, a pitch past ±16384 is clamped and reserved
// buttons are ignored.
func (c *Controller) UnmarshalBinary(b []byte) error {
	if len(b) != ControllerSize {
		return fmt.Errorf("controller input of %d bytes, want %d: %w", len(b), ControllerSize, ErrController)
	}
	if b[0] != ControllerTag {
		return fmt.Errorf("controller input tag 0x%02x, want 0x%02x: %w", b[0], ControllerTag, ErrController)
	}
	pitch := int16(binary.LittleEndian.Uint16(b[6:]))
	pitch = max(min(pitch, 16384), -16384)
	*c = Controller{
		MoveX:   decodeAxis(int8(b[1])),
		MoveY:   decodeAxis(int8(b[2])),
		MoveZ:   decodeAxis(int8(b[3])),
		Yaw:     float32(float64(int16(binary.LittleEndian.Uint16(b[4:]))) * angleUnit),
		Pitch:   float32(float64(pitch) * angleUnit),
		Buttons: Buttons(binary.LittleEndian.Uint16(b[8:])) & buttonsKnown,
	}
	return nil
}

// WorldMove returns the horizontal movement in world space: MoveX and MoveZ
// turned by Yaw, as x and z components (forward at yaw 0 is -Z). Its length
// is that of (MoveX, MoveZ), at most √2; a game normalises it if it wants
// diagonal movement no faster than straight.
func (c Controller) WorldMove() (x, z float32) {
	s, co := math.Sincos(float64(c.Yaw))
	sin, cos := float32(s), float32(co)
	// forward = (-sin, -cos), right = (cos, -sin)
	x = c.MoveX*cos - c.MoveZ*sin
	z = -c.MoveX*sin - c.MoveZ*cos
	return x, z
}

func encodeAxis(v float32) int8 {
	if !(v == v) { // NaN
		return 0
	}
	v = max(min(v, 1), -1)
	return int8(math.Round(float64(v) * 127))
}

func decodeAxis(v int8) float32 {
	if v == math.MinInt8 {
		v = -math.MaxInt8
	}
	return float32(v) / math.MaxInt8
}

func encodeYaw(a float32) int16 {
	if !(a == a) || math.IsInf(float64(a), 0) {
		return 0
	}
	turns := float64(a) / (2 * math.Pi)
	turns -= math.Floor(turns)                                  // [0, 1)
	return int16(uint16(int(math.Round(turns*65536)) & 0xffff)) // a full turn wraps to 0
}

func encodePitch(a float32) int16 {
	if !(a == a) {
		return 0
	}
	u := math.Round(float64(a) / angleUnit)
	return int16(max(min(u, 16384), -16384))
}
