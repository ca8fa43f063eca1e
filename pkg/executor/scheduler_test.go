package executor

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rcc-games/rcc/pkg/testenv"
)

// fakeFrames runs a scheduler whose frames call run, for instances that
// exist only as queue entries.
type fakeFrames struct {
	mu       sync.Mutex
	starts   map[*instance][]time.Time
	overruns map[*instance][]uint64
}

func runScheduler(t *testing.T, workers int, run func(in *instance, n int), ins ...*instance) (*fakeFrames, func()) {
	t.Helper()
	f := &fakeFrames{starts: map[*instance][]time.Time{}, overruns: map[*instance][]uint64{}}
	s := newScheduler(workers, func(_ context.Context, in *instance) bool {
		f.mu.Lock()
		n := len(f.starts[in])
		f.starts[in] = append(f.starts[in], time.Now())
		f.mu.Unlock()
		run(in, n)
		return false
	}, func(in *instance, skipped uint64) {
		f.mu.Lock()
		f.overruns[in] = append(f.overruns[in], skipped)
		f.mu.Unlock()
	})
	now := time.Now()
	for _, in := range ins {
		s.add(in, now)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { s.run(context.Background(), stop); close(done) }()
	return f, func() { close(stop); <-done }
}

func (f *fakeFrames) get(in *instance) ([]time.Time, []uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.starts[in]...), append([]uint64(nil), f.overruns[in]...)
}

// The scheduler tests run in a synctest bubble: the clock is fake and
// moves only when every goroutine waits, so a frame's sleep takes exactly
// its duration and the grid does not depend on the machine's speed.

func TestSchedulerSkipsAheadAfterOverrun(t *testing.T) {
	synctest.Test(t, testSchedulerSkipsAheadAfterOverrun)
}

func testSchedulerSkipsAheadAfterOverrun(t *testing.T) {
	step := 10 * time.Millisecond
	in := &instance{step: step}
	f, stop := runScheduler(t, 2, func(_ *instance, n int) {
		if n == 3 {
			time.Sleep(35 * time.Millisecond) // three and a half steps of the bubble's clock
		}
	}, in)
	testenv.WaitFor(t, "frames after the slow one", 10*time.Second, func() bool {
		starts, _ := f.get(in)
		return len(starts) >= 10
	})
	stop()
	starts, overruns := f.get(in)
	// The slow frame must have skipped at least three.
	if len(overruns) == 0 || slices.Max(overruns) < 3 {
		t.Fatalf("overruns %v, want one that skips 3 or more frames", overruns)
	}
	// No burst of catch-up frames: from the slow frame on, no more frames
	// start than grid points pass.
	span := starts[len(starts)-1].Sub(starts[4])
	if n, most := len(starts)-5, int(span/step)+2; n > most {
		t.Errorf("%d frames started within %v after the slow one, at most %d fit the grid: a catch-up burst", n, span, most)
	}
	// The frame after the slow one is on the grid, not right away.
	if gap := starts[4].Sub(starts[3]); gap < 38*time.Millisecond {
		t.Errorf("frame 4 started %v after frame 3, want the next grid point (40 ms)", gap)
	}
}

func TestSchedulerSlowInstanceDoesNotDelayOthers(t *testing.T) {
	synctest.Test(t, testSchedulerSlowInstanceDoesNotDelayOthers)
}

func testSchedulerSlowInstanceDoesNotDelayOthers(t *testing.T) {
	slow := &instance{step: 10 * time.Millisecond}
	fast := &instance{step: 10 * time.Millisecond}
	f, stop := runScheduler(t, 2, func(in *instance, n int) {
		if in == slow && n == 1 {
			time.Sleep(300 * time.Millisecond) // a guest call at its bound, on the bubble's clock
		}
	}, slow, fast)
	testenv.WaitFor(t, "the slow frame to end", 10*time.Second, func() bool {
		starts, _ := f.get(slow)
		return len(starts) >= 3
	})
	stop()
	slowStarts, _ := f.get(slow)
	fastStarts, fastOverruns := f.get(fast)
	from, to := slowStarts[1], slowStarts[1].Add(300*time.Millisecond)
	n := 0
	for _, s := range fastStarts {
		if s.After(from) && s.Before(to) {
			n++
		}
	}
	if n < 20 {
		t.Errorf("the fast instance ran %d frames during the slow one's 300 ms frame, want about 30", n)
	}
	if len(fastOverruns) > 3 {
		t.Errorf("the fast instance overran %d times", len(fastOverruns))
	}
}

func TestTokenBucket(t *testing.T) {
	now := time.Unix(0, 0)
	b := newTokenBucket(10, 5, now)
	got := 0
	for range 20 {
		if b.take(now) {
			got++
		}
	}
	if got != 5 {
		t.Errorf("burst let %d through, want 5", got)
	}
	now = now.Add(time.Second)
	got = 0
	for range 20 {
		if b.take(now) {
			got++
		}
	}
	if got != 5 {
		t.Errorf("after a second %d passed, want the burst of 5", got)
	}
	now = now.Add(300 * time.Millisecond)
	if got := b.take(now) && b.take(now) && b.take(now); !got || b.take(now) {
		t.Error("300 ms at 10/s should refill exactly 3 tokens")
	}
}
