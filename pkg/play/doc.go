// Package play is the player side of RCC: a Go client that joins a game,
// follows its state and sends input, for rcc-view, rcc-load, tests and any
// other Go client. It is public API: other modules may import it. The wire
// protocol it speaks is docs/protocol.md (pkg/protocol); the world
// snapshots it decodes are docs/world.md (pkg/world); docs/client.md
// describes this package.
//
// # Sessions
//
// A Session is one player's connection to an instance. [Join] asks the
// coordinator for a seat with the caller's credentials (a *client.Client)
// and connects; [Connect] connects with a ready play URL (one ticket, from
// `rccctl join` for example). Both wait for the welcome and return a
// refusal as a [*CloseError] whose Code matches pkg/protocol's close codes
// with errors.Is. [Start] does the same in the background for a caller that
// wants to show "connecting" while it happens, with Ready to wait.
//
// A session reads every frame: the welcome, states, player joined and left,
// version changes (a hot upgrade of the instance: [Stats].GameVersion),
// and the error frame before a close. States that are world snapshots (every
// game on pkg/sdk) go into a [Buffer]; the raw bytes of the latest state are
// kept for other games ([Session.LastState]). [Config.OnEvent] sees every
// frame as it is read.
//
// Nothing a render loop calls waits on the network: [Session.Render] blends
// the buffered snapshots for the frame being drawn, [Session.Stats] returns
// the connection state (connecting, connected, reconnecting, closed), the
// welcome, the round-trip time measured with WebSocket pings, the snapshot
// rate and the buffer's figures, and [Session.Send] and
// [Session.SendController] queue inputs for a writer goroutine that paces
// them to the rate the server announced (the oldest is dropped when the
// small queue is full).
//
// When the connection drops (the network, or a close whose code says that
// trying again may help: too_slow, idle, executor_shutdown, ...), a session
// with a ticket source that can give more tickets ([Join]) reconnects with
// a fresh ticket and backoff, for up to [Config.ReconnectFor] (25 s, within
// the executor's 30 s grace), so the player keeps its avatar: the new
// welcome has Resumed set. A session on one URL, or one closed for a reason
// that retrying cannot change (instance_failed, instance_stopped, replaced,
// a ticket refusal), ends, and [Session.Err] says why.
//
// [Session.Close] leaves the game: it closes with 1000 (normal closure),
// which the executor takes as the player quitting, so the avatar goes at
// once instead of lingering for the reconnect grace.
//
// # The snapshot buffer
//
// A [Buffer] turns snapshots that arrive with jitter, late, out of order or
// not at all into smooth motion. For any render time it hands two
// snapshots and a blend factor ([Buffer.Sample]), or blends them into a
// snapshot of the caller's ([Buffer.Render], no allocation in steady
// state). The render time runs behind the newest snapshot by an
// interpolation delay adapted to the measured snapshot interval and jitter
// (two intervals plus twice the mean lateness by default), never goes
// back, extrapolates briefly when a state is late, and does not blend an
// entity across a teleport. It takes times as arguments, so it is usable
// and testable on its own.
package play
