//! The world snapshot: the generic state of a game that rcc-view renders
//! with no game-specific code. The wire format (version 1, little-endian)
//! is the one of pkg/world, byte for byte; docs/world.md describes it and
//! this crate's tests check it against pkg/world/testdata/TestGolden.golden.

use std::fmt;

/// MAGIC is the first four bytes of every encoded snapshot.
pub const MAGIC: &[u8; 4] = b"RCCW";
/// VERSION is the wire format version this module writes and reads.
pub const VERSION: u16 = 1;
/// The largest number of entities in a snapshot.
pub const MAX_ENTITIES: usize = 16384;
/// The largest number of players in a snapshot.
pub const MAX_PLAYERS: usize = 1024;
/// The longest entity label, in bytes.
pub const MAX_LABEL_LEN: usize = 128;
/// The longest player id, in bytes.
pub const MAX_PLAYER_ID_LEN: usize = 128;
/// The size of the fixed header, in bytes.
pub const HEADER_SIZE: usize = 20;
/// The size of an entity record without its label.
pub const ENTITY_SIZE: usize = 50;
/// The size of a player record without its id.
pub const PLAYER_SIZE: usize = 9;

/// Shape is the primitive an entity is drawn as, each a unit shape centred
/// on the entity's position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Shape {
    /// A cube with edges of length 1.
    Box = 1,
    /// A sphere of diameter 1.
    Sphere = 2,
    /// A cylinder along Y, diameter 1, height 1.
    Cylinder = 3,
    /// A capsule along Y, diameter 1, total height 1.
    Capsule = 4,
    /// A 1×1 square in the XZ plane facing +Y.
    Plane = 5,
    /// A cone along Y, base diameter 1 at y = -0.5, apex at y = 0.5.
    Cone = 6,
}

impl Shape {
    fn from_u8(b: u8) -> Option<Shape> {
        Some(match b {
            1 => Shape::Box,
            2 => Shape::Sphere,
            3 => Shape::Cylinder,
            4 => Shape::Capsule,
            5 => Shape::Plane,
            6 => Shape::Cone,
            _ => return None,
        })
    }
}

/// A 3D vector in metres, right-handed, Y up.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Vec3 {
    pub x: f32,
    pub y: f32,
    pub z: f32,
}

impl Vec3 {
    /// Returns the vector (x, y, z).
    pub const fn new(x: f32, y: f32, z: f32) -> Vec3 {
        Vec3 { x, y, z }
    }
}

/// A rotation quaternion (x, y, z imaginary parts, w real part).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quat {
    pub x: f32,
    pub y: f32,
    pub z: f32,
    pub w: f32,
}

impl Quat {
    /// The rotation that does not rotate.
    pub const IDENTITY: Quat = Quat { x: 0.0, y: 0.0, z: 0.0, w: 1.0 };
}

impl Default for Quat {
    fn default() -> Quat {
        Quat::IDENTITY
    }
}

/// An 8-bit sRGB colour with straight alpha; a = 255 is opaque.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Color {
    pub r: u8,
    pub g: u8,
    pub b: u8,
    pub a: u8,
}

impl Color {
    /// Returns the colour (r, g, b, a).
    pub const fn rgba(r: u8, g: u8, b: u8, a: u8) -> Color {
        Color { r, g, b, a }
    }
}

/// One visible object of the world.
#[derive(Clone, Debug, PartialEq)]
pub struct Entity {
    /// Identifies the entity across frames; nonzero.
    pub id: u32,
    pub shape: Shape,
    /// The centre of the shape, in metres.
    pub position: Vec3,
    pub rotation: Quat,
    /// Multiplies the unit shape along its local axes.
    pub scale: Vec3,
    pub color: Color,
    /// Optional UTF-8 text shown near the entity; at most MAX_LABEL_LEN bytes.
    pub label: String,
}

/// What the world says about one player.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Player {
    /// The player's id as the host gave it (1 to MAX_PLAYER_ID_LEN bytes).
    pub id: String,
    /// The entity the player controls, or 0 for a spectator.
    pub entity: u32,
    pub score: i32,
}

/// The state of a world at one frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub frame: u64,
    pub entities: Vec<Entity>,
    pub players: Vec<Player>,
}

/// WorldError says why a snapshot cannot be encoded or decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorldError {
    /// The input ended before the snapshot did.
    Truncated(String),
    /// The input does not start with MAGIC.
    Magic,
    /// The snapshot has a version this module does not read.
    Version(u16),
    /// A count or a length is over its limit.
    Limit(String),
    /// A field has a value the format does not allow.
    Invalid(String),
}

impl fmt::Display for WorldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorldError::Truncated(s) => write!(f, "world: {s}: truncated snapshot"),
            WorldError::Magic => write!(f, "world: not a world snapshot (bad magic)"),
            WorldError::Version(v) => write!(f, "world: version {v}, this decoder reads {VERSION}: unsupported snapshot version"),
            WorldError::Limit(s) => write!(f, "world: {s}: snapshot limit exceeded"),
            WorldError::Invalid(s) => write!(f, "world: {s}: invalid snapshot"),
        }
    }
}

impl std::error::Error for WorldError {}

impl Snapshot {
    /// Empties the snapshot for reuse, keeping its vectors' capacity.
    pub fn reset(&mut self) {
        self.frame = 0;
        self.entities.clear();
        self.players.clear();
    }

    /// Returns the exact number of bytes append_binary appends.
    pub fn encoded_len(&self) -> usize {
        HEADER_SIZE
            + self.entities.iter().map(|e| ENTITY_SIZE + e.label.len()).sum::<usize>()
            + self.players.iter().map(|p| PLAYER_SIZE + p.id.len()).sum::<usize>()
    }

    /// Reports whether the snapshot can be encoded: counts and lengths
    /// within the limits, nonzero entity ids, nonempty player ids.
    pub fn validate(&self) -> Result<(), WorldError> {
        if self.entities.len() > MAX_ENTITIES {
            return Err(WorldError::Limit(format!("{} entities, more than {MAX_ENTITIES}", self.entities.len())));
        }
        if self.players.len() > MAX_PLAYERS {
            return Err(WorldError::Limit(format!("{} players, more than {MAX_PLAYERS}", self.players.len())));
        }
        for (i, e) in self.entities.iter().enumerate() {
            if e.id == 0 {
                return Err(WorldError::Invalid(format!("entity {i}: id 0")));
            }
            if e.label.len() > MAX_LABEL_LEN {
                return Err(WorldError::Limit(format!(
                    "entity {i} (id {}): label of {} bytes, more than {MAX_LABEL_LEN}",
                    e.id,
                    e.label.len()
                )));
            }
        }
        for (i, p) in self.players.iter().enumerate() {
            if p.id.is_empty() {
                return Err(WorldError::Invalid(format!("player {i}: empty id")));
            }
            if p.id.len() > MAX_PLAYER_ID_LEN {
                return Err(WorldError::Limit(format!(
                    "player {i}: id of {} bytes, more than {MAX_PLAYER_ID_LEN}",
                    p.id.len()
                )));
            }
        }
        Ok(())
    }

    /// Appends the encoding of the snapshot to dst. When the snapshot is
    /// not valid, dst is unchanged and the error says why.
    pub fn append_binary(&self, dst: &mut Vec<u8>) -> Result<(), WorldError> {
        self.validate()?;
        dst.reserve(self.encoded_len());
        dst.extend_from_slice(MAGIC);
        dst.extend_from_slice(&VERSION.to_le_bytes());
        dst.extend_from_slice(&0u16.to_le_bytes());
        dst.extend_from_slice(&self.frame.to_le_bytes());
        dst.extend_from_slice(&(self.entities.len() as u16).to_le_bytes());
        dst.extend_from_slice(&(self.players.len() as u16).to_le_bytes());
        for e in &self.entities {
            dst.extend_from_slice(&e.id.to_le_bytes());
            dst.push(e.shape as u8);
            dst.push(e.label.len() as u8);
            for f in [
                e.position.x, e.position.y, e.position.z,
                e.rotation.x, e.rotation.y, e.rotation.z, e.rotation.w,
                e.scale.x, e.scale.y, e.scale.z,
            ] {
                dst.extend_from_slice(&f.to_le_bytes());
            }
            dst.extend_from_slice(&[e.color.r, e.color.g, e.color.b, e.color.a]);
            dst.extend_from_slice(e.label.as_bytes());
        }
        for p in &self.players {
            dst.extend_from_slice(&p.entity.to_le_bytes());
            dst.extend_from_slice(&p.score.to_le_bytes());
            dst.push(p.id.len() as u8);
            dst.extend_from_slice(p.id.as_bytes());
        }
        Ok(())
    }

    /// Returns the encoding of the snapshot.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WorldError> {
        let mut b = Vec::with_capacity(self.encoded_len());
        self.append_binary(&mut b)?;
        Ok(b)
    }

    /// Parses one encoded snapshot; trailing bytes are an error. It never
    /// panics.
    pub fn decode(data: &[u8]) -> Result<Snapshot, WorldError> {
        if data.len() >= 4 && &data[..4] != MAGIC {
            return Err(WorldError::Magic);
        }
        if data.len() < HEADER_SIZE {
            return Err(WorldError::Truncated(format!("header: {} of {HEADER_SIZE} bytes", data.len())));
        }
        let u16at = |o: usize| u16::from_le_bytes([data[o], data[o + 1]]);
        let u32at = |o: usize| u32::from_le_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]);
        let f32at = |o: usize| f32::from_bits(u32at(o));
        let v = u16at(4);
        if v != VERSION {
            return Err(WorldError::Version(v));
        }
        if u16at(6) != 0 {
            return Err(WorldError::Invalid(format!("header flags {:#06x}, must be 0", u16at(6))));
        }
        let mut frame = [0; 8];
        frame.copy_from_slice(&data[8..16]);
        let (ne, np) = (u16at(16) as usize, u16at(18) as usize);
        if ne > MAX_ENTITIES {
            return Err(WorldError::Limit(format!("{ne} entities, more than {MAX_ENTITIES}")));
        }
        if np > MAX_PLAYERS {
            return Err(WorldError::Limit(format!("{np} players, more than {MAX_PLAYERS}")));
        }
        let need = HEADER_SIZE + ne * ENTITY_SIZE + np * (PLAYER_SIZE + 1);
        if data.len() < need {
            return Err(WorldError::Truncated(format!(
                "{ne} entities and {np} players need at least {need} bytes, have {}",
                data.len()
            )));
        }
        let mut s = Snapshot { frame: u64::from_le_bytes(frame), entities: Vec::with_capacity(ne), players: Vec::with_capacity(np) };
        let mut off = HEADER_SIZE;
        let text = |b: &[u8], what: String| String::from_utf8(b.to_vec()).map_err(|_| WorldError::Invalid(format!("{what}: not UTF-8")));
        for i in 0..ne {
            if data.len() - off < ENTITY_SIZE {
                return Err(WorldError::Truncated(format!("entity {i} at offset {off}")));
            }
            let id = u32at(off);
            if id == 0 {
                return Err(WorldError::Invalid(format!("entity {i} at offset {off}: id 0")));
            }
            let shape = Shape::from_u8(data[off + 4])
                .ok_or_else(|| WorldError::Invalid(format!("entity {i} (id {id}) at offset {off}: unknown shape({})", data[off + 4])))?;
            let n = data[off + 5] as usize;
            if n > MAX_LABEL_LEN {
                return Err(WorldError::Limit(format!("entity {i} (id {id}) at offset {off}: label of {n} bytes, more than {MAX_LABEL_LEN}")));
            }
            let f = |k: usize| f32at(off + 6 + 4 * k);
            let c = &data[off + 46..off + 50];
            let mut e = Entity {
                id,
                shape,
                position: Vec3::new(f(0), f(1), f(2)),
                rotation: Quat { x: f(3), y: f(4), z: f(5), w: f(6) },
                scale: Vec3::new(f(7), f(8), f(9)),
                color: Color::rgba(c[0], c[1], c[2], c[3]),
                label: String::new(),
            };
            off += ENTITY_SIZE;
            if data.len() - off < n {
                return Err(WorldError::Truncated(format!("entity {i} (id {id}) label at offset {off}")));
            }
            e.label = text(&data[off..off + n], format!("entity {i} (id {id}) label at offset {off}"))?;
            off += n;
            s.entities.push(e);
        }
        for i in 0..np {
            if data.len() - off < PLAYER_SIZE {
                return Err(WorldError::Truncated(format!("player {i} at offset {off}")));
            }
            let (entity, score, n) = (u32at(off), u32at(off + 4) as i32, data[off + 8] as usize);
            if n == 0 {
                return Err(WorldError::Invalid(format!("player {i} at offset {off}: empty id")));
            }
            if n > MAX_PLAYER_ID_LEN {
                return Err(WorldError::Limit(format!("player {i} at offset {off}: id of {n} bytes, more than {MAX_PLAYER_ID_LEN}")));
            }
            off += PLAYER_SIZE;
            if data.len() - off < n {
                return Err(WorldError::Truncated(format!("player {i} id at offset {off}")));
            }
            let id = text(&data[off..off + n], format!("player {i} id at offset {off}"))?;
            off += n;
            s.players.push(Player { id, entity, score });
        }
        if off != data.len() {
            return Err(WorldError::Invalid(format!("{} trailing bytes after the snapshot", data.len() - off)));
        }
        Ok(s)
    }
}

/// The first byte of the standard controller input.
pub const CONTROLLER_TAG: u8 = 0xC1;
/// The length in bytes of a controller input.
pub const CONTROLLER_SIZE: usize = 10;

/// Controller is the standard controller input of pkg/world (10 bytes, tag
/// 0xC1), which generic clients such as rcc-view send: movement relative to
/// the player's heading, the heading, the look angle and the buttons.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Controller {
    /// Strafing, -1 (left) to 1 (right).
    pub move_x: f32,
    /// Up and down, -1 to 1.
    pub move_y: f32,
    /// Forward (1) and back (-1).
    pub move_z: f32,
    /// Heading in radians about +Y: 0 looks towards -Z, positive turns left.
    pub yaw: f32,
    /// Look angle in radians, within ±π/2; positive looks up.
    pub pitch: f32,
    /// Buttons held: bit 0 jump, 1 primary, 2 secondary, 3 crouch, 4
    /// sprint, 5 use.
    pub buttons: u16,
}

/// axis reads an int8 axis (-127..127, -128 counts as -127) as -1..1.
pub fn axis(b: u8) -> f32 {
    (b as i8).max(-127) as f32 / 127.0
}

impl Controller {
    /// Decodes a controller input, or None when b is not one.
    pub fn decode(b: &[u8]) -> Option<Controller> {
        if b.len() != CONTROLLER_SIZE || b[0] != CONTROLLER_TAG {
            return None;
        }
        let unit = 2.0 * std::f64::consts::PI / 65536.0;
        let i16at = |o: usize| i16::from_le_bytes([b[o], b[o + 1]]);
        Some(Controller {
            move_x: axis(b[1]),
            move_y: axis(b[2]),
            move_z: axis(b[3]),
            yaw: (i16at(4) as f64 * unit) as f32,
            pitch: (i16at(6).clamp(-16384, 16384) as f64 * unit) as f32,
            buttons: u16::from_le_bytes([b[8], b[9]]) & 0x3f,
        })
    }

    /// Returns the horizontal movement in world space (x, z): move_x and
    /// move_z turned by yaw, forward at yaw 0 being -Z.
    pub fn world_move(&self) -> (f32, f32) {
        let (s, c) = (self.yaw as f64).sin_cos();
        let (s, c) = (s as f32, c as f32);
        (self.move_x * c - self.move_z * s, -self.move_x * s - self.move_z * c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_controller_input() {
        // Forward at yaw +90° (a quarter turn left: 16384 units) runs
        // towards -X; the encoding is pkg/world's Controller.AppendBinary.
        let c = Controller::decode(&[0xC1, 0, 0, 127, 0x00, 0x40, 0, 0, 1, 0]).unwrap();
        assert_eq!((c.move_z, c.buttons), (1.0, 1));
        let (x, z) = c.world_move();
        assert!((x + 1.0).abs() < 1e-6 && z.abs() < 1e-6, "({x}, {z})");
        assert_eq!(Controller::decode(&[0xC2, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(Controller::decode(&[0xC1, 0, 0]), None);
    }

    /// The golden snapshot of pkg/world's codec_test.go, field for field.
    fn golden() -> Snapshot {
        let e = |id, shape, p: [f32; 3], r: Quat, s: [f32; 3], c: [u8; 4], label: &str| Entity {
            id,
            shape,
            position: Vec3::new(p[0], p[1], p[2]),
            rotation: r,
            scale: Vec3::new(s[0], s[1], s[2]),
            color: Color::rgba(c[0], c[1], c[2], c[3]),
            label: label.into(),
        };
        let id = Quat::IDENTITY;
        Snapshot {
            frame: 0x0102030405060708,
            entities: vec![
                e(1, Shape::Plane, [0.0, 0.0, 0.0], id, [40.0, 1.0, 40.0], [90, 90, 100, 255], ""),
                e(2, Shape::Box, [-20.5, 1.0, 0.0], id, [1.0, 2.0, 42.0], [60, 60, 70, 255], ""),
                e(16, Shape::Sphere, [3.25, 1.5, -7.0], id, [0.6, 0.6, 0.6], [255, 200, 0, 255], ""),
                e(1000, Shape::Capsule, [1.0, 0.9, 2.0], Quat { x: 0.0, y: 0.70710677, z: 0.0, w: 0.70710677 }, [1.0, 1.8, 1.0], [230, 60, 60, 255], "alice"),
                e(1001, Shape::Cylinder, [-1.0, 0.5, -2.0], id, [1.0, 1.0, 1.0], [60, 200, 60, 128], "bö"),
                e(1002, Shape::Cone, [0.0, 0.5, 0.0], id, [1.0, 1.0, 1.0], [1, 2, 3, 4], ""),
            ],
            players: vec![
                Player { id: "alice".into(), entity: 1000, score: 3 },
                Player { id: "bö".into(), entity: 1001, score: -1 },
                Player { id: "watcher".into(), entity: 0, score: 0 },
            ],
        }
    }

    const GOLDEN: &[u8] = include_bytes!("../../../../pkg/world/testdata/TestGolden.golden");

    #[test]
    fn encodes_the_golden_snapshot_of_pkg_world() {
        let s = golden();
        let b = s.to_bytes().unwrap();
        assert_eq!(b.len(), s.encoded_len());
        assert_eq!(b, GOLDEN, "the encoding differs from pkg/world/testdata/TestGolden.golden");
    }

    #[test]
    fn decodes_the_golden_snapshot_of_pkg_world() {
        assert_eq!(Snapshot::decode(GOLDEN).unwrap(), golden());
    }

    #[test]
    fn rejects_bad_input() {
        let mut bad_shape = GOLDEN.to_vec();
        bad_shape[HEADER_SIZE + 4] = 7;
        let mut trailing = GOLDEN.to_vec();
        trailing.push(0);
        for (name, input, want) in [
            ("short", &GOLDEN[..10], "truncated"),
            ("magic", &b"XXXX\x01\x00"[..], "bad magic"),
            ("cut", &GOLDEN[..GOLDEN.len() - 1], "truncated"),
            ("shape", &bad_shape[..], "unknown shape(7)"),
            ("trailing", &trailing[..], "trailing"),
        ] {
            let err = Snapshot::decode(input).unwrap_err().to_string();
            assert!(err.contains(want), "{name}: {err}, want {want}");
        }
        let mut s = golden();
        s.entities[0].id = 0;
        let mut dst = vec![1, 2];
        assert!(matches!(s.append_binary(&mut dst), Err(WorldError::Invalid(_))));
        assert_eq!(dst, [1, 2], "a failed encode changed dst");
    }
}
