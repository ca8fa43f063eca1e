package wasmhost

import (
	"context"

	"github.com/tetratelabs/wazero/experimental"
)

// wasm32MaxPages is the most memory a wasm32 module can address. The
// runtime allows that much, so that every memory.grow past an instance's
// own cap reaches the instance's allocator, which refuses it and records
// that it did.
const wasm32MaxPages = 65536

// imagePoolSize is how many reservations an image keeps ready for the next
// starts (Linux): given back by closed instances and reset to the image, or
// prepared ahead with the pages init touches already in place. Each holds
// about 0.3 MiB of its own for arena. imagePrepare turns the preparing off.
// Variables for the tests and benchmarks, which compare starts with and
// without.
var (
	imagePoolSize = 4
	imagePrepare  = true
)

// instanceMemory backs one instance's linear memory and enforces its cap.
type instanceMemory struct {
	limit uint64 // bytes
	buf   []byte
	// refused is set when a grow past the cap was refused; the instance
	// clears it before each call. Only the goroutine calling into the
	// instance touches it.
	refused bool
	release func([]byte)
	// image, when set, is mapped copy-on-write over the start of the
	// reservation; mapped says that it was, pooled that the reservation
	// came from the image's pool: one a closed instance gave back, reset to
	// the image, or one prepared ahead.
	image  *imageFile
	mapped bool
	pooled bool
}

// withMemory makes wazero back the next instantiation's memory with mem.
func withMemory(ctx context.Context, mem *instanceMemory) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(
		func(_, _ uint64) experimental.LinearMemory {
			if mem.image != nil {
				if buf := mem.image.take(mem.limit); buf != nil {
					mem.buf, mem.release = buf, mem.image.release
					mem.mapped, mem.pooled = true, true
					return mem
				}
			}
			mem.buf, mem.release = reserve(mem.limit)
			if mem.image != nil && mem.buf != nil {
				mem.mapped = mem.image.mapInto(mem.buf[:cap(mem.buf)])
				if mem.mapped {
					mem.release = mem.image.release
				}
			}
			return mem
		}))
}

// Reallocate implements experimental.LinearMemory.
func (m *instanceMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.refused = true
		return nil
	}
	if size > uint64(cap(m.buf)) { // only without a reservation
		grown := make([]byte, size, min(max(2*size, 16*PageSize), m.limit))
		copy(grown, m.buf)
		m.buf = grown
	}
	m.buf = m.buf[:size]
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *instanceMemory) Free() {
	if m.release != nil {
		m.release(m.buf)
	}
	m.buf, m.release = nil, nil
}
