package gamebuildtest

import (
	"math"

	"github.com/rcc-games/rcc/pkg/world"
)

// ChaseOrb is the input of a test player in arena who runs to the orb
// nearest to her avatar in snap, jumping for one overhead: a player who
// keeps scoring however long the session, where one running a fixed path
// runs out of orbs on it. Nothing when she or the orbs are not in snap.
func ChaseOrb(snap *world.Snapshot, player string) world.Controller {
	p := snap.Player(player)
	if p == nil {
		return world.Controller{}
	}
	me := snap.Entity(p.Entity)
	if me == nil {
		return world.Controller{}
	}
	var best *world.Entity
	bd := float32(math.MaxFloat32)
	for i := range snap.Entities {
		e := &snap.Entities[i]
		if e.Shape != world.ShapeSphere {
			continue
		}
		dx, dz := e.Position.X-me.Position.X, e.Position.Z-me.Position.Z
		if d := dx*dx + dz*dz; d < bd {
			best, bd = e, d
		}
	}
	if best == nil {
		return world.Controller{}
	}
	l := float32(math.Sqrt(float64(bd)))
	if l < 1e-3 {
		return world.Controller{Buttons: world.ButtonJump}
	}
	// At yaw 0, MoveX is world +X and MoveZ world -Z.
	c := world.Controller{MoveX: (best.Position.X - me.Position.X) / l, MoveZ: -(best.Position.Z - me.Position.Z) / l}
	if best.Position.Y > 2 && l < 1.5 {
		c.Buttons = world.ButtonJump
	}
	return c
}
