package meter

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Version identifies the instrumentation scheme. It changes whenever
// Instrument may produce different output for the same input and options,
// so hosts include it (with Options.Key) in the key of any cache of
// instrumented or compiled modules.
const Version = "2"

// GlobalName is the name under which an instrumented module exports its
// fuel global: a mutable i64 holding the fuel that remains.
const GlobalName = "rcc_fuel"

// GlobalPrefix starts the names under which Instrument and ExportGlobals
// export every mutable global that the module defines, exported or not:
// GlobalPrefix followed by the global's index in decimal ("rcc_global_3").
// A host reads and writes them to snapshot and restore an instance. Names
// with this prefix are reserved: a module exporting one is refused with
// ErrExported.
const GlobalPrefix = "rcc_global_"

// GlobalExportName is the reserved export name of the global of this index.
func GlobalExportName(index uint32) string {
	return GlobalPrefix + strconv.FormatUint(uint64(index), 10)
}

// Checks selects where the injected code compares the remaining fuel with
// zero. Fuel is subtracted at every run whatever the mode.
type Checks int

const (
	// CheckEveryRun compares fuel with zero in every run, or leaves the
	// comparison to the runs that follow it when they cost at most 256
	// before one of them compares. A guest that runs out of fuel traps
	// having executed at most 256 units past its budget, and a call that
	// returns normally never leaves fuel negative. It is the default.
	CheckEveryRun Checks = iota
	// CheckLoops compares fuel with zero only at function entry, at loop
	// headers and before bulk operations; other runs only subtract. A guest
	// may then execute straight-line code past its budget, and a call may
	// even return normally with negative fuel (see the package doc for the
	// bound).
	CheckLoops
)

// String returns the mode's name.
func (c Checks) String() string {
	switch c {
	case CheckEveryRun:
		return "every-run"
	case CheckLoops:
		return "loops"
	}
	return "Checks(" + strconv.Itoa(int(c)) + ")"
}

// Options configures Instrument. The zero value is the default.
type Options struct {
	// Checks selects where fuel is compared with zero.
	Checks Checks
	// InitialFuel is the value of the fuel global when the module is
	// instantiated, i.e. the budget of its start function (if any) and of
	// any call made before the host first sets the global. With 0, a start
	// function traps at once; WASI reactors and commands have none.
	// It must not be negative.
	InitialFuel int64
}

// Key returns a string that identifies the options, for cache keys. Two
// options with the same Key produce the same output.
func (o Options) Key() string {
	return "meter/" + Version + "/" + o.Checks.String() + "/" + strconv.FormatInt(o.InitialFuel, 10)
}

// ErrMalformed is wrapped by errors about a module that is not a valid
// WebAssembly binary.
var ErrMalformed = errors.New("malformed module")

// ErrUnsupported is wrapped by errors about a valid module that uses a
// feature Instrument does not handle (tail calls, exception handling,
// threads, GC, memory64, multiple memories, relaxed SIMD, ...).
var ErrUnsupported = errors.New("unsupported feature")

// ErrExported is returned when the module already exports GlobalName or a
// name starting with GlobalPrefix.
var ErrExported = errors.New("module already exports a reserved name")

// Error is the error type returned by Instrument. It names the byte offset
// in the input module where the problem was found.
type Error struct {
	// Offset is the byte offset in the input module.
	Offset int
	// Msg says what was found there.
	Msg string
	// Err is ErrMalformed, ErrUnsupported or ErrExported.
	Err error
}

// Error returns the message with its offset.
func (e *Error) Error() string {
	return fmt.Sprintf("meter: %v: %s at offset %#x", e.Err, e.Msg, e.Offset)
}

// Unwrap returns the sentinel this error belongs to.
func (e *Error) Unwrap() error { return e.Err }

func malformed(off int, msg string) error {
	return &Error{Offset: off, Msg: msg, Err: ErrMalformed}
}

func unsupported(off int, msg string) error {
	return &Error{Offset: off, Msg: msg, Err: ErrUnsupported}
}

// Instrument returns a copy of the WebAssembly binary wasm that subtracts
// the cost of what it executes from the exported mutable i64 global
// GlobalName and traps with unreachable when that fuel goes negative. Function,
// global, table, memory and type indices, exports, imports, data, elements,
// the start function and custom sections are kept; one global and its
// export are appended, one export per mutable global the module defines
// (GlobalExportName), and one or two locals to each function. The input is
// not modified.
//
// Instrument decodes every instruction of the core specification 2.0 (MVP,
// sign extension, non-trapping float-to-int, bulk memory, reference types,
// multi-value, fixed-width SIMD) and returns an *Error wrapping
// ErrUnsupported for anything else, naming the opcode and its offset.
func Instrument(wasm []byte, opts Options) ([]byte, error) {
	if opts.Checks != CheckEveryRun && opts.Checks != CheckLoops {
		return nil, fmt.Errorf("meter: unknown Checks mode %d", int(opts.Checks))
	}
	if opts.InitialFuel < 0 || opts.InitialFuel == math.MinInt64 {
		return nil, fmt.Errorf("meter: negative InitialFuel %d", opts.InitialFuel)
	}
	m, err := parseModule(wasm)
	if err != nil {
		return nil, meterError(err)
	}
	out, err := m.rewrite(opts, true)
	if err != nil {
		return nil, meterError(err)
	}
	return out, nil
}

// ExportGlobals returns a copy of wasm that exports each mutable global it
// defines under GlobalExportName, and is otherwise unchanged: what
// Instrument adds for snapshots, without the fuel. Instrument's output
// already has these exports.
func ExportGlobals(wasm []byte) ([]byte, error) {
	m, err := parseModule(wasm)
	if err != nil {
		return nil, meterError(err)
	}
	out, err := m.rewrite(Options{}, false)
	if err != nil {
		return nil, meterError(err)
	}
	return out, nil
}
