// Package agent links an executor to its coordinator. It is the daemon's
// inside, not a public API for other modules: rccd executor and rccd dev
// use it.
//
// [New] registers the executor under its name with an executor token
// (whose subject must be that name), retrying with backoff while the
// coordinator cannot be reached, and creates the [executor.Executor] with
// the id and ticket key the coordinator answered. [Agent.Run] then keeps
// four links up until its context ends:
//
//   - the assignment stream: every Start and Stop is applied as it
//     arrives. A Start fetches the module by sha256 (and the assets
//     archive, if any) into the data directory, content-addressed and
//     verified, and starts the instance; a Stop stops it. Starting an
//     instance that already runs only reports it again, so the stream may
//     resend what is current at every reconnection.
//   - reports: each state change of an instance (running, stopped,
//     failed with the sandbox's reason) is sent to the coordinator at once;
//     an ended instance is forgotten only once the coordinator has it.
//   - heartbeats, at the interval the coordinator asks for, with live stats
//     and the state, players and newly admitted players of every instance.
//   - logs: every [Config.LogInterval] the instances' new log entries
//     (executor.Executor.Logs) are pushed with AppendLogs, and an
//     instance's last ones before its end is reported, so that whoever
//     follows its log on the coordinator sees them before the end.
//
// When the coordinator goes away (restart, network), instances keep
// running and players keep playing; the agent reconnects with capped
// exponential backoff, registers again if told to, and reports every
// instance it runs. [Agent.Drain] asks the coordinator to place nothing
// more here and waits for the running instances to end (their leases
// expire or operators stop them); when Run's context ends, whatever still
// runs is stopped with reason executor_shutdown (its players are closed
// with protocol.CloseExecutorShutdown) and reported.
package agent
