package meter_test

import (
	"context"
	"fmt"
	"log"

	"github.com/tetratelabs/wazero"

	"github.com/rcc-games/rcc/pkg/meter"
)

// Meter a module, give each call a budget, and tell fuel exhaustion from
// other traps.
func Example() {
	ctx := context.Background()
	metered, err := meter.Instrument(loopsWasm, meter.Options{})
	if err != nil {
		log.Fatal(err)
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, metered)
	if err != nil {
		log.Fatal(err)
	}

	const budget = 100_000
	meter.SetFuel(mod, budget)
	res, err := mod.ExportedFunction("count").Call(ctx, 1000)
	left, _ := meter.Fuel(mod)
	fmt.Println("count(1000) =", res[0], "err:", err, "fuel used:", budget-left)

	meter.SetFuel(mod, budget)
	_, err = mod.ExportedFunction("spin").Call(ctx)
	if left, _ := meter.Fuel(mod); err != nil && left < 0 {
		fmt.Println("spin: fuel_exhausted")
	}
	// Output:
	// count(1000) = 1000 err: <nil> fuel used: 9005
	// spin: fuel_exhausted
}
