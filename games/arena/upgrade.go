package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rcc-games/rcc/pkg/world"
)

// arena implements sdk.Upgradable: a running arena keeps its players,
// avatars, scores and orbs across a hot upgrade to a version that reads
// this format. The random streams start afresh from the seed in the new
// version (where the next orb and spawn land may differ from what the old
// version would have drawn).

// savedFormat is the version of the saved state's format.
const savedFormat = 1

type savedState struct {
	Format     int           `json:"format"`
	Frame      uint64        `json:"frame"`
	NextEntity uint32        `json:"next_entity"`
	Players    []savedPlayer `json:"players"`
	Orbs       []savedOrb    `json:"orbs"`
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
}

// SaveState implements sdk.Upgradable.
func (g *game) SaveState(dst []byte) ([]byte, error) {
	s := savedState{Format: savedFormat, Frame: g.frame, NextEntity: g.nextEntity}
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
		s.Orbs = append(s.Orbs, savedOrb{Present: o.present, Pos: [3]float32{o.pos.x, o.pos.y, o.pos.z}, Wait: o.wait})
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
		o.present, o.pos, o.wait = so.Present, vec3{so.Pos[0], so.Pos[1], so.Pos[2]}, so.Wait
	}
	return nil
}
