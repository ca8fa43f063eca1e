package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rcc-games/rcc/pkg/world"
)

// arena implements sdk.Upgradable: a running arena keeps its players,
// avatars, scores and orbs across a hot upgrade to a version that reads
// this format, and its random streams too: the new version places the next
// orbs and avatars where the old one would have. (A state saved without
// the streams, by an older build, leaves them where init put them: the
// orbs then respawn at the places the session started with, which its
// players have already run through.)

// savedFormat is the version of the saved state's format.
const savedFormat = 1

type savedState struct {
	Format     int           `json:"format"`
	Frame      uint64        `json:"frame"`
	NextEntity uint32        `json:"next_entity"`
	Players    []savedPlayer `json:"players"`
	Orbs       []savedOrb    `json:"orbs"`
	// SpawnRand is the spawn stream's PCG state (MarshalBinary).
	SpawnRand []byte `json:"spawn_rand,omitempty"`
}

type savedPlayer struct {
	ID        string       `json:"id"`
	Score     int32        `json:"score"`
	Avatar    *savedAvatar `json:"avatar,omitempty"`
	In        [3]float32   `json:"in"` // x, z, jump (0 or 1)
	JumpLatch bool         `json:"jump_latch,omitempty"`
}

type savedAvatar struct {
	Entity   uint32     `json:"entity"`
	Color    [4]uint8   `json:"color"`
	Pos      [3]float32 `json:"pos"`
	Vel      [3]float32 `json:"vel"`
	Grounded bool       `json:"grounded,omitempty"`
	Facing   [4]float32 `json:"facing"`
}

type savedOrb struct {
	Present bool       `json:"present"`
	Pos     [3]float32 `json:"pos"`
	Wait    float32    `json:"wait"`
	// Rand is the orb's stream's PCG state (MarshalBinary).
	Rand []byte `json:"rand,omitempty"`
}

// SaveState implements sdk.Upgradable.
func (g *game) SaveState(dst []byte) ([]byte, error) {
	s := savedState{Format: savedFormat, Frame: g.frame, NextEntity: g.nextEntity}
	var err error
	if s.SpawnRand, err = g.spawnSrc.MarshalBinary(); err != nil {
		return dst, err
	}
	for _, p := range g.players {
		sp := savedPlayer{ID: p.id, Score: p.score, In: [3]float32{p.in.x, p.in.z, 0}, JumpLatch: p.jumpLatch}
		if p.in.jump {
			sp.In[2] = 1
		}
		if a := p.avatar; a != nil {
			sp.Avatar = &savedAvatar{Entity: a.entity, Color: [4]uint8{a.color.R, a.color.G, a.color.B, a.color.A},
				Pos: [3]float32{a.pos.x, a.pos.y, a.pos.z}, Vel: [3]float32{a.vel.x, a.vel.y, a.vel.z},
				Grounded: a.grounded, Facing: [4]float32{a.facing.X, a.facing.Y, a.facing.Z, a.facing.W}}
		}
		s.Players = append(s.Players, sp)
	}
	for _, o := range g.orbs {
		so := savedOrb{Present: o.present, Pos: [3]float32{o.pos.x, o.pos.y, o.pos.z}, Wait: o.wait}
		if so.Rand, err = o.src.MarshalBinary(); err != nil {
			return dst, err
		}
		s.Orbs = append(s.Orbs, so)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// LoadState implements sdk.Upgradable. It runs after Init, which set up
// the arena from the instance's parameters.
func (g *game) LoadState(data []byte) error {
	var s savedState
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("arena: saved state: %w", err)
	}
	if s.Format != savedFormat {
		return fmt.Errorf("arena: saved state of format %d, this version reads %d", s.Format, savedFormat)
	}
	if len(s.Players) > world.MaxPlayers {
		return errors.New("arena: saved state has too many players")
	}
	if len(s.SpawnRand) > 0 {
		if err := g.spawnSrc.UnmarshalBinary(s.SpawnRand); err != nil {
			return fmt.Errorf("arena: saved state: spawn stream: %w", err)
		}
	}
	g.frame, g.nextEntity = s.Frame, s.NextEntity
	g.players, g.byID = nil, make(map[string]*player, len(s.Players))
	for _, sp := range s.Players {
		p := &player{id: sp.ID, score: sp.Score, in: input{x: sp.In[0], z: sp.In[1], jump: sp.In[2] != 0}, jumpLatch: sp.JumpLatch}
		if sa := sp.Avatar; sa != nil {
			p.avatar = &avatar{entity: sa.Entity, color: world.Color{R: sa.Color[0], G: sa.Color[1], B: sa.Color[2], A: sa.Color[3]},
				pos: vec3{sa.Pos[0], sa.Pos[1], sa.Pos[2]}, vel: vec3{sa.Vel[0], sa.Vel[1], sa.Vel[2]}, grounded: sa.Grounded,
				facing: world.Quat{X: sa.Facing[0], Y: sa.Facing[1], Z: sa.Facing[2], W: sa.Facing[3]}}
		}
		g.players = append(g.players, p)
		g.byID[p.id] = p
	}
	for i := range min(len(g.orbs), len(s.Orbs)) {
		o, so := &g.orbs[i], s.Orbs[i]
		if len(so.Rand) > 0 {
			if err := o.src.UnmarshalBinary(so.Rand); err != nil {
				return fmt.Errorf("arena: saved state: orb %d stream: %w", i, err)
			}
		}
		o.present, o.pos, o.wait = so.Present, vec3{so.Pos[0], so.Pos[1], so.Pos[2]}, so.Wait
	}
	return nil
}
