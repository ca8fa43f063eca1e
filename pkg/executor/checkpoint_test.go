package executor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/localrun"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/replay"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// memoryCheckpoints keeps checkpoints as the coordinator's store does: the
// newest snapshot, and the frames shipped after it. lost makes every later
// shipment fail, as when the executor has died.
type memoryCheckpoints struct {
	mu        sync.Mutex
	frame     uint64
	snapshot  []byte
	frames    []byte
	last      uint64
	snapshots int
	versions  map[uint64]string // the version of each snapshot, by frame
	lost      bool
}

var errExecutorGone = errors.New("the executor is gone")

func (m *memoryCheckpoints) SaveSnapshot(_ context.Context, _, version string, frame uint64, snapshot []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lost {
		return errExecutorGone
	}
	// The frames up to the snapshot's are dropped; those after it stay.
	var kept []byte
	sc := bufio.NewScanner(bytes.NewReader(m.frames))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var f replay.Frame
		if json.Unmarshal(sc.Bytes(), &f) == nil && f.Frame > frame {
			kept = append(append(kept, sc.Bytes()...), '\n')
		}
	}
	m.frame, m.snapshot, m.frames = frame, bytes.Clone(snapshot), kept
	m.last = max(m.last, frame)
	m.snapshots++
	if m.versions == nil {
		m.versions = map[uint64]string{}
	}
	m.versions[frame] = version
	return nil
}

func (m *memoryCheckpoints) AppendInputs(_ context.Context, _ string, first, last uint64, frames []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lost {
		return errExecutorGone
	}
	if first != m.last+1 {
		return errors.New("frames out of order")
	}
	m.frames = append(m.frames, frames...)
	m.last = last
	return nil
}

// saved is how many snapshots were stored.
func (m *memoryCheckpoints) saved() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.snapshots
}

// lose ends the shipments and returns what was shipped.
func (m *memoryCheckpoints) lose() (snapFrame, last uint64, r *Resume) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lost = true
	return m.frame, m.last, &Resume{Snapshot: m.snapshot, Frames: m.frames}
}

// lockedBuffer is an input log written by one executor and read by the
// test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.SplitAfter(bytes.Clone(l.b.Bytes()), []byte("\n"))
}

// frameOf is the frame number of an input log line (0 for the header).
func frameOf(t *testing.T, line []byte) uint64 {
	var f replay.Frame
	if err := json.Unmarshal(line, &f); err != nil {
		t.Fatalf("input log line %q: %v", line, err)
	}
	return f.Frame
}

// TestCheckpointResumesElsewhere runs an instance with four players sending
// numbered inputs on an executor that checkpoints it every 300 ms; the
// executor is then lost (its shipments stop, it stops). A second executor
// resumes the instance from what was shipped: it replays every frame
// logged after the snapshot, each state hashing as logged, and ends at
// the last frame shipped, with the players in the game, away. A player
// reconnecting finds their place (resumed), and the resumed instance's
// input log, appended to the lost one's up to that frame, replays to the
// same state bytes at every frame: a bit-exact continuation.
func TestCheckpointResumesElsewhere(t *testing.T) {
	sink := &memoryCheckpoints{}
	a := newHarness(t, func(c *Config, _ *httptestServer) {
		c.Checkpoints, c.CheckpointInputsEvery = sink, 50*time.Millisecond
	})
	b := newHarness(t)
	b.ex.cfg.Verifier, b.issuer = a.ex.cfg.Verifier, a.issuer
	a.run()
	b.run()
	module := testModule(t, "counter")
	logA, logB := &lockedBuffer{}, &lockedBuffer{}
	spec := InstanceSpec{ID: "ck", Game: "counter", Version: "1", MaxPlayers: 8, Module: module,
		CheckpointEvery: 300 * time.Millisecond}
	specA := spec
	specA.Record = logA
	a.start(specA)

	const players = 4
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for p := range players {
		player := string(rune('a' + p))
		s, err := play.Connect(context.Background(), a.url("ck", a.ticket(player, "ck")), play.Config{RawStates: true, ReconnectFor: -1})
		if err != nil {
			t.Fatalf("connect %s: %v", player, err)
		}
		t.Cleanup(func() { s.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Second / 60)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if s.Send(binary.LittleEndian.AppendUint16(nil, uint16(i))) != nil {
					return
				}
			}
		}()
	}
	testenv.WaitFor(t, "two snapshots and frames after the second", 30*time.Second, func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return sink.snapshots >= 3 && sink.last >= sink.frame+5
	})
	snapFrame, last, resume := sink.lose()
	close(stop)
	wg.Wait()
	reached := a.frames("ck")
	a.shutdown() // the executor is gone; its input log is complete
	t.Logf("lost at frame %d; shipped: snapshot of frame %d (%d bytes), frames to %d", reached, snapFrame, len(resume.Snapshot), last)

	specB := spec
	specB.Record, specB.Resume = logB, resume
	start := time.Now()
	b.start(specB)
	st, err := b.ex.Instance("ck")
	if err != nil {
		t.Fatal(err)
	}
	r := st.Resumed
	if r == nil {
		t.Fatal("the instance on the second executor has no resume status")
	}
	t.Logf("resumed in %v: %d frames replayed to frame %d (restore and replay %v)", time.Since(start), r.Replayed, r.LastFrame, r.Duration)
	if r.SnapshotFrame != snapFrame || r.LastFrame != last || r.Replayed != int(last-snapFrame) || r.Diverged != 0 {
		t.Fatalf("resumed %+v; want snapshot %d, %d frames replayed to %d, none diverged", *r, snapFrame, last-snapFrame, last)
	}
	if st.InGame != players {
		t.Errorf("%d players in the game after the resume, want %d", st.InGame, players)
	}
	if reached < last {
		t.Fatalf("the lost executor reached frame %d, before the last shipped %d", reached, last)
	}

	// The state at the last shipped frame is the lost executor's.
	linesA := logA.lines()
	var hashA string
	for _, l := range linesA[1:] {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var f replay.Frame
		if err := json.Unmarshal(l, &f); err != nil {
			t.Fatal(err)
		}
		if f.Frame == last {
			hashA = f.StateSHA256
		}
	}
	if hashA == "" || hashA != r.StateSHA256 {
		t.Fatalf("state at frame %d: lost executor %q, resumed %q", last, hashA, r.StateSHA256)
	}

	// A player comes back and finds their place.
	s, err := play.Connect(context.Background(), b.url("ck", b.ticket("a", "ck")), play.Config{RawStates: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if w := s.Stats().Welcome; !w.Resumed {
		t.Errorf("player a's welcome on the second executor: not resumed")
	}
	testenv.WaitFor(t, "60 live frames on the second executor", 30*time.Second, func() bool { return b.frames("ck") >= last+60 })
	b.shutdown()

	// The lost log to the last shipped frame, then the resumed one after
	// it, replay from init to the same states.
	var joined bytes.Buffer
	joined.Write(linesA[0])
	for _, l := range linesA[1:] {
		if len(bytes.TrimSpace(l)) > 0 && frameOf(t, l) <= last {
			joined.Write(l)
		}
	}
	linesB := logB.lines()
	var after int
	for _, l := range linesB[1:] {
		if len(bytes.TrimSpace(l)) > 0 && frameOf(t, l) > last {
			joined.Write(l)
			after++
		}
	}
	eng, err := wasmhost.NewEngine(context.Background(), wasmhost.Config{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(context.Background())
	res, err := localrun.Replay(context.Background(), eng, module, &joined, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Match || res.Error != "" || res.Frames != last+uint64(after) || after < 60 {
		t.Fatalf("replay of the joined log: %+v (frames after the resume %d)", res, after)
	}
	t.Logf("the joined log replays bit-exact through frame %d (%d frames after the resume)", res.Frames, after)
}

// TestCheckpointVersionFollowsUpgrade: the snapshots of a checkpointed
// instance say which version they are of, before and after a hot upgrade,
// so that a lost executor's instance resumes on the version its snapshot
// holds (the store's "CheckpointAcrossUpgrade").
func TestCheckpointVersionFollowsUpgrade(t *testing.T) {
	sink := &memoryCheckpoints{}
	h := newHarness(t, func(c *Config, _ *httptestServer) { c.Checkpoints = sink })
	h.run()
	module := testModule(t, "upgradable")
	h.start(InstanceSpec{ID: "u", Game: "counter", Version: "1", Module: module, CheckpointEvery: 50 * time.Millisecond})
	testenv.WaitFor(t, "a snapshot of version 1", 10*time.Second, func() bool { return sink.saved() >= 2 })
	res, err := h.ex.Upgrade(context.Background(), "u", UpgradeSpec{Version: "2", Module: module})
	if err != nil {
		t.Fatal(err)
	}
	before := sink.saved()
	testenv.WaitFor(t, "snapshots after the upgrade", 10*time.Second, func() bool { return sink.saved() >= before+2 })
	sink.mu.Lock()
	defer sink.mu.Unlock()
	var old, upgraded int
	for frame, v := range sink.versions {
		want := "1"
		if frame > res.Frame {
			want, upgraded = "2", upgraded+1
		} else {
			old++
		}
		if v != want {
			t.Errorf("the snapshot after frame %d is said to be of version %q; the upgrade's last frame of version 1 was %d", frame, v, res.Frame)
		}
	}
	if old == 0 || upgraded == 0 {
		t.Errorf("%d snapshots of version 1, %d of version 2; want both", old, upgraded)
	}
}

// TestCheckpointResumeRefusesAnotherInstance: a snapshot of another
// instance does not start this one.
func TestCheckpointResumeRefusesAnotherInstance(t *testing.T) {
	sink := &memoryCheckpoints{}
	a := newHarness(t, func(c *Config, _ *httptestServer) { c.Checkpoints = sink })
	a.run()
	module := testModule(t, "counter")
	a.start(InstanceSpec{ID: "one", Game: "counter", Version: "1", Module: module, CheckpointEvery: 100 * time.Millisecond})
	testenv.WaitFor(t, "a snapshot", 30*time.Second, func() bool { return sink.saved() > 0 })
	_, _, resume := sink.lose()
	err := a.ex.Start(context.Background(), InstanceSpec{ID: "two", Game: "counter", Version: "1", Module: module, Resume: resume})
	if !errors.Is(err, ErrBadResume) {
		t.Fatalf("start from another instance's snapshot: %v, want ErrBadResume", err)
	}
}

// BenchmarkCheckpointArena checkpoints arena with 16 pkg/play players
// sending controller inputs at 30 Hz, every 250 ms; each iteration is one
// snapshot. It reports the medians of the pause the snapshot makes in the
// instance's frames, of its size, and of its encoding (the sink keeps it in
// memory: the store's part is measured end to end in cmd/rccd), and the
// time to resume the instance from the last one on a second executor
// (restore and replay of the frames after it).
func BenchmarkCheckpointArena(b *testing.B) {
	sink := &memoryCheckpoints{}
	x := newHarness(b, func(c *Config, _ *httptestServer) { c.Checkpoints = sink })
	y := newHarness(b)
	x.run()
	y.run()
	module := arenaModule(b)
	spec := InstanceSpec{ID: "arena", Game: "arena", Version: "1", MaxPlayers: 16, Seed: 3, Module: module,
		CheckpointEvery: 250 * time.Millisecond}
	x.start(spec)
	var sessions []*play.Session
	for p := range 16 {
		player := fmt.Sprintf("p%02d", p)
		s, err := play.Connect(context.Background(), x.url("arena", x.ticket(player, "arena")), play.Config{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		sessions = append(sessions, s)
	}
	defer walkPlayers(sessions)()
	var sizes []int
	for b.Loop() {
		n := sink.saved()
		testenv.WaitFor(b, "the next snapshot", 10*time.Second, func() bool { return sink.saved() > n })
		sink.mu.Lock()
		sizes = append(sizes, len(sink.snapshot))
		sink.mu.Unlock()
	}
	st, err := x.ex.Instance("arena")
	if err != nil || st.Checkpoint == nil {
		b.Fatalf("status %+v, %v", st, err)
	}
	_, _, resume := sink.lose()
	x.shutdown()
	spec.Resume = resume
	y.start(spec)
	on, err := y.ex.Instance("arena")
	if err != nil || on.Resumed == nil || on.Resumed.Diverged != 0 {
		b.Fatalf("resumed %+v, %v", on, err)
	}
	slices.Sort(sizes)
	b.ReportMetric(float64(st.Checkpoint.PauseP50.Microseconds())/1000, "pause-p50-ms")
	b.ReportMetric(float64(st.Checkpoint.PauseMax.Microseconds())/1000, "pause-max-ms")
	b.ReportMetric(float64(st.Checkpoint.ShipP50.Microseconds())/1000, "encode-p50-ms")
	b.ReportMetric(float64(sizes[len(sizes)/2])/1024, "snapshot-p50-KiB")
	b.ReportMetric(float64(on.Resumed.Duration.Microseconds())/1000, "resume-ms")
	b.ReportMetric(float64(on.Resumed.Replayed), "replayed-frames")
}

// TestResumeFrames: the frames of a Resume are read from the one after the
// snapshot's, those it had run skipped, up to the first gap.
func TestResumeFrames(t *testing.T) {
	line := func(n uint64) string {
		b, _ := json.Marshal(replay.Frame{Frame: n, StateSHA256: "x"})
		return string(b) + "\n"
	}
	tests := []struct {
		name   string
		frames string
		from   uint64
		want   []uint64
		bad    bool
	}{
		{name: "none", frames: "", from: 10},
		{name: "in order", frames: line(11) + line(12) + line(13), from: 10, want: []uint64{11, 12, 13}},
		{name: "run by the snapshot", frames: line(9) + line(10) + line(11), from: 10, want: []uint64{11}},
		{name: "a gap", frames: line(11) + line(13) + line(14), from: 10, want: []uint64{11}},
		{name: "starts after a gap", frames: line(12), from: 10},
		{name: "damaged", frames: line(11) + "{not json\n", from: 10, bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resumeFrames([]byte(tc.frames), tc.from)
			if tc.bad {
				if !errors.Is(err, ErrBadResume) {
					t.Fatalf("err = %v, want ErrBadResume", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var nums []uint64
			for _, f := range got {
				nums = append(nums, f.Frame)
			}
			if !slices.Equal(nums, tc.want) {
				t.Fatalf("frames %v, want %v", nums, tc.want)
			}
		})
	}
}
