package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// maxMemoryMiB is the sandbox's memory cap: 1024 pages of 64 KiB.
const maxMemoryMiB = 64

// limitFlags are the sandbox limits of `game deploy` and `game run`; zero
// fields keep the defaults.
type limitFlags struct {
	initFuel, frameFuel uint64
	memoryMiB           memoryMiB
}

// addLimitFlags adds --init-fuel, --frame-fuel and --memory-mib to cmd.
func addLimitFlags(cmd *cobra.Command, f *limitFlags) {
	fl := cmd.Flags()
	fl.Uint64Var(&f.initFuel, "init-fuel", 0, "fuel for _initialize and init together (default 1,000,000,000)")
	fl.Uint64Var(&f.frameFuel, "frame-fuel", 0, "fuel for each frame, every call of the frame together (default 20,000,000)")
	fl.Var(&f.memoryMiB, "memory-mib", "linear memory cap in MiB, a whole number from 1 to 64 (default 64)")
}

// check refuses budgets no int64 holds (the sandbox counts fuel in int64).
func (f limitFlags) check() error {
	for _, v := range []struct {
		name string
		n    uint64
	}{{"--init-fuel", f.initFuel}, {"--frame-fuel", f.frameFuel}} {
		if v.n > math.MaxInt64 {
			return usageError{Err: fmt.Errorf("%s %d: at most %d", v.name, v.n, int64(math.MaxInt64))}
		}
	}
	return nil
}

// pages is the memory cap in 64 KiB pages, 0 for the default.
func (f limitFlags) pages() uint32 { return uint32(f.memoryMiB) * 16 }

// memoryMiB is the --memory-mib flag: a whole number of MiB from 1 to 64.
type memoryMiB uint32

func (m *memoryMiB) String() string {
	if *m == 0 {
		return ""
	}
	return strconv.FormatUint(uint64(*m), 10)
}

func (m *memoryMiB) Set(s string) error {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil || n < 1 || n > maxMemoryMiB {
		return fmt.Errorf("want a whole number of MiB from 1 to %d", maxMemoryMiB)
	}
	*m = memoryMiB(n)
	return nil
}

func (m *memoryMiB) Type() string { return "MiB" }

// formatLimits is a version's limits for a table: the budgets it sets
// (`fuel 20M/frame, 16 MiB`), or `default` when it sets none.
func formatLimits(l *rccv1.Limits) string {
	var parts []string
	if n := l.GetInitFuel(); n > 0 {
		parts = append(parts, "init fuel "+shortCount(n))
	}
	if n := l.GetFrameFuel(); n > 0 {
		parts = append(parts, "fuel "+shortCount(n)+"/frame")
	}
	if p := l.GetMemoryLimitPages(); p > 0 {
		if p%16 == 0 {
			parts = append(parts, fmt.Sprintf("%d MiB", p/16))
		} else {
			parts = append(parts, fmt.Sprintf("%d pages", p))
		}
	}
	if len(parts) == 0 {
		return "default"
	}
	return strings.Join(parts, ", ")
}

// shortCount writes n with a k, M or G suffix and at most three decimals:
// 20000000 is 20M, 1500000000 is 1.5G.
func shortCount(n uint64) string {
	for _, u := range []struct {
		size   uint64
		suffix string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if n >= u.size {
			s := strconv.FormatFloat(float64(n)/float64(u.size), 'f', 3, 64)
			return strings.TrimSuffix(strings.TrimRight(s, "0"), ".") + u.suffix
		}
	}
	return strconv.FormatUint(n, 10)
}
