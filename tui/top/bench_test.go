package top

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// fleetOf is a Watch snapshot of nx executors and ni instances spread over
// them, and one heartbeat's update of every instance.
func fleetOf(nx, ni int) (snap, beat []*rccv1.WatchEvent) {
	for x := range nx {
		snap = append(snap, executorEvent(fmt.Sprintf("x-%016x", x), fmt.Sprintf("exec-%02d", x), rccv1.ExecutorState_EXECUTOR_STATE_ACTIVE, uint32(ni/nx), 300, true))
	}
	for n := range ni {
		in := instance(n)
		in.ExecutorId = fmt.Sprintf("x-%016x", n%nx)
		snap = append(snap, instanceEvent(in, 0, true))
		up := instance(n)
		up.ExecutorId = in.ExecutorId
		if up.Stats != nil {
			up.Stats.Frames += 120
			up.Stats.ReportedAt = ts(2 * time.Second)
		}
		beat = append(beat, instanceEvent(up, 2*time.Second, false))
	}
	return snap, beat
}

// cpuTime is the CPU time this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds cpu-ns/op: the CPU time per operation, which a machine
// loaded by others inflates less than the wall time of ns/op.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func benchModel(b *testing.B, snap []*rccv1.WatchEvent) Model {
	m := newTestModel(false)
	var next tea.Model = m
	next, _ = next.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
	next, _ = next.Update(connectedMsg{gen: 1})
	next, _ = next.Update(eventsMsg{gen: 1, evs: snap})
	next, _ = next.Update(tickMsg{at: t0})
	m = next.(Model)
	if len(m.rowsI) != 5000 || len(m.rowsX) != 50 {
		b.Fatalf("%d instances and %d executors shown", len(m.rowsI), len(m.rowsX))
	}
	return m
}

// BenchmarkUpdateRender is one Watch change and one refresh of the whole
// screen (take the fleet, filter, sort, render) with 5,000 instances on 50
// executors, at 160×48.
func BenchmarkUpdateRender(b *testing.B) {
	snap, beat := fleetOf(50, 5000)
	var next tea.Model = benchModel(b, snap)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	defer func() { reportCPU(b, start) }()
	for i := range b.N {
		next, _ = next.Update(eventsMsg{gen: 1, evs: beat[i%len(beat) : i%len(beat)+1]})
		next, _ = next.Update(tickMsg{at: t0.Add(time.Duration(i) * time.Second)})
	}
	if v := next.View(); len(v) == 0 {
		b.Fatal("empty screen")
	}
}

// BenchmarkHeartbeatRound is what one heartbeat interval brings: every
// instance's update (5,000 events in batches as the stream delivers them)
// and then a refresh.
func BenchmarkHeartbeatRound(b *testing.B) {
	snap, beat := fleetOf(50, 5000)
	var next tea.Model = benchModel(b, snap)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	defer func() { reportCPU(b, start) }()
	for i := range b.N {
		for j := 0; j < len(beat); j += maxBatch {
			next, _ = next.Update(eventsMsg{gen: 1, evs: beat[j:min(j+maxBatch, len(beat))]})
		}
		next, _ = next.Update(tickMsg{at: t0.Add(time.Duration(i) * time.Second)})
	}
}

// BenchmarkKeyRender is a cursor move: a render without taking the fleet
// again.
func BenchmarkKeyRender(b *testing.B) {
	snap, _ := fleetOf(50, 5000)
	var next tea.Model = benchModel(b, snap)
	down := tea.KeyMsg{Type: tea.KeyDown}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	defer func() { reportCPU(b, start) }()
	for range b.N {
		next, _ = next.Update(down)
	}
}
