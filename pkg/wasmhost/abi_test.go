package wasmhost

import (
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/wasmbin"
)

// TestCheckMemoryFlags checks how Check judges the limits flags that
// wasmbin reports: a shared memory is a problem of its own, a 64-bit memory
// is not a module Check reads, and two memories are reported as such.
func TestCheckMemoryFlags(t *testing.T) {
	memories := func(entries ...[]byte) []byte {
		body := []byte{byte(len(entries))}
		for _, e := range entries {
			body = append(body, e...)
		}
		return wasmbin.AppendSection([]byte(wasmbin.Header), wasmbin.SectionMemory, body)
	}
	tests := []struct {
		name string
		wasm []byte
		want string // code: message prefix of the first problem of that code
	}{
		{"shared", memories([]byte{wasmbin.LimitsMax | wasmbin.LimitsShared, 1, 2}), "memory_limit: shared memory is not supported"},
		{"memory64", memories([]byte{wasmbin.Limits64, 1}), "malformed: not a valid WebAssembly module: unsupported limits flag 0x4 (64-bit memory?)"},
		{"two memories", memories([]byte{0, 1}, []byte{0, 1}), "memory_limit: 2 memories declared, at most one is supported"},
		{"truncated", memories([]byte{wasmbin.LimitsMax, 1}), "malformed: not a valid WebAssembly module: unexpected end of data at offset 0xd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Check(tt.wasm, 0)
			code := tt.want[:strings.Index(tt.want, ":")]
			for _, p := range r.Problems {
				if p.Code != code {
					continue
				}
				if got := p.Code + ": " + p.Message; !strings.HasPrefix(got, tt.want) {
					t.Errorf("problem = %q, want %q", got, tt.want)
				}
				return
			}
			t.Errorf("no %s problem in %+v", code, r.Problems)
		})
	}
}
