// Command arena is RCC's example multiplayer game: players run and jump
// around a walled square arena collecting orbs. It builds as a WASI reactor
// on the game SDK (pkg/sdk) and its state is a world snapshot (pkg/world),
// so rcc-view renders it with no game-specific code:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o arena.wasm ./games/arena
//
// The game logic is plain Go (tested natively with go test); only
// register_wasip1.go wires it to the SDK.
//
// # Rules
//
// Every player gets an avatar: a capsule 1.8 m tall and 1 m wide, with its
// own colour and the player id as its label, which the player's camera
// follows. Avatars accelerate towards the direction the player pushes,
// slow down by friction when released (with less control in the air), fall
// under gravity and jump from the floor. They cannot leave the arena and
// push each other apart. Touching an orb collects it and scores a point;
// the orb comes back after a delay somewhere else. Orbs float between 0.6
// and 2.4 m above the floor, so the higher ones need a jump. The simulation
// advances by the host's fixed step; a step longer than 0.1 s is simulated
// as 0.1 s, and a zero, negative or NaN step only advances the frame count.
//
// Everything is deterministic: the same seed, joins, leaves and inputs in
// the same order give the same state bytes. Orb i's n-th position is the
// n-th draw of its own random stream of the seed, and avatars appear at
// draws of another stream, one per avatar created.
//
// # Players
//
// Players are kept in join order. At most max_players of them (from the
// instance configuration; 16 when it is 0, never more than 64) have an
// avatar at once; players joining beyond that become spectators: they are
// listed in the state with no entity (entity 0) and receive an avatar, in
// join order, when one is freed. A join with an id that is already playing
// or spectating changes nothing (the avatar and score are kept). Leaving
// removes the avatar and the score. Ids that are empty, not UTF-8 or longer
// than 128 bytes are ignored, as are joins beyond 1024 players.
//
// # Input
//
// An input message is exactly 3 bytes:
//
//	byte 0  int8   x axis, -127 to 127 (-128 counts as -127): +127 pushes
//	               towards +X
//	byte 1  int8   z axis, likewise towards +Z
//	byte 2  uint8  flags: bit 0 jump; bits 1-7 are reserved, sent as 0 and
//	               ignored
//
// The axes are in world space (a client whose camera looks towards -Z
// sends z = -127 for "forward"); a push longer than 1 is scaled down to 1.
// The latest message of a player holds until the next one, so a client
// only needs to send changes. Jump makes the avatar jump when it stands on
// the floor: a message with the bit set jumps at the next tick even when a
// message without it follows before that tick, and while the bit stays set
// the avatar jumps again on every landing. Messages of another length, and
// messages from players without an avatar, are ignored.
//
// Arena also accepts the standard controller input (world.Controller:
// exactly 10 bytes, tag 0xC1), so generic clients such as rcc-view play it
// with no arena-specific code. Its movement axes are turned into world
// space by its yaw (Controller.WorldMove: yaw 0 pushes forward towards -Z)
// and scaled down to a length of 1 at most; ButtonJump is the jump bit,
// with the same rules. Move y, pitch and the other buttons are ignored. A
// 10-byte message whose first byte is not 0xC1 is ignored like any other
// malformed message. Both formats may be mixed; the latest message holds.
//
// # Parameters
//
// The spawn's params, a JSON object, may set (unknown fields fail the
// spawn):
//
//	arena_size     side of the square floor in metres, 10 to 200 (30)
//	orbs           orbs at a time, 0 to 64 (6)
//	orb_respawn_s  seconds before a collected orb reappears, 0 to 60 (2)
//	speed          top running speed in m/s, 1 to 50 (7)
//	jump_speed     take-off speed in m/s, 0 to 50 (9)
//	gravity        downward acceleration in m/s², 1 to 100 (25)
//
// # State
//
// The state is a world snapshot (wire format in pkg/world) whose frame
// counts ticks, with these entities, in this order: the floor (id 1, a
// plane at y = 0), the four walls (ids 2 to 5, boxes 2 m high just outside
// the floor), the orbs present (id 16 + i for orb i, spheres of diameter
// 0.6), then the avatars in join order (ids from 1000, one new id per
// avatar created, never reused). Players are listed in join order, each
// with the entity of its avatar (0 for spectators) and its score.
package main
