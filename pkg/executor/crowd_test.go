package executor

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"
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

// BenchmarkCrowdStart starts RCC_CROWD instances (default 16) of a fresh
// arena module at once and reports the time until all run and the
// process's resident memory then (rss_MB) and at its peak (peak_rss_MB, the
// process's high-water mark: run it alone, with -benchtime 1x).
func BenchmarkCrowdStart(b *testing.B) {
	n := 16
	if v, err := strconv.Atoi(os.Getenv("RCC_CROWD")); err == nil && v > 0 {
		n = v
	}
	arena := arenaModule(b)
	b.StopTimer()
	for range b.N {
		h := newHarness(b)
		module := freshModule(b, arena)
		b.StartTimer()
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h.start(InstanceSpec{ID: fmt.Sprintf("crowd-%02d", i), Game: "arena", Version: "1", Module: module, Seed: uint64(i)})
			}()
		}
		wg.Wait()
		b.StopTimer()
		b.ReportMetric(float64(h.ex.engine.CacheStats().Compilations), "compilations")
		rss, peak := procMemory(b)
		b.ReportMetric(float64(rss)/(1<<20), "rss_MB")
		b.ReportMetric(float64(peak)/(1<<20), "peak_rss_MB")
		h.close()
	}
}

// procMemory returns the process's resident set size and its high-water
// mark, in bytes, from /proc/self/status.
func procMemory(t testing.TB) (rss, peak int64) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		testenv.Unavailable(t, "/proc/self/status", "a Linux /proc")
	}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var kb int64
		if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return rss, peak
}
