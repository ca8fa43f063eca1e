package flight_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/rcc-games/rcc/pkg/flight"
)

// Ten callers want the same key at once: the work runs once.
func ExampleGroup_Do() {
	var g flight.Group[string, string]
	var runs atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = g.Do(context.Background(), "arena.wasm", func(context.Context) (string, error) {
				runs.Add(1)
				<-release
				return "compiled", nil
			})
		}()
	}
	for g.InFlight("arena.wasm") < 10 { // every caller waits for the one call
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	fmt.Println("runs:", runs.Load())
	// Output: runs: 1
}
