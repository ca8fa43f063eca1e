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
//
// The image keeps a pool of reservations for the next starts (take): the
// reservation of an instance that started from the image goes back to it
// when the instance closes, reset to the image's contents (recycle), and
// new ones are prepared in the background with the pages the first init
// touched already in place (learn, refill, prepare). Either way the next
// init does not fault on those pages one by one, and nothing is mapped at
// the start.
type imageFile struct {
	mu   sync.RWMutex // held by mapInto against close
	fd   int          // -1 once closed
	size int

	// view is the image mapped shared and read-only, what recycle copies
	// the written pages back from; nil until the first recycle.
	view []byte
	// pool holds reservations reset to the image, at most imagePoolSize;
	// resetting counts those being reset, which will join it.
	pool      [][]byte
	resetting int

	// written and read are the image's pages that the first instance to
	// start from it wrote and read in its init (learnt says they are
	// known): the pages prepare populates in a new reservation, so that
	// the next init finds them in place. limit is the reservation size of
	// the last start, what prepare makes; preparing is set while it runs.
	written, read []pageRange
	learnt        bool
	limit         uint64
	preparing     bool
}

// pageRange is a run of pages, in bytes from the memory's start.
type pageRange struct{ off, len int }

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

// take returns a reservation of limit bytes reset to the image, from the
// pool, or nil if none is there.
func (f *imageFile) take(limit uint64) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, buf := range f.pool {
		if uint64(cap(buf)) == limit {
			f.pool = append(f.pool[:i], f.pool[i+1:]...)
			return buf
		}
	}
	return nil
}

// release gives back the reservation buf (its length the memory's size) of
// an instance that started from the image: reset and pooled when there is
// room, unmapped otherwise.
func (f *imageFile) release(buf []byte) {
	if !f.recycle(buf) {
		_ = syscall.Munmap(buf[:cap(buf)])
	}
}

// recycle resets buf to the image and pools it, and reports whether it
// did. The pages past the image go back to zeros (and their memory to the
// system); the image's pages that the instance wrote, which
// /proc/self/pagemap tells from those still the image's own, are copied
// back from the image; the others are the image's already.
func (f *imageFile) recycle(buf []byte) bool {
	full := buf[:cap(buf)]
	f.mu.Lock()
	ok := f.fd >= 0 && f.size > 0 && len(f.pool)+f.resetting < imagePoolSize && len(buf) >= f.size
	if ok && f.view == nil {
		view, err := unix.Mmap(f.fd, 0, f.size, unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			ok = false
		} else {
			f.view = view
		}
	}
	if ok {
		f.resetting++
	}
	view := f.view
	f.mu.Unlock()
	if !ok {
		return false
	}
	reset := resetToImage(full[:len(buf)], view)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resetting--
	if f.fd < 0 {
		f.dropViewLocked() // close left it to the last reset
		return false
	}
	if !reset {
		return false
	}
	f.pool = append(f.pool, full[:0])
	return true
}

// learn records, once per image, the pages mem (an instance's memory
// right after its init) has written and read, and starts filling the pool.
func (f *imageFile) learn(mem []byte) {
	f.mu.Lock()
	done := f.learnt || f.fd < 0 || len(mem) < f.size
	f.learnt = true
	f.mu.Unlock()
	if done {
		return
	}
	page := unix.Getpagesize()
	entries, err := readPagemap(unsafe.Pointer(unsafe.SliceData(mem)), (f.size+page-1)/page, page)
	if err != nil {
		return
	}
	var written, read []pageRange
	add := func(rs []pageRange, i int) []pageRange {
		if n := len(rs); n > 0 && rs[n-1].off+rs[n-1].len == i*page {
			rs[n-1].len += page
			return rs
		}
		return append(rs, pageRange{off: i * page, len: page})
	}
	for i, e := range entries {
		switch {
		case e&(pagePresent|pageSwapped) == 0:
		case e&pageFile != 0:
			read = add(read, i)
		default:
			written = add(written, i)
		}
	}
	f.mu.Lock()
	f.written, f.read = written, read
	f.mu.Unlock()
	f.refill(uint64(cap(mem)))
}

// refill starts preparing reservations of limit bytes in the background,
// up to a full pool, once the pages to populate are known and the pool is
// down to half: while instances stop as often as others start, the
// reservations they give back keep it filled, and nothing is prepared.
func (f *imageFile) refill(limit uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limit = limit
	if !imagePrepare || f.preparing || f.written == nil || f.fd < 0 || len(f.pool)+f.resetting > imagePoolSize/2 {
		return
	}
	f.preparing = true
	go f.prepare()
}

// prepare fills the pool with new reservations, each the image mapped as
// for an instance with the pages init writes already copied and those it
// reads already mapped: the faults of the next init, taken ahead of time.
// A reservation is the image's bytes whether populating works or not.
func (f *imageFile) prepare() {
	for {
		f.mu.Lock()
		full := f.fd < 0 || len(f.pool)+f.resetting >= imagePoolSize
		if full {
			f.preparing = false
		}
		limit, written, read := f.limit, f.written, f.read
		f.mu.Unlock()
		if full {
			return
		}
		buf, release := reserve(limit)
		if buf == nil || !f.mapInto(buf[:cap(buf)]) {
			if buf != nil {
				release(buf)
			}
			f.mu.Lock()
			f.preparing = false
			f.mu.Unlock()
			return
		}
		mem := buf[:cap(buf)]
		for _, r := range written {
			_ = unix.Madvise(mem[r.off:r.off+r.len], unix.MADV_POPULATE_WRITE)
		}
		for _, r := range read {
			_ = unix.Madvise(mem[r.off:r.off+r.len], unix.MADV_POPULATE_READ)
		}
		f.mu.Lock()
		if f.fd >= 0 && len(f.pool)+f.resetting < imagePoolSize && uint64(cap(buf)) == f.limit {
			f.pool = append(f.pool, buf[:0])
			buf = nil
		}
		f.mu.Unlock()
		if buf != nil {
			release(buf)
		}
	}
}

// pooled returns how many reservations the image holds, and whether it
// holds its view.
func (f *imageFile) pooled() (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pool), f.view != nil
}

// preparingNow reports whether reservations are being prepared.
func (f *imageFile) preparingNow() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.preparing
}

// pagemap bits (Documentation/admin-guide/mm/pagemap.rst).
const (
	pagePresent = 1 << 63
	pageSwapped = 1 << 62
	pageFile    = 1 << 61 // a file page (the image's own) or shared anonymous
)

// resetToImage makes mem, whose first len(view) bytes are a private
// mapping of the image, what a fresh mapping of it would be.
func resetToImage(mem, view []byte) bool {
	if len(mem) > len(view) {
		if err := unix.Madvise(mem[len(view):], unix.MADV_DONTNEED); err != nil {
			return false
		}
	}
	page := unix.Getpagesize()
	pages := (len(view) + page - 1) / page
	entries, err := readPagemap(unsafe.Pointer(unsafe.SliceData(mem)), pages, page)
	if err != nil {
		return false
	}
	for i, e := range entries {
		if e&(pagePresent|pageSwapped) == 0 || e&pageFile != 0 {
			continue // never touched, or still the image's page
		}
		off := i * page
		end := min(off+page, len(view))
		copy(mem[off:end], view[off:end])
	}
	return true
}

// readPagemap returns the pagemap entries of n pages (of page bytes) from
// addr.
func readPagemap(addr unsafe.Pointer, n, page int) ([]uint64, error) {
	fd, err := unix.Open("/proc/self/pagemap", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	raw := make([]byte, 8*n)
	at := int64(uintptr(addr)/uintptr(page)) * 8
	for got := 0; got < len(raw); {
		k, err := unix.Pread(fd, raw[got:], at+int64(got))
		if err != nil {
			return nil, err
		}
		if k == 0 {
			return nil, fmt.Errorf("pagemap: short read")
		}
		got += k
	}
	entries := make([]uint64, n)
	for i := range entries {
		entries[i] = *(*uint64)(unsafe.Pointer(&raw[8*i]))
	}
	return entries, nil
}

// close releases the memfd and the pooled reservations; the mappings of
// running instances stay, and are unmapped when they close.
func (f *imageFile) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd >= 0 {
		_ = unix.Close(f.fd)
		f.fd = -1
	}
	for _, buf := range f.pool {
		_ = syscall.Munmap(buf[:cap(buf)])
	}
	f.pool = nil
	f.dropViewLocked()
}

// dropViewLocked unmaps the view unless a reset is reading it (the last
// one to finish after close drops it); f.mu is held.
func (f *imageFile) dropViewLocked() {
	if f.view != nil && f.resetting == 0 {
		_ = unix.Munmap(f.view)
		f.view = nil
	}
}
