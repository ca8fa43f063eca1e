package wasmhost_test

import (
	"context"
	"fmt"
	"os"

	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// Example runs two frames of a small module: the first returns init's
// record of its configuration, the second the frame's events.
func Example() {
	ctx := context.Background()
	engine, err := wasmhost.NewEngine(ctx, wasmhost.Config{})
	if err != nil {
		panic(err)
	}
	defer engine.Close(ctx)

	wasm, err := os.ReadFile("testdata/recorder.wasm")
	if err != nil {
		panic(err)
	}
	module, err := engine.Compile(ctx, wasm)
	if err != nil {
		panic(err)
	}
	inst, err := module.Instantiate(ctx, wasmhost.InstanceConfig{InstanceID: "i-1", Game: "recorder", Seed: 42})
	if err != nil {
		panic(err)
	}
	defer inst.Close(ctx)

	state, _ := inst.Frame(ctx, nil)
	fmt.Printf("%s\n", state)
	state, _ = inst.Frame(ctx, []wasmhost.Event{
		{Kind: wasmhost.EventInput, Player: "ann", Data: []byte("w")},
		{Kind: wasmhost.EventJoin, Player: "bob"},
	})
	fmt.Printf("%s\n", state)

	// A module that loops forever ends with a reason, not a hang.
	loop, _ := os.ReadFile("testdata/tick_loop.wasm")
	m, _ := engine.Compile(ctx, loop)
	bad, _ := m.Instantiate(ctx, wasmhost.InstanceConfig{Game: "loop"})
	_, err = bad.Frame(ctx, nil)
	fmt.Println(wasmhost.ReasonOf(err))
	// Output:
	// N{"instance_id":"i-1","game":"recorder","version":"","seed":42,"max_players":0,"tick_hz":60,"params":{}}T
	// JbIawT
	// fuel_exhausted
}
