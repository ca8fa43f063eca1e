package wasmhost

import "syscall"

// reserve maps limit bytes of anonymous memory, reserved but not committed:
// memory.grow never copies, untouched pages cost no RAM, and the guest's
// memory stays out of the Go heap. Should the mapping fail, memory grows as
// an ordinary slice instead.
func reserve(limit uint64) ([]byte, func([]byte)) {
	buf, err := syscall.Mmap(-1, 0, int(limit), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, nil
	}
	return buf[:0], func(b []byte) { _ = syscall.Munmap(b[:cap(b)]) }
}
