package meter_test

// gen turns fuzz bytes into a valid module: a function "run" (i32) -> i32
// built from typed random expressions and statements (blocks, bounded
// loops, if/else, br, br_if, br_table, return, select, calls, call_indirect,
// multi-value blocks, memory, bulk memory, globals, i64, f64 and SIMD
// arithmetic) and a helper (i32 i32) -> i32 it calls. Every loop counts a
// dedicated local down before its body, so every program terminates.
type gen struct {
	src   []byte
	code  []byte
	label []int // arity of each enclosing label, innermost last
	loops int   // loop counter locals used
	calls bool  // the function may call the helper
	depth int
}

const (
	genParams   = 2 // run has 1 param and the helper 2; indices below 2 are params or locals
	genLocals   = 4 // general i32 locals after the params
	genCounters = 6 // loop counter locals after those
)

func (g *gen) next() byte {
	if len(g.src) == 0 {
		return 0
	}
	b := g.src[0]
	g.src = g.src[1:]
	return b
}

func (g *gen) n(k int) int { return int(g.next()) % k }

func (g *gen) emit(b ...byte) { g.code = append(g.code, b...) }

func (g *gen) local() byte { return byte(g.n(genParams + genLocals)) }

// expr emits code that pushes one i32.
func (g *gen) expr() {
	g.depth++
	defer func() { g.depth-- }()
	if g.depth > 6 {
		if g.n(2) == 0 {
			g.emit(0x41)
			g.code = sleb(g.code, int64(int8(g.next())))
		} else {
			g.emit(0x20, g.local())
		}
		return
	}
	switch g.n(23) {
	case 20: // br_table carrying a value out of one of two blocks
		g.emit(0x02, 0x7f, 0x02, 0x7f)
		g.label = append(g.label, 1, 1)
		g.expr()
		g.expr()
		g.emit(0x0e, 0x02, byte(g.n(2)), byte(g.n(2)), byte(g.n(2)), 0x0b)
		g.label = g.label[:len(g.label)-1]
		g.emit(0x41, byte(g.n(64)), 0x6a, 0x0b)
		g.label = g.label[:len(g.label)-1]
	case 21: // loop with a parameter and a result, bounded by a counter
		if g.loops == genCounters {
			g.emit(0x3f, 0x00)
			return
		}
		c := byte(genParams + genLocals + g.loops)
		g.loops++
		g.emit(0x41, byte(g.n(5)), 0x21, c)
		g.expr()
		g.emit(0x03, 0x00) // loop of type 0: (i32) -> i32
		g.label = append(g.label, 1)
		g.expr()
		g.emit(0x6a, 0x20, c, 0x20, c, 0x41, 0x01, 0x6b, 0x21, c, 0x0d, 0x00)
		g.label = g.label[:len(g.label)-1]
		g.emit(0x0b)
	case 22: // SIMD load from and store to a masked address
		g.expr()
		g.emit(0x41)
		g.code = sleb(g.code, 0xff0)
		g.emit(0x71, 0xfd, 0x00, 0x04, 0x00) // v128.load align=16
		g.emit(0xfd, 0x1b, byte(g.n(4)))
	case 0, 1:
		g.emit(0x41)
		g.code = sleb(g.code, int64(int32(uint32(g.next())<<24|uint32(g.next()))))
	case 2, 3:
		g.emit(0x20, g.local())
	case 4, 5, 6:
		g.expr()
		g.expr()
		ops := []byte{0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4f}
		g.emit(ops[g.n(len(ops))])
	case 7:
		g.expr()
		ops := []byte{0x45, 0x67, 0x68, 0x69, 0xc0, 0xc1}
		g.emit(ops[g.n(len(ops))])
	case 8: // i64 round trip
		g.expr()
		g.emit(0xac, 0x42)
		g.code = sleb(g.code, int64(g.next())-100)
		g.emit(0x7e, 0xa7)
	case 9: // f64 round trip with a saturating conversion
		g.expr()
		g.emit(0xb7, 0x99, 0x9f, 0xfc, 0x02)
	case 10: // select, plain or typed
		g.expr()
		g.expr()
		g.expr()
		if g.n(2) == 0 {
			g.emit(0x1b)
		} else {
			g.emit(0x1c, 0x01, 0x7f)
		}
	case 11: // load from a masked address
		g.expr()
		g.emit(0x41)
		g.code = sleb(g.code, 0xff8)
		g.emit(0x71)
		if g.n(2) == 0 {
			g.emit(0x28, 0x02, byte(g.n(4)*4))
		} else {
			g.emit(0x2d, 0x00, byte(g.n(8)))
		}
	case 12: // call the helper, directly or through the table
		if !g.calls {
			g.emit(0x3f, 0x00) // memory.size
			return
		}
		g.expr()
		g.expr()
		if g.n(2) == 0 {
			g.emit(0x10, 0x01)
		} else {
			g.emit(0x41, 0x00, 0x11, 0x01, 0x00)
		}
	case 13: // block (result i32) with statements
		g.emit(0x02, 0x7f)
		g.label = append(g.label, 1)
		g.stmts(2)
		g.expr()
		g.label = g.label[:len(g.label)-1]
		g.emit(0x0b)
	case 14: // if (result i32)
		g.expr()
		g.emit(0x04, 0x7f)
		g.label = append(g.label, 1)
		g.stmts(1)
		g.expr()
		g.emit(0x05)
		g.stmts(1)
		g.expr()
		g.label = g.label[:len(g.label)-1]
		g.emit(0x0b)
	case 15: // multi-value block of type 2: (i32) -> (i32 i32)
		g.expr()
		g.emit(0x02, 0x02)
		g.label = append(g.label, 2)
		g.expr()
		g.label = g.label[:len(g.label)-1]
		g.emit(0x0b, 0x6a)
	case 16: // block (result i32) left early by br_if with a value
		g.emit(0x02, 0x7f)
		g.label = append(g.label, 1)
		g.expr()
		g.expr()
		g.emit(0x0d, 0x00, 0x1a)
		g.expr()
		g.label = g.label[:len(g.label)-1]
		g.emit(0x0b)
	case 17: // SIMD
		g.expr()
		g.emit(0xfd, 0x11)
		g.expr()
		g.emit(0xfd, 0x11, 0xfd, 0xae, 0x01, 0xfd, 0x1b, byte(g.n(4)))
	case 18:
		g.emit(0x23, 0x00)
	case 19: // memory.grow by 0 pages
		g.emit(0x41, 0x00, 0x40, 0x00)
	}
}

// target returns the relative depth of a random enclosing label of arity 0.
func (g *gen) target() (uint64, bool) {
	var ds []uint64
	for i := len(g.label) - 1; i >= 0; i-- {
		if g.label[i] == 0 {
			ds = append(ds, uint64(len(g.label)-1-i))
		}
	}
	if len(ds) == 0 {
		return 0, false
	}
	return ds[g.n(len(ds))], true
}

func (g *gen) stmts(max int) {
	for range g.n(max + 1) {
		g.stmt()
	}
}

// stmt emits code with no net effect on the stack (or that leaves it).
func (g *gen) stmt() {
	g.depth++
	defer func() { g.depth-- }()
	if g.depth > 5 {
		g.emit(0x01)
		return
	}
	switch g.n(14) {
	case 0, 1:
		g.expr()
		g.emit(0x21, 2+byte(g.n(genLocals)))
	case 2: // store to a masked address
		g.expr()
		g.emit(0x41)
		g.code = sleb(g.code, 0xff8)
		g.emit(0x71)
		g.expr()
		if g.n(2) == 0 {
			g.emit(0x36, 0x02, 0x00)
		} else {
			g.emit(0x3a, 0x00, byte(g.n(8)))
		}
	case 3: // if/else
		g.expr()
		g.emit(0x04, 0x40)
		g.label = append(g.label, 0)
		g.stmts(3)
		if g.n(2) == 0 {
			g.emit(0x05)
			g.stmts(3)
		}
		g.label = g.label[:len(g.label)-1]
		g.emit(0x0b)
	case 4, 5: // block
		g.emit(0x02, 0x40)
		g.label = append(g.label, 0)
		g.stmts(4)
		g.label = g.label[:len(g.label)-1]
		g.emit(0x0b)
	case 6: // bounded loop
		if g.loops == genCounters {
			g.emit(0x01)
			return
		}
		c := byte(genParams + genLocals + g.loops)
		g.loops++
		// counter = n; block; loop; br_if 1 (counter == 0); counter--; body; br 0
		g.emit(0x41, byte(g.n(5)), 0x21, c, 0x02, 0x40, 0x03, 0x40)
		g.label = append(g.label, 0, 0)
		g.emit(0x20, c, 0x45, 0x0d, 0x01, 0x20, c, 0x41, 0x01, 0x6b, 0x21, c)
		g.stmts(4)
		if g.n(2) == 0 {
			g.emit(0x0c, 0x00)
		}
		g.label = g.label[:len(g.label)-2]
		g.emit(0x0b, 0x0b)
	case 7: // br_if
		if d, ok := g.target(); ok {
			g.expr()
			g.emit(0x0d)
			g.code = uleb(g.code, d)
		}
	case 8: // br_table over arity-0 labels, then dead code
		if _, ok := g.target(); ok && g.n(2) == 0 {
			g.expr()
			n := 1 + g.n(4)
			g.emit(0x0e)
			g.code = uleb(g.code, uint64(n))
			for range n + 1 {
				d, _ := g.target()
				g.code = uleb(g.code, d)
			}
			g.stmts(1)
		}
	case 9: // br or return, then dead code
		if d, ok := g.target(); ok && g.n(2) == 0 {
			g.emit(0x0c)
			g.code = uleb(g.code, d)
		} else if g.n(4) == 0 {
			g.expr()
			g.emit(0x0f)
		}
		g.stmts(1)
	case 10:
		g.expr()
		g.emit(0x1a)
	case 11: // bulk memory on a small range
		g.emit(0x41)
		g.code = sleb(g.code, int64(g.n(256)))
		g.expr()
		g.emit(0x41)
		g.code = sleb(g.code, int64(g.n(256)))
		g.emit(0xfc, 0x0b, 0x00)
		g.emit(0x41, byte(g.n(64)), 0x41, byte(g.n(64)), 0x41, byte(g.n(64)), 0xfc, 0x0a, 0x00, 0x00)
	case 12:
		g.expr()
		g.emit(0x24, 0x00)
	case 13:
		g.emit(0x01)
	}
}

// body emits a function with params i32 parameters.
func (g *gen) body(params int, calls bool) []byte {
	g.code, g.label, g.loops, g.calls, g.depth = nil, []int{1}, 0, calls, 0
	g.stmts(6)
	g.expr()
	g.emit(0x0b)
	locals := [][2]byte{{byte(genParams + genLocals + genCounters - params), 0x7f}}
	return funcBody(locals, g.code)
}

// genModule builds a module from fuzz bytes.
func genModule(src []byte) []byte {
	g := &gen{src: src}
	b := append([]byte{}, header...)
	b = section(b, 1, vec(
		[]byte{0x60, 1, 0x7f, 1, 0x7f},       // 0: (i32) -> i32
		[]byte{0x60, 2, 0x7f, 0x7f, 1, 0x7f}, // 1: (i32 i32) -> i32
		[]byte{0x60, 1, 0x7f, 2, 0x7f, 0x7f}, // 2: (i32) -> (i32 i32)
	))
	b = section(b, 3, vec([]byte{0}, []byte{1}))
	b = section(b, 4, vec([]byte{0x70, 0x00, 0x01}))
	b = section(b, 5, vec([]byte{0x00, 0x01}))
	b = section(b, 6, vec([]byte{0x7f, 0x01, 0x41, 0x00, 0x0b}))
	b = section(b, 7, vec(append(str("run"), 0, 0), append(str("memory"), 2, 0)))
	b = section(b, 9, vec([]byte{0x00, 0x41, 0x00, 0x0b, 0x01, 0x01}))
	helper := g.body(2, false)
	run := g.body(1, true)
	b = section(b, 10, vec(run, helper))
	return b
}
