//! The Rust implementation of the conformance game of docs/conformance.md;
//! games/conform-go is the reference.

use rcc_sdk::world::{Color, Entity, Player, Quat, Shape, Snapshot, Vec3};
use rcc_sdk::{Config, Game};

const MAX_LISTED: usize = 64;

struct Listed {
    id: String,
    entity: u32,
    score: i32,
    x: i32,
    z: i32,
}

#[derive(Default)]
struct Conform {
    seed: u64,
    max_players: usize,
    players: Vec<Listed>,
    avatars: u32,
    frame: u64,
    t: f32,
    snap: Snapshot,
}

impl Game for Conform {
    fn init(&mut self, cfg: &Config) -> Result<(), String> {
        self.seed = cfg.seed;
        self.max_players = (cfg.max_players as usize).min(MAX_LISTED);
        if self.max_players == 0 {
            self.max_players = 4;
        }
        Ok(())
    }

    fn join(&mut self, id: &str) {
        if self.players.iter().any(|p| p.id == id) || self.players.len() == MAX_LISTED {
            return;
        }
        let mut p = Listed { id: id.into(), entity: 0, score: 0, x: 0, z: 0 };
        if self.players.iter().filter(|p| p.entity != 0).count() < self.max_players {
            p.entity = 100 + self.avatars;
            p.x = self.avatars as i32;
            p.z = (self.seed % 5) as i32;
            self.avatars += 1;
        }
        self.players.push(p);
    }

    fn leave(&mut self, id: &str) {
        self.players.retain(|p| p.id != id);
    }

    fn input(&mut self, id: &str, data: &[u8]) {
        let Some(p) = self.players.iter_mut().find(|p| p.id == id) else { return };
        let Some(&b) = data.first() else { return };
        match b {
            b'L' => p.x -= 1,
            b'R' => p.x += 1,
            b'U' => p.z -= 1,
            b'D' => p.z += 1,
            _ => {
                p.score -= 1;
                return;
            }
        }
        p.score += 1;
    }

    fn tick(&mut self, dt: f32) {
        self.frame += 1;
        self.t += dt;
    }

    fn state(&mut self, dst: &mut Vec<u8>) -> Result<(), String> {
        let s = &mut self.snap;
        s.reset();
        s.frame = self.frame;
        s.entities.push(Entity {
            id: 1,
            shape: Shape::Box,
            position: Vec3::new(self.t, (self.seed % 1000) as f32, -1.5),
            rotation: Quat { x: 0.0, y: 0.70710677, z: 0.0, w: 0.70710677 },
            scale: Vec3::new(0.5, 0.25, 2.0),
            color: Color::rgba(self.seed as u8, (self.seed >> 8) as u8, (self.seed >> 16) as u8, 255),
            label: "conform".into(),
        });
        for p in self.players.iter().filter(|p| p.entity != 0) {
            s.entities.push(Entity {
                id: p.entity,
                shape: Shape::Capsule,
                position: Vec3::new(p.x as f32, 0.5, p.z as f32),
                rotation: Quat::IDENTITY,
                scale: Vec3::new(1.0, 2.0, 1.0),
                color: Color::rgba(0, 128, 255, 255),
                label: p.id.clone(),
            });
        }
        for p in &self.players {
            s.players.push(Player { id: p.id.clone(), entity: p.entity, score: p.score });
        }
        s.append_binary(dst).map_err(|e| e.to_string())
    }
}

rcc_sdk::export_game!(Conform::default());
