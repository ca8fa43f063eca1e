package sdk

import "math/rand/v2"

// Game is the author's side of the guest ABI. The SDK calls its methods
// from one goroutine, one at a time, in the host's order: Init once, then
// for every frame the joins and leaves, the inputs in arrival order, Tick
// and State.
type Game interface {
	// Init receives the instance's configuration, before any other call.
	// An error fails the instance; its text goes to the instance's log.
	Init(cfg Config) error
	// Join adds a player. The host calls it once per connection; a game
	// should treat a repeated id as the same player.
	Join(player string)
	// Leave removes a player.
	Leave(player string)
	// Input delivers one input message of a player. data is only valid
	// during the call; copy it to keep it. Input must not trust data:
	// clients send arbitrary bytes.
	Input(player string, data []byte)
	// Tick advances the game by dt seconds, the instance's fixed step.
	Tick(dt float32)
	// State appends the game's current state to dst and returns the
	// extended slice, like the append built-in (dst has length 0 and
	// whatever capacity the previous frames needed). An error fails the
	// instance.
	State(dst []byte) ([]byte, error)
}

// Upgradable is the optional interface of a Game that keeps its state
// across a hot upgrade (`rccctl instance upgrade`, docs/abi.md): the
// running version's SaveState output is the next version's LoadState
// input, after that version's Init. The format is the game's own; a new
// version should read what the previous one wrote. A game without it is
// not upgraded in place: the host refuses, saying so.
type Upgradable interface {
	// SaveState appends everything the next version needs to dst, like
	// State. An error refuses the upgrade; the game goes on.
	SaveState(dst []byte) ([]byte, error)
	// LoadState takes over the state an older version saved. An error
	// (or a panic) rolls the upgrade back: the older version goes on.
	LoadState(data []byte) error
}

// Register makes g the game of this module. Call it exactly once, from an
// init function of the game's main package. It panics if g is nil or a
// game is already registered, as both are programming errors found on the
// first run.
func Register(g Game) {
	if g == nil {
		panic("sdk: Register(nil)")
	}
	if theGuest.game != nil {
		panic("sdk: Register called twice")
	}
	theGuest.game = g
	warmConfig()
}

// warmConfig parses a configuration like the host's, and its params, once
// during package initialisation: encoding/json builds its caches for the
// types init decodes then, in _initialize, so that init itself is quick,
// the more so for an instance started from its module's image (the state
// after _initialize, docs/snapshots.md), which has them built already.
func warmConfig() {
	cfg, _ := ParseConfig([]byte(`{"instance_id":"i","game":"g","version":"1","seed":1,"max_players":1,"tick_hz":60,"params":{}}`))
	var v struct{}
	_ = cfg.DecodeParams(&v)
}

// theGuest is the one guest of this module: the exports of the ABI are
// package-level functions, so their state is necessarily package-level.
var theGuest guest

// NewRand returns a deterministic pseudo-random generator (PCG) for seed,
// usually Config.Seed. The same seed gives the same sequence on every
// machine and run, for a given build of the module.
func NewRand(seed uint64) *rand.Rand {
	return NewRandStream(seed, 0)
}

// NewRandStream returns a generator for one of many independent streams of
// the same seed, so that, for example, each spawn point can draw from its
// own stream whatever else the game draws.
func NewRandStream(seed, stream uint64) *rand.Rand {
	return rand.New(NewRandSource(seed, stream))
}

// NewRandSource returns the PCG source of NewRandStream(seed, stream), for
// a game that keeps its position in a stream across a hot upgrade: the
// source's MarshalBinary in SaveState and UnmarshalBinary in LoadState let
// the new version draw the numbers the old one would have drawn next.
// rand.New(src) draws the same numbers as NewRandStream.
func NewRandSource(seed, stream uint64) *rand.PCG {
	return rand.NewPCG(splitmix64(seed), splitmix64(stream^0x9e3779b97f4a7c15))
}

// splitmix64 scrambles a 64-bit value (Steele, Lea and Flood), so that
// nearby seeds start far apart.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
