package wazevo

// This file is not part of wazero v1.12.0: it is RCC's patch (see
// third_party/wazero/PATCHES.md in the RCC repository), the engine's half of
// internal/wasm/rcc_elements.go.

import (
	"unsafe"

	"github.com/tetratelabs/wazero/internal/wasm"
)

// FunctionInstanceReferences implements wasm.BulkFunctionReferencer: the
// function instances of the local functions are allocated in one slice,
// kept alive by m like those of FunctionInstanceReference.
func (m *moduleEngine) FunctionInstanceReferences(funcIndexes []wasm.Index, refs []wasm.Reference) {
	imported := m.module.Source.ImportFunctionCount
	local := 0
	for _, idx := range funcIndexes {
		if idx >= imported {
			local++
		}
	}
	chunk := make([]functionInstance, local)
	m.functionInstanceChunks = append(m.functionInstanceChunks, chunk)
	p := m.parent
	typeIDs := m.module.TypeIDs
	funcSection := m.module.Source.FunctionSection
	j := 0
	for i, idx := range funcIndexes {
		if idx < imported {
			refs[i] = m.FunctionInstanceReference(idx)
			continue
		}
		l := idx - imported
		lf := &chunk[j]
		j++
		lf.executable = &p.executable[p.functionOffsets[l]]
		lf.moduleContextOpaquePtr = m.opaquePtr
		lf.typeID = typeIDs[funcSection[l]]
		lf.indexInModule = idx
		refs[i] = uintptr(unsafe.Pointer(lf))
	}
}
