package play_test

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/world"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// stateLog keeps the state bytes a session received, by frame.
type stateLog struct {
	mu     sync.Mutex
	states map[uint64][]byte
	size   int // bytes of the messages that carried them
}

func (l *stateLog) onEvent(ev play.Event) {
	if ev.Kind != play.EventState {
		return
	}
	l.mu.Lock()
	l.states[ev.Frame] = bytes.Clone(ev.Data)
	l.size += ev.Size
	l.mu.Unlock()
}

// TestDeltaSessionMatchesFullStates: a session on deltas (the default) and
// one on full states, in the same arena with players moving, see the same
// state bytes at every frame both received, before and after the network
// drops both connections and they reconnect; the one on deltas received
// fewer bytes. The spawn's snapshot rate (30 Hz) wins over the version's
// (20 Hz) and reaches the delta session's welcome.
func TestDeltaSessionMatchesFullStates(t *testing.T) {
	e := newEnv(t)
	e.deployWith(client.DeployRequest{Game: "arena", Module: gamebuildtest.Arena(t), SnapshotHz: 20})
	e.spawnWith(&rccv1.SpawnRequest{Game: "arena", SnapshotHz: 30})
	dl := &stateLog{states: map[uint64][]byte{}}
	fl := &stateLog{states: map[uint64][]byte{}}
	d := e.joinWith("delta", play.Config{OnEvent: dl.onEvent})
	f := e.joinWith("full", play.Config{OnEvent: fl.onEvent, FullStates: true})
	if !d.Stats().Welcome.Delta || f.Stats().Welcome.Delta {
		t.Fatalf("welcomes: delta session %v, full session %v; want deltas for the first only", d.Stats().Welcome.Delta, f.Stats().Welcome.Delta)
	}
	if hz := d.Stats().Welcome.SnapshotHz; hz != 30 {
		t.Errorf("the welcome's snapshot rate is %d, want the spawn's 30", hz)
	}
	for _, s := range []*play.Session{d, f} {
		if err := s.SendController(world.Controller{MoveX: 1, MoveZ: 1}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitFor(t, "states on both sessions", 20*time.Second, func() bool {
		return d.Stats().States > 60 && f.Stats().States > 60
	})
	e.proxy.cut()
	testenv.WaitFor(t, "both sessions to reconnect and receive states", 30*time.Second, func() bool {
		sd, sf := d.Stats(), f.Stats()
		return sd.Reconnects == 1 && sf.Reconnects == 1 && sd.State == play.Connected && sf.State == play.Connected &&
			sd.States > 120 && sf.States > 120 && sd.Keyframes >= 2
	})
	_ = d.Close()
	_ = f.Close()

	dl.mu.Lock()
	fl.mu.Lock()
	defer dl.mu.Unlock()
	defer fl.mu.Unlock()
	compared := 0
	for n, want := range fl.states {
		got, ok := dl.states[n]
		if !ok {
			continue
		}
		compared++
		if !bytes.Equal(got, want) {
			t.Fatalf("frame %d: the delta session has %d bytes that differ from the full session's %d", n, len(got), len(want))
		}
	}
	sd, sf := d.Stats(), f.Stats()
	t.Logf("%d frames compared; delta session %d states (%d deltas, %d keyframes) in %d bytes, full session %d states in %d bytes",
		compared, sd.States, sd.Deltas, sd.Keyframes, dl.size, sf.States, fl.size)
	if compared < 100 {
		t.Errorf("only %d frames received by both sessions", compared)
	}
	for n := range fl.states {
		if n%2 != 0 {
			t.Fatalf("frame %d sent at a 30 Hz snapshot rate of 60 Hz ticks: want even frames only", n)
		}
	}
	if sd.Missed > 2 { // the reconnection may lose a state or two
		t.Errorf("delta session missed %d states", sd.Missed)
	}
	if sf.Deltas != 0 || sf.Keyframes != 0 {
		t.Errorf("the full session counted %d deltas and %d keyframes", sf.Deltas, sf.Keyframes)
	}
	if sd.Deltas == 0 || sd.Deltas+sd.Keyframes != sd.States {
		t.Errorf("delta session: %d deltas + %d keyframes of %d states", sd.Deltas, sd.Keyframes, sd.States)
	}
	perD, perF := float64(dl.size)/float64(sd.States), float64(fl.size)/float64(sf.States)
	if perD*2 > perF {
		t.Errorf("a delta state costs %.0f bytes, a full one %.0f: not half", perD, perF)
	}
}
