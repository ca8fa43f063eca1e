package testenv

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestCIValue(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{"", false}, {"0", false}, {"false", false}, {"FALSE", false},
		{"1", true}, {"true", true}, {"yes", true}, {"github", true},
	} {
		if got := ciValue(tc.v); got != tc.want {
			t.Errorf("ciValue(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	WaitFor(t, "three polls", 5*time.Second, func() bool { return n.Add(1) >= 3 })
	if got := n.Load(); got != 3 {
		t.Fatalf("condition checked %d times, want 3", got)
	}
}

// fakeTB records a failure instead of stopping the test.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = format
	panic(f)
}

func TestWaitForFailsAfterTheTimeout(t *testing.T) {
	f := &fakeTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != any(f) {
				panic(r)
			}
		}()
		WaitFor(f, "never", 30*time.Millisecond, func() bool { return false })
	}()
	if f.failed == "" {
		t.Fatal("WaitFor returned for a condition that never held")
	}
}
