package top

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
	"github.com/rcc-games/rcc/tui/styles"
)

// cellCtx is what a cell needs besides its row.
type cellCtx struct {
	now    time.Time
	limits map[versionKey]*rccv1.Limits
	names  map[string]string // executor id -> name
	st     *styles.Styles
}

// column is one column of a table of T.
type column[T any] struct {
	title string
	// width is the column's width; 0 makes it take what is left (at least
	// minFlex).
	width int
	// keep ranks columns for narrow terminals: the lowest are dropped first.
	keep  int
	right bool
	cell  func(c *cellCtx, r T) string
	// style colours a cell (nil: plain).
	style func(c *cellCtx, r T) lipgloss.Style
	cmp   func(c *cellCtx, a, b T) int
}

// minFlex is the least width of a flexible column.
const minFlex = 10

// gap is the space between columns.
const gap = 2

// layout picks the columns that fit width, in their order, and their widths.
func layout[T any](cols []column[T], width int) (idx []int, widths []int) {
	include := make([]bool, len(cols))
	used := 0
	// Highest keep first.
	for k := 3; k >= 0; k-- {
		for i, c := range cols {
			if c.keep != k {
				continue
			}
			w := c.width
			if w == 0 {
				w = minFlex
			}
			extra := w
			if used > 0 {
				extra += gap
			}
			if used+extra <= width {
				include[i] = true
				used += extra
			}
		}
	}
	for i, c := range cols {
		if include[i] {
			idx = append(idx, i)
			widths = append(widths, c.width)
		}
	}
	for j, i := range idx {
		if cols[i].width == 0 {
			widths[j] = minFlex + width - used
		}
	}
	return idx, widths
}

// fit pads or cuts s to exactly w cells.
func fit(s string, w int, right bool) string {
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "…")
	}
	pad := strings.Repeat(" ", w-n)
	if right {
		return pad + s
	}
	return s + pad
}

// headerRow renders a table's column titles, marking the sort column.
func headerRow[T any](cols []column[T], idx, widths []int, sortCol int, reverse bool) string {
	var b strings.Builder
	for j, i := range idx {
		if j > 0 {
			b.WriteString(strings.Repeat(" ", gap))
		}
		t := cols[i].title
		if i == sortCol {
			if reverse {
				t += "▼"
			} else {
				t += "▲"
			}
		}
		b.WriteString(fit(t, widths[j], cols[i].right))
	}
	return b.String()
}

// row renders one row; plain leaves out the colours (the cursor row).
func row[T any](c *cellCtx, cols []column[T], idx, widths []int, r T, plain bool) string {
	var b strings.Builder
	for j, i := range idx {
		if j > 0 {
			b.WriteString(strings.Repeat(" ", gap))
		}
		s := fit(cols[i].cell(c, r), widths[j], cols[i].right)
		if !plain && cols[i].style != nil {
			s = cols[i].style(c, r).Render(s)
		}
		b.WriteString(s)
	}
	return b.String()
}

// ---- instances ----

const (
	colID = iota
	colGame
	colVersion
	colState
	colPlayers
	colTick
	colMemory
	colFuel
	colLease
	colExecutor
	colAge
	colLabels
)

func instanceColumns() []column[*rccv1.Instance] {
	stats := func(in *rccv1.Instance) *rccv1.InstanceStats { return in.GetStats() }
	return []column[*rccv1.Instance]{
		colID: {title: "ID", width: 18, keep: 3, cell: func(_ *cellCtx, in *rccv1.Instance) string { return in.Id },
			cmp: func(_ *cellCtx, a, b *rccv1.Instance) int { return cmp.Compare(a.Id, b.Id) }},
		colGame: {title: "GAME", width: 12, keep: 3, cell: func(_ *cellCtx, in *rccv1.Instance) string { return in.Game },
			cmp: func(_ *cellCtx, a, b *rccv1.Instance) int {
				return cmp.Or(cmp.Compare(a.Game, b.Game), cmp.Compare(a.Version, b.Version))
			}},
		colVersion: {title: "VER", width: 4, keep: 1, right: true, cell: func(_ *cellCtx, in *rccv1.Instance) string { return fmt.Sprint(in.Version) },
			cmp: func(_ *cellCtx, a, b *rccv1.Instance) int { return cmp.Compare(a.Version, b.Version) }},
		colState: {title: "STATE", width: 8, keep: 3, cell: func(_ *cellCtx, in *rccv1.Instance) string { return stateWord(in.State) },
			style: func(c *cellCtx, in *rccv1.Instance) lipgloss.Style { return instanceStateStyle(c.st, in.State) },
			cmp:   func(_ *cellCtx, a, b *rccv1.Instance) int { return cmp.Compare(a.State, b.State) }},
		colPlayers: {title: "PLAYERS", width: 9, keep: 3, right: true, cell: func(_ *cellCtx, in *rccv1.Instance) string {
			s := fmt.Sprintf("%d/%d", in.Players, in.MaxPlayers)
			if in.Reserved > 0 {
				s += fmt.Sprintf("+%d", in.Reserved)
			}
			return s
		}, cmp: func(_ *cellCtx, a, b *rccv1.Instance) int {
			return cmp.Or(cmp.Compare(a.Players, b.Players), cmp.Compare(a.Reserved, b.Reserved))
		}},
		colTick: {title: "TICK 50/99", width: 10, keep: 2, right: true, cell: func(_ *cellCtx, in *rccv1.Instance) string {
			st := stats(in)
			if st == nil {
				return "-"
			}
			return fmt.Sprintf("%.2f/%.2f", st.TickP50Ms, st.TickP99Ms)
		}, style: func(c *cellCtx, in *rccv1.Instance) lipgloss.Style {
			// A frame at 60 Hz has 16.7 ms; past half of it is a warning.
			switch p := stats(in).GetTickP99Ms(); {
			case p > 16:
				return c.st.Bad
			case p > 8:
				return c.st.Warn
			}
			return lipgloss.Style{}
		}, cmp: func(_ *cellCtx, a, b *rccv1.Instance) int {
			return cmp.Compare(stats(a).GetTickP99Ms(), stats(b).GetTickP99Ms())
		}},
		colMemory: {title: "MEM", width: 6, keep: 2, right: true, cell: func(_ *cellCtx, in *rccv1.Instance) string {
			if stats(in) == nil {
				return "-"
			}
			return humanBytes(stats(in).MemoryBytes)
		}, cmp: func(_ *cellCtx, a, b *rccv1.Instance) int {
			return cmp.Compare(stats(a).GetMemoryBytes(), stats(b).GetMemoryBytes())
		}},
		colFuel: {title: "FUEL P50", width: 10, keep: 1, right: true, cell: func(c *cellCtx, in *rccv1.Instance) string {
			st := stats(in)
			if st == nil {
				return "-"
			}
			return fmt.Sprintf("%s %2.0f%%", shortCount(st.FuelP50), fuelShare(c, in)*100)
		}, style: func(c *cellCtx, in *rccv1.Instance) lipgloss.Style {
			switch f := fuelShare(c, in); {
			case f > 0.8:
				return c.st.Bad
			case f > 0.5:
				return c.st.Warn
			}
			return lipgloss.Style{}
		}, cmp: func(c *cellCtx, a, b *rccv1.Instance) int { return cmp.Compare(fuelShare(c, a), fuelShare(c, b)) }},
		colLease: {title: "LEASE", width: 7, keep: 1, right: true, cell: func(c *cellCtx, in *rccv1.Instance) string { return leaseLeft(in, c.now) },
			cmp: func(_ *cellCtx, a, b *rccv1.Instance) int {
				return a.LeaseExpiresAt.AsTime().Compare(b.LeaseExpiresAt.AsTime())
			}},
		colExecutor: {title: "EXECUTOR", width: 12, keep: 0, cell: func(c *cellCtx, in *rccv1.Instance) string { return executorName(c, in.ExecutorId) },
			cmp: func(c *cellCtx, a, b *rccv1.Instance) int {
				return cmp.Compare(executorName(c, a.ExecutorId), executorName(c, b.ExecutorId))
			}},
		colAge: {title: "AGE", width: 6, keep: 0, right: true, cell: func(c *cellCtx, in *rccv1.Instance) string {
			return shortDuration(c.now.Sub(in.CreatedAt.AsTime()))
		}, cmp: func(_ *cellCtx, a, b *rccv1.Instance) int {
			// Youngest first, as the age grows the other way.
			return b.CreatedAt.AsTime().Compare(a.CreatedAt.AsTime())
		}},
		colLabels: {title: "LABELS", width: 0, keep: 0, cell: func(_ *cellCtx, in *rccv1.Instance) string { return labelString(in.Labels) },
			cmp: func(_ *cellCtx, a, b *rccv1.Instance) int {
				return cmp.Compare(labelString(a.Labels), labelString(b.Labels))
			}},
	}
}

// fuelShare is an instance's median frame fuel as a share of its budget.
func fuelShare(c *cellCtx, in *rccv1.Instance) float64 {
	st := in.GetStats()
	if st == nil {
		return 0
	}
	return float64(st.FuelP50) / float64(frameBudget(c.limits[versionKey{in.Game, in.Version}]))
}

// leaseLeft is the time an instance's lease has left.
func leaseLeft(in *rccv1.Instance, now time.Time) string {
	if terminal(in.State) || in.LeaseExpiresAt == nil {
		return "-"
	}
	left := in.LeaseExpiresAt.AsTime().Sub(now)
	if left <= 0 {
		return "expired"
	}
	return shortDuration(left)
}

func executorName(c *cellCtx, id string) string {
	if id == "" {
		return "-"
	}
	if n := c.names[id]; n != "" {
		return n
	}
	return id
}

func instanceStateStyle(st *styles.Styles, s rccv1.InstanceState) lipgloss.Style {
	switch s {
	case rccv1.InstanceState_INSTANCE_STATE_RUNNING:
		return st.Good
	case rccv1.InstanceState_INSTANCE_STATE_FAILED, rccv1.InstanceState_INSTANCE_STATE_LOST:
		return st.Bad
	case rccv1.InstanceState_INSTANCE_STATE_PENDING, rccv1.InstanceState_INSTANCE_STATE_STARTING, rccv1.InstanceState_INSTANCE_STATE_STOPPING:
		return st.Warn
	}
	return st.Muted
}

// ---- executors ----

func executorColumns() []column[*rccv1.Executor] {
	return []column[*rccv1.Executor]{
		{title: "NAME", width: 14, keep: 3, cell: func(_ *cellCtx, x *rccv1.Executor) string { return x.Name },
			cmp: func(_ *cellCtx, a, b *rccv1.Executor) int { return cmp.Compare(a.Name, b.Name) }},
		{title: "ID", width: 18, keep: 0, cell: func(_ *cellCtx, x *rccv1.Executor) string { return x.Id },
			cmp: func(_ *cellCtx, a, b *rccv1.Executor) int { return cmp.Compare(a.Id, b.Id) }},
		{title: "STATE", width: 8, keep: 3, cell: func(_ *cellCtx, x *rccv1.Executor) string { return executorStateWord(x.State) },
			style: func(c *cellCtx, x *rccv1.Executor) lipgloss.Style {
				switch x.State {
				case rccv1.ExecutorState_EXECUTOR_STATE_ACTIVE:
					return c.st.Good
				case rccv1.ExecutorState_EXECUTOR_STATE_DRAINING:
					return c.st.Warn
				}
				return c.st.Bad
			},
			cmp: func(_ *cellCtx, a, b *rccv1.Executor) int { return cmp.Compare(a.State, b.State) }},
		{title: "CAPACITY", width: 9, keep: 3, right: true, cell: func(_ *cellCtx, x *rccv1.Executor) string {
			if x.Capacity == 0 {
				return fmt.Sprintf("%d/∞", x.Assigned)
			}
			return fmt.Sprintf("%d/%d", x.Assigned, x.Capacity)
		}, cmp: func(_ *cellCtx, a, b *rccv1.Executor) int { return cmp.Compare(a.Assigned, b.Assigned) }},
		{title: "INSTANCES", width: 9, keep: 2, right: true, cell: func(_ *cellCtx, x *rccv1.Executor) string { return fmt.Sprint(x.Stats.GetInstances()) },
			cmp: func(_ *cellCtx, a, b *rccv1.Executor) int {
				return cmp.Compare(a.Stats.GetInstances(), b.Stats.GetInstances())
			}},
		{title: "PLAYERS", width: 7, keep: 3, right: true, cell: func(_ *cellCtx, x *rccv1.Executor) string { return fmt.Sprint(x.Stats.GetPlayers()) },
			cmp: func(_ *cellCtx, a, b *rccv1.Executor) int {
				return cmp.Compare(a.Stats.GetPlayers(), b.Stats.GetPlayers())
			}},
		{title: "TICK P99", width: 8, keep: 1, right: true, cell: func(_ *cellCtx, x *rccv1.Executor) string {
			return fmt.Sprintf("%.2f", x.Stats.GetTickP99Ms())
		}, cmp: func(_ *cellCtx, a, b *rccv1.Executor) int {
			return cmp.Compare(a.Stats.GetTickP99Ms(), b.Stats.GetTickP99Ms())
		}},
		{title: "MEM", width: 7, keep: 1, right: true, cell: func(_ *cellCtx, x *rccv1.Executor) string { return humanBytes(x.Stats.GetMemoryBytes()) },
			cmp: func(_ *cellCtx, a, b *rccv1.Executor) int {
				return cmp.Compare(a.Stats.GetMemoryBytes(), b.Stats.GetMemoryBytes())
			}},
		{title: "HEARTBEAT", width: 9, keep: 3, right: true, cell: func(c *cellCtx, x *rccv1.Executor) string {
			if x.LastHeartbeat == nil {
				return "-"
			}
			return shortDuration(c.now.Sub(x.LastHeartbeat.AsTime())) + " ago"
		}, cmp: func(_ *cellCtx, a, b *rccv1.Executor) int {
			return b.LastHeartbeat.AsTime().Compare(a.LastHeartbeat.AsTime())
		}},
		{title: "VERSION", width: 0, keep: 1, cell: func(_ *cellCtx, x *rccv1.Executor) string { return orDash(x.Version) },
			cmp: func(_ *cellCtx, a, b *rccv1.Executor) int { return cmp.Compare(a.Version, b.Version) }},
	}
}
