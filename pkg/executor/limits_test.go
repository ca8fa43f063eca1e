package executor

import (
	"context"
	"testing"
)

// TestStartLimits: a spec's budgets reach the sandbox.
func TestStartLimits(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name   string
		spec   InstanceSpec
		reason string // "" when the start succeeds
	}{
		{"init fuel too small", InstanceSpec{ID: "l1", Module: testModule(t, "recorder"), InitFuel: 10}, "fuel_exhausted"},
		{"large budgets", InstanceSpec{ID: "l2", Module: testModule(t, "recorder"), InitFuel: 2_000_000_000, FrameFuel: 10_000_000_000, MemoryLimitPages: 16}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.ex.Start(context.Background(), tt.spec)
			if (err == nil) != (tt.reason == "") {
				t.Fatalf("Start = %v", err)
			}
			if tt.reason == "" {
				return
			}
			st, err := h.ex.Instance(tt.spec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != StateFailed || string(st.Reason) != tt.reason {
				t.Errorf("status %s %q, want failed %q", st.State, st.Reason, tt.reason)
			}
		})
	}
}
