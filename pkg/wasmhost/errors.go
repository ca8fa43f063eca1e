package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
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
		if so := stackOverflow(); so != nil && errors.Is(err, so) {
			e.Reason = lifecycle.ReasonStackOverflow
		}
	}
	return e
}

// recurseForever is a module whose export "f" calls itself without end:
// (module (func $f (export "f") (call $f))).
var recurseForever = []byte("\x00asm\x01\x00\x00\x00" +
	"\x01\x04\x01\x60\x00\x00" + // type section: () -> ()
	"\x03\x02\x01\x00" + // function section: one function of type 0
	"\x07\x05\x01\x01f\x00\x00" + // export section: "f", function 0
	"\x0a\x06\x01\x04\x00\x10\x00\x0b") // code section: call 0, end

// stackOverflow returns wazero's own error value for a call stack that
// ran out, which both its engines raise. Its package (wasmruntime) is
// internal to wazero, so the value is learnt once per process from a
// throwaway module that recurses without end; nil if that went otherwise.
// A trap is then classified with errors.Is, not by its message.
var stackOverflow = sync.OnceValue(func() error {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, recurseForever)
	if err != nil {
		return nil
	}
	_, err = mod.ExportedFunction("f").Call(ctx)
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		if u.Error() == "stack overflow" && errors.Unwrap(u) == nil {
			return u // the sentinel itself, under wazero's wrapping
		}
	}
	return nil
})
