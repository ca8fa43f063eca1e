// Command conform-go is the Go implementation of the conformance game of
// docs/conformance.md: fixed rules and a fixed state layout, implemented
// alike in Go, Rust (conform-rust), C (conform-c) and AssemblyScript
// (conform-as), which must give the same state bytes every frame for the
// same seed and input log.
package main

import (
	"github.com/rcc-games/rcc/pkg/sdk"
	"github.com/rcc-games/rcc/pkg/world"
)

const maxListed = 64

type player struct {
	id     string
	entity uint32
	score  int32
	x, z   int32
}

type conform struct {
	seed       uint64
	maxPlayers int
	players    []player
	avatars    uint32
	frame      uint64
	t          float32
	snap       world.Snapshot
}

func (g *conform) Init(cfg sdk.Config) error {
	g.seed = cfg.Seed
	g.maxPlayers = min(cfg.MaxPlayers, maxListed)
	if g.maxPlayers == 0 {
		g.maxPlayers = 4
	}
	return nil
}

func (g *conform) find(id string) int {
	for i := range g.players {
		if g.players[i].id == id {
			return i
		}
	}
	return -1
}

func (g *conform) Join(id string) {
	if g.find(id) >= 0 || len(g.players) == maxListed {
		return
	}
	withAvatar := 0
	for _, p := range g.players {
		if p.entity != 0 {
			withAvatar++
		}
	}
	p := player{id: id}
	if withAvatar < g.maxPlayers {
		p.entity = 100 + g.avatars
		p.x = int32(g.avatars)
		p.z = int32(g.seed % 5)
		g.avatars++
	}
	g.players = append(g.players, p)
}

func (g *conform) Leave(id string) {
	if i := g.find(id); i >= 0 {
		g.players = append(g.players[:i], g.players[i+1:]...)
	}
}

func (g *conform) Input(id string, data []byte) {
	i := g.find(id)
	if i < 0 || len(data) == 0 {
		return
	}
	p := &g.players[i]
	switch data[0] {
	case 'L':
		p.x--
	case 'R':
		p.x++
	case 'U':
		p.z--
	case 'D':
		p.z++
	default:
		p.score--
		return
	}
	p.score++
}

func (g *conform) Tick(dt float32) {
	g.frame++
	g.t += dt
}

func (g *conform) State(dst []byte) ([]byte, error) {
	s := &g.snap
	s.Reset()
	s.Frame = g.frame
	s.Entities = append(s.Entities, world.Entity{
		ID: 1, Shape: world.ShapeBox,
		Position: world.Vec3{X: g.t, Y: float32(g.seed % 1000), Z: -1.5},
		Rotation: world.Quat{Y: 0.70710677, W: 0.70710677},
		Scale:    world.Vec3{X: 0.5, Y: 0.25, Z: 2},
		Color:    world.Color{R: uint8(g.seed), G: uint8(g.seed >> 8), B: uint8(g.seed >> 16), A: 255},
		Label:    "conform",
	})
	for _, p := range g.players {
		if p.entity != 0 {
			s.Entities = append(s.Entities, world.Entity{
				ID: p.entity, Shape: world.ShapeCapsule,
				Position: world.Vec3{X: float32(p.x), Y: 0.5, Z: float32(p.z)},
				Rotation: world.Identity, Scale: world.Vec3{X: 1, Y: 2, Z: 1},
				Color: world.Color{G: 128, B: 255, A: 255}, Label: p.id,
			})
		}
	}
	for _, p := range g.players {
		s.Players = append(s.Players, world.Player{ID: p.id, Entity: p.entity, Score: p.score})
	}
	return s.AppendBinary(dst)
}

func main() {}
