// Package coordinator is RCC's control plane: the gRPC services of
// proto/rcc/v1 (games, instances, executors, watch) over a Store (what
// store.Open returns; each service declares the part it uses),
// plus the background work that keeps the state true: lease expiry,
// executor liveness, placement of pending instances and release of unused
// seat reservations.
//
// Several coordinators may share one PostgreSQL database. Every invariant
// is enforced by the store in one conditional statement; coordinators tell
// each other about changes through the store's LISTEN/NOTIFY (when it has
// one) so an executor connected to one coordinator hears at once about an
// instance placed by another, and each assignment stream also resynchronises
// from the store every few seconds.
//
// [Coordinator.Serve] listens, serves gRPC (and /metrics and /healthz) and
// runs the background work; [Server.Shutdown] stops them in order. rccd
// coordinator, rccd dev and the tests (through coordinatortest.Start) start
// coordinators this way.
//
// This package is the daemon's insides, not a public API; the Go client of
// the API is pkg/client.
package coordinator
