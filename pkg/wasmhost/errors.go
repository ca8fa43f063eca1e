package wasmhost

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/sys"
)

// Reason names why an instance ended. Reasons are stable strings: they reach
// logs, the coordinator, rccctl and players' close frames.
type Reason string

// The reasons an instance fails.
const (
	// ReasonInvalidModule: the module breaks the guest ABI or is not wasm.
	ReasonInvalidModule Reason = "invalid_module"
	// ReasonInitFailed: init returned a non-zero code.
	ReasonInitFailed Reason = "init_failed"
	// ReasonTrap: the guest trapped (unreachable, out-of-bounds access,
	// division by zero, ...); the detail says which.
	ReasonTrap Reason = "trap"
	// ReasonStackOverflow: the guest's call stack overflowed.
	ReasonStackOverflow Reason = "stack_overflow"
	// ReasonOutOfMemory: the guest failed in a call where memory.grow past
	// its cap was refused.
	ReasonOutOfMemory Reason = "out_of_memory"
	// ReasonDeadlineExceeded: a call ran past its wall-clock deadline.
	ReasonDeadlineExceeded Reason = "deadline_exceeded"
	// ReasonFuelExhausted: a call spent its fuel budget.
	ReasonFuelExhausted Reason = "fuel_exhausted"
	// ReasonBadPointer: alloc returned a buffer outside linear memory.
	ReasonBadPointer Reason = "bad_pointer"
	// ReasonBadStateBuffer: serialize_state returned a pointer whose length
	// prefix or bytes lie outside linear memory.
	ReasonBadStateBuffer Reason = "bad_state_buffer"
	// ReasonStateTooLarge: the state is over the size limit.
	ReasonStateTooLarge Reason = "state_too_large"
	// ReasonLogFlood: the guest wrote more log output in one call than allowed.
	ReasonLogFlood Reason = "log_flood"
	// ReasonExit: the guest called proc_exit (a Go guest does on panic).
	ReasonExit Reason = "exit"
	// ReasonCanceled: the host cancelled the call.
	ReasonCanceled Reason = "canceled"
	// ReasonClosed: the instance was closed by the host.
	ReasonClosed Reason = "closed"
)

// Error is the failure of an instance or a module.
type Error struct {
	Reason Reason
	// Call is the guest export that failed, if any.
	Call string
	// Detail is a human-readable explanation.
	Detail string
	// ExitCode is the guest's exit code for ReasonExit and ReasonInitFailed.
	ExitCode uint32
	// Err is the underlying runtime error, if any.
	Err error
}

// Error returns the reason, the failed call and the detail, such as
// "trap in tick: out of bounds memory access".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Reason))
	if e.Call != "" {
		b.WriteString(" in ")
		b.WriteString(e.Call)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns the underlying runtime error, if any.
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the reason of err if it is or wraps an *Error, else "".
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// errLogFlood is raised inside the guest's write to stop it at once.
var errLogFlood = errors.New("log output over the per-call limit")

// classify turns an error from a guest call into an *Error.
func classify(call string, err error) *Error {
	e := &Error{Call: call, Err: err}
	var exit *sys.ExitError
	switch {
	case errors.Is(err, errLogFlood):
		e.Reason, e.Detail = ReasonLogFlood, errLogFlood.Error()
	case errors.As(err, &exit):
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			e.Reason, e.Detail = ReasonDeadlineExceeded, "call ran past its wall-clock deadline"
		case sys.ExitCodeContextCanceled:
			e.Reason, e.Detail = ReasonCanceled, "call cancelled by the host"
		default:
			e.Reason, e.ExitCode = ReasonExit, exit.ExitCode()
			e.Detail = fmt.Sprintf("guest exited with code %d", exit.ExitCode())
		}
	default:
		msg := err.Error()
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i] // drop the stack trace
		}
		e.Detail = strings.TrimPrefix(msg, "wasm error: ")
		e.Reason = ReasonTrap
		if strings.Contains(msg, "stack overflow") {
			e.Reason = ReasonStackOverflow
		}
	}
	return e
}
