// Package wasmbin reads (and appends to) the WebAssembly binary format: the
// header, the sections in their required order, LEB128 integers, names,
// vectors, value types, function types, limits, table and global types,
// imports and exports, with named constants for section ids, extern kinds,
// value types, type forms and limits flags.
//
// It is the daemon's insides, not a public API for other modules: pkg/meter
// (the fuel-metering rewriter) and pkg/wasmhost (the guest ABI check behind
// `rccctl game check`) decode modules with it. It depends only on the
// standard library.
//
// # Reading
//
// [Sections] walks a module's sections after checking its header, refusing
// unknown ids, repeated or misordered sections and sizes that exceed the
// module. A [Reader] decodes one section's body (or any part of a module)
// and names absolute byte offsets in its errors: [Reader.Entries] reads a
// section's entry count and refuses one that the remaining bytes cannot
// hold, so a forged length never makes a caller allocate; [Reader.Types],
// [Reader.Functions], [Reader.Import], [Reader.Export], [Reader.Limits],
// [Reader.TableType], [Reader.GlobalType] and [Reader.ValType] decode the
// entries.
//
// # Strictness
//
// The reader refuses what it cannot decode: bytes that are not a module
// ([ErrMalformed]) and encodings it does not know how to read
// ([ErrUnsupported]: GC type forms, value types other than those of
// WebAssembly 2.0 and exnref, table element types other than funcref and
// externref). It does not judge features it can decode; it reports them
// and lets the caller decide: [Limits.Flags] (shared memory, memory64),
// [FuncType.Rec] (recursion groups), tag imports ([KindTag]), the number
// of memories. It does not validate what the engine validates later
// (UTF-8 names, export kinds, index ranges other than function type
// indices, global mutability bytes): callers that need those check them.
//
// # Errors
//
// Every error the reader returns is an [*Error] with the byte offset in the
// module and a message, wrapping ErrMalformed or ErrUnsupported.
package wasmbin
