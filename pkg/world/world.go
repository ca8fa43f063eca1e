package world

import "fmt"

// Shape is the kind of primitive an Entity is drawn as. Every shape is a unit
// shape centred on the entity's position; see the package documentation for
// the exact geometry of each one.
type Shape uint8

// The shapes of wire format version 1. The zero value is not a shape: an
// entity must name one of these.
const (
	// ShapeBox is a cube with edges of length 1.
	ShapeBox Shape = 1
	// ShapeSphere is a sphere of diameter 1.
	ShapeSphere Shape = 2
	// ShapeCylinder is a cylinder along Y, diameter 1, height 1.
	ShapeCylinder Shape = 3
	// ShapeCapsule is a capsule along Y, diameter 1, total height 1
	// (hemispherical caps included).
	ShapeCapsule Shape = 4
	// ShapePlane is a 1×1 square in the XZ plane facing +Y.
	ShapePlane Shape = 5
	// ShapeCone is a cone along Y, base diameter 1 at y = -0.5, apex at y = 0.5.
	ShapeCone Shape = 6

	maxShape = ShapeCone
)

var shapeNames = [...]string{
	ShapeBox:      "box",
	ShapeSphere:   "sphere",
	ShapeCylinder: "cylinder",
	ShapeCapsule:  "capsule",
	ShapePlane:    "plane",
	ShapeCone:     "cone",
}

// Valid reports whether s is one of the shapes of this version.
func (s Shape) Valid() bool { return s >= ShapeBox && s <= maxShape }

// String returns the lowercase name of the shape, or "shape(N)" for an
// unknown value.
func (s Shape) String() string {
	if s.Valid() {
		return shapeNames[s]
	}
	return fmt.Sprintf("shape(%d)", uint8(s))
}

// Vec3 is a 3D vector in metres, in a right-handed, Y-up coordinate system.
type Vec3 struct {
	X, Y, Z float32
}

// Quat is a rotation quaternion (x, y, z imaginary parts, w real part).
// Senders should keep it normalised; receivers should normalise it before use.
type Quat struct {
	X, Y, Z, W float32
}

// Identity is the quaternion of no rotation.
var Identity = Quat{W: 1}

// Color is an 8-bit-per-channel sRGB colour with straight (not
// premultiplied) alpha; A = 255 is opaque.
type Color struct {
	R, G, B, A uint8
}

// Entity is one visible object of the world.
type Entity struct {
	// ID identifies the entity across frames. It is nonzero; 0 means
	// "no entity" in Player.Entity.
	ID uint32
	// Shape is the primitive the entity is drawn as.
	Shape Shape
	// Position is the centre of the shape, in metres.
	Position Vec3
	// Rotation orients the shape around its centre.
	Rotation Quat
	// Scale multiplies the unit shape along its local axes before rotation.
	Scale Vec3
	// Color is the entity's colour.
	Color Color
	// Label is an optional UTF-8 text shown near the entity (a name tag).
	// Empty means no label. At most MaxLabelLen bytes.
	Label string
}

// Player is what the world says about one player of the instance.
type Player struct {
	// ID is the player's id, as the host gave it to the game (UTF-8,
	// 1 to MaxPlayerIDLen bytes).
	ID string
	// Entity is the id of the entity the player controls and the camera
	// follows, or 0 when the player has none (a spectator).
	Entity uint32
	// Score is the player's score.
	Score int32
}

// Snapshot is the state of a world at one frame: what a game serialises
// every tick and what a client renders.
type Snapshot struct {
	// Frame is the game's frame counter.
	Frame uint64
	// Entities are the visible objects, in the order the game chose
	// (clients draw them in this order).
	Entities []Entity
	// Players are the players of the instance, in the order the game chose.
	Players []Player
}

// Reset empties s for reuse, keeping the capacity of its slices.
func (s *Snapshot) Reset() {
	s.Frame = 0
	clear(s.Entities)
	s.Entities = s.Entities[:0]
	clear(s.Players)
	s.Players = s.Players[:0]
}

// Entity returns a pointer to the entity with the given id, or nil. It
// searches linearly.
func (s *Snapshot) Entity(id uint32) *Entity {
	for i := range s.Entities {
		if s.Entities[i].ID == id {
			return &s.Entities[i]
		}
	}
	return nil
}

// Player returns a pointer to the player with the given id, or nil. It
// searches linearly.
func (s *Snapshot) Player(id string) *Player {
	for i := range s.Players {
		if s.Players[i].ID == id {
			return &s.Players[i]
		}
	}
	return nil
}
