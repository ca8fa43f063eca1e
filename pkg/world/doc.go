// Package world is the generic world-state schema of RCC and its binary
// codec. It is public API: games build a Snapshot every tick and serialise
// it (through pkg/sdk), the executor forwards the bytes untouched, and
// clients such as rcc-view decode and render them. It depends on the
// standard library only and builds for every GOOS/GOARCH, wasip1/wasm
// included.
//
// # Model
//
// A Snapshot is one frame of a world: a frame number, a list of entities
// and a list of players. An Entity is a primitive shape (box, sphere,
// cylinder, capsule, plane, cone) with an id, a position, a rotation, a
// scale, a colour and an optional label. A Player is a player id, the id of
// the entity that player controls and the camera follows (0 for none: a
// spectator), and a score.
//
// Coordinates are metres in a right-handed, Y-up system. Every shape is a
// unit shape centred on the entity's position, scaled along its local axes
// by Scale, then rotated by Rotation, then moved to Position:
//
//	box       a cube with edges of length 1 (Scale is the full size)
//	sphere    diameter 1
//	cylinder  axis along Y, diameter 1, height 1
//	capsule   axis along Y, diameter 1, total height 1 including the
//	          hemispherical caps; a renderer may draw it as a capsule of
//	          radius 0.5·max(Scale.X, Scale.Z) and total height Scale.Y
//	plane     a 1×1 square in the XZ plane, visible from +Y
//	cone      axis along Y, base of diameter 1 at y = -0.5, apex at y = +0.5
//
// Colours are 8-bit sRGB with straight alpha (A = 255 is opaque). A label
// is shown as a name tag near its entity. Entity ids identify an entity
// across frames (for interpolation); they are nonzero, and a game should
// not reuse one for a different object within an instance.
//
// # Wire format, version 1
//
// All integers are little-endian; f32 is an IEEE 754 binary32 stored as its
// bit pattern (u32). Strings are UTF-8 with a u8 byte length and no
// terminator. There is no padding and no alignment. An encoded snapshot is
// a header, then the entity records, then the player records, and nothing
// after them:
//
//	header (20 bytes)
//	  off size type     field
//	  0   4    [4]u8    magic, the ASCII bytes "RCCW" (52 43 43 57)
//	  4   2    u16      version, 1
//	  6   2    u16      flags, 0 (reserved)
//	  8   8    u64      frame
//	  16  2    u16      entity count E, at most 16384
//	  18  2    u16      player count P, at most 1024
//
//	entity record (50 bytes + label), E times
//	  0   4    u32      id, nonzero
//	  4   1    u8       shape: 1 box, 2 sphere, 3 cylinder, 4 capsule,
//	                    5 plane, 6 cone
//	  5   1    u8       label length L, at most 128
//	  6   12   3×f32    position x, y, z
//	  18  16   4×f32    rotation quaternion x, y, z, w
//	  34  12   3×f32    scale x, y, z
//	  46  4    4×u8     colour r, g, b, a
//	  50  L    [L]u8    label, UTF-8 (L = 0: no label)
//
//	player record (9 bytes + id), P times
//	  0   4    u32      entity id the player follows, 0 for none
//	  4   4    i32      score (two's complement)
//	  8   1    u8       player id length N, 1 to 128
//	  9   N    [N]u8    player id, UTF-8
//
// A decoder must refuse, rather than guess at: input shorter than what the
// header and the records announce, a wrong magic, a version other than 1,
// nonzero flags, counts or lengths over their limits, entity id 0, an
// unknown shape, an empty player id, a label or player id that is not
// valid UTF-8, and any byte after the last player record. Because every
// field has exactly one encoding, a snapshot that decodes re-encodes to the
// same bytes. Floats are carried as they are: senders should send finite
// values and unit quaternions; receivers should cope with anything else
// (for example by skipping the entity). Any change to this layout, new
// shapes included, comes with a new version number.
//
// The largest valid snapshot is MaxEncodedLen bytes (3,056,660); hosts
// may impose a smaller limit on the state a game produces.
//
// # Allocation
//
// Snapshot.AppendBinary appends to a caller's buffer, and
// Snapshot.UnmarshalBinary reuses the snapshot's slices and unchanged
// strings, so a game encoding every tick and a client decoding every frame
// allocate nothing in steady state.
package world
