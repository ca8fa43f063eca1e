//go:build !linux

package wasmhost

// reserve reserves nothing off Linux: memory grows as an ordinary slice.
func reserve(uint64) ([]byte, func([]byte)) { return nil, nil }

// imageFile is an image's memory; off Linux there is none, and instances
// start the usual way.
type imageFile struct{}

func newImageFile([]byte) (*imageFile, error) { return nil, errImageOff }

func (*imageFile) mapInto([]byte) bool { return false }

func (*imageFile) take(uint64) []byte { return nil }

func (*imageFile) release([]byte) {}

func (*imageFile) close() {}

func (*imageFile) pooled() (int, bool) { return 0, false }

func (*imageFile) refill(uint64) {}

func (*imageFile) learn([]byte) {}

func (*imageFile) preparingNow() bool { return false }
