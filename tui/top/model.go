package top

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rcc-games/rcc/pkg/client"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
	"github.com/rcc-games/rcc/tui/styles"
)

// Config configures the dashboard.
type Config struct {
	// Client is the coordinator connection. When nil nothing connects and
	// the model shows only what it is sent (tests feed it messages).
	Client *client.Client
	// Addr is the coordinator's address, shown in the header.
	Addr string
	// Version is the coordinator's version, shown in the header when set;
	// the Watch stream's headers replace it on each connection.
	Version string
	// ReadOnly hides the actions (stop, renew, drain, undrain).
	ReadOnly bool
	// Interval is how often the screen refreshes (default 1 s).
	Interval time.Duration
	// Now is the clock (default time.Now); the model reads it once, then
	// takes the time from its refresh ticks.
	Now func() time.Time
	// Renderer draws the styles; its colour profile decides the colours
	// (default lipgloss.DefaultRenderer, which honours NO_COLOR).
	Renderer *lipgloss.Renderer
}

// intervals are the refresh intervals + and - step through.
var intervals = []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second}

// connState is the state of the Watch stream.
type connState int

const (
	connecting connState = iota
	connected
	disconnected
)

// table names the focused table.
const (
	tabInstances = iota
	tabExecutors
)

// confirmation is a pending action waiting for y or n.
type confirmation struct {
	prompt string
	run    tea.Cmd
}

// Model is the dashboard. Build it with New and run it with tea.NewProgram.
type Model struct {
	cfg  Config
	st   styles.Styles
	keys styles.KeyMap
	be   *backend
	fl   *fleet

	width, height int
	now           time.Time

	conn      connState
	gen       int
	ch        <-chan streamItem
	attempt   int
	lastErr   string
	retryAt   time.Time
	sinceConn time.Time

	interval time.Duration
	tickID   int

	paused   bool
	pausedAt time.Time

	// baseI and baseX are what the tables show before filter and sort:
	// the live fleet, or the frozen copy while paused.
	baseI []*rccv1.Instance
	baseX []*rccv1.Executor
	rowsI []*rccv1.Instance
	rowsX []*rccv1.Executor
	// fps is the fleet's frames per second, summed over baseI.
	fps float64

	colsI []column[*rccv1.Instance]
	colsX []column[*rccv1.Executor]

	focus  int
	cursor [2]int
	// moved is true once the operator moved a table's cursor: it then
	// stays on its row when the rows change; until then it stays on top.
	moved   [2]bool
	offset  [2]int
	sortCol [2]int
	reverse [2]bool
	filters [2]string

	filtering bool
	input     textinput.Model

	detail  string
	confirm *confirmation

	// The detail view's log tail: lgen counts the streams opened, so that
	// entries of one left behind are ignored.
	lgen       int
	logCh      <-chan logItem
	logCancel  context.CancelFunc
	logEntries []*rccv1.LogEntry
	logState   string
	logErrs    int
	help       bool
	status     string
	bad        bool

	view string
}

// New returns the dashboard; ctx ends its stream and calls when top quits.
func New(ctx context.Context, cfg Config) Model {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Renderer == nil {
		cfg.Renderer = lipgloss.DefaultRenderer()
	}
	m := Model{cfg: cfg, st: styles.Default(cfg.Renderer), keys: styles.DefaultKeyMap(), fl: newFleet(),
		width: 80, height: 24, now: cfg.Now(), interval: cfg.Interval, gen: 1,
		colsI: instanceColumns(), colsX: executorColumns()}
	m.sortCol = [2]int{colGame, 0}
	if cfg.Client != nil {
		m.be = newBackend(ctx, cfg.Client)
	}
	for _, b := range []*key.Binding{&m.keys.Stop, &m.keys.Renew, &m.keys.Drain, &m.keys.Undrain} {
		b.SetEnabled(!cfg.ReadOnly)
	}
	m.input = textinput.New()
	m.input.Prompt = "/"
	m.input.Placeholder = "substring or label=value"
	m.input.Cursor.SetMode(0)
	m.input.PromptStyle = m.st.Prompt
	m.rebuild()
	m.view = m.render()
	return m
}

// Init connects to the coordinator and starts the refresh tick.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tick(m.tickID, m.interval)}
	if m.be != nil {
		cmds = append(cmds, m.be.watch(m.gen))
	}
	return tea.Batch(cmds...)
}

// View returns the screen computed by the last Update.
func (m Model) View() string { return m.view }

// Update handles a message; it does no I/O (the calls are in the tea.Cmds it
// returns).
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	render := true
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tickMsg:
		if msg.id != m.tickID {
			return m, nil
		}
		m.now = msg.at
		if !m.paused {
			m.fl.prune(m.now)
		}
		m.rebuild()
		cmd = tick(m.tickID, m.interval)
	case connectedMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		m.conn, m.ch, m.sinceConn = connected, msg.ch, m.now
		if msg.version != "" {
			m.cfg.Version = msg.version
		}
		m.fl.connected()
		cmd = recv(m.gen, m.ch)
		if m.be != nil {
			cmd = tea.Batch(cmd, m.be.ended(m.gen))
		}
		render = false
	case endedMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		m.fl.addEnded(msg.instances, m.now)
		render = false
	case eventsMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		first := len(m.baseI) == 0 && len(m.baseX) == 0
		var cmds []tea.Cmd
		for _, ev := range msg.evs {
			for _, k := range m.fl.apply(ev) {
				if m.be != nil {
					cmds = append(cmds, m.be.limits(k))
				}
			}
		}
		if len(msg.evs) > 0 {
			m.attempt = 0
		}
		if msg.err != nil {
			m.conn, m.lastErr = disconnected, errText(msg.err)
			m.attempt++
			wait := backoff(m.attempt)
			m.retryAt = m.now.Add(wait)
			cmds = append(cmds, retryAfter(m.gen, wait))
		} else if m.ch != nil {
			cmds = append(cmds, recv(m.gen, m.ch))
		}
		cmd = tea.Batch(cmds...)
		// Changes wait for the refresh tick; the first data is shown at once.
		render = first || msg.err != nil
		if render && !m.paused {
			m.rebuild()
		}
	case retryMsg:
		if msg.gen != m.gen || m.be == nil {
			return m, nil
		}
		m.gen++
		m.conn = connecting
		cmd = m.be.watch(m.gen)
	case logsOpenMsg:
		if msg.lgen != m.lgen {
			msg.cancel()
			return m, nil
		}
		m.logCh, m.logCancel, m.logState = msg.ch, msg.cancel, "following"
		cmd = recvLogs(m.lgen, m.logCh)
	case logsMsg:
		if msg.lgen != m.lgen {
			return m, nil
		}
		m.logEntries = append(m.logEntries, msg.entries...)
		if n := len(m.logEntries) - maxLogEntries; n > 0 {
			m.logEntries = slices.Delete(m.logEntries, 0, n)
		}
		switch {
		case msg.done:
			m.logState = "ended with the instance"
			m.closeLog()
		case msg.err != nil:
			m.closeLog()
			if status.Code(msg.err) == codes.Unimplemented {
				m.logState = "this coordinator serves no logs"
				break
			}
			m.logErrs++
			m.logState = "broken (" + errText(msg.err) + "), following again"
			cmd = tea.Tick(backoff(m.logErrs), func(time.Time) tea.Msg { return logsRetryMsg{lgen: m.lgen} })
		default:
			m.logErrs = 0
			cmd = recvLogs(m.lgen, m.logCh)
		}
		// Lines show at once in the detail view: following live.
		render = m.detail != ""
	case logsRetryMsg:
		if msg.lgen != m.lgen || m.detail == "" || m.be == nil {
			return m, nil
		}
		m.lgen++
		var after uint64
		if n := len(m.logEntries); n > 0 {
			after = m.logEntries[n-1].Seq
		}
		cmd = m.be.logs(m.lgen, m.detail, after)
		render = false
	case limitsMsg:
		if msg.err == nil {
			m.fl.limits[msg.key] = msg.limits
		}
		render = false
	case actionMsg:
		if msg.err != nil {
			m.status, m.bad = msg.what+" failed: "+errText(msg.err), true
		} else {
			m.status, m.bad = msg.what+": done", false
		}
	case tea.KeyMsg:
		var quit bool
		m, cmd, quit = m.key(msg)
		if quit {
			return m, tea.Quit
		}
	default:
		return m, nil
	}
	if render {
		m.clamp()
		m.view = m.render()
	}
	return m, cmd
}

// key handles a key press. Runes typed faster than the terminal is read
// arrive in one message ("/region=eu"); each is a key of its own.
func (m Model) key(msg tea.KeyMsg) (Model, tea.Cmd, bool) {
	if msg.Type == tea.KeyCtrlC {
		return m, nil, true // whatever is open
	}
	if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste && !m.filtering {
		var cmds []tea.Cmd
		for i, r := range msg.Runes {
			one := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}
			if m.filtering {
				// The rest is the filter's text.
				one.Runes = msg.Runes[i:]
			}
			var cmd tea.Cmd
			var quit bool
			m, cmd, quit = m.key(one)
			cmds = append(cmds, cmd)
			if quit {
				return m, tea.Batch(cmds...), true
			}
			if len(one.Runes) > 1 {
				break
			}
		}
		return m, tea.Batch(cmds...), false
	}
	k := m.keys
	switch {
	case m.confirm != nil:
		switch {
		case key.Matches(msg, k.Yes):
			c := m.confirm.run
			m.status, m.bad = strings.TrimSuffix(m.confirm.prompt, "?")+"…", false
			m.confirm = nil
			return m, c, false
		case key.Matches(msg, k.No):
			m.confirm = nil
			m.status, m.bad = "cancelled", false
		}
		return m, nil, false
	case m.filtering:
		switch msg.Type {
		case tea.KeyEnter:
			m.filtering = false
			m.input.Blur()
		case tea.KeyEsc:
			m.filtering = false
			m.input.Blur()
			m.input.SetValue("")
		default:
			var cmd tea.Cmd
			m.input, cmd = m.input.Update(msg)
			_ = cmd // the cursor does not blink
		}
		m.filters[m.focus] = strings.TrimSpace(m.input.Value())
		m.rebuildRows()
		return m, nil, false
	case m.help:
		m.help = false
		return m, nil, false
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m, nil, true
	case key.Matches(msg, k.Help):
		m.help = true
	case key.Matches(msg, k.Pause):
		m.paused = !m.paused
		m.pausedAt = m.now
		if !m.paused {
			m.rebuild()
		}
	case key.Matches(msg, k.Faster), key.Matches(msg, k.Slower):
		i := slices.Index(intervals, m.interval)
		if i < 0 {
			i = slices.IndexFunc(intervals, func(d time.Duration) bool { return d >= m.interval })
			if i < 0 {
				i = len(intervals) - 1
			}
		}
		if key.Matches(msg, k.Faster) {
			i = max(i-1, 0)
		} else {
			i = min(i+1, len(intervals)-1)
		}
		if intervals[i] != m.interval {
			m.interval = intervals[i]
			m.tickID++
			return m, tick(m.tickID, m.interval), false
		}
	case key.Matches(msg, k.Back):
		switch {
		case m.detail != "":
			m.detail = ""
			m.closeLog()
			m.lgen++
		case m.filters[m.focus] != "":
			m.filters[m.focus] = ""
			m.input.SetValue("")
			m.rebuildRows()
		}
	case key.Matches(msg, k.Stop), key.Matches(msg, k.Renew):
		in := m.selectedInstance()
		if in == nil || m.be == nil {
			break
		}
		if key.Matches(msg, k.Stop) {
			if terminal(in.State) {
				m.status, m.bad = in.Id+" is "+stateWord(in.State)+" already", true
				break
			}
			m.confirm = &confirmation{prompt: "stop instance " + in.Id + " (" + in.Game + ")?", run: m.be.stop(in.Id)}
		} else {
			m.confirm = &confirmation{prompt: "renew the lease of " + in.Id + "?", run: m.be.renew(in.Id)}
		}
	case key.Matches(msg, k.Drain), key.Matches(msg, k.Undrain):
		x := m.selectedExecutor()
		if x == nil || m.be == nil || m.detail != "" {
			break
		}
		if key.Matches(msg, k.Drain) {
			m.confirm = &confirmation{prompt: "drain executor " + x.Name + " (" + x.Id + ")?", run: m.be.drain(x.Id)}
		} else {
			m.confirm = &confirmation{prompt: "undrain executor " + x.Name + " (" + x.Id + ")?", run: m.be.undrain(x.Id)}
		}
	case m.detail != "":
		// The detail view has no table to move in.
	case key.Matches(msg, k.Tab):
		m.focus = 1 - m.focus
		m.input.SetValue(m.filters[m.focus])
	case key.Matches(msg, k.Filter):
		m.filtering = true
		m.input.SetValue(m.filters[m.focus])
		m.input.CursorEnd()
		m.input.Focus()
	case key.Matches(msg, k.SortNext), key.Matches(msg, k.SortPrev):
		n := len(m.colsI)
		if m.focus == tabExecutors {
			n = len(m.colsX)
		}
		d := 1
		if key.Matches(msg, k.SortPrev) {
			d = n - 1
		}
		m.sortCol[m.focus] = (m.sortCol[m.focus] + d) % n
		m.rebuildRows()
	case key.Matches(msg, k.SortReverse):
		m.reverse[m.focus] = !m.reverse[m.focus]
		m.rebuildRows()
	case key.Matches(msg, k.Enter):
		if m.focus == tabInstances {
			if in := m.selectedInstance(); in != nil {
				m.detail = in.Id
				m.lgen++
				m.logEntries, m.logErrs, m.logState = nil, 0, "connecting"
				if m.be != nil {
					return m, m.be.logs(m.lgen, in.Id, 0), false
				}
			}
		} else if x := m.selectedExecutor(); x != nil {
			// An executor's instances: filter on its id.
			m.focus = tabInstances
			m.filters[tabInstances] = x.Id
			m.rebuildRows()
		}
	case key.Matches(msg, k.Up):
		m.cursor[m.focus]--
		m.moved[m.focus] = true
	case key.Matches(msg, k.Down):
		m.cursor[m.focus]++
		m.moved[m.focus] = true
	case key.Matches(msg, k.PageUp):
		m.cursor[m.focus] -= m.pageRows(m.focus)
		m.moved[m.focus] = true
	case key.Matches(msg, k.PageDown):
		m.cursor[m.focus] += m.pageRows(m.focus)
		m.moved[m.focus] = true
	case key.Matches(msg, k.Top):
		m.cursor[m.focus] = 0
		m.moved[m.focus] = false
	case key.Matches(msg, k.Bottom):
		m.cursor[m.focus] = 1 << 30
		m.moved[m.focus] = true
	}
	return m, nil, false
}

// maxLogEntries is how many log entries the detail view keeps.
const maxLogEntries = 500

// closeLog ends the detail view's log stream, if one is open.
func (m *Model) closeLog() {
	if m.logCancel != nil {
		m.logCancel()
	}
	m.logCh, m.logCancel = nil, nil
}

// selectedInstance is the instance under the cursor (or in the detail view).
func (m Model) selectedInstance() *rccv1.Instance {
	if m.detail != "" {
		return m.instance(m.detail)
	}
	if m.focus != tabInstances || m.cursor[tabInstances] >= len(m.rowsI) {
		return nil
	}
	return m.rowsI[m.cursor[tabInstances]]
}

func (m Model) selectedExecutor() *rccv1.Executor {
	if m.focus != tabExecutors || m.cursor[tabExecutors] >= len(m.rowsX) {
		return nil
	}
	return m.rowsX[m.cursor[tabExecutors]]
}

// instance is the shown instance id (frozen while paused).
func (m Model) instance(id string) *rccv1.Instance {
	if !m.paused {
		if r := m.fl.instances[id]; r != nil {
			return r.in
		}
	}
	for _, in := range m.baseI {
		if in.Id == id {
			return in
		}
	}
	return nil
}

// rebuild takes the live fleet into the tables (unless paused). The
// instances keep the order of the last sort, so sorting them again is
// quick (pdqsort on nearly sorted input).
func (m *Model) rebuild() {
	if !m.paused {
		f := m.fl
		f.mark++
		next := make([]*rccv1.Instance, 0, len(f.instances))
		m.fps = 0
		take := func(r *instRow) {
			r.mark = f.mark
			next = append(next, r.in)
			m.fps += r.fps
		}
		for _, in := range m.baseI {
			if r := f.instances[in.Id]; r != nil && r.mark != f.mark {
				take(r)
			}
		}
		for _, r := range f.instances {
			if r.mark != f.mark {
				take(r)
			}
		}
		m.baseI = next
		m.baseX = make([]*rccv1.Executor, 0, len(f.executors))
		for _, r := range f.executors {
			m.baseX = append(m.baseX, r.x)
		}
	}
	m.rebuildRows()
}

// rebuildRows sorts and filters the tables, keeping the cursor on the same
// row.
func (m *Model) rebuildRows() {
	var selI, selX string
	if c := m.cursor[tabInstances]; c < len(m.rowsI) && m.moved[tabInstances] {
		selI = m.rowsI[c].Id
	}
	if c := m.cursor[tabExecutors]; c < len(m.rowsX) && m.moved[tabExecutors] {
		selX = m.rowsX[c].Id
	}
	ctx := m.cellCtx()
	sortRows(m.baseI, m.colsI[m.sortCol[0]], m.reverse[0], ctx, func(in *rccv1.Instance) string { return in.Id })
	sortRows(m.baseX, m.colsX[m.sortCol[1]], m.reverse[1], ctx, func(x *rccv1.Executor) string { return x.Id })
	m.rowsI = filterRows(m.rowsI[:0], m.baseI, parseFilter(m.filters[tabInstances]), matchInstance(ctx))
	m.rowsX = filterRows(m.rowsX[:0], m.baseX, parseFilter(m.filters[tabExecutors]), matchExecutor)
	if selI != "" {
		if i := slices.IndexFunc(m.rowsI, func(in *rccv1.Instance) bool { return in.Id == selI }); i >= 0 {
			m.cursor[tabInstances] = i
		}
	}
	if selX != "" {
		if i := slices.IndexFunc(m.rowsX, func(x *rccv1.Executor) bool { return x.Id == selX }); i >= 0 {
			m.cursor[tabExecutors] = i
		}
	}
	m.clamp()
}

func (m Model) cellCtx() *cellCtx {
	names := make(map[string]string, len(m.baseX))
	for _, x := range m.baseX {
		names[x.Id] = x.Name
	}
	return &cellCtx{now: m.now, limits: m.fl.limits, names: names, st: &m.st}
}

// sortRows sorts rows by col, then id.
func sortRows[T any](rows []T, col column[T], reverse bool, c *cellCtx, id func(T) string) {
	// The id breaks ties: the order is total, no stable sort is needed.
	slices.SortFunc(rows, func(a, b T) int {
		v := col.cmp(c, a, b)
		if reverse {
			v = -v
		}
		if v == 0 {
			v = strings.Compare(id(a), id(b))
		}
		return v
	})
}

// filterRows fills dst with the rows of src matching every term.
func filterRows[T any](dst, src []T, terms []term, match func(T, term) bool) []T {
	if len(terms) == 0 {
		return append(dst, src...)
	}
rows:
	for _, r := range src {
		for _, t := range terms {
			if !match(r, t) {
				continue rows
			}
		}
		dst = append(dst, r)
	}
	return dst
}

// clamp keeps the cursors on a row and their rows on screen.
func (m *Model) clamp() {
	for t, n := range []int{len(m.rowsI), len(m.rowsX)} {
		m.cursor[t] = max(min(m.cursor[t], n-1), 0)
		page := m.pageRows(t)
		if m.cursor[t] < m.offset[t] {
			m.offset[t] = m.cursor[t]
		}
		if m.cursor[t] >= m.offset[t]+page {
			m.offset[t] = m.cursor[t] - page + 1
		}
		m.offset[t] = max(min(m.offset[t], n-page), 0)
	}
}
