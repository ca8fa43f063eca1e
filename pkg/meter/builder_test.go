package meter_test

// A minimal module encoder for tests that need modules wat2wasm cannot
// express compactly (huge functions, generated code, invalid bytes).

var header = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

func uleb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func sleb(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func section(b []byte, id byte, body []byte) []byte {
	b = append(b, id)
	b = uleb(b, uint64(len(body)))
	return append(b, body...)
}

func vec(items ...[]byte) []byte {
	b := uleb(nil, uint64(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func str(s string) []byte { return append(uleb(nil, uint64(len(s))), s...) }

// funcBody encodes a function body with the given local declarations
// (count, type pairs) and code, which must end with 0x0b.
func funcBody(locals [][2]byte, code []byte) []byte {
	var b []byte
	b = uleb(b, uint64(len(locals)))
	for _, l := range locals {
		b = append(b, l[0], l[1])
	}
	b = append(b, code...)
	return append(uleb(nil, uint64(len(b))), b...)
}

// funcModule is a module with one function "run" of type [] -> [] whose
// code is code.
func funcModule(code ...byte) []byte {
	b := append([]byte{}, header...)
	b = section(b, 1, vec([]byte{0x60, 0, 0}))
	b = section(b, 3, vec([]byte{0}))
	b = section(b, 7, vec(append(str("run"), 0, 0)))
	b = section(b, 10, vec(funcBody(nil, code)))
	return b
}

// straightLine is a module whose function "run" executes n pairs of
// i32.const and drop without any branch.
func straightLine(n int) []byte {
	code := make([]byte, 0, 3*n+1)
	for range n {
		code = append(code, 0x41, 0x01, 0x1a)
	}
	return funcModule(append(code, 0x0b)...)
}
