// Package executor runs game instances for RCC: it ticks every instance on
// a shared scheduler, serves players over WebSocket (the protocol of
// pkg/protocol) and publishes Prometheus metrics.
//
// It is the daemon's inside, not a public API for other modules: rccd
// builds an [Executor], runs it and drives it from the coordinator's
// assignments. The driving API is small and made for reconciliation:
// [Executor.Start] starts what should run, [Executor.Stop] stops what
// should not, [Executor.Instances] reports every instance with its state
// and, for the ones that ended, the reason; [Config.OnChange] tells about
// each change as it happens, so a failure can be reported at once.
//
// # Scheduling
//
// Instances do not get a goroutine each. A dispatcher keeps every running
// instance in a queue ordered by the time its next frame is due and hands
// due instances to a small pool of workers (GOMAXPROCS by default), which
// run one frame each: the queued joins and leaves, the inputs in arrival
// order, tick, serialize_state (pkg/wasmhost does the ordering). Every
// instance ticks on its own fixed grid (1/TickHz apart, 60 Hz by default).
//
// An instance that falls behind skips ahead and never catches up: when a
// frame ends after the next one was due (because the guest was slow or the
// workers were busy), the frames whose time has passed are skipped and
// counted (rcc_executor_tick_overruns_total counts the late frames,
// rcc_executor_frames_skipped_total the frames not run), and the next frame
// is the next point of the grid still ahead. The guest's clock counts
// frames, so a game that falls behind runs slower than wall time rather
// than in bursts of catch-up frames.
//
// Every guest call is bounded by the sandbox (fuel, and the wall-clock
// deadline wasmhost.Config.CallTimeout), and a failure ends only the
// instance that failed: its players are closed with
// protocol.CloseInstanceFailed and the sandbox's reason, and the instance
// is reported as failed with that reason. A looping guest occupies one
// worker for at most one call's deadline; the other workers keep the other
// instances ticking meanwhile.
//
// # Players
//
// [Executor.Handler] serves GET /play/{instance}?ticket=JWT. The ticket is
// checked with auth.Verifier.VerifyTicket against this executor's id and the
// instance in the path; the player id is the ticket's subject. Refusals
// still upgrade the connection and then close it with their own code, so
// that browsers, which cannot read the status of a failed upgrade, learn
// why. A player's inputs are rate-limited by a token bucket; state frames
// are queued per client in a small queue that drops its oldest one when
// full, and a client that drops too many in a row is closed as too slow.
// A player whose connection drops stays in the game for
// [Config.ReconnectGrace] and keeps the avatar when reconnecting with a
// fresh ticket within it; a client that closes first with 1000 (normal
// closure) quits on purpose and leaves the game at once; a
// second connection of a connected player replaces the first, with no
// leave or join sent to the game.
//
// # Instance logs
//
// Each instance keeps its last [Config.LogEntries] log entries in a ring:
// the guest's stdout and stderr lines with the frame and time of each, and
// its lifecycle events (started, player_joined, player_left, failed,
// stopped, dropped). [Executor.Logs] reads the entries after a sequence
// number, so that a reader (pkg/agent, which pushes them to the
// coordinator) takes each once and learns how many the ring overwrote
// before it came. A failed instance's detail ends with the guest's last
// panic line or stderr line ([ReasonText]).
//
// # Input logs
//
// An instance started with [InstanceSpec.Record] has its input log
// (pkg/replay) written as it runs: one line per frame with the events given
// to the guest and the hash of the state bytes, buffered and flushed every 60
// frames and at the end. A write error stops the recording, never the
// instance; an instance that does not record pays one nil check per frame.
// [Executor.CreateReplay] makes the log file in [Config.ReplayDir], and
// Handler serves it at GET /replays/{instance} to a bearer of a grant for
// that download (auth.ActionInputLog), which the coordinator issues and
// Config.Verifier checks; role tokens are refused there.
//
// # Serving
//
// [Listen] opens the players' and the metrics' sockets (before the executor
// exists, so an agent can register with the public address), [Server.Serve]
// serves an Executor on them with its background work (Run, or an agent's),
// and [Server.Shutdown] stops in order: background work, HTTP servers,
// executor. rccd executor, rccd dev, rcc-load --self and the tests of
// pkg/agent and pkg/play start executors this way.
package executor
