package top

import (
	"fmt"
	"strings"

	"time"

	"github.com/NimbleMarkets/ntcharts/sparkline"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// headerLines and footerLines frame every screen.
const (
	headerLines = 3
	footerLines = 1
)

// execRows is how many executor rows the main screen shows.
func (m Model) execRows() int {
	return max(min(max(len(m.rowsX), 1), (m.height-headerLines-footerLines)/4), 1)
}

// pageRows is how many rows of table t fit on the screen.
func (m Model) pageRows(t int) int {
	if t == tabExecutors {
		return m.execRows()
	}
	return max(m.height-headerLines-footerLines-2-2-m.execRows(), 1)
}

// render draws the whole screen, exactly width × height cells.
func (m Model) render() string {
	lines := m.headerView()
	if m.detail != "" {
		lines = append(lines, m.detailView(m.height-headerLines-footerLines)...)
	} else {
		lines = append(lines, m.executorsView()...)
		lines = append(lines, m.instancesView()...)
	}
	lines = append(lines, m.footerView())
	lines = fitLines(lines, m.width, m.height)
	if m.help {
		lines = overlay(lines, m.helpView(), m.width, m.height)
	}
	return strings.Join(lines, "\n")
}

// fitLines makes exactly h lines of at most w cells.
func fitLines(lines []string, w, h int) []string {
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			lines[i] = ansi.Truncate(l, w, "")
		}
	}
	return lines
}

// overlay draws box in the middle of lines.
func overlay(lines []string, box string, w, h int) []string {
	bl := strings.Split(box, "\n")
	bw := lipgloss.Width(box)
	top := max((h-len(bl))/2, 0)
	left := max((w-bw)/2, 0)
	for i, b := range bl {
		y := top + i
		if y >= len(lines) {
			break
		}
		l := lines[y]
		if pad := left + bw - ansi.StringWidth(l); pad > 0 {
			l += strings.Repeat(" ", pad)
		}
		lines[y] = ansi.Truncate(l, left, "") + b + ansi.TruncateLeft(l, left+bw, "")
	}
	return lines
}

func (m Model) headerView() []string {
	s := m.st
	addr := m.cfg.Addr
	if addr == "" {
		addr = "-"
	}
	l1 := s.Title.Render("rccctl top") + "  " + s.Value.Render(addr)
	if m.cfg.Version != "" {
		l1 += " " + m.cfg.Version
	}
	l1 += "  "
	switch m.conn {
	case connecting:
		if m.attempt > 0 {
			l1 += s.Disconnected.Render(" DISCONNECTED ") + " " + s.Bad.Render("reconnecting…")
		} else {
			l1 += s.Warn.Render("connecting…")
		}
	case connected:
		l1 += s.Good.Render("● connected")
	case disconnected:
		wait := max(m.retryAt.Sub(m.now), 0)
		l1 += s.Disconnected.Render(" DISCONNECTED ") + " " + s.Bad.Render(fmt.Sprintf("retrying in %s (#%d)", shortDuration(wait.Round(time.Second)), m.attempt))
	}
	if m.paused {
		l1 += "  " + s.Paused.Render(" PAUSED ") + " " + s.Warn.Render(m.pausedAt.Format("15:04:05")+", p resumes")
	}

	// Executors and instances by state.
	xs := map[rccv1.ExecutorState]int{}
	for _, x := range m.baseX {
		xs[x.State]++
	}
	is := map[rccv1.InstanceState]int{}
	var players, reserved uint32
	for _, in := range m.baseI {
		is[in.State]++
		if !terminal(in.State) {
			players += in.Players
			reserved += in.Reserved
		}
	}
	var xparts []string
	for _, st := range []rccv1.ExecutorState{rccv1.ExecutorState_EXECUTOR_STATE_ACTIVE, rccv1.ExecutorState_EXECUTOR_STATE_DRAINING, rccv1.ExecutorState_EXECUTOR_STATE_LOST} {
		if n := xs[st]; n > 0 || st == rccv1.ExecutorState_EXECUTOR_STATE_ACTIVE {
			xparts = append(xparts, fmt.Sprintf("%d %s", n, executorStateWord(st)))
		}
	}
	var iparts []string
	for st := rccv1.InstanceState_INSTANCE_STATE_PENDING; st <= rccv1.InstanceState_INSTANCE_STATE_LOST; st++ {
		if n := is[st]; n > 0 || st == rccv1.InstanceState_INSTANCE_STATE_RUNNING {
			p := fmt.Sprintf("%d %s", n, stateWord(st))
			if (st == rccv1.InstanceState_INSTANCE_STATE_FAILED || st == rccv1.InstanceState_INSTANCE_STATE_LOST) && n > 0 {
				p = s.Bad.Render(p)
			}
			iparts = append(iparts, p)
		}
	}
	l2 := s.Label.Render("executors ") + strings.Join(xparts, ", ") + "   " + s.Label.Render("instances ") + strings.Join(iparts, ", ")
	pl := fmt.Sprint(players)
	if reserved > 0 {
		pl += fmt.Sprintf(" (+%d reserved)", reserved)
	}
	l3 := s.Label.Render("players ") + s.Value.Render(pl) + "   " + s.Label.Render("frames/s ") + s.Value.Render(fmt.Sprintf("%.0f", m.fps)) +
		"   " + s.Label.Render("refresh ") + m.interval.String()
	return []string{l1, l2, l3}
}

func (m Model) tableTitle(t int, name string, shown, total int) string {
	st := m.st.TableTitle
	if t == m.focus {
		st = m.st.TableTitleFocused
	}
	title := fmt.Sprintf("%s %d", name, total)
	if shown != total {
		title = fmt.Sprintf("%s %d of %d", name, shown, total)
	}
	out := st.Render(title)
	if f := m.filters[t]; f != "" {
		out += m.st.Label.Render("  filter ") + m.st.Prompt.Render(f)
	}
	return out
}

func (m Model) instancesView() []string {
	c := m.cellCtx()
	idx, widths := layout(m.colsI, m.width-cursorWidth)
	lines := []string{
		m.tableTitle(tabInstances, "Instances", len(m.rowsI), len(m.baseI)),
		"  " + m.st.Header.Render(headerRow(m.colsI, idx, widths, m.sortCol[tabInstances], m.reverse[tabInstances])),
	}
	page := m.pageRows(tabInstances)
	if len(m.rowsI) == 0 {
		msg := "no instances"
		if len(m.baseI) > 0 {
			msg = "no instance matches the filter (esc clears it)"
		}
		lines = append(lines, m.st.Muted.Render(msg))
	}
	end := min(m.offset[tabInstances]+page, len(m.rowsI))
	for i := m.offset[tabInstances]; i < end; i++ {
		in := m.rowsI[i]
		sel := i == m.cursor[tabInstances] && m.focus == tabInstances
		lines = append(lines, m.instanceRow(c, idx, widths, in, sel))
	}
	for len(lines) < page+2 {
		lines = append(lines, "")
	}
	return lines
}

// instanceRow renders an instance; an ended one shows its reason after
// its players.
func (m Model) instanceRow(c *cellCtx, idx, widths []int, in *rccv1.Instance, sel bool) string {
	if !terminal(in.State) || in.Reason == "" {
		return m.cursorMark(sel, row(c, m.colsI, idx, widths, in, sel))
	}
	cut := len(idx)
	for j, i := range idx {
		if i > colPlayers {
			cut = j
			break
		}
	}
	l := row(c, m.colsI, idx[:cut], widths[:cut], in, sel)
	if rest := m.width - cursorWidth - ansi.StringWidth(l) - gap; rest > 0 {
		reason := fit(in.Reason, rest, false)
		if !sel {
			reason = m.st.Bad.Render(reason)
		}
		l += strings.Repeat(" ", gap) + reason
	}
	return m.cursorMark(sel, l)
}

// cursorWidth is the width of the cursor mark before each row.
const cursorWidth = 2

// cursorMark puts the cursor before a row, and shows the row selected: the
// mark stays visible without colours (NO_COLOR, a plain terminal).
func (m Model) cursorMark(sel bool, l string) string {
	if !sel {
		return "  " + l
	}
	return m.st.Selected.Render("▶ " + l)
}

func (m Model) executorsView() []string {
	c := m.cellCtx()
	idx, widths := layout(m.colsX, m.width-cursorWidth)
	lines := []string{
		m.tableTitle(tabExecutors, "Executors", len(m.rowsX), len(m.baseX)),
		"  " + m.st.Header.Render(headerRow(m.colsX, idx, widths, m.sortCol[tabExecutors], m.reverse[tabExecutors])),
	}
	if len(m.rowsX) == 0 {
		lines = append(lines, m.st.Muted.Render("no executors"))
	}
	end := min(m.offset[tabExecutors]+m.execRows(), len(m.rowsX))
	for i := m.offset[tabExecutors]; i < end; i++ {
		sel := i == m.cursor[tabExecutors] && m.focus == tabExecutors
		l := row(c, m.colsX, idx, widths, m.rowsX[i], sel)
		lines = append(lines, m.cursorMark(sel, l))
	}
	for len(lines) < m.execRows()+2 {
		lines = append(lines, "")
	}
	return lines
}

func (m Model) footerView() string {
	s := m.st
	switch {
	case m.confirm != nil:
		return s.Prompt.Render(m.confirm.prompt) + " " + s.Key.Render("[y/N]")
	case m.filtering:
		return m.input.View()
	}
	k := m.keys
	var hints []key.Binding
	switch {
	case m.detail != "":
		hints = []key.Binding{k.Help, k.Back, k.Stop, k.Renew, k.Pause}
	case m.focus == tabInstances:
		hints = []key.Binding{k.Help, k.Filter, k.SortNext, k.Pause, k.Enter, k.Stop, k.Renew, k.Tab, k.SortReverse}
	default:
		hints = []key.Binding{k.Help, k.Filter, k.SortNext, k.Pause, k.Enter, k.Drain, k.Undrain, k.Tab, k.SortReverse}
	}
	var parts []string
	if m.status != "" {
		st := s.Muted
		if m.bad {
			st = s.Bad
		}
		parts = append(parts, st.Render(m.status))
	} else if m.conn == disconnected {
		parts = append(parts, s.Bad.Render(m.lastErr))
	}
	for _, h := range hints {
		if h.Enabled() {
			parts = append(parts, s.Key.Render(h.Help().Key)+" "+s.KeyDesc.Render(h.Help().Desc))
		}
	}
	quit := s.Key.Render(k.Quit.Help().Key) + " " + s.KeyDesc.Render(k.Quit.Help().Desc)
	// Drop the last hints until the line fits, keeping quit.
	for len(parts) > 1 && ansi.StringWidth(strings.Join(append(parts, quit), "  ")) > m.width {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(append(parts, quit), "  ")
}

func (m Model) helpView() string {
	k := m.keys
	h := help.New()
	h.Styles.FullKey = m.st.Key
	h.Styles.FullDesc = m.st.KeyDesc
	h.Styles.FullSeparator = m.st.Muted
	h.FullSeparator = "   "
	groups := [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Tab},
		{k.Filter, k.SortNext, k.SortPrev, k.SortReverse, k.Enter, k.Back},
		{k.Pause, k.Faster, k.Slower, k.Help, k.Quit},
	}
	var acts []key.Binding
	for _, b := range []key.Binding{k.Stop, k.Renew, k.Drain, k.Undrain} {
		if b.Enabled() {
			acts = append(acts, b)
		}
	}
	if len(acts) > 0 {
		groups = append(groups, acts)
	}
	body := m.st.Section.Render("Keys") + "\n\n" + h.FullHelpView(groups) + "\n\n" +
		m.st.Muted.Render("Filter: words match id, game, state, executor, labels or reason;\nkey=value matches a label. Any key closes this help.")
	if m.cfg.ReadOnly {
		body += "\n" + m.st.Muted.Render("Read-only: the actions are off.")
	}
	return m.st.Overlay.Render(body)
}

// ---- the detail view ----

func (m Model) detailView(h int) []string {
	s := m.st
	in := m.instance(m.detail)
	if in == nil {
		return []string{s.Muted.Render("instance " + m.detail + " is gone from the coordinator's view (esc goes back)")}
	}
	r := m.fl.instances[in.Id]
	c := m.cellCtx()
	lim := m.fl.limits[versionKey{in.Game, in.Version}]
	exec := executorName(c, in.ExecutorId)

	lines := []string{
		s.Section.Render("Instance "+in.Id) + "  " + s.Value.Render(fmt.Sprintf("%s version %d", in.Game, in.Version)) + "  " +
			instanceStateStyle(&s, in.State).Render(stateWord(in.State)) + s.Label.Render(" on ") + exec,
	}
	if in.Reason != "" {
		st := s.Muted
		if in.State == rccv1.InstanceState_INSTANCE_STATE_FAILED || in.State == rccv1.InstanceState_INSTANCE_STATE_LOST {
			st = s.Bad
		}
		lines = append(lines, s.Label.Render("reason ")+st.Render(in.Reason))
	}
	pl := fmt.Sprintf("%d of %d", in.Players, in.MaxPlayers)
	if in.Reserved > 0 {
		pl += fmt.Sprintf(" (+%d reserved)", in.Reserved)
	}
	fps := 0.0
	if r != nil {
		fps = r.fps
	}
	tickS, fuelS, framesS := "-", "-", "-"
	if st := in.Stats; st != nil {
		tickS = fmt.Sprintf("p50 %.2f ms, p99 %.2f ms", st.TickP50Ms, st.TickP99Ms)
		fuelS = fmt.Sprintf("p50 %s (%.0f%% of %s), max %s", shortCount(st.FuelP50), fuelShare(c, in)*100, shortCount(frameBudget(lim)), shortCount(st.FuelMax))
		framesS = fmt.Sprintf("%d, %.0f/s, %d overruns", st.Frames, fps, st.Overruns)
	}
	grid := [][2]string{
		{"players", pl}, {"lease", leaseLeft(in, m.now) + fmt.Sprintf(" left of %ds", in.LeaseSeconds)},
		{"tick", tickS}, {"fuel", fuelS},
		{"frames", framesS}, {"age", shortDuration(m.now.Sub(in.CreatedAt.AsTime()))},
		{"seed", fmt.Sprint(in.Seed)}, {"labels", orDash(labelString(in.Labels))},
	}
	if in.RespawnedFrom != "" {
		grid = append(grid, [2]string{"respawned", "from " + in.RespawnedFrom})
	}
	half := m.width / 2
	for i := 0; i < len(grid); i += 2 {
		cell := func(kv [2]string) string { return fit(s.Label.Render(fmt.Sprintf("%-8s", kv[0]))+kv[1], half, false) }
		l := cell(grid[i])
		if i+1 < len(grid) {
			l += cell(grid[i+1])
		}
		lines = append(lines, l)
	}
	lines = append(lines, s.Label.Render(fmt.Sprintf("%-8s", "limits"))+limitsText(lim), "")

	// Sparklines of the last reports.
	var hist []sample
	if r != nil {
		hist = r.hist
	}
	if h-len(lines) >= 10 {
		lines = append(lines, m.sparklines(hist, lim, min(max((h-len(lines)-8)/3, 3), 8))...)
		lines = append(lines, "")
	}

	// Events and the log tail below them, newest last, as many as fit.
	room := h - len(lines)
	var evs []event
	if r != nil {
		evs = r.events
	}
	evRoom := max(min(len(evs), room/3), 1)
	lines = append(lines, s.Section.Render("Events"))
	if len(evs) == 0 {
		lines = append(lines, s.Muted.Render("none yet"))
	}
	for _, e := range evs[max(len(evs)-evRoom, 0):] {
		t := e.text
		if e.bad {
			t = s.Bad.Render(t)
		}
		lines = append(lines, s.Muted.Render(e.at.In(m.now.Location()).Format("15:04:05"))+"  "+t)
	}
	state := m.logState
	if m.be == nil && state == "" {
		state = "not connected"
	}
	lines = append(lines, s.Section.Render("Log")+s.Muted.Render(" "+state))
	logRoom := max(h-len(lines), 0)
	if len(m.logEntries) == 0 && logRoom > 0 {
		lines = append(lines, s.Muted.Render("no lines yet"))
	}
	for _, e := range m.logEntries[max(len(m.logEntries)-logRoom, 0):] {
		lines = append(lines, m.logLine(e))
	}
	return lines
}

// logLine renders one log entry: time, frame, stream, text.
func (m Model) logLine(e *rccv1.LogEntry) string {
	s := m.st
	text := e.Text
	var stream string
	switch e.Stream {
	case rccv1.LogStream_LOG_STREAM_STDOUT:
		stream = "out"
	case rccv1.LogStream_LOG_STREAM_STDERR:
		stream = "err"
		text = s.Warn.Render(text)
	case rccv1.LogStream_LOG_STREAM_EVENT:
		stream = "event"
		text = e.Event + ": " + text
		if e.Event == "failed" || e.Event == "dropped" {
			text = s.Bad.Render(text)
		}
	}
	return s.Muted.Render(e.Time.AsTime().In(m.now.Location()).Format("15:04:05")+fmt.Sprintf(" f%-7d %-5s ", e.Frame, stream)) + text
}

// limitsText describes a version's sandbox budgets.
func limitsText(l *rccv1.Limits) string {
	if l == nil {
		l = &rccv1.Limits{}
	}
	defaults := false
	def := func(v uint64, d uint64, f func(uint64) string) string {
		if v == 0 {
			defaults = true
			return f(d) + "*"
		}
		return f(v)
	}
	count := func(v uint64) string { return shortCount(int64(v)) }
	pages := func(v uint64) string { return humanBytes(int64(v) * 65536) }
	out := "frame fuel " + def(l.FrameFuel, defaultFrameFuel, count) + ", init fuel " + def(l.InitFuel, defaultInitFuel, count) +
		", memory " + def(uint64(l.MemoryLimitPages), defaultMemoryPages, pages)
	if defaults {
		out += "  (* executor default)"
	}
	return out
}

// sparklines draws tick p99, players and memory side by side.
func (m Model) sparklines(hist []sample, lim *rccv1.Limits, sparkHeight int) []string {
	w := max((m.width-4)/3, 10)
	type series struct {
		title, unit string
		val         func(sample) float64
		num         func(float64) string
		// limit, when set, is the chart's top: memory against its cap.
		limit float64
	}
	pages := uint64(defaultMemoryPages)
	if lim != nil && lim.MemoryLimitPages != 0 {
		pages = uint64(lim.MemoryLimitPages)
	}
	all := []series{
		{"tick p99", "ms", func(s sample) float64 { return s.tickP99 }, func(v float64) string { return fmt.Sprintf("%.2f", v) }, 0},
		{"players", "", func(s sample) float64 { return s.players }, func(v float64) string { return fmt.Sprintf("%.0f", v) }, 0},
		{"memory", "", func(s sample) float64 { return s.memory }, func(v float64) string { return humanBytes(int64(v)) }, float64(pages * 65536)},
	}
	cols := make([][]string, len(all))
	for i, se := range all {
		data := make([]float64, 0, len(hist))
		peak := 0.0
		for _, h := range hist[max(len(hist)-w, 0):] {
			v := se.val(h)
			data = append(data, v)
			peak = max(peak, v)
		}
		title := se.title
		if len(data) > 0 {
			if se.limit > 0 {
				title += " " + se.num(data[len(data)-1]) + m.st.Muted.Render(" of "+se.num(se.limit))
			} else {
				title += " " + se.num(data[len(data)-1]) + se.unit + m.st.Muted.Render(" max "+se.num(peak))
			}
		}
		sl := sparkline.New(w, sparkHeight, sparkline.WithStyle(m.st.Spark))
		switch {
		case se.limit > 0:
			sl.SetMax(se.limit)
		case peak == 0:
			sl.SetMax(1)
		}
		sl.PushAll(data)
		sl.Draw()
		cols[i] = append([]string{fit(m.st.Label.Render(title), w, false)}, strings.Split(sl.View(), "\n")...)
	}
	out := make([]string, sparkHeight+1)
	for y := range out {
		parts := make([]string, len(cols))
		for i := range cols {
			if y < len(cols[i]) {
				parts[i] = fit(cols[i][y], w, false)
			} else {
				parts[i] = strings.Repeat(" ", w)
			}
		}
		out[y] = strings.Join(parts, "  ")
	}
	return out
}
