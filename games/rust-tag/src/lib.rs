//! tag: a small multiplayer game in Rust for RCC. One player is "it"
//! (red); touching another player makes that one it, after a second in
//! which it cannot tag back. Every second a player is not it is a point.
//! Spawn places are drawn from the instance seed, so the same seed and
//! inputs give the same state bytes.
//!
//! Input: 3 bytes, as arena's: int8 x axis, int8 z axis (-127..127), flags
//! (ignored), or the standard controller input (world.Controller, as
//! rcc-view sends); the latest input holds until the next one. At most MAX
//! players get an avatar; later ones watch until one leaves.
//! State: a world snapshot: the floor (id 1), one capsule per player
//! (ids 100..), labelled with the player id, and the players.

use rcc_sdk::world::{axis, Color, Controller, Entity, Player, Quat, Shape, Snapshot, Vec3};
use rcc_sdk::{Config, Game, Rng};

const MAX: usize = 16;
const HALF: f32 = 10.0;
const SPEED: f32 = 6.0;
const IT_SPEED: f32 = 6.6;
const TOUCH: f32 = 1.0;
const NO_TAG_BACK: f32 = 1.0;

struct Runner {
    id: String,
    entity: u32, // 0 for a watcher
    score: i32,
    free: f32,
    pos: Vec3,
    axis: (f32, f32),
}

#[derive(Default)]
struct Tag {
    rng: Option<Rng>,
    players: Vec<Runner>,
    next_entity: u32,
    it: Option<usize>,
    cooldown: f32,
    frame: u64,
    snap: Snapshot,
}

impl Tag {
    fn spawn(&mut self) -> Vec3 {
        let rng = self.rng.as_mut().expect("init ran");
        let x = rng.range(-HALF + 1.0, HALF - 1.0);
        let z = rng.range(-HALF + 1.0, HALF - 1.0);
        Vec3::new(x, 0.9, z)
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.players.iter().position(|p| p.id == id)
    }

    fn give_avatar(&mut self, i: usize) {
        self.next_entity += 1;
        let pos = self.spawn();
        let p = &mut self.players[i];
        p.entity = 99 + self.next_entity;
        p.pos = pos;
        if self.it.is_none() {
            self.it = Some(i);
        }
    }
}

impl Game for Tag {
    fn init(&mut self, cfg: &Config) -> Result<(), String> {
        self.rng = Some(Rng::new(cfg.seed));
        Ok(())
    }

    fn join(&mut self, player: &str) {
        if self.find(player).is_some() {
            return;
        }
        self.players.push(Runner { id: player.into(), entity: 0, score: 0, free: 0.0, pos: Vec3::default(), axis: (0.0, 0.0) });
        if self.players.iter().filter(|p| p.entity != 0).count() < MAX {
            self.give_avatar(self.players.len() - 1);
        }
    }

    fn leave(&mut self, player: &str) {
        let Some(i) = self.find(player) else { return };
        let had_avatar = self.players[i].entity != 0;
        self.players.remove(i);
        self.it = match self.it {
            Some(it) if it == i => None,
            Some(it) if it > i => Some(it - 1),
            other => other,
        };
        if had_avatar {
            if let Some(w) = self.players.iter().position(|p| p.entity == 0) {
                self.give_avatar(w);
            }
        }
        if self.it.is_none() {
            self.it = self.players.iter().position(|p| p.entity != 0);
        }
    }

    fn input(&mut self, player: &str, data: &[u8]) {
        let Some(i) = self.find(player) else { return };
        if let Some(c) = Controller::decode(data) {
            self.players[i].axis = c.world_move();
        } else if data.len() == 3 {
            self.players[i].axis = (axis(data[0]), axis(data[1]));
        } // else: clients send arbitrary bytes
    }

    fn tick(&mut self, dt: f32) {
        self.frame += 1;
        self.cooldown = (self.cooldown - dt).max(0.0);
        for (i, p) in self.players.iter_mut().enumerate() {
            if p.entity == 0 {
                continue;
            }
            let speed = if Some(i) == self.it { IT_SPEED } else { SPEED };
            p.pos.x = (p.pos.x + p.axis.0 * speed * dt).clamp(-HALF, HALF);
            p.pos.z = (p.pos.z + p.axis.1 * speed * dt).clamp(-HALF, HALF);
            if Some(i) != self.it {
                p.free += dt;
                if p.free >= 1.0 {
                    p.free -= 1.0;
                    p.score += 1;
                }
            }
        }
        let Some(it) = self.it else { return };
        if self.cooldown > 0.0 {
            return;
        }
        let at = self.players[it].pos;
        let tagged = self.players.iter().enumerate().position(|(i, p)| {
            let (dx, dz) = (p.pos.x - at.x, p.pos.z - at.z);
            i != it && p.entity != 0 && dx * dx + dz * dz < TOUCH * TOUCH
        });
        if let Some(t) = tagged {
            self.it = Some(t);
            self.players[t].free = 0.0;
            self.cooldown = NO_TAG_BACK;
        }
    }

    fn state(&mut self, dst: &mut Vec<u8>) -> Result<(), String> {
        let s = &mut self.snap;
        s.reset();
        s.frame = self.frame;
        s.entities.push(Entity {
            id: 1,
            shape: Shape::Plane,
            position: Vec3::default(),
            rotation: Quat::IDENTITY,
            scale: Vec3::new(2.0 * HALF, 1.0, 2.0 * HALF),
            color: Color::rgba(90, 90, 100, 255),
            label: String::new(),
        });
        for (i, p) in self.players.iter().enumerate() {
            if p.entity != 0 {
                let color = if Some(i) == self.it { Color::rgba(230, 50, 50, 255) } else { Color::rgba(60, 160, 230, 255) };
                s.entities.push(Entity {
                    id: p.entity,
                    shape: Shape::Capsule,
                    position: p.pos,
                    rotation: Quat::IDENTITY,
                    scale: Vec3::new(0.8, 1.8, 0.8),
                    color,
                    label: p.id.clone(),
                });
            }
            s.players.push(Player { id: p.id.clone(), entity: p.entity, score: p.score });
        }
        s.append_binary(dst).map_err(|e| e.to_string())
    }
}

rcc_sdk::export_game!(Tag::default());
