//go:build !linux

package wasmhost

import "context"

// withMemoryAllocator keeps wazero's default allocator off Linux.
func withMemoryAllocator(ctx context.Context) context.Context { return ctx }
