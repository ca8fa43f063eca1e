package localrun

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/replay"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

func module(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../wasmhost/testdata/" + name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func engine(t *testing.T) *wasmhost.Engine {
	t.Helper()
	e, err := wasmhost.NewEngine(context.Background(), wasmhost.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

func record(t *testing.T, e *wasmhost.Engine, wasm []byte, opts Options) (*Result, []byte) {
	t.Helper()
	var log bytes.Buffer
	opts.Record = &log
	res, err := Run(context.Background(), e, wasm, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() {
		t.Fatalf("run failed: %s", res.Error)
	}
	return res, log.Bytes()
}

func TestRecordAndReplay(t *testing.T) {
	e := engine(t)
	wasm := module(t, "recorder")
	res, log := record(t, e, wasm, Options{Game: "rec", Ticks: 50, Players: 3, Seed: 9, InputEvery: 7})

	got, err := Replay(context.Background(), e, wasm, bytes.NewReader(log), 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Match || !got.ModuleMatches || got.Frames != 50 || got.StateSHA256 != res.StateSHA256 {
		t.Fatalf("replay = %+v, want a match of 50 frames ending in %s", got, res.StateSHA256)
	}
	var frames []uint64
	for _, c := range got.Checkpoints {
		frames = append(frames, c.Frame)
	}
	if len(frames) != 3 || frames[0] != 20 || frames[1] != 40 || frames[2] != 50 {
		t.Errorf("checkpoints at %v, want 20 40 50", frames)
	}
}

// TestReplayKeepsLimits replays a run that needed more than the default
// frame budget.
func TestReplayKeepsLimits(t *testing.T) {
	e := engine(t)
	wasm := module(t, "recorder")
	_, log := record(t, e, wasm, Options{Game: "rec", Ticks: 5, Players: 1, FrameFuel: 123_456})
	if !bytes.Contains(log, []byte(`"frame_fuel":123456`)) {
		t.Fatalf("the log's header lacks the frame budget:\n%s", log[:bytes.IndexByte(log, '\n')])
	}
	// Rewrite the budget to one no frame fits in: the replay must use it.
	tight := bytes.Replace(log, []byte(`"frame_fuel":123456`), []byte(`"frame_fuel":5`), 1)
	got, err := Replay(context.Background(), e, wasm, bytes.NewReader(tight), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ExitReason != "fuel_exhausted" {
		t.Errorf("replay with a 5-fuel budget = %+v, want fuel_exhausted", got)
	}
}

func TestReplayFindsFirstDivergence(t *testing.T) {
	e := engine(t)
	wasm := module(t, "recorder")
	_, log := record(t, e, wasm, Options{Game: "rec", Ticks: 30, Players: 2, Seed: 1, InputEvery: 10})

	// Change one input of frame 20: the recorder's state shows inputs.
	var out bytes.Buffer
	r, err := replay.NewReader(bytes.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := replay.NewWriter(&out, r.Header())
	for {
		f, err := r.Next()
		if err != nil {
			break
		}
		if f.Frame == 20 {
			f.Events[0].Data = []byte{0xEE, 0xEE, 0xEE}
		}
		w.WriteFrame(f)
	}
	w.Flush()
	got, err := Replay(context.Background(), e, wasm, &out, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Match || got.DivergedAt != 20 || got.Expected == got.Got {
		t.Errorf("replay = %+v, want divergence at frame 20", got)
	}

	// Another module: escape_fs records different things in init.
	got, err = Replay(context.Background(), e, module(t, "escape_fs"), bytes.NewReader(log), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ModuleMatches || got.Match || got.DivergedAt != 1 {
		t.Errorf("replay with another module = %+v, want divergence at frame 1", got)
	}
}

func TestReplayRejectsMalformedLogs(t *testing.T) {
	e := engine(t)
	wasm := module(t, "recorder")
	tests := map[string]string{
		"empty":        "",
		"not json":     "hello\n",
		"wrong format": `{"format":"other/1"}` + "\n",
		"frames out of order": `{"format":"rcc-replay/1","game":"g","seed":1}` + "\n" +
			`{"f":2}` + "\n" + `{"f":1}` + "\n",
		"bad kind": `{"format":"rcc-replay/1","game":"g","seed":1}` + "\n" + `{"f":1,"e":[{"k":"jump","p":"a"}],"h":"x"}` + "\n",
	}
	for name, log := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Replay(context.Background(), e, wasm, strings.NewReader(log), 0, nil)
			if !errors.Is(err, replay.ErrFormat) {
				t.Errorf("err = %v, want ErrFormat", err)
			}
		})
	}
}

func TestRunReportsInstanceFailure(t *testing.T) {
	res, err := Run(context.Background(), engine(t), module(t, "proc_exit"), Options{Game: "x", Ticks: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitReason != "exit" || res.Ticks != 0 || res.StateSHA256 != "" {
		t.Errorf("result = %+v, want exit on the first frame", res)
	}
}

func TestRunLimits(t *testing.T) {
	e := engine(t)
	tests := []struct {
		name       string
		module     string
		opts       Options
		wantReason string
		wantError  string
		wantTicks  int
	}{
		{"defaults", "recorder", Options{}, "", "", 5},
		{"large budgets", "recorder", Options{InitFuel: 2_000_000_000, FrameFuel: 10_000_000_000}, "", "", 5},
		{"frame fuel too small", "recorder", Options{FrameFuel: 10}, "fuel_exhausted", "budget of 10 fuel", 0},
		{"init fuel too small", "recorder", Options{InitFuel: 10}, "fuel_exhausted", "in init", 0},
		{"memory below the engine's cap", "memory_bomb", Options{MemoryLimitPages: 4}, "out_of_memory", "of 4 pages", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Game, tc.opts.Ticks, tc.opts.Players = "x", 5, 2
			res, err := Run(context.Background(), e, module(t, tc.module), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitReason != tc.wantReason || res.Ticks != tc.wantTicks {
				t.Fatalf("exit reason %q after %d ticks (%s), want %q after %d", res.ExitReason, res.Ticks, res.Error, tc.wantReason, tc.wantTicks)
			}
			if !strings.Contains(res.Error, tc.wantError) {
				t.Fatalf("error %q, want it to contain %q", res.Error, tc.wantError)
			}
		})
	}
}
