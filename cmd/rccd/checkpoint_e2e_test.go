package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/localrun"
	"github.com/rcc-games/rcc/pkg/pgtest"
	"github.com/rcc-games/rcc/pkg/play"
	"github.com/rcc-games/rcc/pkg/replay"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/wasmhost"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func TestE2ECheckpointResumeSQLite(t *testing.T) {
	r := checkpointResume(t, "sqlite://"+filepath.Join(t.TempDir(), "rcc.db"), 2)
	t.Logf("%+v", r)
}

func TestE2ECheckpointResumePostgres(t *testing.T) {
	r := checkpointResume(t, pgtest.New(t), 2)
	t.Logf("%+v", r)
}

// resumeFigures are what one kill -9 and resumption measured.
type resumeFigures struct {
	Players int
	// Reached is the last frame a player saw before the kill; Resumed the
	// frame the instance resumed at; Snapshot its checkpoint's frame.
	Reached, Resumed, Snapshot uint64
	// SnapshotBytes is the checkpoint's size; Replay the time the target
	// took to restore it and replay the frames after it.
	SnapshotBytes int64
	Replay        time.Duration
	// Running is the time from the kill to the instance running on the
	// other executor (the lease included), Playing to every player getting
	// states again.
	Running, Playing time.Duration
	// InputsSent are the inputs the players sent before the kill, InputsKept
	// those in the history the instance resumed with.
	InputsSent, InputsKept int
	// PauseMean and ShipMean are the killed executor's mean snapshot pause
	// and time to ship a snapshot to the coordinator's store.
	PauseMean, ShipMean time.Duration
}

// histogramMean is the mean of an executor's histogram name, in seconds.
func histogramMean(t testing.TB, addr, name string) time.Duration {
	n := metricSum(t, addr, name+"_count")
	if n == 0 {
		return 0
	}
	return time.Duration(metricSum(t, addr, name+"_sum") / n * float64(time.Second))
}

// checkpointResume runs the end-to-end test of a checkpointed instance on
// db: a coordinator and two rccd executor processes, arena spawned with
// --checkpoint-every 1s (and an instance without checkpoints beside it),
// players (pkg/play, joining through the coordinator) sending inputs all
// along; the executor running both is killed with SIGKILL. The
// checkpointed instance runs on the other executor, under the same id,
// resumed at most one interval behind the frame it had reached; its
// players reconnect by themselves and find their avatars (resumed); and the
// input log of the killed executor up to the checkpoint, followed by the
// resumed instance's, replays from init to the same state bytes at every
// frame. The instance without checkpoints is lost, as before.
func checkpointResume(t testing.TB, db string, players int) resumeFigures {
	arena := arenaModule(t)
	c := newCluster(t, db)
	xa := c.executor("ex-a")
	c.deploy("arena", arena)
	in := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600, MaxPlayers: 32, CheckpointEveryMs: 1000, Record: true})
	plain := c.spawn(&rccv1.SpawnRequest{Game: "arena", LeaseSeconds: 600, Labels: map[string]string{"kind": "plain"}})
	c.waitInstance(in.Id, "running", isState(rccv1.InstanceState_INSTANCE_STATE_RUNNING))
	c.waitInstance(plain.Id, "running", isState(rccv1.InstanceState_INSTANCE_STATE_RUNNING))
	xb := c.executor("ex-b")
	if in.CheckpointEveryMs != 1000 {
		t.Fatalf("spawned with checkpoint_every_ms %d, want 1000", in.CheckpointEveryMs)
	}

	// The players join through the coordinator, for their first
	// connection and every reconnection.
	var sessions []*play.Session
	var lastState sync.Map // player -> time of its last state
	for p := range players {
		player := fmt.Sprintf("p%02d", p)
		s, err := play.Join(context.Background(), c.admin, play.JoinRequest{Game: "arena", Player: player},
			play.Config{RawStates: true, ReconnectFor: time.Minute, OnEvent: func(e play.Event) {
				if e.Kind == play.EventState {
					lastState.Store(player, e.At)
				}
			}})
		if err != nil {
			t.Fatalf("%s: %v", player, err)
		}
		t.Cleanup(func() { s.Close() })
		sessions = append(sessions, s)
	}
	for _, s := range sessions {
		testenv.WaitFor(t, "the players in the checkpointed instance", 30*time.Second, func() bool {
			st := s.Stats()
			return st.State == play.Connected && st.Welcome.InstanceID == in.Id
		})
	}
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Second / 30)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				x := int8(100)
				if (n/40+i)%2 == 1 {
					x = -100
				}
				if s.Send([]byte{byte(x), byte(int8(50)), 0}) == nil {
					sent.Add(1)
				}
			}
		}()
	}
	t.Cleanup(func() { close(stop); wg.Wait() })

	// Wait for two checkpoints, and for the input log on the killed
	// executor's disk to reach the newest (it is flushed every 60 frames).
	logA := filepath.Join(xa.logLine("executor started")["data_dir"].(string), "executor", "replays", in.Id+".rcclog")
	var cur *rccv1.Instance
	testenv.WaitFor(t, "two checkpoints, the input log past the newest", 60*time.Second, func() bool {
		var err error
		cur, err = c.admin.Instances.Get(context.Background(), &rccv1.GetInstanceRequest{Id: in.Id})
		return err == nil && cur.CheckpointFrame >= 70 && lastLoggedFrame(t, logA) >= cur.CheckpointFrame
	})
	// The kill falls anywhere in the first two thirds of the interval
	// after that checkpoint (the input log on the disk of the killed
	// executor, flushed every 60 frames, is past that checkpoint but maybe
	// not past the next one), so anywhere between two shipments of frames.
	seen := func() uint64 {
		var f uint64
		for _, s := range sessions {
			n, _ := s.LastState(nil)
			f = max(f, n)
		}
		return f
	}
	killAt := cur.CheckpointFrame + uint64(rand.IntN(40))
	testenv.WaitFor(t, fmt.Sprintf("frame %d", killAt), 30*time.Second, func() bool { return seen() >= killAt })
	reached := seen()
	sentBefore := int(sent.Load())
	pauseMean := histogramMean(t, xa.metrics, "rcc_executor_checkpoint_pause_seconds")
	shipMean := histogramMean(t, xa.metrics, "rcc_executor_checkpoint_ship_seconds")
	xa.kill9()
	killed := time.Now()
	reached = max(reached, lastLoggedFrame(t, logA))

	var moved *rccv1.Instance
	testenv.WaitFor(t, "the instance running on the other executor", 60*time.Second, func() bool {
		var err error
		moved, err = c.admin.Instances.Get(context.Background(), &rccv1.GetInstanceRequest{Id: in.Id})
		return err == nil && moved.ExecutorId == xb.id && moved.State == rccv1.InstanceState_INSTANCE_STATE_RUNNING
	})
	fig := resumeFigures{Players: players, Reached: reached, Running: time.Since(killed), InputsSent: sentBefore,
		PauseMean: pauseMean, ShipMean: shipMean}
	rec := xb.logLine("instance resumed from a checkpoint")
	fig.Resumed, fig.Snapshot = uint64(rec["frame"].(float64)), uint64(rec["snapshot_frame"].(float64))
	fig.Replay = time.Duration(rec["resume_ms"].(float64) * float64(time.Millisecond))
	fig.SnapshotBytes = int64(xb.logLine("resuming from a checkpoint")["snapshot_bytes"].(float64))
	if d := rec["diverged"].(float64); d != 0 {
		t.Errorf("%v frames diverged in the replay of the checkpoint", d)
	}
	// At most one interval (60 frames at 60 Hz) behind what it had reached.
	if fig.Resumed+60 < fig.Reached || fig.Resumed < fig.Snapshot || fig.Snapshot == 0 {
		t.Errorf("resumed at frame %d (checkpoint %d), the instance had reached %d: more than one interval behind", fig.Resumed, fig.Snapshot, fig.Reached)
	}

	// The players come back by themselves, to their avatars.
	for i, s := range sessions {
		testenv.WaitFor(t, fmt.Sprintf("p%02d resumed on the other executor", i), 60*time.Second, func() bool {
			st := s.Stats()
			v, ok := lastState.Load(fmt.Sprintf("p%02d", i))
			return st.State == play.Connected && st.Welcome.InstanceID == in.Id && ok && v.(time.Time).After(killed)
		})
		if st := s.Stats(); !st.Welcome.Resumed {
			t.Errorf("p%02d's welcome after the kill: not resumed (a new avatar)", i)
		}
		fig.Playing = max(fig.Playing, time.Since(killed))
	}

	// The new executor checkpoints it in turn.
	c.waitInstance(in.Id, "checkpointed on the other executor", func(i *rccv1.Instance) bool {
		return i.ExecutorId == xb.id && i.CheckpointFrame > fig.Resumed
	})

	// The instance without checkpoints is lost.
	c.waitInstance(plain.Id, "lost", isState(rccv1.InstanceState_INSTANCE_STATE_LOST))

	// Bit-exact: the killed executor's log to the checkpoint, then the
	// resumed instance's, replay to the same states from init.
	logB := filepath.Join(xb.logLine("executor started")["data_dir"].(string), "executor", "replays", in.Id+".rcclog")
	testenv.WaitFor(t, "120 frames in the resumed instance's log", 60*time.Second, func() bool {
		return lastLoggedFrame(t, logB) >= fig.Resumed+120
	})
	var joined bytes.Buffer
	headerA, framesA := readLog(t, logA)
	_, framesB := readLog(t, logB)
	joined.Write(headerA)
	for _, f := range framesA {
		if f.Frame <= fig.Snapshot {
			writeFrame(t, &joined, f)
		}
	}
	var after uint64
	for _, f := range framesB {
		if f.Frame > fig.Snapshot {
			writeFrame(t, &joined, f)
			after = f.Frame
		}
	}
	for _, f := range framesA {
		if f.Frame <= fig.Snapshot {
			fig.InputsKept += countInputs(f)
		}
	}
	for _, f := range framesB {
		if f.Frame > fig.Snapshot && f.Frame <= fig.Resumed {
			fig.InputsKept += countInputs(f)
		}
	}
	eng, err := wasmhost.NewEngine(context.Background(), wasmhost.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(context.Background())
	res, err := localrun.Replay(context.Background(), eng, arena, &joined, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Match || res.Error != "" || res.Frames != after {
		t.Fatalf("replay of the history, killed executor then resumed one: match %v at frame %d of %d (diverged at %d): %s",
			res.Match, res.Frames, after, res.DivergedAt, res.Error)
	}
	t.Logf("kill -9 at frame %d: resumed at frame %d from the checkpoint of frame %d (%d bytes) on %s, running %v after the kill, players back after %v; replay of the history bit-exact through frame %d",
		fig.Reached, fig.Resumed, fig.Snapshot, fig.SnapshotBytes, xb.id, fig.Running.Round(time.Millisecond), fig.Playing.Round(time.Millisecond), res.Frames)
	return fig
}

func countInputs(f replay.Frame) int {
	n := 0
	for _, e := range f.Events {
		if e.Kind == replay.KindInput {
			n++
		}
	}
	return n
}

// readLog reads an input log's header line and its complete frame lines.
func readLog(t testing.TB, path string) ([]byte, []replay.Frame) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1] // a line being written is not read
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	var header []byte
	var frames []replay.Frame
	for sc.Scan() {
		if header == nil {
			header = append(bytes.Clone(sc.Bytes()), '\n')
			continue
		}
		var f replay.Frame
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		frames = append(frames, f)
	}
	return header, frames
}

// lastLoggedFrame is the last complete frame of an input log (0 when
// there is none yet).
func lastLoggedFrame(t testing.TB, path string) uint64 {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	_, frames := readLog(t, path)
	if len(frames) == 0 {
		return 0
	}
	return frames[len(frames)-1].Frame
}

func writeFrame(t testing.TB, w *bytes.Buffer, f replay.Frame) {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(append(b, '\n'))
}

// BenchmarkCheckpointRecovery is the end-to-end test with 16 players, on
// SQLite: one kill -9 per iteration (run it with -benchtime 1x -count N,
// each run a cluster of its own, and take the medians over the runs). It
// reports the time from the kill to the instance running elsewhere (the
// lease included) and to every player getting states again, the frames
// and inputs lost, the snapshot's size, the killed executor's mean
// snapshot pause and shipping time, and the target's restore and replay.
func BenchmarkCheckpointRecovery(b *testing.B) {
	var x resumeFigures
	for b.Loop() {
		x = checkpointResume(b, "sqlite://"+filepath.Join(b.TempDir(), "rcc.db"), 16)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(x.Running), "running-ms")
	b.ReportMetric(ms(x.Playing), "playing-ms")
	b.ReportMetric(float64(x.Reached)-float64(x.Resumed), "frames-lost")
	b.ReportMetric(float64(x.InputsSent-x.InputsKept), "inputs-lost")
	b.ReportMetric(float64(x.InputsSent), "inputs-sent")
	b.ReportMetric(float64(x.SnapshotBytes)/1024, "snapshot-KiB")
	b.ReportMetric(ms(x.PauseMean), "pause-mean-ms")
	b.ReportMetric(ms(x.ShipMean), "ship-mean-ms")
	b.ReportMetric(ms(x.Replay), "replay-ms")
	b.Logf("%+v", x)
}
