package executor

import (
	"testing"
	"time"
)

func TestFrameWindow(t *testing.T) {
	var w frameWindow
	if p50, p99, f50, fmax := w.summary(); p50 != 0 || p99 != 0 || f50 != 0 || fmax != 0 {
		t.Fatalf("empty window: %v %v %d %d", p50, p99, f50, fmax)
	}
	// 1000 frames: only the last 512 (489..1000) count.
	for i := 1; i <= 1000; i++ {
		w.add(time.Duration(i)*time.Millisecond, int64(i))
	}
	p50, p99, f50, fmax := w.summary()
	if p50 != 745*time.Millisecond || p99 != 995*time.Millisecond || f50 != 745 || fmax != 1000 {
		t.Fatalf("summary = %v %v %d %d, want 745ms 995ms 745 1000", p50, p99, f50, fmax)
	}
}
