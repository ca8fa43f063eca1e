package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"unicode/utf8"

	"github.com/rcc-games/rcc/pkg/sdk"
	"github.com/rcc-games/rcc/pkg/world"
)

// Fixed dimensions and tuning of the arena.
const (
	avatarRadius = 0.5
	avatarHeight = 1.8
	avatarHalf   = avatarHeight / 2
	orbRadius    = 0.3
	orbMinY      = 0.6
	orbMaxY      = 2.4
	wallHeight   = 2.0
	wallThick    = 1.0

	accel      = 40  // m/s² towards the pushed velocity
	friction   = 30  // m/s² towards rest when nothing is pushed
	airControl = 0.3 // share of accel and friction in the air
	maxStep    = 0.1 // longest step simulated, in seconds

	defaultMaxAvatars = 16
	maxAvatars        = 64
	maxOrbs           = 64

	floorID      = 1
	firstWallID  = 2
	firstOrbID   = 16
	firstAvatar  = 1000
	spawnStream  = 1
	orbStreamOff = 1000
)

// params are the spawn parameters, with their defaults in defaultParams.
type params struct {
	ArenaSize   float32 `json:"arena_size"`
	Orbs        int     `json:"orbs"`
	OrbRespawnS float32 `json:"orb_respawn_s"`
	Speed       float32 `json:"speed"`
	JumpSpeed   float32 `json:"jump_speed"`
	Gravity     float32 `json:"gravity"`
}

func defaultParams() params {
	return params{ArenaSize: 30, Orbs: 6, OrbRespawnS: 2, Speed: 7, JumpSpeed: 9, Gravity: 25}
}

func (p params) validate() error {
	checks := []struct {
		name     string
		v        float64
		min, max float64
	}{
		{"arena_size", float64(p.ArenaSize), 10, 200},
		{"orbs", float64(p.Orbs), 0, maxOrbs},
		{"orb_respawn_s", float64(p.OrbRespawnS), 0, 60},
		{"speed", float64(p.Speed), 1, 50},
		{"jump_speed", float64(p.JumpSpeed), 0, 50},
		{"gravity", float64(p.Gravity), 1, 100},
	}
	for _, c := range checks {
		if !(c.v >= c.min && c.v <= c.max) {
			return fmt.Errorf("params: %s: %v is out of range [%v, %v]", c.name, c.v, c.min, c.max)
		}
	}
	return nil
}

type vec3 struct{ x, y, z float32 }

// input is the latest decoded input message of a player.
type input struct {
	x, z float32 // push, length at most 1
	jump bool
}

type avatar struct {
	entity   uint32
	color    world.Color
	pos, vel vec3
	grounded bool
	facing   world.Quat
}

type player struct {
	id     string
	avatar *avatar // nil for a spectator
	score  int32
	in     input
	// jumpLatch remembers a jump requested since the last tick.
	jumpLatch bool
}

type orb struct {
	rng     *rand.Rand
	src     *rand.PCG // rng's source, saved across a hot upgrade
	present bool
	pos     vec3
	wait    float32 // seconds until it reappears, when not present
}

// game is the arena. Players are kept in join order in a slice; the map
// only finds them by id and is never iterated, so that nothing depends on
// map order.
type game struct {
	p          params
	half       float32 // half the arena side
	maxAvatars int
	spawn      *rand.Rand
	spawnSrc   *rand.PCG // spawn's source, saved across a hot upgrade
	nextEntity uint32
	frame      uint64

	players []*player
	byID    map[string]*player
	orbs    []orb

	static []world.Entity // floor and walls
	snap   world.Snapshot
}

func newGame() *game {
	return &game{byID: make(map[string]*player)}
}

// Init implements sdk.Game.
func (g *game) Init(cfg sdk.Config) error {
	p := defaultParams()
	if err := cfg.DecodeParams(&p); err != nil {
		return err
	}
	if err := p.validate(); err != nil {
		return err
	}
	g.p = p
	g.half = p.ArenaSize / 2
	g.maxAvatars = cfg.MaxPlayers
	if g.maxAvatars <= 0 {
		g.maxAvatars = defaultMaxAvatars
	}
	g.maxAvatars = min(g.maxAvatars, maxAvatars)
	g.spawnSrc = sdk.NewRandSource(cfg.Seed, spawnStream)
	g.spawn = rand.New(g.spawnSrc)
	g.nextEntity = firstAvatar
	g.orbs = make([]orb, p.Orbs)
	for i := range g.orbs {
		o := &g.orbs[i]
		o.src = sdk.NewRandSource(cfg.Seed, orbStreamOff+uint64(i))
		o.rng = rand.New(o.src)
		g.placeOrb(o)
	}
	g.static = g.staticEntities()
	return nil
}

func (g *game) staticEntities() []world.Entity {
	size := g.p.ArenaSize
	off := g.half + wallThick/2
	wallColor := world.Color{R: 70, G: 74, B: 88, A: 255}
	wall := func(id uint32, x, z, sx, sz float32) world.Entity {
		return world.Entity{
			ID: id, Shape: world.ShapeBox,
			Position: world.Vec3{X: x, Y: wallHeight / 2, Z: z},
			Rotation: world.Identity,
			Scale:    world.Vec3{X: sx, Y: wallHeight, Z: sz},
			Color:    wallColor,
		}
	}
	return []world.Entity{
		{
			ID: floorID, Shape: world.ShapePlane,
			Rotation: world.Identity,
			Scale:    world.Vec3{X: size, Y: 1, Z: size},
			Color:    world.Color{R: 150, G: 156, B: 140, A: 255},
		},
		wall(firstWallID, -off, 0, wallThick, size+2*wallThick),
		wall(firstWallID+1, off, 0, wallThick, size+2*wallThick),
		wall(firstWallID+2, 0, -off, size, wallThick),
		wall(firstWallID+3, 0, off, size, wallThick),
	}
}

// placeOrb puts o at the next position of its stream.
func (g *game) placeOrb(o *orb) {
	span := g.half - 1
	o.pos = vec3{
		x: (o.rng.Float32()*2 - 1) * span,
		y: orbMinY + o.rng.Float32()*(orbMaxY-orbMinY),
		z: (o.rng.Float32()*2 - 1) * span,
	}
	o.present = true
	o.wait = 0
}

// palette gives avatars distinct colours: the first free one is taken.
var palette = [...]world.Color{
	rgb(230, 57, 70), rgb(42, 157, 143), rgb(244, 162, 97), rgb(69, 123, 157),
	rgb(233, 196, 106), rgb(131, 56, 236), rgb(6, 214, 160), rgb(255, 0, 110),
	rgb(58, 134, 255), rgb(251, 86, 7), rgb(128, 185, 24), rgb(255, 190, 11),
	rgb(114, 9, 183), rgb(0, 180, 216), rgb(188, 71, 73), rgb(96, 108, 56),
}

func rgb(r, g, b uint8) world.Color { return world.Color{R: r, G: g, B: b, A: 255} }

func (g *game) newAvatar() *avatar {
	var used [len(palette)]bool
	for _, p := range g.players {
		if p.avatar != nil {
			for i, c := range palette {
				if p.avatar.color == c {
					used[i] = true
				}
			}
		}
	}
	color := palette[g.nextEntity%uint32(len(palette))]
	for i, u := range used {
		if !u {
			color = palette[i]
			break
		}
	}
	span := g.half - avatarRadius
	a := &avatar{
		entity: g.nextEntity,
		color:  color,
		pos: vec3{
			x: (g.spawn.Float32()*2 - 1) * span,
			y: avatarHalf,
			z: (g.spawn.Float32()*2 - 1) * span,
		},
		grounded: true,
		facing:   world.Identity,
	}
	g.nextEntity++
	return a
}

func (g *game) avatars() int {
	n := 0
	for _, p := range g.players {
		if p.avatar != nil {
			n++
		}
	}
	return n
}

// Join implements sdk.Game.
func (g *game) Join(id string) {
	if _, ok := g.byID[id]; ok {
		return
	}
	if id == "" || len(id) > world.MaxPlayerIDLen || !utf8.ValidString(id) || len(g.players) >= world.MaxPlayers {
		return
	}
	p := &player{id: id}
	if g.avatars() < g.maxAvatars {
		p.avatar = g.newAvatar()
	}
	g.players = append(g.players, p)
	g.byID[id] = p
}

// Leave implements sdk.Game.
func (g *game) Leave(id string) {
	p, ok := g.byID[id]
	if !ok {
		return
	}
	delete(g.byID, id)
	for i, q := range g.players {
		if q == p {
			g.players = append(g.players[:i], g.players[i+1:]...)
			break
		}
	}
	if p.avatar == nil {
		return
	}
	for _, q := range g.players {
		if q.avatar == nil {
			q.avatar = g.newAvatar()
			return
		}
	}
}

// decodeInput parses one input message, arena's own 3 bytes or the
// standard controller input (world.Controller, 10 bytes); ok is false when
// it is neither.
func decodeInput(data []byte) (in input, ok bool) {
	if len(data) == world.ControllerSize {
		var c world.Controller
		if c.UnmarshalBinary(data) != nil {
			return input{}, false
		}
		x, z := c.WorldMove()
		return normalised(input{x: x, z: z, jump: c.Buttons&world.ButtonJump != 0}), true
	}
	if len(data) != 3 {
		return input{}, false
	}
	axis := func(b byte) float32 {
		v := int8(b)
		if v == math.MinInt8 {
			v = -math.MaxInt8
		}
		return float32(v) / math.MaxInt8
	}
	return normalised(input{x: axis(data[0]), z: axis(data[1]), jump: data[2]&1 != 0}), true
}

// normalised scales a push longer than 1 down to 1.
func normalised(in input) input {
	if l2 := in.x*in.x + in.z*in.z; l2 > 1 {
		l := float32(math.Sqrt(float64(l2)))
		in.x /= l
		in.z /= l
	}
	return in
}

// Input implements sdk.Game.
func (g *game) Input(id string, data []byte) {
	p, ok := g.byID[id]
	if !ok || p.avatar == nil {
		return
	}
	in, ok := decodeInput(data)
	if !ok {
		return
	}
	p.in = in
	p.jumpLatch = p.jumpLatch || in.jump
}

// Tick implements sdk.Game.
func (g *game) Tick(dt float32) {
	g.frame++
	if !(dt > 0) { // also catches NaN
		return
	}
	dt = min(dt, maxStep)
	for _, p := range g.players {
		if p.avatar != nil {
			g.move(p, dt)
		}
	}
	g.separate()
	for _, p := range g.players {
		if p.avatar != nil {
			g.confine(p.avatar)
		}
	}
	g.updateOrbs(dt)
}

// move applies a player's input, gravity and jumping to its avatar.
func (g *game) move(p *player, dt float32) {
	a := p.avatar
	wantX, wantZ := p.in.x*g.p.Speed, p.in.z*g.p.Speed
	rate := float32(accel)
	if p.in.x == 0 && p.in.z == 0 {
		rate = friction
	}
	if !a.grounded {
		rate *= airControl
	}
	dvx, dvz := wantX-a.vel.x, wantZ-a.vel.z
	if l2, maxDv := dvx*dvx+dvz*dvz, rate*dt; l2 > maxDv*maxDv {
		s := maxDv / float32(math.Sqrt(float64(l2)))
		dvx *= s
		dvz *= s
	}
	a.vel.x += dvx
	a.vel.z += dvz
	if p.in.x != 0 || p.in.z != 0 {
		a.facing = yaw(p.in.x, p.in.z)
	}

	if a.grounded && (p.jumpLatch || p.in.jump) {
		a.vel.y = g.p.JumpSpeed
		a.grounded = false
	}
	p.jumpLatch = false
	if !a.grounded {
		a.vel.y -= g.p.Gravity * dt
	}

	a.pos.x += a.vel.x * dt
	a.pos.y += a.vel.y * dt
	a.pos.z += a.vel.z * dt
	if a.pos.y <= avatarHalf {
		a.pos.y = avatarHalf
		a.vel.y = 0
		a.grounded = true
	}
	g.confine(a)
}

// confine keeps an avatar inside the walls, stopping it against them.
func (g *game) confine(a *avatar) {
	lim := g.half - avatarRadius
	if a.pos.x < -lim {
		a.pos.x, a.vel.x = -lim, max(a.vel.x, 0)
	} else if a.pos.x > lim {
		a.pos.x, a.vel.x = lim, min(a.vel.x, 0)
	}
	if a.pos.z < -lim {
		a.pos.z, a.vel.z = -lim, max(a.vel.z, 0)
	} else if a.pos.z > lim {
		a.pos.z, a.vel.z = lim, min(a.vel.z, 0)
	}
}

// separate pushes overlapping avatars apart horizontally, each by half the
// overlap, pair by pair in join order. Avatars on top of one another (one
// jumping over the other) do not collide.
func (g *game) separate() {
	const minDist = 2 * avatarRadius
	for i, p := range g.players {
		a := p.avatar
		if a == nil {
			continue
		}
		for _, q := range g.players[i+1:] {
			b := q.avatar
			if b == nil {
				continue
			}
			if dy := a.pos.y - b.pos.y; dy >= avatarHeight || dy <= -avatarHeight {
				continue
			}
			dx, dz := b.pos.x-a.pos.x, b.pos.z-a.pos.z
			d2 := dx*dx + dz*dz
			if d2 >= minDist*minDist {
				continue
			}
			var nx, nz, d float32
			if d2 == 0 {
				nx, nz = 1, 0 // the later joiner goes towards +X
			} else {
				d = float32(math.Sqrt(float64(d2)))
				nx, nz = dx/d, dz/d
			}
			push := (minDist - d) / 2
			a.pos.x -= nx * push
			a.pos.z -= nz * push
			b.pos.x += nx * push
			b.pos.z += nz * push
			// Cancel the velocity of each towards the other.
			if v := a.vel.x*nx + a.vel.z*nz; v > 0 {
				a.vel.x -= v * nx
				a.vel.z -= v * nz
			}
			if v := b.vel.x*nx + b.vel.z*nz; v < 0 {
				b.vel.x -= v * nx
				b.vel.z -= v * nz
			}
		}
	}
}

// updateOrbs brings back orbs whose delay is over, then lets avatars, in
// join order, collect the orbs they touch.
func (g *game) updateOrbs(dt float32) {
	const reach = avatarRadius + orbRadius
	const segment = avatarHalf - avatarRadius // half the capsule's inner segment
	for i := range g.orbs {
		o := &g.orbs[i]
		if !o.present {
			o.wait -= dt
			if o.wait > 0 {
				continue
			}
			g.placeOrb(o)
		}
		for _, p := range g.players {
			a := p.avatar
			if a == nil {
				continue
			}
			cy := min(max(o.pos.y, a.pos.y-segment), a.pos.y+segment)
			dx, dy, dz := o.pos.x-a.pos.x, o.pos.y-cy, o.pos.z-a.pos.z
			if dx*dx+dy*dy+dz*dz < reach*reach {
				p.score += orbPoints
				o.present = false
				o.wait = g.p.OrbRespawnS
				break
			}
		}
	}
}

// yaw is the rotation about +Y that turns +Z towards (x, z), computed with
// half-angle identities rather than trigonometry.
func yaw(x, z float32) world.Quat {
	l := float32(math.Sqrt(float64(x*x + z*z)))
	if l == 0 {
		return world.Identity
	}
	c := z / l // cos θ
	w := float32(math.Sqrt(float64(max(0, (1+c)/2))))
	y := float32(math.Sqrt(float64(max(0, (1-c)/2))))
	if x < 0 {
		y = -y
	}
	return world.Quat{Y: y, W: w}
}

// snapshot rebuilds g.snap from the game, reusing its slices.
func (g *game) snapshot() *world.Snapshot {
	s := &g.snap
	s.Frame = g.frame
	s.Entities = append(s.Entities[:0], g.static...)
	for i := range g.orbs {
		o := &g.orbs[i]
		if !o.present {
			continue
		}
		s.Entities = append(s.Entities, world.Entity{
			ID:       firstOrbID + uint32(i),
			Shape:    world.ShapeSphere,
			Position: world.Vec3{X: o.pos.x, Y: o.pos.y, Z: o.pos.z},
			Rotation: world.Identity,
			Scale:    world.Vec3{X: 2 * orbRadius, Y: 2 * orbRadius, Z: 2 * orbRadius},
			Color:    world.Color{R: 255, G: 209, B: 0, A: 255},
		})
	}
	s.Players = s.Players[:0]
	for _, p := range g.players {
		wp := world.Player{ID: p.id, Score: p.score}
		if a := p.avatar; a != nil {
			wp.Entity = a.entity
			s.Entities = append(s.Entities, world.Entity{
				ID:       a.entity,
				Shape:    world.ShapeCapsule,
				Position: world.Vec3{X: a.pos.x, Y: a.pos.y, Z: a.pos.z},
				Rotation: a.facing,
				Scale:    world.Vec3{X: 2 * avatarRadius, Y: avatarHeight, Z: 2 * avatarRadius},
				Color:    a.color,
				Label:    p.id,
			})
		}
		s.Players = append(s.Players, wp)
	}
	return s
}

// State implements sdk.Game.
func (g *game) State(dst []byte) ([]byte, error) {
	return g.snapshot().AppendBinary(dst)
}
