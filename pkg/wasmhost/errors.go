package wasmhost

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/sys"

	"github.com/rcc-games/rcc/pkg/lifecycle"
)

// Error is the failure of an instance or a module.
type Error struct {
	// Reason names the failure.
	Reason lifecycle.Reason
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
func ReasonOf(err error) lifecycle.Reason {
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
		e.Reason, e.Detail = lifecycle.ReasonLogFlood, errLogFlood.Error()
	case errors.As(err, &exit):
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			e.Reason, e.Detail = lifecycle.ReasonDeadlineExceeded, "call ran past its wall-clock deadline"
		case sys.ExitCodeContextCanceled:
			e.Reason, e.Detail = lifecycle.ReasonCanceled, "call cancelled by the host"
		default:
			e.Reason, e.ExitCode = lifecycle.ReasonExit, exit.ExitCode()
			e.Detail = fmt.Sprintf("guest exited with code %d", exit.ExitCode())
		}
	default:
		msg := err.Error()
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i] // drop the stack trace
		}
		e.Detail = strings.TrimPrefix(msg, "wasm error: ")
		e.Reason = lifecycle.ReasonTrap
		if strings.Contains(msg, "stack overflow") {
			e.Reason = lifecycle.ReasonStackOverflow
		}
	}
	return e
}
