package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/rcc-games/rcc/pkg/lifecycle"
)

// TestStackOverflowClassifiedByValue: a trap is a stack overflow when it
// wraps wazero's own error value for it, whatever its text says.
func TestStackOverflowClassifiedByValue(t *testing.T) {
	so := stackOverflow()
	if so == nil {
		t.Fatal("wazero's stack overflow error could not be learnt")
	}
	tests := []struct {
		name string
		err  error
		want lifecycle.Reason
	}{
		{"wazero's value, wrapped", fmt.Errorf("wasm error: %w\nwasm stack trace:\n\t.f()", so), lifecycle.ReasonStackOverflow},
		{"the text alone", errors.New("wasm error: stack overflow"), lifecycle.ReasonTrap},
		{"another trap", errors.New("wasm error: unreachable"), lifecycle.ReasonTrap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify("tick", tt.err).Reason; got != tt.want {
				t.Errorf("classify(%q) = %s, want %s", tt.err, got, tt.want)
			}
		})
	}
	// And the real thing, on the engine the executor uses.
	inst := instantiate(t, compile(t, newEngine(t, Config{}), "recursion"), InstanceConfig{})
	_, err := inst.Frame(context.Background(), nil)
	if ReasonOf(err) != lifecycle.ReasonStackOverflow || !errors.Is(err, so) {
		t.Fatalf("recursion: %v (reason %q), want stack_overflow wrapping wazero's value", err, ReasonOf(err))
	}
}
