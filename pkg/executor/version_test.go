package executor

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/protocol"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// versionSeen records what a session was told of its game version: the
// version_changed frames, each with the frame of the last state that came
// before it.
type versionSeen struct {
	mu      sync.Mutex
	last    uint64 // the newest state's frame
	changes []seenChange
}

type seenChange struct {
	protocol.VersionChanged
	after uint64 // the frame of the state before the version_changed frame
}

func (v *versionSeen) onEvent(e play.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch e.Kind {
	case play.EventState:
		v.last = max(v.last, e.Frame)
	case play.EventVersion:
		v.changes = append(v.changes, seenChange{*e.Version, v.last})
	}
}

func (v *versionSeen) get() []seenChange {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]seenChange(nil), v.changes...)
}

// TestUpgradeTellsPlayers upgrades a running arena to its double-points
// variant with three players connected: a pkg/play session on deltas, one
// on full states, and the Python client of protocol version 1 that knows
// no version_changed frame. Once the upgrade is kept, both sessions report
// version 2, told by one version_changed frame that came after the
// probation's states, without reconnecting; the Python client counts the
// frame as an unknown type and plays on, every frame number in order.
func TestUpgradeTellsPlayers(t *testing.T) {
	py := testenv.MustHaveCommand(t, "python3", "apt-get install python3")
	h := newHarness(t)
	h.run()
	v2 := gamebuildtest.ArenaVariant(t, "arena_double_points")
	if _, err := h.ex.engine.Compile(context.Background(), v2); err != nil { // Upgrade then finds it compiled
		t.Fatal(err)
	}
	h.start(InstanceSpec{ID: "arena", Game: "arena", Version: "1", MaxPlayers: 4, Module: arenaModule(t),
		SnapshotHz: 60}) // every tick: the test checks which state the frame follows
	seen := map[string]*versionSeen{}
	sessions := map[string]*play.Session{}
	for name, cfg := range map[string]play.Config{"delta": {}, "full": {FullStates: true}} {
		v := &versionSeen{}
		cfg.OnEvent = v.onEvent
		s, err := play.Connect(context.Background(), h.url("arena", h.ticket(name, "arena")), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		seen[name], sessions[name] = v, s
		if st := s.Stats(); st.GameVersion != "1" || st.Welcome.GameVersion != "1" {
			t.Fatalf("%s: version %q before the upgrade (welcome %q), want 1", name, st.GameVersion, st.Welcome.GameVersion)
		}
	}

	// The Python client reads 10 s of states across the upgrade.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pyOut := make(chan []byte, 1)
	pyErr := make(chan error, 1)
	go func() {
		out, err := exec.CommandContext(ctx, py, filepath.Join("testdata", "fullclient.py"), h.url("arena", h.ticket("py", "arena")), "600").Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = errors.New(err.Error() + ": " + string(ee.Stderr))
		}
		pyOut <- out
		pyErr <- err
	}()
	testenv.WaitFor(t, "the Python client in the game", 10*time.Second, func() bool {
		st, _ := h.ex.Instance("arena")
		return st.InGame == 3
	})

	const probation = 30
	res, err := h.ex.Upgrade(context.Background(), "arena", UpgradeSpec{Version: "2", Module: v2, ProbationFrames: probation})
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range sessions {
		testenv.WaitFor(t, name+" told of version 2", 10*time.Second, func() bool { return s.Stats().GameVersion == "2" })
		st := s.Stats()
		if st.VersionChanges != 1 || st.Reconnects != 0 || st.Connects != 1 || st.State != play.Connected {
			t.Errorf("%s: %d version changes, %d connects, %d reconnects, %s; want 1, 1, 0, connected",
				name, st.VersionChanges, st.Connects, st.Reconnects, st.State)
		}
		if st.Welcome.GameVersion != "1" || st.Welcome.TickHz != 60 {
			t.Errorf("%s: welcome now says version %q at %d Hz, want the first welcome's 1 at 60", name, st.Welcome.GameVersion, st.Welcome.TickHz)
		}
		ch := seen[name].get()
		if len(ch) != 1 {
			t.Fatalf("%s: version changes %+v, want one", name, ch)
		}
		c := ch[0]
		want := protocol.VersionChanged{Cause: protocol.VersionUpgraded, TickHz: 60, SnapshotHz: 60, Frame: res.Frame + 1, GameVersion: "2"}
		if c.VersionChanged != want {
			t.Errorf("%s: version_changed %+v, want %+v", name, c.VersionChanged, want)
		}
		// Sent once the probation is over, before the state of the frame
		// that kept the upgrade.
		if c.after < res.Frame+probation-1 {
			t.Errorf("%s: version_changed after the state of frame %d, in the probation (frames %d-%d)", name, c.after, res.Frame+1, res.Frame+probation)
		}
	}

	if err := <-pyErr; err != nil {
		t.Fatalf("fullclient.py: %v", err)
	}
	var got struct {
		Types  map[string]int
		Frames []uint64
	}
	out := <-pyOut
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Types["0x16"] != 1 || len(got.Frames) != 600 {
		t.Errorf("Python client: frame types %v, %d states; want one 0x16 among 600 states", got.Types, len(got.Frames))
	}
	for i := 1; i < len(got.Frames); i++ {
		if got.Frames[i] != got.Frames[i-1]+1 {
			t.Errorf("Python client: frame %d after %d, want every frame", got.Frames[i], got.Frames[i-1])
			break
		}
	}
	if got.Frames[0] > res.Frame || got.Frames[len(got.Frames)-1] < res.Frame+probation {
		t.Errorf("Python client read frames %d-%d, not across the upgrade (frame %d, kept at %d)", got.Frames[0], got.Frames[len(got.Frames)-1], res.Frame, res.Frame+probation)
	}
}

// TestUpgradeRollbackKeepsVersion: an upgrade refused at its hand-over
// (load_state traps) tells the players nothing; one rolled back in its
// probation (the new version fails in its third frame) tells them the old
// version goes on. Either way the session reports version 1 throughout,
// without reconnecting.
func TestUpgradeRollbackKeepsVersion(t *testing.T) {
	h := newHarness(t)
	h.run()
	h.start(InstanceSpec{ID: "u", Game: "counter", Version: "1", Module: testModule(t, "upgradable")})
	v := &versionSeen{}
	s, err := play.Connect(context.Background(), h.url("u", h.ticket("a", "u")), play.Config{RawStates: true, OnEvent: v.onEvent})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	var versions []string // what the session reported, while it played
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			mu.Lock()
			versions = append(versions, s.Stats().GameVersion)
			mu.Unlock()
		}
	}()

	_, err = h.ex.Upgrade(context.Background(), "u", UpgradeSpec{Version: "2", Module: testModule(t, "upgrade_trap")})
	if !errors.Is(err, ErrUpgrade) || !strings.Contains(err.Error(), "load_state failed") {
		t.Fatalf("upgrade whose load_state traps: err = %v", err)
	}
	frame := s.Stats().Frame
	testenv.WaitFor(t, "10 more states", 10*time.Second, func() bool { return s.Stats().Frame >= frame+10 })
	if ch := v.get(); len(ch) != 0 {
		t.Errorf("after a refused upgrade: version changes %+v, want none", ch)
	}

	_, err = h.ex.Upgrade(context.Background(), "u", UpgradeSpec{Version: "3", Module: testModule(t, "upgrade_late_trap")})
	if !errors.Is(err, ErrUpgrade) || !strings.Contains(err.Error(), "failed in its first frames") {
		t.Fatalf("upgrade that fails in its third frame: err = %v", err)
	}
	testenv.WaitFor(t, "the rollback told", 10*time.Second, func() bool { return len(v.get()) == 1 })
	close(stop)
	<-sampled
	c := v.get()[0]
	if c.Cause != protocol.VersionRolledBack || c.GameVersion != "1" || c.TickHz != 60 {
		t.Errorf("version_changed %+v, want rolled_back to version 1 at 60 Hz", c.VersionChanged)
	}
	if c.Frame != c.after+1 {
		t.Errorf("version_changed says version 1 from frame %d, sent after the state of frame %d: want the next frame", c.Frame, c.after)
	}
	st := s.Stats()
	if st.GameVersion != "1" || st.VersionChanges != 1 || st.Reconnects != 0 {
		t.Errorf("after the rollbacks: version %q, %d changes, %d reconnects; want 1, 1, 0", st.GameVersion, st.VersionChanges, st.Reconnects)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, ver := range versions {
		if ver != "1" {
			t.Fatalf("the session reported version %q during the upgrades, want 1 throughout", ver)
		}
	}
	if len(versions) < 10 {
		t.Errorf("%d samples of the version", len(versions))
	}
}
