package wasmbin

import (
	"errors"
	"fmt"
)

// Header is the first eight bytes of every core module: the magic number
// "\x00asm" and version 1.
const Header = Magic + "\x01\x00\x00\x00"

// Magic is the magic number every WebAssembly binary starts with.
const Magic = "\x00asm"

// SectionID identifies a section.
type SectionID byte

// The section ids of the binary format.
const (
	SectionCustom    SectionID = 0
	SectionType      SectionID = 1
	SectionImport    SectionID = 2
	SectionFunction  SectionID = 3
	SectionTable     SectionID = 4
	SectionMemory    SectionID = 5
	SectionGlobal    SectionID = 6
	SectionExport    SectionID = 7
	SectionStart     SectionID = 8
	SectionElement   SectionID = 9
	SectionCode      SectionID = 10
	SectionData      SectionID = 11
	SectionDataCount SectionID = 12
	SectionTag       SectionID = 13
)

// Order returns the position of the section in the order the binary format
// requires, from 1 (type) to 13 (data), or 0 for a custom section or an
// unknown id. The tag section of exception handling goes between memory and
// global, the data count section between element and code.
func (id SectionID) Order() int {
	switch id {
	case SectionType, SectionImport, SectionFunction, SectionTable, SectionMemory:
		return int(id)
	case SectionTag:
		return 6
	case SectionGlobal, SectionExport, SectionStart, SectionElement:
		return int(id) + 1
	case SectionDataCount:
		return 11
	case SectionCode, SectionData:
		return int(id) + 2
	}
	return 0
}

// ExternKind is the kind of an import or export.
type ExternKind byte

// The extern kinds of imports and exports.
const (
	KindFunc   ExternKind = 0
	KindTable  ExternKind = 1
	KindMemory ExternKind = 2
	KindGlobal ExternKind = 3
	KindTag    ExternKind = 4 // exception handling
)

// String returns the kind's name: function, table, memory, global or tag.
func (k ExternKind) String() string {
	switch k {
	case KindFunc:
		return "function"
	case KindTable:
		return "table"
	case KindMemory:
		return "memory"
	case KindGlobal:
		return "global"
	case KindTag:
		return "tag"
	}
	return fmt.Sprintf("kind %#x", byte(k))
}

// ValType is a value type, by its one-byte code.
type ValType byte

// The value types of WebAssembly 2.0 and exnref, and the prefixes of the
// reference types of typed function references.
const (
	I32       ValType = 0x7f
	I64       ValType = 0x7e
	F32       ValType = 0x7d
	F64       ValType = 0x7c
	V128      ValType = 0x7b
	FuncRef   ValType = 0x70
	ExternRef ValType = 0x6f
	ExnRef    ValType = 0x69 // exception handling
	RefNull   ValType = 0x63 // (ref null ht), followed by a heap type
	Ref       ValType = 0x64 // (ref ht), followed by a heap type
)

// The abstract heap types func and extern, as the signed LEB128 values that
// follow RefNull: (ref null func) is funcref, (ref null extern) externref.
const (
	HeapFunc   = -0x10
	HeapExtern = -0x11
)

// IsValType reports whether t is the code of a one-byte value type: a
// number, vector, funcref or externref type.
func IsValType(t byte) bool {
	switch ValType(t) {
	case I32, I64, F32, F64, V128, FuncRef, ExternRef:
		return true
	}
	return false
}

// The forms that start an entry of the type section.
const (
	FormFunc = 0x60 // a function type
	FormRec  = 0x4e // a recursion group (GC), here of function types
)

// The bits of the flags byte of limits.
const (
	LimitsMax    = 0x01 // a maximum follows the minimum
	LimitsShared = 0x02 // shared memory (threads)
	Limits64     = 0x04 // 64-bit memory or table (memory64)
)

// The mutability of a global.
const (
	MutConst = 0x00
	MutVar   = 0x01
)

// ErrMalformed is wrapped by errors about bytes that are not a valid
// WebAssembly binary.
var ErrMalformed = errors.New("malformed module")

// ErrUnsupported is wrapped by errors about an encoding the reader does not
// decode (GC types, typed function references, an unknown binary version).
var ErrUnsupported = errors.New("unsupported encoding")

// Error is the error type of the reader: what was found at which byte
// offset of the module.
type Error struct {
	// Offset is the byte offset in the module.
	Offset int
	// Msg says what was found there.
	Msg string
	// Err is ErrMalformed or ErrUnsupported.
	Err error
}

// Error returns the message with its offset.
func (e *Error) Error() string {
	return fmt.Sprintf("%s at offset %#x", e.Msg, e.Offset)
}

// Unwrap returns ErrMalformed or ErrUnsupported.
func (e *Error) Unwrap() error { return e.Err }

// malformed returns an *Error wrapping ErrMalformed.
func malformed(off int, msg string) error {
	return &Error{Offset: off, Msg: msg, Err: ErrMalformed}
}

// unsupported returns an *Error wrapping ErrUnsupported.
func unsupported(off int, msg string) error {
	return &Error{Offset: off, Msg: msg, Err: ErrUnsupported}
}
