//go:build !linux

package executor

import (
	"errors"
	"net"
	"sync/atomic"
)

// sendRing is io_uring's, on Linux only.
type sendRing struct{ sends, batches atomic.Uint64 }

func newSendRing() (*sendRing, error) {
	return nil, errors.New("io_uring sends need Linux")
}

func (*sendRing) close() {}

type ringWriter struct{}

func newRingWriter(*sendRing, net.Conn) *ringWriter { return nil }

func (*ringWriter) write([]byte) (int, error) { return 0, errors.New("io_uring sends need Linux") }
