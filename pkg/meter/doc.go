// Package meter makes WebAssembly execution countable: Instrument rewrites a
// module so that it counts the instructions it executes against a budget of
// fuel and traps when the budget is spent. wazero has no fuel of its own;
// the rewritten module runs on any engine and counts exactly the same on
// every machine.
//
// The package belongs to RCC's executor (pkg/wasmhost uses it), but it
// depends only on the standard library, wazero's api package and
// pkg/wasmbin, the binary-format reader it shares with wasmhost's ABI check:
// wasmbin decodes the sections, types, imports and exports; meter refuses
// what it does not handle and rewrites the code.
//
// # Scheme
//
// Instrument appends one mutable i64 global, exported as GlobalName
// ("rcc_fuel"), that holds the fuel that remains. Every function body is
// cut into runs: straight-line sequences of instructions entered only at
// their first instruction. A run starts at function entry, at each loop
// header, after if, else and br_if, and after the end of an if or of a block
// that a branch targets. Each run is charged its whole static cost before
// its first instruction executes.
//
// Inside a function the fuel lives in an added i64 local, loaded from the
// global on entry and after each call, and stored back before each call,
// return and fuel trap. A charge is then
//
//	local.get $f; i64.const cost; i64.sub; local.tee $f
//	i64.const 0; i64.lt_s; if; local.get $f; global.set $fuel; unreachable; end
//
// or, for a run that does not check (see Checks), only the subtraction.
// Runs that cost nothing and start no loop or function get no code. Bulk
// operations add a charge for their length operand just before they run.
//
// Indices keep their meaning: no function, import, type, table or memory is
// added; the global is appended after all existing globals, and the locals
// after all existing locals. Only straight-line code and self-contained
// if ... end blocks are inserted, so branch depths are unchanged. The data
// count, element and data segments, the start function and every custom
// section (name, producers, target_features, ...) are kept byte for byte.
//
// # Cost model
//
// Every instruction costs 1, except block, loop, end and nop, which compile
// to no code and cost 0; every cycle of control flow still contains a
// branch or a call. memory.copy, memory.fill and memory.init cost 1 more per
// 16 bytes of their length operand, and table.copy, table.fill and
// table.init 1 more per element, charged (and checked) before they run. A
// run is charged as a whole when it is entered, so a br_if that leaves a
// run, or an instruction that traps, has paid for the rest of the run.
// memory.grow costs 1: linear memory is capped by the host.
//
// # Fuel contract
//
// The host sets the budget before each call into the guest (SetFuel, or
// Set on the exported global) and reads what remains afterwards (Fuel):
//
//   - After a call that returns normally, fuel is the budget minus the cost
//     of everything the call executed. With CheckEveryRun it is never
//     negative.
//   - A call that traps with fuel < 0 ran out of fuel: report it as
//     fuel_exhausted. The unreachable trap comes from the injected code.
//   - A call that traps with fuel >= 0 trapped for its own reason. Fuel may
//     then not include the runs executed since the function last called,
//     returned or checked, so it is a lower bound of what was used.
//
// Fuel is an int64; budgets must be between 0 and math.MaxInt64. The
// global's initial value is Options.InitialFuel, the budget of the start
// function if the module has one.
//
// # Checks
//
// With CheckEveryRun (the default), a run may leave its comparison to the
// runs that follow it, as long as whatever can execute from its start until
// one of them compares costs at most 256: a guest that makes fuel negative
// traps after spending at most 256 more. Function entries, loop headers and
// runs that return, call an import or call_indirect always compare, so a
// call never returns, to its caller or to the host, with negative fuel.
//
// With CheckLoops, only function entries, loop headers and bulk operations
// compare. Every cycle still does, but after fuel goes negative the guest
// may run on through straight-line code, return to its callers and run
// their straight-line code too, until one of them reaches a loop header, a
// call or a return to the host: the overrun is bounded by the straight-line
// cost of the functions on the call stack, and a call may return normally
// with negative fuel, which the host should also treat as exhaustion. It
// measured no consistently faster (docs/metering.md has the figures), so
// CheckEveryRun, with its tighter guarantee, is the default.
//
// # Determinism
//
// The cost of a call depends only on the module's bytes, the Options and
// the instructions the call executes (and the length operands of bulk
// operations): the same call with the same state uses the same fuel on
// every machine, engine and run. Instrument itself is deterministic:
// the same input and options always give the same output. Version
// changes whenever the output may change; hosts include it and
// Options.Key in the key of any cache of instrumented or compiled modules.
//
// # What is refused
//
// Instrument decodes the WebAssembly 2.0 core: MVP, sign extension,
// non-trapping float-to-int conversion (0xfc 0-7), bulk memory (0xfc
// 8-17), reference types, multi-value (type-index block types) and all of
// fixed-width SIMD (0xfd), which is everything Go's and Rust's wasm32
// compilers emit. It returns an *Error wrapping ErrUnsupported, naming the
// opcode and its byte offset, for tail calls (return_call,
// return_call_indirect), exception handling (try_table, throw, throw_ref,
// the legacy try/catch/delegate/rethrow, tag sections and imports), typed
// function references, GC, threads and atomics (0xfe), relaxed SIMD,
// memory64 and multiple memories, and for unknown opcodes; and an *Error
// wrapping ErrMalformed for bytes that are not a valid module. A module
// that already exports GlobalName, or a name starting with GlobalPrefix,
// is refused with ErrExported.
package meter
