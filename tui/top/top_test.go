package top

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// t0 is the fixtures' clock.
var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func ts(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(t0.Add(d)) }

// asciiRenderer draws without colours, so goldens are the same everywhere.
func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

// newTestModel is a dashboard with no coordinator, a fixed clock and a
// refresh that never fires by itself (tests send tickMsg).
func newTestModel(readOnly bool) Model {
	return New(context.Background(), Config{Addr: "127.0.0.1:7400", Version: "v0.9.0", ReadOnly: readOnly, Interval: time.Hour,
		Now: func() time.Time { return t0 }, Renderer: asciiRenderer()})
}

func executorEvent(id, name string, state rccv1.ExecutorState, assigned, players uint32, snapshot bool) *rccv1.WatchEvent {
	return &rccv1.WatchEvent{At: ts(0), Snapshot: snapshot, Subject: &rccv1.WatchEvent_Executor{Executor: &rccv1.Executor{
		Id: id, Name: name, State: state, Capacity: 50, Assigned: assigned, Version: "v0.9.0",
		Stats:         &rccv1.ExecutorStats{Players: players, Instances: assigned, TickP50Ms: 0.2, TickP99Ms: 1.4, MemoryBytes: int64(assigned) * 3 << 20},
		LastHeartbeat: ts(-time.Second), RegisteredAt: ts(-time.Hour)}}}
}

// instance is the fixture instance n: arena or racer on one of two
// executors, with its own figures.
func instance(n int) *rccv1.Instance {
	game := "arena"
	if n%3 == 2 {
		game = "racer"
	}
	exec := "x-00000000000000a1"
	if n%2 == 1 {
		exec = "x-00000000000000b2"
	}
	in := &rccv1.Instance{Id: fmt.Sprintf("i-%016x", 0x1000+n*7919), Game: game, Version: uint32(1 + n%2), State: rccv1.InstanceState_INSTANCE_STATE_RUNNING,
		ExecutorId: exec, MaxPlayers: 16, Players: uint32(n % 9), Reserved: uint32(n % 4 / 3), Labels: map[string]string{"region": []string{"eu", "us"}[n%2]},
		LeaseSeconds: 3600, LeaseExpiresAt: ts(time.Duration(30+n) * time.Minute), CreatedAt: ts(-time.Duration(n*97) * time.Second), UpdatedAt: ts(0),
		Stats: &rccv1.InstanceStats{TickP50Ms: 0.1 + float64(n%5)/10, TickP99Ms: 0.5 + float64(n%7), MemoryBytes: int64(3+n%4) << 20,
			FuelP50: int64(10000 + n*40000), FuelMax: int64(20000 + n*80000), Frames: uint64(1000 * n), ReportedAt: ts(0)}}
	switch n {
	case 5:
		in.State, in.Reason, in.Stats, in.Players = rccv1.InstanceState_INSTANCE_STATE_FAILED, "trap in on_input: unreachable (panic: index out of range [3] with length 3)", nil, 0
	case 6:
		in.State, in.ExecutorId, in.Stats, in.Players, in.Reserved = rccv1.InstanceState_INSTANCE_STATE_PENDING, "", nil, 0, 0
	}
	return in
}

func instanceEvent(in *rccv1.Instance, at time.Duration, snapshot bool) *rccv1.WatchEvent {
	return &rccv1.WatchEvent{At: ts(at), Snapshot: snapshot, Subject: &rccv1.WatchEvent_Instance{Instance: in}}
}

// snapshot is a Watch snapshot of two executors and 30 instances.
func snapshot() []*rccv1.WatchEvent {
	evs := []*rccv1.WatchEvent{
		executorEvent("x-00000000000000a1", "exec-a", rccv1.ExecutorState_EXECUTOR_STATE_ACTIVE, 15, 60, true),
		executorEvent("x-00000000000000b2", "exec-b", rccv1.ExecutorState_EXECUTOR_STATE_DRAINING, 15, 52, true),
	}
	for n := range 30 {
		evs = append(evs, instanceEvent(instance(n), 0, true))
	}
	return evs
}

// connect opens a stream into tm that never delivers: the tests send the
// stream's batches themselves, in order with their keys.
func connect(tm *teatest.TestModel) {
	tm.Send(connectedMsg{gen: 1, ch: make(chan streamItem)})
}

// send delivers Watch events as one batch of the stream.
func send(tm *teatest.TestModel, evs ...*rccv1.WatchEvent) {
	tm.Send(eventsMsg{gen: 1, evs: evs})
}

// waitScreen waits until the screen shows want.
func waitScreen(t *testing.T, tm *teatest.TestModel, want string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(want)) },
		teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}

// TestScreens holds the dashboard's screens at 80×24 and 160×48 against
// golden files (go test ./tui/top -update rewrites them).
func TestScreens(t *testing.T) {
	// The first instance in the default sort (game, then id).
	first := instance(0)
	screens := []struct {
		name string
		// drive brings the screen to its state after the snapshot is shown.
		drive func(t *testing.T, tm *teatest.TestModel)
	}{
		{"main", func(t *testing.T, tm *teatest.TestModel) {}},
		{"detail", func(t *testing.T, tm *teatest.TestModel) {
			// A minute of reports for the first instance: players join
			// and leave, tick and memory move.
			for i := 1; i <= 30; i++ {
				in := instance(0)
				in.Players = uint32([]int{0, 1, 2, 4, 4, 3, 6, 8, 7, 5}[i%10])
				in.Stats.TickP99Ms = 0.4 + float64(i%6)/5
				in.Stats.MemoryBytes = int64(3<<20 + i*64<<10)
				in.Stats.Frames = uint64(120 * i) // 60 a second
				in.Stats.ReportedAt = ts(time.Duration(i*2) * time.Second)
				send(tm, instanceEvent(in, time.Duration(i*2)*time.Second, false))
			}
			tm.Send(tickMsg{at: t0.Add(time.Minute)})
			tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
			// Its log: the executor's lifecycle events and the guest's lines.
			entry := func(seq uint64, at time.Duration, stream rccv1.LogStream, ev, text string) *rccv1.LogEntry {
				return &rccv1.LogEntry{InstanceId: first.Id, Seq: seq, Time: ts(at), Frame: uint64(at / (time.Second / 60)), Stream: stream, Event: ev, Text: text}
			}
			tm.Send(logsOpenMsg{lgen: 1, ch: make(chan logItem), cancel: func() {}})
			tm.Send(logsMsg{lgen: 1, entries: []*rccv1.LogEntry{
				entry(1, 0, rccv1.LogStream_LOG_STREAM_EVENT, "started", "running arena version 1 at 60 Hz, 16 players at most"),
				entry(2, 2*time.Second, rccv1.LogStream_LOG_STREAM_EVENT, "player_joined", "p1"),
				entry(3, 3*time.Second, rccv1.LogStream_LOG_STREAM_STDOUT, "", "round 1 begins"),
				entry(4, 40*time.Second, rccv1.LogStream_LOG_STREAM_STDERR, "", "warning: orb spawn retried 3 times"),
				entry(5, 59*time.Second, rccv1.LogStream_LOG_STREAM_STDOUT, "", "round 1 over: p3 wins with 12 points"),
			}})
			waitScreen(t, tm, "p3 wins")
		}},
		{"help", func(t *testing.T, tm *teatest.TestModel) {
			tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("?")})
			waitScreen(t, tm, "Keys")
		}},
		{"paused", func(t *testing.T, tm *teatest.TestModel) {
			tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("p")})
			waitScreen(t, tm, "PAUSED")
			// What changes while paused stays off the screen.
			gone := instance(0)
			gone.State, gone.Reason = rccv1.InstanceState_INSTANCE_STATE_STOPPED, "stopped by an operator"
			send(tm, instanceEvent(gone, time.Second, false))
			tm.Send(tickMsg{at: t0.Add(2 * time.Second)})
			// Sorting still works on the frozen rows: by players, most first.
			for _, k := range "sssS" {
				tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{k}})
			}
			waitScreen(t, tm, "PLAYERS▼")
		}},
		{"disconnected", func(t *testing.T, tm *teatest.TestModel) {
			tm.Send(eventsMsg{gen: 1, err: status.Error(codes.Unavailable, "connection error: dial tcp 127.0.0.1:7400: connect: connection refused")})
			waitScreen(t, tm, "DISCONNECTED")
		}},
	}
	for _, sc := range screens {
		for _, size := range [][2]int{{80, 24}, {160, 48}} {
			t.Run(fmt.Sprintf("%s_%dx%d", sc.name, size[0], size[1]), func(t *testing.T) {
				tm := teatest.NewTestModel(t, newTestModel(false), teatest.WithInitialTermSize(size[0], size[1]))
				connect(tm)
				send(tm, snapshot()...)
				waitScreen(t, tm, first.Id)
				sc.drive(t, tm)
				if err := tm.Quit(); err != nil {
					t.Fatal(err)
				}
				fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
				golden.RequireEqual(t, []byte(fm.View()))
			})
		}
	}
}

// TestRunesTogether: keys typed faster than the terminal is read come in
// one message; "/" still opens the filter and the rest is its text.
func TestRunesTogether(t *testing.T) {
	m := newTestModel(false)
	next, _ := m.Update(eventsMsg{gen: 1, evs: snapshot()})
	next, _ = next.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("/region=us")})
	next, _ = next.Update(tea.KeyMsg{Type: tea.KeyEnter})
	got := next.(Model)
	if got.filters[tabInstances] != "region=us" || got.filtering || got.detail != "" {
		t.Fatalf("filter %q, filtering %v, detail %q", got.filters[tabInstances], got.filtering, got.detail)
	}
	for _, in := range got.rowsI {
		if in.Labels["region"] != "us" {
			t.Fatalf("row %s has labels %v", in.Id, in.Labels)
		}
	}
	if len(got.rowsI) != 15 {
		t.Fatalf("%d rows, want the 15 us instances", len(got.rowsI))
	}
}

// TestUpdate drives the model's Update directly: what each key and stream
// message does to the tables.
func TestUpdate(t *testing.T) {
	press := func(m tea.Model, keys ...string) tea.Model {
		for _, k := range keys {
			var msg tea.KeyMsg
			switch k {
			case "enter":
				msg = tea.KeyMsg{Type: tea.KeyEnter}
			case "esc":
				msg = tea.KeyMsg{Type: tea.KeyEsc}
			case "down":
				msg = tea.KeyMsg{Type: tea.KeyDown}
			case "ctrl+c":
				msg = tea.KeyMsg{Type: tea.KeyCtrlC}
			default:
				msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
			}
			m, _ = m.Update(msg)
		}
		return m
	}
	start := func() tea.Model {
		var m tea.Model = newTestModel(false)
		m, _ = m.Update(connectedMsg{gen: 1})
		m, _ = m.Update(eventsMsg{gen: 1, evs: snapshot()})
		return m
	}
	ids := func(m tea.Model) []string {
		var out []string
		for _, in := range m.(Model).rowsI {
			out = append(out, in.Id)
		}
		return out
	}

	t.Run("sort by players, reversed", func(t *testing.T) {
		m := press(start(), "s", "s", "s", "S")
		rows := m.(Model).rowsI
		for i := 1; i < len(rows); i++ {
			if rows[i-1].Players < rows[i].Players {
				t.Fatalf("row %d has %d players, row %d %d", i-1, rows[i-1].Players, i, rows[i].Players)
			}
		}
	})
	t.Run("filter by substring and label", func(t *testing.T) {
		m := press(start(), "/", "racer region=us", "enter")
		for _, in := range m.(Model).rowsI {
			if in.Game != "racer" || in.Labels["region"] != "us" {
				t.Fatalf("row %s (%s, %v) passed the filter", in.Id, in.Game, in.Labels)
			}
		}
		if n := len(m.(Model).rowsI); n != 5 {
			t.Fatalf("%d rows, want 5", n)
		}
		if m = press(m, "esc"); len(m.(Model).rowsI) != 30 {
			t.Fatalf("esc left %d rows", len(m.(Model).rowsI))
		}
	})
	t.Run("paused tables ignore changes until resumed", func(t *testing.T) {
		m := press(start(), "p")
		gone := instance(0)
		gone.State = rccv1.InstanceState_INSTANCE_STATE_STOPPED
		m, _ = m.Update(eventsMsg{gen: 1, evs: []*rccv1.WatchEvent{instanceEvent(gone, time.Second, false)}})
		m, _ = m.Update(tickMsg{at: t0.Add(time.Second)})
		if in := m.(Model).rowsI[0]; in.Id != gone.Id || in.State != rccv1.InstanceState_INSTANCE_STATE_RUNNING {
			t.Fatalf("paused row 0 = %s %v", in.Id, in.State)
		}
		m = press(m, "p")
		if in := m.(Model).rowsI[0]; in.State != rccv1.InstanceState_INSTANCE_STATE_STOPPED {
			t.Fatalf("resumed row 0 = %s %v", in.Id, in.State)
		}
	})
	t.Run("a new snapshot drops what ended meanwhile", func(t *testing.T) {
		m := start()
		m, _ = m.Update(eventsMsg{gen: 1, err: status.Error(codes.Unavailable, "gone")})
		if got := len(m.(Model).rowsI); got != 30 {
			t.Fatalf("disconnected with %d rows, want the 30 kept", got)
		}
		m, _ = m.Update(retryMsg{gen: 1}) // no backend: nothing reconnects
		if m.(Model).conn != disconnected {
			t.Fatal("retry without a backend changed the connection")
		}
		// As a reconnection does: a new stream, a snapshot without the
		// first instance, then a change.
		mm := m.(Model)
		mm.gen = 2
		m, _ = mm.Update(connectedMsg{gen: 2})
		snap := snapshot()
		m, _ = m.Update(eventsMsg{gen: 2, evs: append(snap[:2:2], snap[3:]...)})
		m, _ = m.Update(eventsMsg{gen: 2, evs: []*rccv1.WatchEvent{executorEvent("x-00000000000000a1", "exec-a", rccv1.ExecutorState_EXECUTOR_STATE_ACTIVE, 15, 60, false)}})
		m, _ = m.Update(tickMsg{at: t0.Add(time.Second)})
		if got := ids(m); len(got) != 29 || slices.Contains(got, instance(0).Id) {
			t.Fatalf("after the new snapshot: %d rows, first instance kept: %v", len(got), slices.Contains(got, instance(0).Id))
		}
	})
	t.Run("events of an instance", func(t *testing.T) {
		m := start()
		in := instance(1)
		in.Players = 3
		m, _ = m.Update(eventsMsg{gen: 1, evs: []*rccv1.WatchEvent{instanceEvent(in, time.Second, false)}})
		failed := instance(1)
		failed.State, failed.Reason, failed.Stats = rccv1.InstanceState_INSTANCE_STATE_FAILED, "trap in tick: unreachable", nil
		m, _ = m.Update(eventsMsg{gen: 1, evs: []*rccv1.WatchEvent{instanceEvent(failed, 2*time.Second, false)}})
		var texts []string
		for _, e := range m.(Model).fl.instances[in.Id].events {
			texts = append(texts, e.text)
		}
		want := []string{"running on exec-b, 1 of 16 players", "2 players joined (3 of 16)", "failed: trap in tick: unreachable"}
		if !slices.Equal(texts, want) {
			t.Fatalf("events %q, want %q", texts, want)
		}
	})
	t.Run("read-only has no actions", func(t *testing.T) {
		var m tea.Model = New(context.Background(), Config{ReadOnly: true, Interval: time.Hour, Now: func() time.Time { return t0 }, Renderer: asciiRenderer()})
		m, _ = m.Update(eventsMsg{gen: 1, evs: snapshot()})
		m = press(m, "x")
		if m.(Model).confirm != nil || strings.Contains(m.View(), "x stop") {
			t.Fatal("read-only offers stop")
		}
	})
	t.Run("ctrl+c quits from the filter prompt", func(t *testing.T) {
		m := press(start(), "/", "ab")
		if _, cmd := m.Update(tea.KeyMsg{Type: tea.KeyCtrlC}); cmd == nil {
			t.Fatal("ctrl+c in the filter prompt did not quit")
		}
	})
}

// TestEndedBeforeConnecting: instances that ended shortly before top
// connected are shown with their reason; older ones are not.
func TestEndedBeforeConnecting(t *testing.T) {
	var m tea.Model = newTestModel(false)
	m, _ = m.Update(connectedMsg{gen: 1})
	m, _ = m.Update(eventsMsg{gen: 1, evs: snapshot()})
	recent, old := instance(40), instance(41)
	recent.State, recent.Reason, recent.UpdatedAt = rccv1.InstanceState_INSTANCE_STATE_FAILED, "trap in tick: unreachable", ts(-time.Minute)
	old.State, old.Reason, old.UpdatedAt = rccv1.InstanceState_INSTANCE_STATE_FAILED, "fuel_exhausted", ts(-time.Hour)
	m, _ = m.Update(endedMsg{gen: 1, instances: []*rccv1.Instance{recent, old}})
	m, _ = m.Update(tickMsg{at: t0})
	v := m.View()
	if got := len(m.(Model).rowsI); got != 31 {
		t.Fatalf("%d rows, want the 30 live and the recent failure", got)
	}
	if !strings.Contains(v, "1 pending, 28 running, 2 failed") {
		t.Fatalf("header does not count the recent failure:\n%s", v)
	}
}

// TestVersionFromTheStream: the coordinator's version that a Watch stream's
// headers carry appears in the header line.
func TestVersionFromTheStream(t *testing.T) {
	var m tea.Model = newTestModel(false)
	m, _ = m.Update(connectedMsg{gen: 1, version: "v0.9.1"})
	m, _ = m.Update(eventsMsg{gen: 1, evs: snapshot()})
	m, _ = m.Update(tickMsg{at: t0})
	first := strings.SplitN(m.View(), "\n", 2)[0]
	if !strings.Contains(first, "v0.9.1") {
		t.Fatalf("header line %q does not show the coordinator's version", first)
	}
}
