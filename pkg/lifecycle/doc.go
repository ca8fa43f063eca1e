// Package lifecycle names the lifecycle of a game instance: its State
// (pending, starting, running, stopping, stopped, failed, lost) and the
// Reason it ended, one type each from the sandbox (pkg/wasmhost) through
// the executor, its agent and the coordinator's store. Subpackage
// lifecyclepb holds the one mapping to and from the gRPC API's
// InstanceState.
//
// "State" here is always the lifecycle state of an instance; the bytes a
// guest serialises every tick are its state bytes, carried in a state
// frame (pkg/protocol), and have nothing to do with this package.
//
// It is the daemon's insides, not public API.
package lifecycle
