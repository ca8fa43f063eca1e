package executor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sendRing sends the writes of many players' connections through one
// io_uring (ServeConfig.IOUring): the writers hand their bytes to the ring
// and wait, and the first of them submits every write waiting at that
// moment as one batch of send SQEs in one io_uring_enter, which also
// reaps their completions (send). Each send is non-blocking (MSG_DONTWAIT): a
// socket whose buffer is full completes at once with EAGAIN or a short
// count, and its writer finishes the rest itself, waiting on Go's
// netpoller under the connection's write deadline (ringWriter.write). Reads
// stay on the netpoller.
type sendRing struct {
	fd                   int
	sqRing, cqRing, sqes []byte
	entries              uint32
	sqHead, sqTail       *uint32
	sqMask               uint32
	cqHead, cqTail       *uint32
	cqMask               uint32
	cqes                 unsafe.Pointer
	single               bool // one mapping for both rings
	results              []int32
	// sends and batches count the sends submitted and the
	// io_uring_enter calls that submitted them.
	sends, batches atomic.Uint64

	mu      sync.Mutex
	pending []*ringSend
	closed  bool
	broken  bool        // io_uring_enter failed: sends fail
	batch   []*ringSend // the submitter's alone, kept between batches
	// submitting is set while a writer submits the pending sends; idle
	// is signalled when it ends.
	submitting bool
	idle       sync.Cond
}

// ringSend is one write handed to the ring: what to send on fd, then its
// result (res: bytes sent, or a negated errno).
type ringSend struct {
	fd   int
	buf  []byte
	res  int32
	done chan struct{} // cap 1: the result, or the submitting handed over
	lead bool          // set when done hands over the submitting
}

// The io_uring constants and layouts used here (linux/io_uring.h).
const (
	ioringOffSQRing      = 0
	ioringOffCQRing      = 0x8000000
	ioringOffSQEs        = 0x10000000
	ioringOpSend         = 26
	ioringEnterGetEvs    = 1
	ioringFeatSingleMmap = 1
	sqeSize              = 64
	cqeSize              = 16
)

type ioSQRingOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type ioCQRingOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type ioUringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  ioSQRingOffsets
	cqOff                                                                  ioCQRingOffsets
}

// sendRingEntries is the ring's size: the most sends one batch submits.
const sendRingEntries = 1024

// newSendRing sets up the ring and starts its goroutine.
func newSendRing() (*sendRing, error) {
	var p ioUringParams
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, sendRingEntries, uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	r := &sendRing{fd: int(fd), entries: p.sqEntries}
	r.idle.L = &r.mu
	fail := func(err error) (*sendRing, error) {
		r.unmap()
		unix.Close(r.fd)
		return nil, err
	}
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*cqeSize)
	if p.features&ioringFeatSingleMmap != 0 {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	if r.sqRing, err = unix.Mmap(r.fd, ioringOffSQRing, sqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fail(fmt.Errorf("mmap the submission ring: %w", err))
	}
	if p.features&ioringFeatSingleMmap != 0 {
		r.cqRing, r.single = r.sqRing, true
	} else if r.cqRing, err = unix.Mmap(r.fd, ioringOffCQRing, cqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fail(fmt.Errorf("mmap the completion ring: %w", err))
	}
	if r.sqes, err = unix.Mmap(r.fd, ioringOffSQEs, int(p.sqEntries)*sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fail(fmt.Errorf("mmap the submission entries: %w", err))
	}
	sq, cq := unsafe.Pointer(&r.sqRing[0]), unsafe.Pointer(&r.cqRing[0])
	r.sqHead = (*uint32)(unsafe.Add(sq, p.sqOff.head))
	r.sqTail = (*uint32)(unsafe.Add(sq, p.sqOff.tail))
	r.sqMask = *(*uint32)(unsafe.Add(sq, p.sqOff.ringMask))
	r.cqHead = (*uint32)(unsafe.Add(cq, p.cqOff.head))
	r.cqTail = (*uint32)(unsafe.Add(cq, p.cqOff.tail))
	r.cqMask = *(*uint32)(unsafe.Add(cq, p.cqOff.ringMask))
	r.cqes = unsafe.Add(cq, p.cqOff.cqes)
	// The submission array maps slot i to entry i, once for all.
	array := unsafe.Slice((*uint32)(unsafe.Add(sq, p.sqOff.array)), p.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	return r, nil
}

func (r *sendRing) unmap() {
	if r.sqes != nil {
		_ = unix.Munmap(r.sqes)
	}
	if r.cqRing != nil && !r.single {
		_ = unix.Munmap(r.cqRing)
	}
	if r.sqRing != nil {
		_ = unix.Munmap(r.sqRing)
	}
	r.sqes, r.cqRing, r.sqRing = nil, nil, nil
}

// errRingClosed is the error of a send on a closed ring.
var errRingClosed = errors.New("executor: send ring closed")

// send sends buf on fd through the ring and returns what the kernel
// returned: the bytes sent (maybe fewer than len(buf)), or an errno
// (EAGAIN when the socket's buffer is full). req is the caller's, reused
// between its sends; the caller keeps fd open until send returns.
//
// The first writer to find the ring idle submits: it lets the writers
// woken with it (a tick wakes every player's) hand over their sends,
// then submits all that wait in one batch and hands each its result.
// Sends that arrived meanwhile are submitted by the next of their
// writers, so that none waits long on the others.
func (r *sendRing) send(req *ringSend, fd int, buf []byte) (int, error) {
	req.fd, req.buf = fd, buf
	r.mu.Lock()
	if r.closed || r.broken {
		r.mu.Unlock()
		return 0, errRingClosed
	}
	r.pending = append(r.pending, req)
	lead := !r.submitting
	r.submitting = true
	r.mu.Unlock()
	if lead {
		runtime.Gosched()
		r.drain(req)
	}
	<-req.done
	if req.lead { // handed the submitting: req is in the next batch
		req.lead = false
		r.drain(req)
		<-req.done
	}
	req.buf = nil
	if req.res < 0 {
		return 0, syscall.Errno(-req.res)
	}
	return int(req.res), nil
}

// drain submits the waiting sends, own among them, in batches: until
// own's is done, then hands what is left to the first writer waiting.
func (r *sendRing) drain(own *ringSend) {
	sent := false
	for {
		r.mu.Lock()
		if sent && len(r.pending) > 0 {
			next := r.pending[0]
			next.lead = true
			r.mu.Unlock()
			next.done <- struct{}{}
			return
		}
		n := min(len(r.pending), int(r.entries))
		batch := append(r.batch[:0], r.pending[:n]...)
		rest := copy(r.pending, r.pending[n:])
		clear(r.pending[rest:])
		r.pending = r.pending[:rest]
		if len(batch) == 0 {
			r.submitting = false
			r.idle.Broadcast()
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		sent = sent || slices.Contains(batch, own)
		r.submit(batch)
		clear(batch)
		r.batch = batch
	}
}

// submit sends a batch in one io_uring_enter, waiting for every
// completion (each is non-blocking, so they come at once), and hands
// each sender its result.
func (r *sendRing) submit(batch []*ringSend) {
	tail := atomic.LoadUint32(r.sqTail)
	for i, req := range batch {
		sqe := r.sqes[((tail+uint32(i))&r.sqMask)*sqeSize:][:sqeSize]
		clear(sqe)
		sqe[0] = ioringOpSend
		*(*int32)(unsafe.Pointer(&sqe[4])) = int32(req.fd)
		if len(req.buf) > 0 {
			*(*uint64)(unsafe.Pointer(&sqe[16])) = uint64(uintptr(unsafe.Pointer(&req.buf[0])))
		}
		*(*uint32)(unsafe.Pointer(&sqe[24])) = uint32(len(req.buf))
		*(*uint32)(unsafe.Pointer(&sqe[28])) = unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL
		*(*uint64)(unsafe.Pointer(&sqe[32])) = uint64(i)
	}
	atomic.StoreUint32(r.sqTail, tail+uint32(len(batch)))
	r.sends.Add(uint64(len(batch)))
	r.batches.Add(1)
	results := slices.Grow(r.results[:0], len(batch))[:len(batch)]
	r.results = results
	got := 0
	toSubmit := len(batch)
	for got < len(batch) {
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(len(batch)-got), ioringEnterGetEvs, 0, 0)
		if errno != 0 && errno != unix.EINTR && errno != unix.EAGAIN && errno != unix.EBUSY {
			// The ring itself failed: the sends not completed fail, and
			// so does every later one.
			for i := got; i < len(batch); i++ {
				results[i] = -int32(unix.EIO)
			}
			r.mu.Lock()
			r.broken = true
			r.mu.Unlock()
			break
		}
		if errno == 0 {
			toSubmit -= min(int(n), toSubmit)
		}
		head, ctail := atomic.LoadUint32(r.cqHead), atomic.LoadUint32(r.cqTail)
		for ; head != ctail; head++ {
			cqe := unsafe.Add(r.cqes, uintptr(head&r.cqMask)*cqeSize)
			i := *(*uint64)(cqe)
			results[i] = *(*int32)(unsafe.Add(cqe, 8))
			got++
		}
		atomic.StoreUint32(r.cqHead, head)
	}
	for i, req := range batch {
		req.res = results[i]
		req.done <- struct{}{}
	}
}

// close stops the ring once the sends handed to it are done; later
// sends fail with errRingClosed.
func (r *sendRing) close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	for r.submitting {
		r.idle.Wait()
	}
	r.mu.Unlock()
	r.unmap()
	unix.Close(r.fd)
}

// ringWriter writes a player's connection through a sendRing: each write
// is a send in the ring's next batch, and what the socket did not take
// (its buffer full: EAGAIN or a short send) is written by the caller,
// waiting on the netpoller under the connection's write deadline, so a
// slow player still times out and is dropped as before. A connection on
// the ring is written only here (corkConn.write), its control frames and
// closes too, one write at a time (corkConn.mu).
type ringWriter struct {
	ring *sendRing
	raw  syscall.RawConn
	req  ringSend
}

func newRingWriter(r *sendRing, c net.Conn) *ringWriter {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &ringWriter{ring: r, raw: raw, req: ringSend{done: make(chan struct{}, 1)}}
}

func (w *ringWriter) write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var sent int
	var serr error
	// Control holds the socket open (a Close meanwhile waits), so the
	// descriptor the ring sends on is this connection's.
	if err := w.raw.Control(func(fd uintptr) { sent, serr = w.ring.send(&w.req, int(fd), p) }); err != nil {
		return 0, err
	}
	if errors.Is(serr, errRingClosed) {
		serr = nil // the server is stopping: the rest is written below
	}
	if serr != nil && !errors.Is(serr, unix.EAGAIN) {
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("send", serr)}
	}
	if sent == len(p) {
		return sent, nil
	}
	rest := p[sent:]
	serr = nil
	err := w.raw.Write(func(fd uintptr) bool {
		for len(rest) > 0 {
			n, err := unix.Write(int(fd), rest)
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				return false
			case err != nil:
				serr = err
				return true
			}
			rest = rest[n:]
		}
		return true
	})
	if err == nil && serr != nil {
		err = &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", serr)}
	}
	return len(p) - len(rest), err
}
