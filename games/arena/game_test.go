package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/sdk"
	"github.com/rcc-games/rcc/pkg/world"
)

const step = float32(1.0 / 60)

func newTestGame(t testing.TB, seed uint64, params string) *game {
	t.Helper()
	g := newGame()
	cfg := sdk.Config{Game: "arena", Seed: seed, MaxPlayers: 16, TickHz: 60}
	if params != "" {
		cfg.Params = []byte(params)
	}
	if err := g.Init(cfg); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return g
}

// msg encodes an input message.
func msg(x, z int8, flags byte) []byte { return []byte{byte(x), byte(z), flags} }

// place puts a player's avatar at rest at (x, z) on the floor.
func place(t testing.TB, g *game, id string, x, z float32) *avatar {
	t.Helper()
	p := g.byID[id]
	if p == nil || p.avatar == nil {
		t.Fatalf("player %q has no avatar", id)
	}
	a := p.avatar
	a.pos, a.vel, a.grounded = vec3{x, avatarHalf, z}, vec3{}, true
	return a
}

func ticks(g *game, n int) {
	for i := 0; i < n; i++ {
		g.Tick(step)
	}
}

func near(a, b, eps float32) bool { return float32(math.Abs(float64(a-b))) <= eps }

func decodeState(t testing.TB, g *game) *world.Snapshot {
	t.Helper()
	b, err := g.State(nil)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	s, err := world.Decode(b)
	if err != nil {
		t.Fatalf("decode state: %v", err)
	}
	return s
}

func TestDecodeInput(t *testing.T) {
	d := float32(1 / math.Sqrt2)
	tests := []struct {
		name string
		in   []byte
		want input
		ok   bool
	}{
		{"rest", msg(0, 0, 0), input{}, true},
		{"full +x", msg(127, 0, 0), input{x: 1}, true},
		{"full -z", msg(0, -127, 0), input{z: -1}, true},
		{"-128 is -127", msg(-128, 0, 0), input{x: -1}, true},
		{"half", []byte{64, 0, 0}, input{x: 64.0 / 127}, true},
		{"diagonal scaled to 1", msg(127, 127, 0), input{x: d, z: d}, true},
		{"jump", msg(0, 0, 1), input{jump: true}, true},
		{"reserved bits ignored", msg(0, 0, 0xfe), input{}, true},
		{"empty", nil, input{}, false},
		{"short", []byte{1, 2}, input{}, false},
		{"long", []byte{1, 2, 3, 4}, input{}, false},
		{"controller at rest", ctl(world.Controller{}), input{}, true},
		{"controller forward at yaw 0 is -z", ctl(world.Controller{MoveZ: 1}), input{z: -1}, true},
		{"controller right at yaw 0 is +x", ctl(world.Controller{MoveX: 1}), input{x: 1}, true},
		{"controller forward at yaw 90° is -x", ctl(world.Controller{MoveZ: 1, Yaw: math.Pi / 2}), input{x: -1}, true},
		{"controller back at yaw 180° is -z", ctl(world.Controller{MoveZ: -1, Yaw: math.Pi}), input{z: -1}, true},
		{"controller diagonal scaled to 1", ctl(world.Controller{MoveX: 1, MoveZ: 1}), input{x: d, z: -d}, true},
		{"controller half push kept", ctl(world.Controller{MoveZ: 0.5}), input{z: -64.0 / 127}, true},
		{"controller jump", ctl(world.Controller{Buttons: world.ButtonJump}), input{jump: true}, true},
		{"controller other buttons, pitch, move y ignored", ctl(world.Controller{MoveY: 1, Pitch: 1, Buttons: world.ButtonPrimary | world.ButtonUse}), input{}, true},
		{"10 bytes with another tag", append([]byte{0xC2}, make([]byte, 9)...), input{}, false},
		{"controller truncated", ctl(world.Controller{MoveZ: 1})[:9], input{}, false},
		{"controller too long", append(ctl(world.Controller{MoveZ: 1}), 0), input{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := decodeInput(tt.in)
			if ok != tt.ok || !near(got.x, tt.want.x, 1e-4) || !near(got.z, tt.want.z, 1e-4) || got.jump != tt.want.jump {
				t.Fatalf("decodeInput(%v) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// ctl encodes a controller input.
func ctl(c world.Controller) []byte {
	b, _ := c.MarshalBinary()
	return b
}

func TestControllerInput(t *testing.T) {
	p := defaultParams()
	g := newTestGame(t, 1, `{"orbs":0}`)
	g.Join("a")
	a := place(t, g, "a", 0, 0)

	// Forward with the camera turned a quarter left runs towards -X at top
	// speed, like arena's own input pushing -X.
	g.Input("a", ctl(world.Controller{MoveZ: 1, Yaw: math.Pi / 2}))
	ticks(g, 60)
	if !near(a.vel.x, -p.Speed, 1e-3) || !near(a.vel.z, 0, 1e-3) || a.pos.x > -4 {
		t.Fatalf("velocity (%v, %v) at (%v, %v), want (-%v, 0) towards -X", a.vel.x, a.vel.z, a.pos.x, a.pos.z, p.Speed)
	}
	// Diagonal is no faster than straight.
	g.Input("a", ctl(world.Controller{MoveX: 1, MoveZ: 1}))
	ticks(g, 120)
	if v := float32(math.Hypot(float64(a.vel.x), float64(a.vel.z))); !near(v, p.Speed, 1e-3) {
		t.Fatalf("diagonal speed %v, want %v", v, p.Speed)
	}
	// The jump button jumps; arena's 3-byte input keeps working after it.
	place(t, g, "a", 0, 0)
	g.Input("a", ctl(world.Controller{Buttons: world.ButtonJump}))
	g.Input("a", ctl(world.Controller{}))
	ticks(g, 1)
	if a.grounded || a.pos.y <= avatarHalf {
		t.Fatalf("controller jump did not take off: y %v", a.pos.y)
	}
	place(t, g, "a", 0, 0)
	g.Input("a", msg(127, 0, 0))
	ticks(g, 60)
	if !near(a.vel.x, p.Speed, 1e-3) {
		t.Fatalf("3-byte input after a controller: velocity x %v, want %v", a.vel.x, p.Speed)
	}
}

func TestMovement(t *testing.T) {
	p := defaultParams()
	tests := []struct {
		name           string
		script         func(g *game)
		wantVX, wantVZ float32
		wantX, wantZ   func(x, z float32) bool
	}{
		{
			name:   "one tick of push accelerates",
			script: func(g *game) { g.Input("a", msg(127, 0, 0)); ticks(g, 1) },
			wantVX: accel * step,
			wantX:  func(x, z float32) bool { return near(x, accel*step*step, 1e-5) && z == 0 },
		},
		{
			name:   "a second of push reaches top speed",
			script: func(g *game) { g.Input("a", msg(0, -127, 0)); ticks(g, 60) },
			wantVZ: -p.Speed,
			wantX:  func(x, z float32) bool { return x == 0 && z < -4 },
		},
		{
			name:   "half push, half speed",
			script: func(g *game) { g.Input("a", []byte{0xc1, 0, 0}); ticks(g, 60) }, // -63
			wantVX: -p.Speed * 63 / 127,
			wantX:  func(x, z float32) bool { return x < 0 },
		},
		{
			name:   "diagonal is no faster",
			script: func(g *game) { g.Input("a", msg(127, 127, 0)); ticks(g, 60) },
			wantVX: p.Speed / math.Sqrt2, wantVZ: p.Speed / math.Sqrt2,
			wantX: func(x, z float32) bool { return x > 0 && x == z },
		},
		{
			name: "friction stops a released avatar",
			script: func(g *game) {
				g.Input("a", msg(127, 0, 0))
				ticks(g, 60)
				g.Input("a", msg(0, 0, 0))
				ticks(g, 30) // 7 m/s at 30 m/s² needs 14 ticks
			},
			wantX: func(x, z float32) bool { return x > 4 },
		},
		{
			name: "reversing takes time",
			script: func(g *game) {
				g.Input("a", msg(127, 0, 0))
				ticks(g, 60)
				g.Input("a", msg(-127, 0, 0))
				ticks(g, 6)
			},
			wantVX: p.Speed - 6*accel*step,
			wantX:  func(x, z float32) bool { return x > 0 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestGame(t, 1, "")
			g.Join("a")
			a := place(t, g, "a", 0, 0)
			tt.script(g)
			if !near(a.vel.x, tt.wantVX, 1e-4) || !near(a.vel.z, tt.wantVZ, 1e-4) {
				t.Fatalf("velocity (%v, %v), want (%v, %v)", a.vel.x, a.vel.z, tt.wantVX, tt.wantVZ)
			}
			if !tt.wantX(a.pos.x, a.pos.z) {
				t.Fatalf("unexpected position (%v, %v)", a.pos.x, a.pos.z)
			}
			if a.pos.y != avatarHalf || !a.grounded {
				t.Fatalf("left the floor: y %v, grounded %v", a.pos.y, a.grounded)
			}
		})
	}
}

func TestJump(t *testing.T) {
	g := newTestGame(t, 1, `{"orbs":0}`)
	g.Join("a")
	a := place(t, g, "a", 0, 0)

	// A jump bit followed by a release before the tick still jumps.
	g.Input("a", msg(0, 0, 1))
	g.Input("a", msg(0, 0, 0))
	ticks(g, 1)
	if a.grounded || a.pos.y <= avatarHalf {
		t.Fatalf("did not take off: y %v", a.pos.y)
	}
	peak := a.pos.y
	airborne := 1
	for !a.grounded {
		g.Input("a", msg(0, 0, 1)) // held in the air: no double jump
		ticks(g, 1)
		peak = max(peak, a.pos.y)
		if airborne++; airborne > 600 {
			t.Fatal("never landed")
		}
	}
	p := defaultParams()
	wantPeak := avatarHalf + p.JumpSpeed*p.JumpSpeed/(2*p.Gravity)
	if !near(peak, wantPeak, 0.1) {
		t.Fatalf("peak %v, want about %v", peak, wantPeak)
	}
	wantAir := int(2 * p.JumpSpeed / p.Gravity / step)
	if airborne < wantAir-2 || airborne > wantAir+2 {
		t.Fatalf("airborne %d ticks, want about %d", airborne, wantAir)
	}
	if a.pos.y != avatarHalf || a.vel.y != 0 {
		t.Fatalf("landed at y %v with vy %v", a.pos.y, a.vel.y)
	}
	// Still held on landing: jumps again.
	ticks(g, 1)
	if a.grounded {
		t.Fatal("held jump did not jump again on landing")
	}
	// Released: lands and stays.
	g.Input("a", msg(0, 0, 0))
	ticks(g, 120)
	if !a.grounded || a.pos.y != avatarHalf {
		t.Fatalf("did not settle: y %v", a.pos.y)
	}
}

func TestWalls(t *testing.T) {
	g0 := newTestGame(t, 1, "")
	lim := g0.half - avatarRadius
	tests := []struct {
		name   string
		x, z   float32
		push   []byte
		checkX bool
		want   float32
	}{
		{"+x wall", lim - 0.2, 0, msg(127, 0, 0), true, lim},
		{"-x wall", -lim + 0.2, 3, msg(-127, 0, 0), true, -lim},
		{"+z wall", 2, lim - 0.2, msg(0, 127, 0), false, lim},
		{"-z wall", -5, -lim + 0.2, msg(0, -127, 0), false, -lim},
		{"corner", lim - 0.1, lim - 0.1, msg(127, 127, 0), true, lim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestGame(t, 1, "")
			g.Join("a")
			a := place(t, g, "a", tt.x, tt.z)
			g.Input("a", tt.push)
			ticks(g, 120)
			got, v := a.pos.z, a.vel.z
			if tt.checkX {
				got, v = a.pos.x, a.vel.x
			}
			if got != tt.want || v != 0 {
				t.Fatalf("position %v velocity %v, want stopped at %v", got, v, tt.want)
			}
			if a.pos.x < -lim || a.pos.x > lim || a.pos.z < -lim || a.pos.z > lim {
				t.Fatalf("outside the arena: %+v", a.pos)
			}
		})
	}
}

func TestPlayerCollision(t *testing.T) {
	tests := []struct {
		name           string
		ax, az, bx, bz float32
		by             float32 // height of b's centre above the floor position
		collide        bool
	}{
		{"overlapping on x", 0, 0, 0.6, 0, 0, true},
		{"overlapping diagonally", 1, 1, 1.3, 1.4, 0, true},
		{"same spot", 2, 2, 2, 2, 0, true},
		{"touching only", 0, 0, 1, 0, 0, false},
		{"apart", 0, 0, 3, 0, 0, false},
		{"b jumping over a", 0, 0, 0.2, 0, avatarHeight + 0.01, false},
		{"b partly above a", 0, 0, 0.2, 0, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestGame(t, 1, `{"orbs":0}`)
			g.Join("a")
			g.Join("b")
			a := place(t, g, "a", tt.ax, tt.az)
			b := place(t, g, "b", tt.bx, tt.bz)
			b.pos.y += tt.by
			g.separate()
			dx, dz := b.pos.x-a.pos.x, b.pos.z-a.pos.z
			d := float32(math.Sqrt(float64(dx*dx + dz*dz)))
			if tt.collide {
				if !near(d, 2*avatarRadius, 1e-5) {
					t.Fatalf("distance after push %v, want %v", d, 2*avatarRadius)
				}
				// Pushed symmetrically about their midpoint.
				if !near((a.pos.x+b.pos.x)/2, (tt.ax+tt.bx)/2, 1e-5) || !near((a.pos.z+b.pos.z)/2, (tt.az+tt.bz)/2, 1e-5) {
					t.Fatalf("midpoint moved: a %+v b %+v", a.pos, b.pos)
				}
				if tt.ax == tt.bx && tt.az == tt.bz && !(b.pos.x > a.pos.x) {
					t.Fatalf("same spot: later joiner should go towards +X: a %+v b %+v", a.pos, b.pos)
				}
			} else if a.pos.x != tt.ax || a.pos.z != tt.az || b.pos.x != tt.bx || b.pos.z != tt.bz {
				t.Fatalf("moved without colliding: a %+v b %+v", a.pos, b.pos)
			}
		})
	}
}

func TestHeadOnCollision(t *testing.T) {
	g := newTestGame(t, 1, `{"orbs":0}`)
	g.Join("a")
	g.Join("b")
	a := place(t, g, "a", -3, 0)
	b := place(t, g, "b", 3, 0)
	g.Input("a", msg(127, 0, 0))
	g.Input("b", msg(-127, 0, 0))
	ticks(g, 180)
	if d := b.pos.x - a.pos.x; d < 2*avatarRadius-0.15 {
		t.Fatalf("avatars pushing head-on overlap: distance %v", d)
	}
	if !near(a.pos.x, -b.pos.x, 1e-4) || a.pos.z != 0 || b.pos.z != 0 {
		t.Fatalf("symmetric push became asymmetric: a %+v b %+v", a.pos, b.pos)
	}
}

func TestOrbPickup(t *testing.T) {
	g := newTestGame(t, 7, `{"orbs":3,"orb_respawn_s":1}`)
	g.Join("a")
	g.Join("b")
	o := &g.orbs[1]
	first := o.pos
	place(t, g, "b", o.pos.x, o.pos.z)
	place(t, g, "a", -100, -100) // confined to a corner by the next tick
	if o.pos.y > avatarHalf+avatarHeight/2+orbRadius {
		// A high orb: b must jump for it.
		g.Input("b", msg(0, 0, 1))
	}
	for i := 0; i < 60 && o.present; i++ {
		ticks(g, 1)
	}
	if o.present {
		t.Fatalf("orb at %+v not collected by b at %+v", o.pos, g.byID["b"].avatar.pos)
	}
	if g.byID["b"].score != 1 || g.byID["a"].score != 0 {
		t.Fatalf("scores a %d b %d, want 0 and 1", g.byID["a"].score, g.byID["b"].score)
	}
	s := decodeState(t, g)
	if s.Entity(firstOrbID+1) != nil {
		t.Fatal("collected orb still in the state")
	}
	if p := s.Player("b"); p == nil || p.Score != 1 {
		t.Fatalf("state player b = %+v", p)
	}
	g.Input("b", msg(0, 0, 0))
	place(t, g, "b", -100, 100) // out of the way
	ticks(g, 61)
	if !o.present {
		t.Fatal("orb did not come back after orb_respawn_s")
	}
	if o.pos == first {
		t.Fatal("orb came back at the same place")
	}
	// The n-th position of orb i only depends on the seed.
	r := sdk.NewRandStream(7, orbStreamOff+1)
	g2 := &game{half: g.half}
	want := orb{rng: r}
	g2.placeOrb(&want)
	if want.pos != first {
		t.Fatalf("first position %+v, want %+v from the orb's stream", first, want.pos)
	}
	g2.placeOrb(&want)
	if want.pos != o.pos {
		t.Fatalf("respawn position %+v, want %+v from the orb's stream", o.pos, want.pos)
	}
	if s := decodeState(t, g); s.Entity(firstOrbID+1) == nil {
		t.Fatal("respawned orb not in the state")
	}
}

func TestOrbPositions(t *testing.T) {
	positions := func(seed uint64) []vec3 {
		g := newTestGame(t, seed, `{"orbs":8}`)
		var out []vec3
		for _, o := range g.orbs {
			out = append(out, o.pos)
			lim := g.half - 1
			if o.pos.x < -lim || o.pos.x > lim || o.pos.z < -lim || o.pos.z > lim || o.pos.y < orbMinY || o.pos.y > orbMaxY {
				t.Fatalf("orb outside the arena: %+v", o.pos)
			}
		}
		return out
	}
	a, b, c := positions(42), positions(42), positions(43)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("same seed, different orb positions")
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatal("different seeds, same orb positions")
	}
}

// script drives a game through joins, inputs and leaves, deterministically
// from its own generator, returning every frame's state.
func script(t testing.TB, seed uint64, frames int) [][]byte {
	g := newTestGame(t, seed, `{"orbs":10,"arena_size":16}`)
	r := sdk.NewRandStream(99, 0)
	var states [][]byte
	for f := 0; f < frames; f++ {
		if f%50 == 0 && f < 500 {
			g.Join(fmt.Sprintf("p%d", f/50))
		}
		if f == 300 {
			g.Leave("p2")
		}
		for i := 0; i < 6; i++ {
			id := fmt.Sprintf("p%d", r.IntN(12))
			g.Input(id, msg(int8(r.IntN(255)-127), int8(r.IntN(255)-127), byte(r.IntN(4))))
		}
		g.Tick(step)
		b, err := g.State(nil)
		if err != nil {
			t.Fatalf("frame %d: %v", f, err)
		}
		states = append(states, b)
	}
	return states
}

func TestDeterminism(t *testing.T) {
	a, b := script(t, 5, 600), script(t, 5, 600)
	for f := range a {
		if !bytes.Equal(a[f], b[f]) {
			t.Fatalf("frame %d differs between two runs with the same seed and inputs", f)
		}
	}
	c := script(t, 6, 600)
	if bytes.Equal(a[len(a)-1], c[len(c)-1]) {
		t.Fatal("different seeds end in the same state")
	}
	last, err := world.Decode(a[len(a)-1])
	if err != nil {
		t.Fatal(err)
	}
	total := int32(0)
	for _, p := range last.Players {
		total += p.Score
	}
	if total == 0 {
		t.Fatal("ten players running around for ten seconds collected no orb")
	}
}

func TestJoinLeave(t *testing.T) {
	g := newGame()
	if err := g.Init(sdk.Config{Seed: 3, MaxPlayers: 2}); err != nil {
		t.Fatal(err)
	}
	roster := func() string {
		s := decodeState(t, g)
		var parts []string
		for _, p := range s.Players {
			e := s.Entity(p.Entity)
			switch {
			case p.Entity == 0:
				parts = append(parts, p.ID+":spectator")
			case e == nil || e.Label != p.ID || e.Shape != world.ShapeCapsule:
				t.Fatalf("player %s follows %d, which is not its avatar (%+v)", p.ID, p.Entity, e)
			default:
				parts = append(parts, fmt.Sprintf("%s:%d", p.ID, p.Entity))
			}
		}
		return strings.Join(parts, " ")
	}
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"two join", func() { g.Join("a"); g.Join("b") }, "a:1000 b:1001"},
		{"third spectates", func() { g.Join("c") }, "a:1000 b:1001 c:spectator"},
		{"rejoin keeps avatar", func() { g.Join("a"); g.Join("c") }, "a:1000 b:1001 c:spectator"},
		{"invalid ids ignored", func() {
			g.Join("")
			g.Join("\xff")
			g.Join(strings.Repeat("x", world.MaxPlayerIDLen+1))
		}, "a:1000 b:1001 c:spectator"},
		{"fourth spectates", func() { g.Join("d") }, "a:1000 b:1001 c:spectator d:spectator"},
		{"leave promotes the first spectator", func() { g.Leave("a") }, "b:1001 c:1002 d:spectator"},
		{"spectator leaves", func() { g.Leave("d") }, "b:1001 c:1002"},
		{"unknown leave ignored", func() { g.Leave("zz") }, "b:1001 c:1002"},
		{"rejoin after leave gets a new avatar", func() { g.Leave("b"); g.Join("b") }, "c:1002 b:1003"},
	}
	for _, s := range steps {
		s.do()
		g.Tick(step)
		if got := roster(); got != s.want {
			t.Fatalf("%s: roster %q, want %q", s.name, got, s.want)
		}
	}
	// Avatars present have distinct colours.
	s := decodeState(t, g)
	if c, b := s.Entity(1002).Color, s.Entity(1003).Color; c == b {
		t.Fatalf("two avatars share colour %v", c)
	}
}

func TestScoreKeptOnRejoin(t *testing.T) {
	g := newTestGame(t, 1, "")
	g.Join("a")
	g.byID["a"].score = 5
	g.Join("a")
	if p := decodeState(t, g).Player("a"); p == nil || p.Score != 5 {
		t.Fatalf("after rejoin: %+v", p)
	}
	g.Leave("a")
	g.Join("a")
	if p := decodeState(t, g).Player("a"); p == nil || p.Score != 0 {
		t.Fatalf("after leave and join: %+v", p)
	}
}

func TestMalformedInputIgnored(t *testing.T) {
	inputs := [][]byte{nil, {}, {1}, {1, 2}, {1, 2, 3, 4}, bytes.Repeat([]byte{0xff}, 1000),
		bytes.Repeat([]byte{0x7f}, world.ControllerSize), append(ctl(world.Controller{MoveZ: 1}), 0)}
	r := sdk.NewRand(1)
	for i := 0; i < 200; i++ {
		b := make([]byte, r.IntN(8))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if len(b) != 3 {
			inputs = append(inputs, b)
		}
	}
	ref := newTestGame(t, 9, "")
	g := newTestGame(t, 9, "")
	for _, x := range []*game{ref, g} {
		x.Join("a")
		x.Input("a", msg(50, -20, 0))
	}
	for _, in := range inputs {
		g.Input("a", in)
		g.Input("nobody", in)
		g.Input("nobody", msg(1, 1, 1))
		g.Tick(step)
		ref.Tick(step)
	}
	a, _ := ref.State(nil)
	b, _ := g.State(nil)
	if !bytes.Equal(a, b) {
		t.Fatal("malformed inputs changed the game")
	}
}

func TestOddSteps(t *testing.T) {
	for _, dt := range []float32{0, -1, float32(math.NaN()), float32(math.Inf(1)), 10} {
		g := newTestGame(t, 1, "")
		g.Join("a")
		g.Input("a", msg(127, 127, 1))
		g.Tick(dt)
		s := decodeState(t, g)
		e := s.Entity(firstAvatar)
		for _, v := range []float32{e.Position.X, e.Position.Y, e.Position.Z} {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v > g.half || v < -g.half {
				t.Fatalf("dt %v: avatar at %+v", dt, e.Position)
			}
		}
	}
}

func TestInitParams(t *testing.T) {
	tests := []struct {
		name, params string
		err          string
		check        func(g *game) bool
	}{
		{"defaults", "", "", func(g *game) bool { return g.half == 15 && len(g.orbs) == 6 && g.maxAvatars == 16 }},
		{"custom", `{"arena_size":50,"orbs":0,"orb_respawn_s":0,"speed":3,"jump_speed":0,"gravity":9.81}`, "",
			func(g *game) bool { return g.half == 25 && len(g.orbs) == 0 && g.p.Speed == 3 && g.p.Gravity == 9.81 }},
		{"unknown field", `{"orb":3}`, `unknown field "orb"`, nil},
		{"too many orbs", `{"orbs":65}`, "orbs: 65 is out of range", nil},
		{"arena too small", `{"arena_size":2}`, "arena_size", nil},
		{"no gravity", `{"gravity":0}`, "gravity", nil},
		{"not an object", `[]`, "params", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGame()
			cfg := sdk.Config{MaxPlayers: 0}
			if tt.params != "" {
				cfg.Params = []byte(tt.params)
			}
			err := g.Init(cfg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Init error %v, want one mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(g) {
				t.Fatalf("unexpected game: %+v", g.p)
			}
		})
	}
	g := newGame()
	if err := g.Init(sdk.Config{MaxPlayers: 1000}); err != nil || g.maxAvatars != maxAvatars {
		t.Fatalf("max_players 1000: %v, %d avatars", err, g.maxAvatars)
	}
}

func TestStateLayout(t *testing.T) {
	g := newTestGame(t, 1, `{"orbs":2}`)
	g.Join("a")
	g.Join("b")
	ticks(g, 3)
	s := decodeState(t, g)
	if s.Frame != 3 {
		t.Fatalf("frame %d, want 3", s.Frame)
	}
	var ids []uint32
	var shapes []world.Shape
	for _, e := range s.Entities {
		ids = append(ids, e.ID)
		shapes = append(shapes, e.Shape)
	}
	if fmt.Sprint(ids) != "[1 2 3 4 5 16 17 1000 1001]" {
		t.Fatalf("entity ids %v", ids)
	}
	if fmt.Sprint(shapes) != "[plane box box box box sphere sphere capsule capsule]" {
		t.Fatalf("shapes %v", shapes)
	}
	// The walls enclose the floor exactly.
	for _, e := range s.Entities[1:5] {
		var inner float32
		if e.Position.X == 0 {
			inner = abs(e.Position.Z) - e.Scale.Z/2
		} else {
			inner = abs(e.Position.X) - e.Scale.X/2
		}
		if inner != g.half {
			t.Fatalf("wall %d inner face at %v, want %v", e.ID, inner, g.half)
		}
	}
}

func abs(x float32) float32 { return float32(math.Abs(float64(x))) }

func TestYaw(t *testing.T) {
	tests := []struct {
		x, z float32
		want world.Quat
	}{
		{0, 1, world.Identity},
		{1, 0, world.Quat{Y: math.Sqrt2 / 2, W: math.Sqrt2 / 2}},
		{-1, 0, world.Quat{Y: -math.Sqrt2 / 2, W: math.Sqrt2 / 2}},
		{0, -1, world.Quat{Y: 1}},
		{0, 0, world.Identity},
	}
	for _, tt := range tests {
		got := yaw(tt.x, tt.z)
		if !near(got.X, tt.want.X, 1e-6) || !near(got.Y, tt.want.Y, 1e-6) || !near(got.Z, tt.want.Z, 1e-6) || !near(got.W, tt.want.W, 1e-6) {
			t.Errorf("yaw(%v, %v) = %+v, want %+v", tt.x, tt.z, got, tt.want)
		}
	}
}

// withPlayers returns a game with n players running in circles.
func withPlayers(t testing.TB, n int) *game {
	g := newTestGame(t, 42, "")
	g.maxAvatars = max(n, 1)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("player-%02d", i)
		g.Join(id)
		g.Input(id, msg(int8(i*16-127), 100, byte(i%2)))
	}
	return g
}

func TestTickStateAllocs(t *testing.T) {
	g := withPlayers(t, 16)
	buf := make([]byte, 0, 4096)
	for i := 0; i < 10; i++ {
		g.Tick(step)
		buf, _ = g.State(buf[:0])
	}
	allocs := testing.AllocsPerRun(200, func() {
		g.Tick(step)
		var err error
		if buf, err = g.State(buf[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("tick and state allocate %v times per frame with 16 players", allocs)
	}
	if n := binary.LittleEndian.Uint16(buf[16:]); n < 16 {
		t.Fatalf("state has %d entities", n)
	}
}

func BenchmarkTickState(b *testing.B) {
	for _, n := range []int{0, 16} {
		b.Run(fmt.Sprintf("players=%d", n), func(b *testing.B) {
			g := withPlayers(b, n)
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				g.Tick(step)
				buf, _ = g.State(buf[:0])
			}
			b.ReportMetric(float64(len(buf)), "state-bytes")
		})
	}
}
