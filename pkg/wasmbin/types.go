package wasmbin

import "fmt"

// ValType reads a value type: a number, vector or reference type. The
// nullable abstract forms (ref null func) and (ref null extern) are the
// same types as funcref and externref and are returned as FuncRef and
// ExternRef; exnref is returned as ExnRef. Other reference types (typed
// function references, GC) and unknown codes are refused as unsupported.
func (r *Reader) ValType() (ValType, error) {
	off := r.Offset()
	t, err := r.Byte()
	if err != nil {
		return 0, err
	}
	if IsValType(t) {
		return ValType(t), nil
	}
	switch ValType(t) {
	case RefNull:
		h, err := r.S33()
		if err != nil {
			return 0, err
		}
		switch h {
		case HeapFunc:
			return FuncRef, nil
		case HeapExtern:
			return ExternRef, nil
		}
		return 0, unsupported(off, fmt.Sprintf("reference type (ref null %d) (typed function references or GC)", h))
	case Ref:
		return 0, unsupported(off, "non-nullable reference type (typed function references)")
	case ExnRef:
		// wazero accepts exnref in types without exception handling,
		// whose instructions the callers refuse.
		return ExnRef, nil
	}
	return 0, unsupported(off, fmt.Sprintf("value type %#x", t))
}

// FuncType is a function type.
type FuncType struct {
	// Params and Results are the parameter and result types.
	Params, Results []ValType
	// Rec is set for a type declared in a recursion group (FormRec).
	Rec bool
	// Offset is the offset of the type's form byte in the module.
	Offset int
}

// Types reads the body of a type section and returns its function types
// in index order, the members of recursion groups included (with Rec set).
// A type form other than FormFunc (struct, array and sub types of GC) is
// refused as unsupported.
func (r *Reader) Types() ([]FuncType, error) {
	n, err := r.Entries(SectionType)
	if err != nil {
		return nil, err
	}
	types := make([]FuncType, 0, n)
	// Every value type takes at least one byte, so the value types of the
	// whole section fit in one buffer of the remaining size, which never
	// grows: the types' slices stay valid.
	buf := make([]ValType, 0, len(r.b)-r.pos)
	for range n {
		off := r.Offset()
		form, err := r.Byte()
		if err != nil {
			return nil, err
		}
		k, rec := 1, form == FormRec
		if rec {
			if k, err = r.Count(3); err != nil {
				return nil, err
			}
			off = r.Offset()
			if k > 0 {
				if form, err = r.Byte(); err != nil {
					return nil, err
				}
			}
		}
		for i := range k {
			if i > 0 {
				off = r.Offset()
				if form, err = r.Byte(); err != nil {
					return nil, err
				}
			}
			if form != FormFunc {
				return nil, unsupported(off, fmt.Sprintf("type form %#x (GC types)", form))
			}
			t := FuncType{Rec: rec, Offset: off}
			start := len(buf)
			if buf, err = r.valTypes(buf); err != nil {
				return nil, err
			}
			mid := len(buf)
			if buf, err = r.valTypes(buf); err != nil {
				return nil, err
			}
			t.Params, t.Results = buf[start:mid:mid], buf[mid:len(buf):len(buf)]
			types = append(types, t)
		}
	}
	return types, nil
}

// valTypes reads a vector of value types and appends them to buf.
func (r *Reader) valTypes(buf []ValType) ([]ValType, error) {
	k, err := r.Count(1)
	if err != nil {
		return buf, err
	}
	for range k {
		t, err := r.ValType()
		if err != nil {
			return buf, err
		}
		buf = append(buf, t)
	}
	return buf, nil
}

// Functions reads the body of a function section: the type index of each
// function the module defines. numTypes is the number of types of the
// module; an index beyond them is malformed.
func (r *Reader) Functions(numTypes int) ([]uint32, error) {
	n, err := r.Entries(SectionFunction)
	if err != nil {
		return nil, err
	}
	funcs := make([]uint32, n)
	for i := range funcs {
		off := r.Offset()
		t, err := r.U32()
		if err != nil {
			return nil, err
		}
		if int64(t) >= int64(numTypes) {
			return nil, malformed(off, fmt.Sprintf("function %d has unknown type %d", i, t))
		}
		funcs[i] = t
	}
	return funcs, nil
}

// Limits are the limits of a memory or table type.
type Limits struct {
	// Offset is the offset of the flags byte in the module.
	Offset int
	// Flags is the flags byte: LimitsMax, LimitsShared, Limits64. The
	// reader does not refuse any; it reads the minimum and maximum as
	// LimitsMax and Limits64 say, and leaves the rest to the caller.
	Flags byte
	// Min is the minimum size, Max the maximum when HasMax.
	Min, Max uint64
}

// HasMax reports whether the limits declare a maximum.
func (l Limits) HasMax() bool { return l.Flags&LimitsMax != 0 }

// Shared reports whether the limits are those of a shared memory.
func (l Limits) Shared() bool { return l.Flags&LimitsShared != 0 }

// Is64 reports whether the limits are those of a 64-bit memory or table.
func (l Limits) Is64() bool { return l.Flags&Limits64 != 0 }

// Limits reads limits: the flags byte, the minimum and, when the flags say
// so, the maximum, as 32-bit integers or, with Limits64, 64-bit ones. On an
// error after the flags byte the result still has Offset and Flags, so that
// a caller can refuse flags it does not support before the malformed rest.
func (r *Reader) Limits() (Limits, error) {
	l := Limits{Offset: r.Offset()}
	var err error
	if l.Flags, err = r.Byte(); err != nil {
		return l, err
	}
	bits := uint(32)
	if l.Is64() {
		bits = 64
	}
	if l.Min, err = r.uleb(bits); err != nil {
		return l, err
	}
	if l.HasMax() {
		l.Max, err = r.uleb(bits)
	}
	return l, err
}

// TableType is the type of a table.
type TableType struct {
	// Elem is the element type: FuncRef or ExternRef.
	Elem ValType
	// Limits are the table's limits.
	Limits Limits
}

// TableType reads a table type. An element type other than funcref and
// externref is refused as unsupported. On an error in the limits the result
// has the element type and what Limits returned.
func (r *Reader) TableType() (TableType, error) {
	off := r.Offset()
	t, err := r.Byte()
	if err != nil {
		return TableType{}, err
	}
	if ValType(t) != FuncRef && ValType(t) != ExternRef {
		return TableType{}, unsupported(off, fmt.Sprintf("table element type %#x", t))
	}
	l, err := r.Limits()
	return TableType{Elem: ValType(t), Limits: l}, err
}

// GlobalType is the type of a global.
type GlobalType struct {
	// Type is the global's value type.
	Type ValType
	// Mutable is set when the mutability byte is MutVar. The reader does
	// not refuse other bytes.
	Mutable bool
}

// GlobalType reads a global type: a value type and the mutability byte.
func (r *Reader) GlobalType() (GlobalType, error) {
	t, err := r.ValType()
	if err != nil {
		return GlobalType{}, err
	}
	mut, err := r.Byte()
	return GlobalType{Type: t, Mutable: mut == MutVar}, err
}

// Import is one entry of the import section.
type Import struct {
	// Module and Name are the two names of the import.
	Module, Name string
	// Kind is what is imported; KindOffset the offset of its byte.
	Kind       ExternKind
	KindOffset int
	// Index is the type index of a function or tag.
	Index uint32
	// Table is the type of a table, Memory the limits of a memory, Global
	// the type of a global.
	Table  TableType
	Memory Limits
	Global GlobalType
}

// Import reads one entry of the import section. An unknown kind is
// malformed; a tag (exception handling) is read and left to the caller. On
// an error the result has what was read before it (Kind once its byte was
// read, the flags of limits), so that a caller can refuse a kind or limits
// it does not support before the malformed rest.
func (r *Reader) Import() (Import, error) {
	var im Import
	var err error
	if im.Module, err = r.Name(); err != nil {
		return im, err
	}
	if im.Name, err = r.Name(); err != nil {
		return im, err
	}
	im.KindOffset = r.Offset()
	kind, err := r.Byte()
	if err != nil {
		return im, err
	}
	im.Kind = ExternKind(kind)
	switch im.Kind {
	case KindFunc:
		im.Index, err = r.U32()
	case KindTable:
		im.Table, err = r.TableType()
	case KindMemory:
		im.Memory, err = r.Limits()
	case KindGlobal:
		im.Global, err = r.GlobalType()
	case KindTag:
		if _, err = r.Byte(); err == nil { // the attribute: exception
			im.Index, err = r.U32()
		}
	default:
		return im, malformed(im.KindOffset, fmt.Sprintf("import kind %#x", kind))
	}
	return im, err
}

// Export is one entry of the export section.
type Export struct {
	// Name is the export's name.
	Name string
	// Kind is what is exported. The reader does not refuse unknown kinds.
	Kind ExternKind
	// Index is the index of what is exported, in the index space of Kind.
	Index uint32
}

// Export reads one entry of the export section.
func (r *Reader) Export() (Export, error) {
	var e Export
	var err error
	if e.Name, err = r.Name(); err != nil {
		return e, err
	}
	kind, err := r.Byte()
	if err != nil {
		return e, err
	}
	e.Kind = ExternKind(kind)
	e.Index, err = r.U32()
	return e, err
}
