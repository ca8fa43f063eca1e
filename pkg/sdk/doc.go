// Package sdk is what a Go game imports to run on RCC. It is public API.
//
// A game is a WASI reactor built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o game.wasm ./mygame
//
// Importing this package adds every export of the RCC guest ABI v1 to the
// module (alloc, init, tick, on_input, serialize_state, on_join, on_leave;
// the Go toolchain adds memory and _initialize). The exports are declared
// here with //go:wasmexport, which works from any package of the program
// since Go 1.24, so a game's own code never declares an export nor touches
// a pointer. It implements Game and registers it from an init function of
// its main package (a reactor never runs main, but _initialize runs every
// package's init):
//
//	package main
//
//	import "github.com/rcc-games/rcc/pkg/sdk"
//
//	func init() { sdk.Register(&game{}) }
//
//	func main() {} // required by the build, never called
//
// # What the exports do
//
//   - alloc(len) returns a pointer to len writable bytes in one buffer the
//     SDK keeps and reuses: each call may move it (when it must grow), and
//     the previous one is invalid after the next alloc. It returns 0 when
//     len is negative or larger than MaxAlloc. Go's garbage collector does
//     not move memory on wasm, and the SDK keeps the buffer referenced.
//   - init(ptr, len) parses the JSON configuration (see Config) and calls
//     Game.Init. It returns 0 on success; otherwise it writes the reason to
//     stderr and returns 1 (no game registered), 2 (the configuration is
//     not a valid JSON object of the expected fields), 3 (Game.Init
//     returned an error) or 4 (init already called).
//   - on_join(p_ptr, p_len) and on_leave(p_ptr, p_len) call Game.Join and
//     Game.Leave with the player id.
//   - on_input(p_ptr, p_len, i_ptr, i_len) calls Game.Input. The input bytes
//     are only valid during that call: a game that keeps them copies them.
//   - tick(dt_ms) calls Game.Tick with the step converted to seconds.
//   - serialize_state() calls Game.State to append the state to a reused
//     buffer, and returns a pointer to the little-endian u32 length followed
//     by the bytes, valid until the next call into the guest.
//
// Arguments must lie inside the buffer the last alloc returned, as the ABI
// requires; anything else, a call other than alloc before a successful
// init, or an error from Game.State, panics with a message saying so. A
// panic is never recovered: the Go runtime prints it and its stack trace to
// stderr and the call traps, so the host fails the instance with that log.
// Games should let their own bugs panic the same way.
//
// # Determinism
//
// The host replays an instance from its seed and input log, so a game must
// compute its state only from Config, the calls it receives and their
// order: use NewRand (seeded from Config.Seed) for randomness, never the
// wall clock or math/rand's global functions, and never let map iteration
// order reach the state (keep players in a slice in join order, or sort).
// Floating point is deterministic on wasm for a given module.
//
// # World state
//
// Games whose state is a 3D scene build a world.Snapshot and encode it in
// State with Snapshot.AppendBinary; rcc-view renders it. Any other byte
// format works too, for clients that understand it.
package sdk
