package top

import (
	"fmt"
	"sort"
	"strings"
	"time"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// stateWord is an instance state as the tables and flags write it: "running".
func stateWord(s rccv1.InstanceState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "INSTANCE_STATE_"))
}

// executorStateWord is an executor state as the tables write it: "active".
func executorStateWord(s rccv1.ExecutorState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "EXECUTOR_STATE_"))
}

// humanBytes prints a size: 1.5 MiB.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", max(n, 0))
}

// shortCount prints a count: 950, 12.3k, 4.5M, 2.0G.
func shortCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fG", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(max(n, 0))
}

// shortDuration prints a duration for a table cell: 42s, 59m, 3h4m, 2d3h.
func shortDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// labelString prints labels sorted by key: a=1,b=2.
func labelString(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
	}
	return b.String()
}

// defaultFrameFuel is the executor's frame budget when a version sets none
// (Limits.frame_fuel = 0).
const defaultFrameFuel = 20_000_000

// defaultInitFuel and defaultMemoryPages are the executor's other defaults.
const (
	defaultInitFuel    = 1_000_000_000
	defaultMemoryPages = 1024
)

// frameBudget is a version's frame fuel, or the executor default.
func frameBudget(l *rccv1.Limits) int64 {
	if l != nil && l.FrameFuel != 0 {
		return int64(l.FrameFuel)
	}
	return defaultFrameFuel
}
