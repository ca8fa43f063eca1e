package meter

// The opcodes the code rewriter decodes or emits. Ranges are named by their
// first and last opcode.
const (
	opUnreachable  = 0x00
	opNop          = 0x01
	opBlock        = 0x02
	opLoop         = 0x03
	opIf           = 0x04
	opElse         = 0x05
	opEnd          = 0x0b
	opBr           = 0x0c
	opBrIf         = 0x0d
	opBrTable      = 0x0e
	opReturn       = 0x0f
	opCall         = 0x10
	opCallIndirect = 0x11
	opDrop         = 0x1a
	opSelect       = 0x1b
	opSelectT      = 0x1c // select with value types
	opLocalGet     = 0x20
	opLocalSet     = 0x21
	opLocalTee     = 0x22
	opGlobalGet    = 0x23
	opGlobalSet    = 0x24
	opTableGet     = 0x25
	opTableSet     = 0x26
	opI32Load      = 0x28 // the first load or store, all with a memarg
	opI64Store32   = 0x3e // the last load or store
	opMemorySize   = 0x3f
	opMemoryGrow   = 0x40
	opI32Const     = 0x41
	opI64Const     = 0x42
	opF32Const     = 0x43
	opF64Const     = 0x44
	opI32Eqz       = 0x45 // the first numeric instruction without immediates
	opI64LtS       = 0x53
	opI64Sub       = 0x7d
	opI64ShrU      = 0x88
	opI64ExtendU   = 0xad // i64.extend_i32_u
	opI64Extend32S = 0xc4 // the last numeric instruction (sign extension)
	opRefNull      = 0xd0
	opRefIsNull    = 0xd1
	opRefFunc      = 0xd2
	opPrefixMisc   = 0xfc // saturating truncation, bulk memory and tables
	opPrefixSIMD   = 0xfd
)

// blockEmpty is the block type of a block without results.
const blockEmpty = 0x40

// memargMemIndex is the bit of a memarg's alignment that says a memory
// index follows (multiple memories).
const memargMemIndex = 0x40

// The instructions after the 0xfc prefix, by their LEB128 sub-opcode.
const (
	miscTruncSatLast = 7 // i64.trunc_sat_f64_u; 0 to 7 are the truncations
	miscMemoryInit   = 8
	miscDataDrop     = 9
	miscMemoryCopy   = 10
	miscMemoryFill   = 11
	miscTableInit    = 12
	miscElemDrop     = 13
	miscTableCopy    = 14
	miscTableGrow    = 15
	miscTableSize    = 16
	miscTableFill    = 17
	miscTable64First = 0x12 // memory64's table instructions
	miscTable64Last  = 0x13
)

// The instructions after the 0xfd prefix (SIMD), by their sub-opcode.
const (
	simdStore         = 0x0b // v128.store; 0 to 0x0b are the loads and store
	simdConst         = 0x0c // v128.const
	simdShuffle       = 0x0d // i8x16.shuffle
	simdExtractFirst  = 0x15 // i8x16.extract_lane_s, the first lane access
	simdReplaceLast   = 0x22 // f64x2.replace_lane, the last
	simdLoadLaneFirst = 0x54 // v128.load8_lane
	simdStoreLaneLast = 0x5b // v128.store64_lane
	simdLoad32Zero    = 0x5c
	simdLoad64Zero    = 0x5d
	simdLast          = 0xff // the last opcode of fixed-width SIMD
	simdRelaxedFirst  = 0x100
	simdRelaxedLast   = 0x113
)
