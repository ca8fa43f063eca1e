package wasmhost

import (
	"fmt"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

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

// imageFile is an image's linear memory in a sealed memfd, which every
// instance started from the image maps privately (copy-on-write): the
// pages an instance does not write stay shared by all of them, in the
// page cache, and a write copies the page for that instance alone.
type imageFile struct {
	mu   sync.RWMutex // held by mapInto against close
	fd   int          // -1 once closed
	size int
}

// newImageFile writes the memory mem into a new sealed memfd. Pages of
// zeros are left as holes.
func newImageFile(mem []byte) (*imageFile, error) {
	fd, err := unix.MemfdCreate("rcc-image", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := &imageFile{fd: fd, size: len(mem)}
	if err := f.fill(mem); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

func (f *imageFile) fill(mem []byte) error {
	if err := unix.Ftruncate(f.fd, int64(len(mem))); err != nil {
		return fmt.Errorf("ftruncate memfd: %w", err)
	}
	for off := 0; off < len(mem); off += PageSize {
		page := mem[off:min(off+PageSize, len(mem))]
		if isZero(page) {
			continue
		}
		if _, err := unix.Pwrite(f.fd, page, int64(off)); err != nil {
			return fmt.Errorf("write memfd: %w", err)
		}
	}
	// Sealed, the image cannot change under the instances that map it.
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(f.fd), unix.F_ADD_SEALS, seals); err != nil {
		return fmt.Errorf("seal memfd: %w", err)
	}
	return nil
}

// mapInto maps the image privately over the start of the reservation buf,
// in place, and reports whether it did.
func (f *imageFile) mapInto(buf []byte) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.fd < 0 || len(buf) < f.size {
		return false
	}
	if f.size == 0 {
		return true
	}
	at := unsafe.Pointer(unsafe.SliceData(buf))
	got, err := unix.MmapPtr(f.fd, 0, at, uintptr(f.size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED)
	return err == nil && got == at
}

// close releases the memfd; the mappings of running instances stay.
func (f *imageFile) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd >= 0 {
		_ = unix.Close(f.fd)
		f.fd = -1
	}
}
