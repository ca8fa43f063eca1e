// Command goguest is a small WASI reactor used by the pkg/meter tests: they
// build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o guest.wasm ./pkg/meter/testdata/goguest
//
// instrument it, and compare its exports' results with the original module.
package main

import (
	"fmt"
	"hash/crc32"
	"math"
	"sort"
	"strings"
)

func main() {}

//go:wasmexport fib
func fib(n int32) int32 {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

//go:wasmexport primes
func primes(n int32) int32 {
	sieve := make([]bool, n+1)
	count := int32(0)
	for i := 2; i <= int(n); i++ {
		if sieve[i] {
			continue
		}
		count++
		for j := i * i; j <= int(n); j += i {
			sieve[j] = true
		}
	}
	return count
}

//go:wasmexport words
func words(n int32) int64 {
	m := map[string]int{}
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "w%d ", i%17)
	}
	for _, w := range strings.Fields(sb.String()) {
		m[w]++
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return int64(crc32.ChecksumIEEE([]byte(strings.Join(keys, ","))))<<8 | int64(len(keys))
}

type body struct{ x, y, vx, vy float64 }

//go:wasmexport physics
func physics(steps int32) float64 {
	bodies := make([]body, 1000)
	for i := range bodies {
		a := float64(i) * 0.01
		bodies[i] = body{x: math.Cos(a) * float64(i), y: math.Sin(a) * float64(i), vx: 1, vy: 0}
	}
	for range steps {
		for i := range bodies {
			b := &bodies[i]
			b.vy -= 9.81 * 0.016
			b.x += b.vx * 0.016
			b.y += b.vy * 0.016
			if b.y < 0 {
				b.y = -b.y
				b.vy = -b.vy * 0.9
			}
		}
	}
	sum := 0.0
	for _, b := range bodies {
		sum += b.x + b.y
	}
	return sum
}

// spin never returns.
//
//go:wasmexport spin
func spin() int32 {
	x := int32(0)
	for {
		x = x*3 + 1
		if x == 42 {
			return x
		}
	}
}
