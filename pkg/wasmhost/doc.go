// Package wasmhost runs untrusted game modules in a wazero sandbox under the
// RCC guest ABI v1.
//
// It is the daemon's inside, not a public API for other modules: the
// executor and rccctl use it, game authors use pkg/sdk instead.
//
// An [Engine] compiles a module once ([Engine.Compile], with an on-disk
// compilation cache keyed by content; concurrent Compiles of the same bytes
// share one compilation) and instantiates many instances from it
// ([Module.Instantiate]). Its cache is bounded ([Config.CodeCacheBytes]):
// the least recently used modules without a live instance are dropped
// first ([Engine.CacheStats]). [Check] validates a module's bytes against the
// ABI without compiling it and reports every problem it finds; it decodes the
// module with pkg/wasmbin, the binary-format reader it shares with pkg/meter.
//
// A module's instances start from its image where they can: the first
// start takes the instance's state right after _initialize (memory in a
// sealed memfd, the mutable globals), and the later ones map that memory
// copy-on-write into an instance of the module's variant without data
// segments and run only init ([Module.PrepareImage], [Instance.FromImage],
// [Engine.StartStats], [Config.NoImages]; docs/snapshots.md).
//
// One frame of an instance ([Instance.Frame]) runs, in this order: joins and
// leaves, every queued input in arrival order, tick, serialize_state. Every
// failure is an [*Error] carrying a reason (lifecycle.Reason) such as trap or
// deadline_exceeded; once an instance has failed, every later call
// returns the same error.
//
// The sandbox: linear memory is capped (64 MiB by default); WASI preview 1 is
// the only import module, with no environment, args = [game], an empty stdin,
// stdout and stderr captured as rate-limited, size-capped log lines, the
// game's assets (if any) mounted read-only at /assets and nothing else; clocks
// return virtual time (frame × step) and random_get is seeded from the
// instance seed from init on (before, during _initialize, it reads the
// module's own stream), so a run is reproducible from its module, seed and
// inputs.
package wasmhost
