package wasm

// This file is not part of wazero v1.12.0: it is RCC's patch (see
// third_party/wazero/PATCHES.md in the RCC repository). An instance's
// funcref table used to be filled one element at a time, each element's
// constant expression run through the interpreter (two allocations) and
// each function reference allocated by itself: for a Go-built module with
// a few thousand functions in its table, most of the cost of instantiating
// it. Here the function indexes of the segments made only of `ref.func`
// are decoded once per module, and an engine that can make many references
// at once (BulkFunctionReferencer) makes them in one allocation.

import (
	"sync/atomic"

	"github.com/tetratelabs/wazero/internal/leb128"
)

// BulkFunctionReferencer is implemented by a ModuleEngine that can make the
// references to many functions at once: refs[i] is set to what
// FunctionInstanceReference(funcIndexes[i]) would return.
type BulkFunctionReferencer interface {
	FunctionInstanceReferences(funcIndexes []Index, refs []Reference)
}

// elementFuncIndexes caches, per module, the function indexes of each element
// segment whose every Init is a plain `ref.func idx` (nil for the others).
type elementFuncIndexes struct {
	p atomic.Pointer[[][]Index]
}

// refFuncIndex reports the function index of a constant expression that is
// exactly `ref.func idx; end`.
func refFuncIndex(e *ConstantExpression) (Index, bool) {
	data := e.Data
	if len(data) < 3 || data[0] != OpcodeRefFunc || data[len(data)-1] != OpcodeEnd {
		return 0, false
	}
	v, n, err := leb128.LoadUint32(data[1:])
	if err != nil || int(n)+2 != len(data) {
		return 0, false
	}
	return Index(v), true
}

// elementFuncIndexes returns the function indexes of m's element segments
// made only of `ref.func`, decoding them on first use.
func (m *Module) elementFuncIndexes() [][]Index {
	if p := m.elemFuncIndexes.p.Load(); p != nil {
		return *p
	}
	out := make([][]Index, len(m.ElementSection))
	for i := range m.ElementSection {
		init := m.ElementSection[i].Init
		idx := make([]Index, len(init))
		for j := range init {
			v, ok := refFuncIndex(&init[j])
			if !ok {
				idx = nil
				break
			}
			idx[j] = v
		}
		out[i] = idx
	}
	m.elemFuncIndexes.p.CompareAndSwap(nil, &out)
	return *m.elemFuncIndexes.p.Load()
}

// fillFuncRefs sets refs to the references of element segment elemIdx of the
// instance's module when the segment is made only of `ref.func` and the
// engine makes references in bulk, and reports whether it did.
func (m *ModuleInstance) fillFuncRefs(elemIdx int, refs []Reference) bool {
	bulk, ok := m.Engine.(BulkFunctionReferencer)
	if !ok || m.Source == nil {
		return false
	}
	all := m.Source.elementFuncIndexes()
	if elemIdx >= len(all) || all[elemIdx] == nil || len(all[elemIdx]) != len(refs) {
		return false
	}
	bulk.FunctionInstanceReferences(all[elemIdx], refs)
	return true
}
