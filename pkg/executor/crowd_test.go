package executor

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/wasmbin"
)

// freshModule is wasm with a custom section of random bytes: the same
// game under a content no cache (in memory or on disk) has seen.
func freshModule(t testing.TB, wasm []byte) []byte {
	t.Helper()
	return wasmbin.AppendCustomSection(append([]byte(nil), wasm...), "rcc.test.fresh", []byte(rand.Text()))
}

// TestCrowdStartCompilesOnce starts 64 instances of a module no cache has
// seen, all at once: the module is compiled once, the other starts wait
// for that compilation, and every instance runs.
func TestCrowdStartCompilesOnce(t *testing.T) {
	const n = 64
	h := newHarness(t)
	module := freshModule(t, arenaModule(t))
	var wg sync.WaitGroup
	errs := make([]error, n)
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			errs[i] = h.ex.Start(context.Background(), InstanceSpec{ID: fmt.Sprintf("crowd-%02d", i), Game: "arena", Version: "1", Module: module, Seed: uint64(i)})
		}()
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("start crowd-%02d: %v", i, err)
		}
	}
	if c := h.ex.engine.CacheStats().Compilations; c != 1 {
		t.Errorf("%d compilations for %d concurrent starts of one module, want 1", c, n)
	}
	if v, ok := metricValue(h.scrape(), "rcc_executor_module_compilations_total"); !ok || v != 1 {
		t.Errorf("rcc_executor_module_compilations_total = %v (present %v), want 1", v, ok)
	}
	h.run()
	testenv.WaitFor(t, "every instance of the crowd to run a frame", time.Minute, func() bool {
		running := 0
		for _, st := range h.ex.Instances() {
			if st.State == StateRunning && st.Frames > 0 {
				running++
			}
		}
		return running == n
	})
}
