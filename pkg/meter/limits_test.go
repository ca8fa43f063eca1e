package meter_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/meter"
)

// TestRefusesMemoryFlags checks what Instrument makes of the limits flags
// that the binary reader reports: shared and 64-bit memories and a second
// memory are refused as unsupported, at the flags byte, even when the rest
// of the limits is cut off.
func TestRefusesMemoryFlags(t *testing.T) {
	memories := func(entries ...[]byte) []byte {
		return section(append([]byte{}, header...), 5, vec(entries...))
	}
	tests := []struct {
		name string
		wasm []byte
		err  error
		off  int
		msg  string
	}{
		{"shared", memories([]byte{0x03, 1, 2}), meter.ErrUnsupported, 11, "shared memory (threads)"},
		{"shared, truncated", memories([]byte{0x03, 0x80}), meter.ErrUnsupported, 11, "shared memory (threads)"},
		{"memory64", memories([]byte{0x04, 1}), meter.ErrUnsupported, 11, "64-bit memory (memory64)"},
		{"unknown flags", memories([]byte{0x08, 1}), meter.ErrUnsupported, 11, "limits flags 0x8"},
		{"two memories", memories([]byte{0, 1}, []byte{0, 1}), meter.ErrUnsupported, 10, "more than one memory"},
		{"truncated", memories([]byte{0x01, 1}), meter.ErrMalformed, 13, "unexpected end of data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := meter.Instrument(tt.wasm, meter.Options{})
			var me *meter.Error
			if !errors.As(err, &me) || !errors.Is(err, tt.err) || me.Offset != tt.off || !strings.Contains(me.Msg, tt.msg) {
				t.Errorf("err = %v, want %v at offset %#x containing %q", err, tt.err, tt.off, tt.msg)
			}
		})
	}
}
