//go:build wasip1

package sdk

import (
	"os"
	"unsafe"
)

// The exports of the guest ABI v1. Each converts its i32 arguments and
// calls the guest method of the same name; see the package documentation.

//go:wasmexport alloc
func wasmAlloc(n int32) int32 {
	if _, ok := theGuest.alloc(n); !ok {
		return 0
	}
	return addr(theGuest.args)
}

//go:wasmexport init
func wasmInit(ptr, n int32) int32 {
	return theGuest.init(os.Stderr, theGuest.arg("init", "config", ptrOf(ptr), n))
}

//go:wasmexport on_join
func wasmOnJoin(ptr, n int32) {
	theGuest.join(theGuest.arg("on_join", "player id", ptrOf(ptr), n))
}

//go:wasmexport on_leave
func wasmOnLeave(ptr, n int32) {
	theGuest.leave(theGuest.arg("on_leave", "player id", ptrOf(ptr), n))
}

//go:wasmexport on_input
func wasmOnInput(pPtr, pLen, iPtr, iLen int32) {
	p := theGuest.arg("on_input", "player id", ptrOf(pPtr), pLen)
	in := theGuest.arg("on_input", "input", ptrOf(iPtr), iLen)
	theGuest.input(p, in)
}

//go:wasmexport tick
func wasmTick(dtMS float32) {
	theGuest.tick(dtMS)
}

//go:wasmexport serialize_state
func wasmSerializeState() int32 {
	return addr(theGuest.serialize())
}

//go:wasmexport save_state
func wasmSaveState() int32 {
	b := theGuest.saveState(os.Stderr)
	if b == nil {
		return 0
	}
	return addr(b)
}

//go:wasmexport load_state
func wasmLoadState(ptr, n int32) int32 {
	return theGuest.loadState(os.Stderr, theGuest.arg("load_state", "state", ptrOf(ptr), n))
}

// addr is the linear-memory address of b's first byte (b has capacity). Go's garbage
// collector does not move objects on wasm, and b stays referenced by
// theGuest, so the address stays valid as the ABI requires.
func addr(b []byte) int32 {
	return int32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

// ptrOf converts an i32 address from the host; wasm32 addresses are
// unsigned.
func ptrOf(p int32) uintptr { return uintptr(uint32(p)) }
