package meter

import (
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero/api"
)

// ErrNotInstrumented is returned by SetFuel and Fuel for a module that does
// not export a mutable i64 global named GlobalName.
var ErrNotInstrumented = errors.New("meter: module has no fuel global " + GlobalName)

func fuelGlobal(m api.Module) (api.MutableGlobal, error) {
	g, ok := m.ExportedGlobal(GlobalName).(api.MutableGlobal)
	if !ok || g.Type() != api.ValueTypeI64 {
		return nil, ErrNotInstrumented
	}
	return g, nil
}

// SetFuel sets the fuel of an instance of an instrumented module: the number
// of instructions (in the cost model of the package doc) that the next
// calls may execute. fuel must not be negative.
func SetFuel(m api.Module, fuel int64) error {
	if fuel < 0 {
		return fmt.Errorf("meter: negative fuel %d", fuel)
	}
	g, err := fuelGlobal(m)
	if err != nil {
		return err
	}
	g.Set(uint64(fuel))
	return nil
}

// Fuel returns the fuel that remains in an instance of an instrumented
// module. A negative value means that the guest ran out of fuel: a call that
// trapped while Fuel is negative trapped because of it.
func Fuel(m api.Module) (int64, error) {
	g, err := fuelGlobal(m)
	if err != nil {
		return 0, err
	}
	return int64(g.Get()), nil
}
