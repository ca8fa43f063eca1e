package wasmhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/rcc-games/rcc/pkg/lifecycle"
)

// ErrNoUpgrade is wrapped by the errors of SaveState and LoadState for a
// module that does not take part in hot upgrades: it lacks the export, or
// its save_state returned 0 (a game that does not save its state).
var ErrNoUpgrade = errors.New("no hot-upgrade support")

// SupportsUpgrade reports whether the module exports save_state and
// load_state, the optional pair of a hot upgrade (docs/abi.md).
func (m *Module) SupportsUpgrade() (save, load bool) {
	return m.report.Optional["save_state"], m.report.Optional["load_state"]
}

// Module is the compiled module the instance runs.
func (i *Instance) Module() *Module { return i.module }

// SaveState calls the guest's save_state between frames and returns a copy
// of the state it saved for the next version of the game. A trap ends the
// instance like any failed call.
func (i *Instance) SaveState(ctx context.Context) ([]byte, error) {
	if i.err != nil {
		return nil, i.err
	}
	fn := i.mod.ExportedFunction("save_state")
	if fn == nil {
		return nil, fmt.Errorf("%w: the module does not export save_state", ErrNoUpgrade)
	}
	i.setBudget(i.frameFuel)
	if err := i.call(ctx, "save_state", fn, i.engine.cfg.CallTimeout); err != nil {
		return nil, err
	}
	ptr := uint32(i.stack[0])
	if ptr == 0 {
		return nil, fmt.Errorf("%w: save_state returned 0: the game does not save its state", ErrNoUpgrade)
	}
	b, err := i.lengthPrefixed("save_state", ptr)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

// LoadState hands the state an older version saved to this instance's
// load_state, after init and before its first frame. A trap fails the
// instance; a non-zero result fails it with ReasonInitFailed and that code.
func (i *Instance) LoadState(ctx context.Context, state []byte) error {
	if i.err != nil {
		return i.err
	}
	fn := i.mod.ExportedFunction("load_state")
	if fn == nil {
		return fmt.Errorf("%w: the module does not export load_state", ErrNoUpgrade)
	}
	timeout := i.engine.cfg.InitTimeout
	i.setBudget(i.initFuel)
	ptr, err := i.writeArgs(ctx, "", state, timeout)
	if err != nil {
		return err
	}
	i.stack[0], i.stack[1] = uint64(ptr), uint64(len(state))
	if err := i.call(ctx, "load_state", fn, timeout); err != nil {
		return err
	}
	if code := int32(i.stack[0]); code != 0 {
		return i.fail(&Error{Reason: lifecycle.ReasonInitFailed, Call: "load_state", ExitCode: uint32(code),
			Detail: fmt.Sprintf("load_state returned %d", code)})
	}
	return nil
}

// ContinueFrom numbers the instance's frames from frame+1 and sets its
// virtual clock there, so that a new version taking over an instance at
// frame goes on from it. Call it before the first Frame.
func (i *Instance) ContinueFrom(frame uint64) {
	i.clock.frame = frame
	i.frames.Store(frame)
}
