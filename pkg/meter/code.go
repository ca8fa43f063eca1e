package meter

import (
	"fmt"
	"math"
	"slices"

	"github.com/rcc-games/rcc/pkg/wasmbin"
)

// A run is a straight-line sequence of instructions entered only at its
// first instruction. Its whole cost is charged before that instruction.
type run struct {
	at     int   // offset in the function body where the charge goes
	cost   int64 // instructions in the run
	header bool  // the run starts the function or a loop body
	check  bool  // compare fuel with zero after charging
	// must is set when the run can be left other than into another run of
	// the function (return, a call to an import, call_indirect) or has no
	// successor at all (it ends in unreachable): its check cannot be left
	// to the next run.
	must  bool
	back  bool  // the run branches back to a loop header
	nsucc int32 // forward edges from the run to later runs
}

type edge struct{ from, to int32 }

// A patch is code inserted before the instruction at offset at.
type patch struct {
	at   int
	kind patchKind
	run  int32 // for patchCharge
}

type patchKind uint8

const (
	patchCharge  patchKind = iota // charge run
	patchSave                     // copy the fuel local to the global
	patchRestore                  // copy the global to the fuel local
	patchBytes                    // charge the length of a memory.* bulk operation
	patchElems                    // charge the length of a table.* bulk operation
)

// bytesShift sets the dynamic cost of memory.copy, memory.fill and
// memory.init: one unit per 1<<bytesShift bytes.
const bytesShift = 4

// pendNode is a node of a linked list of run indices kept in one slice.
type pendNode struct{ run, next int32 }

type frameKind uint8

const (
	frameFunc frameKind = iota
	frameBlock
	frameLoop
	frameIf
)

type frame struct {
	kind           frameKind
	startReachable bool // the frame's first instruction can execute
	thenReachable  bool // for if: the end of the then arm is reachable
	hasElse        bool
	targeted       bool  // a reachable branch targets the end of this block
	ifRun          int32 // for if: the run that ends with the if, or -1
	pend           int32 // list of runs that continue after the end
}

// funcRewriter holds the state of one function body; it is reused across
// the functions of a module.
type funcRewriter struct {
	fuel          uint32
	importedFuncs uint32
	opts          Options
	local         uint32 // index of the fuel local; the length local follows
	needLen       bool   // the function has bulk operations
	runs          []run
	patches       []patch
	edges         []edge
	nodes         []pendNode
	adj           []int32
	over          []int64
	ctrl          []frame
	r             wasmbin.Reader
	cur           int32 // index in runs of the run being extended, -1 when dead
	reach         bool  // the current instruction can execute
	exit          bool  // the current branch instruction can return
	preds         int32 // list of the runs that fall into the next leader
}

func rewriteCode(s wasmbin.Section, fuel, importedFuncs uint32, params []uint32, opts Options) ([]byte, error) {
	r := s.Reader()
	n, _ := r.Entries(wasmbin.SectionCode) // checked by parseSection
	out := make([]byte, 0, len(s.Body)+len(s.Body)/2+16)
	out = wasmbin.AppendULEB128(out, uint64(n))
	fr := &funcRewriter{fuel: fuel, importedFuncs: importedFuncs, opts: opts}
	var body []byte
	for i := range n {
		size, err := r.U32()
		if err != nil {
			return nil, err
		}
		base := r.Offset()
		b, err := r.Bytes(int(size))
		if err != nil {
			return nil, malformed(base, "function body exceeds the code section")
		}
		body, err = fr.rewrite(body[:0], b, base, params[i])
		if err != nil {
			return nil, err
		}
		out = wasmbin.AppendULEB128(out, uint64(len(body)))
		out = append(out, body...)
	}
	if !r.EOF() {
		return nil, malformed(r.Offset(), "trailing bytes after the last function body")
	}
	return out, nil
}

// rewrite appends the instrumented version of the function body b, whose
// function has params parameters, to out.
func (f *funcRewriter) rewrite(out, b []byte, base int, params uint32) ([]byte, error) {
	f.r = wasmbin.NewReader(b, base)
	f.runs = f.runs[:0]
	f.patches = f.patches[:0]
	f.edges = f.edges[:0]
	f.nodes = f.nodes[:0]
	f.ctrl = f.ctrl[:0]
	f.needLen = false
	r := &f.r
	// Locals: the fuel local (i64) is appended after the declared ones, and
	// the length local (i32) after it when the function needs one.
	n, err := r.Count(2)
	if err != nil {
		return nil, err
	}
	localsStart := r.Pos()
	nlocals := uint64(params)
	for range n {
		k, err := r.U32()
		if err != nil {
			return nil, err
		}
		nlocals += uint64(k)
		if _, err := r.ValType(); err != nil {
			return nil, err
		}
	}
	if nlocals >= 1<<32-2 {
		return nil, unsupported(base, "too many locals")
	}
	f.local = uint32(nlocals)
	codeStart := r.Pos()
	if err := f.decode(); err != nil {
		return nil, err
	}
	f.placeChecks()
	if f.needLen {
		out = wasmbin.AppendULEB128(out, uint64(n)+2)
		out = append(out, b[localsStart:codeStart]...)
		out = append(out, 1, byte(wasmbin.I64), 1, byte(wasmbin.I32))
	} else {
		out = wasmbin.AppendULEB128(out, uint64(n)+1)
		out = append(out, b[localsStart:codeStart]...)
		out = append(out, 1, byte(wasmbin.I64))
	}
	out = f.appendRestore(out)
	prev := codeStart
	for _, p := range f.patches {
		var ru *run
		if p.kind == patchCharge {
			if ru = &f.runs[p.run]; !ru.emitted() {
				continue
			}
		}
		out = append(out, b[prev:p.at]...)
		prev = p.at
		switch p.kind {
		case patchCharge:
			out = f.appendCharge(out, ru)
		case patchSave:
			out = f.appendSave(out)
		case patchRestore:
			out = f.appendRestore(out)
		case patchBytes:
			out = f.appendLength(out, bytesShift)
		case patchElems:
			out = f.appendLength(out, 0)
		}
	}
	return append(out, b[prev:]...), nil
}

// emitted reports whether the run gets any injected code. A run that costs
// nothing and starts no loop or function needs none: fuel cannot become
// negative in it.
func (ru *run) emitted() bool { return ru.cost > 0 || ru.header }

// placeChecks decides which runs compare fuel with zero.
//
// With CheckLoops, only headers do. With CheckEveryRun, a run may leave its
// check to the runs that follow it, as long as whatever can execute from its
// start until some run checks costs at most maxOverrun: a run that makes
// fuel negative then runs to its end, and so do the unchecked runs after it,
// until one traps before executing anything. Runs are decided from last to
// first, and all forward edges go to later runs; backward edges go to loop
// headers, which always check, as do function entries, so every cycle of
// control flow does. Runs that return, call an import or call_indirect, or
// have no successor, check too: a guest never leaves a call, to its caller
// or to the host, with negative fuel.
func (f *funcRewriter) placeChecks() {
	runs := f.runs
	if f.opts.Checks == CheckLoops {
		for i := range runs {
			runs[i].check = runs[i].header
		}
		return
	}
	// Forward edges grouped by source run: after the fill below, run i's
	// successors are tgt[end[i-1]:end[i]] (from 0 for run 0).
	n := len(runs)
	buf := slices.Grow(f.adj[:0], n+1+len(f.edges))[:n+1+len(f.edges)]
	f.adj = buf
	end, tgt := buf[:n+1], buf[n+1:]
	clear(end)
	for _, e := range f.edges {
		end[e.from+1]++
	}
	for i := 1; i <= n; i++ {
		end[i] += end[i-1]
	}
	for _, e := range f.edges {
		tgt[end[e.from]] = e.to
		end[e.from]++
	}
	// over[i] is the most fuel that can be spent from the start of run i,
	// when i does not check, before some run checks.
	over := slices.Grow(f.over[:0], n)[:n]
	f.over = over
	for i := n - 1; i >= 0; i-- {
		ru := &runs[i]
		from := int32(0)
		if i > 0 {
			from = end[i-1]
		}
		next := int64(0) // the most spent in unchecked successors
		for _, s := range tgt[from:end[i]] {
			if !runs[s].check {
				next = max(next, over[s])
			}
		}
		over[i] = satAdd(ru.cost, next)
		ru.check = ru.header || ru.must || (ru.nsucc == 0 && !ru.back) || over[i] > maxOverrun
		if ru.check && !ru.emitted() {
			// A run without code cannot check: its predecessors must.
			ru.check = false
			over[i] = math.MaxInt64
		}
	}
}

// maxOverrun bounds, in CheckEveryRun mode, the fuel a guest may spend
// after its fuel went negative and before it traps: runs are left without
// a check as long as the runs that may follow them until the next check
// cost no more than this.
const maxOverrun = 256

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// appendCharge appends the code that charges a run to the fuel local:
//
//	local.get $f; i64.const cost; i64.sub; local.set $f
//
// or, when the run checks,
//
//	local.get $f; i64.const cost; i64.sub; local.tee $f
//	i64.const 0; i64.lt_s
//	if; local.get $f; global.set $fuel; unreachable; end
func (f *funcRewriter) appendCharge(out []byte, ru *run) []byte {
	out = append(out, opLocalGet)
	out = wasmbin.AppendULEB128(out, uint64(f.local))
	out = append(out, opI64Const)
	out = wasmbin.AppendSLEB128(out, ru.cost)
	out = append(out, opI64Sub)
	if !ru.check {
		out = append(out, opLocalSet)
		return wasmbin.AppendULEB128(out, uint64(f.local))
	}
	out = append(out, opLocalTee)
	out = wasmbin.AppendULEB128(out, uint64(f.local))
	return f.appendTrapIfNegative(out)
}

// appendTrapIfNegative appends the check of the fuel on top of the stack,
// which is also in the fuel local:
//
//	i64.const 0; i64.lt_s
//	if; local.get $f; global.set $fuel; unreachable; end
func (f *funcRewriter) appendTrapIfNegative(out []byte) []byte {
	out = append(out, opI64Const, 0, opI64LtS, opIf, blockEmpty)
	out = f.appendSave(out)
	return append(out, opUnreachable, opEnd)
}

// appendLength appends the code that charges the length operand n of a
// bulk operation, on top of the stack, shifted right by shift:
//
//	local.tee $n; local.get $f; local.get $n; i64.extend_i32_u
//	i64.const shift; i64.shr_u; i64.sub; local.tee $f
//	i64.const 0; i64.lt_s
//	if; local.get $f; global.set $fuel; unreachable; end
func (f *funcRewriter) appendLength(out []byte, shift int64) []byte {
	n := uint64(f.local) + 1
	out = append(out, opLocalTee)
	out = wasmbin.AppendULEB128(out, n)
	out = append(out, opLocalGet)
	out = wasmbin.AppendULEB128(out, uint64(f.local))
	out = append(out, opLocalGet)
	out = wasmbin.AppendULEB128(out, n)
	out = append(out, opI64ExtendU)
	if shift != 0 {
		out = append(out, opI64Const)
		out = wasmbin.AppendSLEB128(out, shift)
		out = append(out, opI64ShrU)
	}
	out = append(out, opI64Sub, opLocalTee)
	out = wasmbin.AppendULEB128(out, uint64(f.local))
	return f.appendTrapIfNegative(out)
}

// appendSave appends local.get $f; global.set $fuel.
func (f *funcRewriter) appendSave(out []byte) []byte {
	out = append(out, opLocalGet)
	out = wasmbin.AppendULEB128(out, uint64(f.local))
	out = append(out, opGlobalSet)
	return wasmbin.AppendULEB128(out, uint64(f.fuel))
}

// appendRestore appends global.get $fuel; local.set $f.
func (f *funcRewriter) appendRestore(out []byte) []byte {
	out = append(out, opGlobalGet)
	out = wasmbin.AppendULEB128(out, uint64(f.fuel))
	out = append(out, opLocalSet)
	return wasmbin.AppendULEB128(out, uint64(f.local))
}

// addPatch records code to insert before offset at, if the code there can
// execute.
func (f *funcRewriter) addPatch(at int, kind patchKind) {
	if f.reach {
		f.patches = append(f.patches, patch{at: at, kind: kind})
	}
}

// free reports whether an instruction costs no fuel: the structural
// markers block, loop and end, and nop, which compile to no code. Every
// cycle of control flow still contains a branch or a call, which costs 1.
func free(op byte) bool {
	return op == opNop || op == opBlock || op == opLoop || op == opEnd
}

// push adds run to the list at *head.
func (f *funcRewriter) push(head *int32, run int32) {
	if run < 0 {
		return
	}
	f.nodes = append(f.nodes, pendNode{run: run, next: *head})
	*head = int32(len(f.nodes) - 1)
}

// startRun begins a new run at the current offset if the code there can
// execute, and links the runs in f.preds to it. header marks function
// entries and loop headers.
func (f *funcRewriter) startRun(at int, header bool) {
	preds := f.preds
	f.preds = -1
	if !f.reach {
		f.cur = -1
		return
	}
	n := int32(len(f.runs))
	f.runs = append(f.runs, run{at: at, header: header})
	f.patches = append(f.patches, patch{at: at, kind: patchCharge, run: n})
	f.cur = n
	for p := preds; p >= 0; p = f.nodes[p].next {
		from := f.nodes[p].run
		f.edges = append(f.edges, edge{from: from, to: n})
		f.runs[from].nsucc++
	}
}

func (f *funcRewriter) dead() {
	f.reach = false
	f.cur = -1
}

// must marks the current run as one that has to check.
func (f *funcRewriter) must() {
	if f.cur >= 0 {
		f.runs[f.cur].must = true
	}
}

// target records a branch from the current run to the label at relative
// depth d. A branch to the function's label returns: it sets f.exit.
func (f *funcRewriter) target(d uint32, off int) error {
	if int64(d) >= int64(len(f.ctrl)) {
		return malformed(off, fmt.Sprintf("branch depth %d exceeds the nesting depth %d", d, len(f.ctrl)))
	}
	if !f.reach || f.cur < 0 {
		return nil
	}
	fr := &f.ctrl[len(f.ctrl)-1-int(d)]
	switch fr.kind {
	case frameFunc:
		f.must()
		f.exit = true
	case frameLoop:
		f.runs[f.cur].back = true
	default:
		if !fr.targeted || fr.pend < 0 || f.nodes[fr.pend].run != f.cur {
			f.push(&fr.pend, f.cur)
		}
		fr.targeted = true
	}
	return nil
}

// decode walks the instructions of the body, recording its runs.
func (f *funcRewriter) decode() error {
	r := &f.r
	f.ctrl = append(f.ctrl, frame{kind: frameFunc, startReachable: true, ifRun: -1, pend: -1})
	f.reach = true
	f.preds = -1
	f.startRun(r.Pos(), true)
	leader, header := false, false
	for {
		at := r.Pos()
		if leader {
			f.startRun(at, header)
			leader, header = false, false
		}
		off := r.Offset()
		op, err := r.Byte()
		if err != nil {
			return malformed(off, "function body ends inside an expression")
		}
		f.exit = false
		if f.cur >= 0 && !free(op) {
			f.runs[f.cur].cost++
		}
		switch {
		case op >= opI32Eqz && op <= opI64Extend32S:
			// Numeric instructions without immediates, including sign
			// extension.
			continue
		case op >= opI32Load && op <= opI64Store32:
			if err := f.memarg(); err != nil {
				return err
			}
			continue
		}
		switch op {
		case opUnreachable:
			f.dead()
		case opNop:
		case opBlock, opLoop, opIf:
			if err := f.blockType(); err != nil {
				return err
			}
			fr := frame{startReachable: f.reach, ifRun: -1, pend: -1}
			switch op {
			case opBlock:
				fr.kind = frameBlock
			case opLoop:
				fr.kind = frameLoop
				f.push(&f.preds, f.cur)
				leader, header = true, true
			case opIf:
				fr.kind = frameIf
				fr.ifRun = f.cur
				f.push(&f.preds, f.cur)
				leader = true
			}
			f.ctrl = append(f.ctrl, fr)
		case opElse:
			top := &f.ctrl[len(f.ctrl)-1]
			if top.kind != frameIf || top.hasElse {
				return malformed(off, "else outside an if")
			}
			top.hasElse = true
			top.thenReachable = f.reach
			f.push(&top.pend, f.cur) // the then arm jumps to the end
			f.reach = top.startReachable
			f.cur = -1
			f.push(&f.preds, top.ifRun)
			leader = true
		case opEnd:
			top := f.ctrl[len(f.ctrl)-1]
			f.ctrl = f.ctrl[:len(f.ctrl)-1]
			if len(f.ctrl) == 0 {
				f.must() // returns to the caller
				f.addPatch(at, patchSave)
				if !r.EOF() {
					return malformed(r.Offset(), "bytes after the end of the function body")
				}
				return nil
			}
			switch top.kind {
			case frameBlock:
				if top.targeted {
					f.push(&top.pend, f.cur)
					f.preds = top.pend
					f.reach = true
					leader = true
				}
			case frameIf:
				other := top.startReachable
				if top.hasElse {
					other = top.thenReachable
				} else {
					f.push(&top.pend, top.ifRun) // the condition was false
				}
				f.push(&top.pend, f.cur)
				f.preds = top.pend
				f.reach = f.reach || other || top.targeted
				leader = true
			}
			// After a loop's end, or a block no branch targets, control
			// only falls through: the current run goes on.
		case opBr:
			d, err := r.U32()
			if err != nil {
				return err
			}
			if err := f.target(d, off); err != nil {
				return err
			}
			if f.exit {
				f.addPatch(at, patchSave)
			}
			f.dead()
		case opBrIf:
			d, err := r.U32()
			if err != nil {
				return err
			}
			if err := f.target(d, off); err != nil {
				return err
			}
			if f.exit {
				f.addPatch(at, patchSave)
			}
			f.push(&f.preds, f.cur)
			leader = true
		case opBrTable:
			n, err := r.Count(1)
			if err != nil {
				return err
			}
			for range n + 1 {
				d, err := r.U32()
				if err != nil {
					return err
				}
				if err := f.target(d, off); err != nil {
					return err
				}
			}
			if f.exit {
				f.addPatch(at, patchSave)
			}
			f.dead()
		case opReturn:
			f.must()
			f.addPatch(at, patchSave)
			f.dead()
		case opCall:
			fn, err := r.U32()
			if err != nil {
				return err
			}
			if fn < f.importedFuncs {
				f.must() // the host must not run on negative fuel
			}
			f.addPatch(at, patchSave)
			f.addPatch(r.Pos(), patchRestore)
		case opCallIndirect:
			if _, err := r.U32(); err != nil {
				return err
			}
			if _, err := r.U32(); err != nil {
				return err
			}
			f.must() // the callee may be an import
			f.addPatch(at, patchSave)
			f.addPatch(r.Pos(), patchRestore)
		case opDrop, opSelect:
		case opSelectT:
			n, err := r.Count(1)
			if err != nil {
				return err
			}
			for range n {
				if _, err := r.ValType(); err != nil {
					return err
				}
			}
		case opLocalGet, opLocalSet, opLocalTee, opGlobalGet, opGlobalSet, opTableGet, opTableSet:
			if _, err := r.U32(); err != nil {
				return err
			}
		case opMemorySize, opMemoryGrow:
			if err := f.memIndex(); err != nil {
				return err
			}
		case opI32Const:
			if _, err := r.S32(); err != nil {
				return err
			}
		case opI64Const:
			if _, err := r.S64(); err != nil {
				return err
			}
		case opF32Const:
			if err := r.Skip(4); err != nil {
				return err
			}
		case opF64Const:
			if err := r.Skip(8); err != nil {
				return err
			}
		case opRefNull:
			o := r.Offset()
			t, err := r.Byte()
			if err != nil {
				return err
			}
			if wasmbin.ValType(t) != wasmbin.FuncRef && wasmbin.ValType(t) != wasmbin.ExternRef {
				return unsupported(o, fmt.Sprintf("ref.null heap type %#x", t))
			}
		case opRefIsNull:
		case opRefFunc:
			if _, err := r.U32(); err != nil {
				return err
			}
		case opPrefixMisc:
			if err := f.miscOp(at, off); err != nil {
				return err
			}
		case opPrefixSIMD:
			if err := f.simdOp(off); err != nil {
				return err
			}
		default:
			return unsupported(off, "instruction "+opName(op))
		}
	}
}

func (f *funcRewriter) memarg() error {
	off := f.r.Offset()
	align, err := f.r.U32()
	if err != nil {
		return err
	}
	if align&memargMemIndex != 0 {
		return unsupported(off, "memory index in memarg (multi-memory)")
	}
	_, err = f.r.U32()
	return err
}

// memIndex reads the reserved memory index byte of memory instructions.
func (f *funcRewriter) memIndex() error {
	off := f.r.Offset()
	b, err := f.r.Byte()
	if err != nil {
		return err
	}
	if b != 0 {
		return unsupported(off, fmt.Sprintf("memory index byte %#x (multi-memory)", b))
	}
	return nil
}

func (f *funcRewriter) blockType() error {
	r := &f.r
	off := r.Offset()
	b, err := r.Peek()
	if err != nil {
		return err
	}
	if b == blockEmpty || wasmbin.IsValType(b) {
		return r.Skip(1)
	}
	switch wasmbin.ValType(b) {
	case wasmbin.RefNull, wasmbin.Ref, wasmbin.ExnRef:
		_, err := r.ValType()
		return err
	}
	v, err := r.S33()
	if err != nil {
		return err
	}
	if v < 0 {
		return unsupported(off, fmt.Sprintf("block type %#x", b))
	}
	return nil
}

// bulk records a dynamic charge before the bulk operation at offset at.
func (f *funcRewriter) bulk(at int, kind patchKind) {
	if f.reach {
		f.needLen = true
		f.addPatch(at, kind)
	}
}

func (f *funcRewriter) miscOp(at, off int) error {
	r := &f.r
	sub, err := r.U32()
	if err != nil {
		return err
	}
	switch sub {
	case miscMemoryInit, miscMemoryCopy, miscMemoryFill:
		f.bulk(at, patchBytes)
	case miscTableInit, miscTableCopy, miscTableFill:
		f.bulk(at, patchElems)
	}
	switch {
	case sub <= miscTruncSatLast:
		return nil
	case sub == miscMemoryInit: // dataidx memidx
		if _, err := r.U32(); err != nil {
			return err
		}
		return f.memIndex()
	case sub == miscDataDrop:
		_, err := r.U32()
		return err
	case sub == miscMemoryCopy: // two memory indices
		if err := f.memIndex(); err != nil {
			return err
		}
		return f.memIndex()
	case sub == miscMemoryFill:
		return f.memIndex()
	case sub == miscTableInit, sub == miscTableCopy: // elem table, table table
		if _, err := r.U32(); err != nil {
			return err
		}
		_, err := r.U32()
		return err
	case sub == miscElemDrop, sub >= miscTableGrow && sub <= miscTableFill:
		_, err := r.U32()
		return err
	}
	return unsupported(off, fmt.Sprintf("instruction 0xfc %d%s", sub, miscNote(sub)))
}

func miscNote(sub uint32) string {
	if sub >= miscTable64First && sub <= miscTable64Last {
		return " (memory64 table instructions)"
	}
	return ""
}

// simdReserved lists the unassigned opcodes below 0x100 of the 0xfd space.
var simdReserved = map[uint32]bool{
	0x9a: true, 0xa2: true, 0xa5: true, 0xa6: true, 0xaf: true, 0xb0: true,
	0xb2: true, 0xb3: true, 0xb4: true, 0xbb: true, 0xc2: true, 0xc5: true,
	0xc6: true, 0xcf: true, 0xd0: true, 0xd2: true, 0xd3: true, 0xd4: true,
	0xe2: true, 0xee: true,
}

func (f *funcRewriter) simdOp(off int) error {
	r := &f.r
	sub, err := r.U32()
	if err != nil {
		return err
	}
	switch {
	case sub <= simdStore, sub == simdLoad32Zero, sub == simdLoad64Zero:
		return f.memarg()
	case sub == simdConst, sub == simdShuffle:
		return r.Skip(16)
	case sub >= simdExtractFirst && sub <= simdReplaceLast: // extract_lane, replace_lane
		return r.Skip(1)
	case sub >= simdLoadLaneFirst && sub <= simdStoreLaneLast: // load_lane, store_lane
		if err := f.memarg(); err != nil {
			return err
		}
		return r.Skip(1)
	case sub >= simdRelaxedFirst && sub <= simdRelaxedLast:
		return unsupported(off, fmt.Sprintf("instruction 0xfd %#x (relaxed SIMD)", sub))
	case sub <= simdLast && !simdReserved[sub]:
		return nil
	}
	return unsupported(off, fmt.Sprintf("instruction 0xfd %#x (unknown SIMD opcode)", sub))
}

// opName names a single-byte opcode that Instrument refuses.
func opName(op byte) string {
	name, ok := refusedOps[op]
	if !ok {
		return fmt.Sprintf("%#02x (unknown opcode)", op)
	}
	return fmt.Sprintf("%s (%#02x, %s)", name[0], op, name[1])
}

var refusedOps = map[byte][2]string{
	0x06: {"try", "legacy exception handling"},
	0x07: {"catch", "legacy exception handling"},
	0x08: {"throw", "exception handling"},
	0x09: {"rethrow", "legacy exception handling"},
	0x0a: {"throw_ref", "exception handling"},
	0x18: {"delegate", "legacy exception handling"},
	0x19: {"catch_all", "legacy exception handling"},
	0x1f: {"try_table", "exception handling"},
	0x12: {"return_call", "tail calls"},
	0x13: {"return_call_indirect", "tail calls"},
	0x14: {"call_ref", "typed function references"},
	0x15: {"return_call_ref", "tail calls"},
	0xd3: {"ref.as_non_null", "typed function references"},
	0xd4: {"br_on_null", "typed function references"},
	0xd5: {"ref.eq", "GC"},
	0xd6: {"br_on_non_null", "typed function references"},
	0xfb: {"0xfb prefix", "GC"},
	0xfe: {"0xfe prefix", "threads and atomics"},
}
