package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
)

// rccctl runs the command line in-process and returns its exit code and
// output.
func rccctl(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// arenaModule writes the arena game's module for one test.
func arenaModule(t *testing.T) string { return gamebuildtest.ArenaFile(t) }

const corpus = "../../pkg/wasmhost/testdata/"

func TestGameCheck(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"valid", []string{"game", "check", corpus + "recorder.wasm"}, exitOK, []string{"result    OK"}},
		{"forbidden import", []string{"game", "check", corpus + "bad_import.wasm"}, exitFail,
			[]string{"2 problem(s)", "forbidden_import: import env.abort: only wasi_snapshot_preview1 may be imported"}},
		{"not wasm", []string{"game", "check", corpus + "not_wasm.wasm"}, exitFail, []string{"malformed"}},
		{"json", []string{"game", "check", "--output", "json", corpus + "bad_exports.wasm"}, exitFail,
			[]string{`"code": "missing_export"`, `"code": "export_type"`}},
		{"missing file", []string{"game", "check", "nope.wasm"}, exitFail, nil},
		{"no argument", []string{"game", "check"}, exitUsage, nil},
		{"bad output", []string{"game", "check", "--output", "yaml", corpus + "recorder.wasm"}, exitUsage, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := rccctl(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			for _, s := range tt.contains {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

type runJSON struct {
	Ticks       int      `json:"ticks"`
	StateSHA256 string   `json:"state_sha256"`
	StateBytes  int      `json:"state_bytes"`
	TickP50     *float64 `json:"tick_p50_ms"`
	TickP99     *float64 `json:"tick_p99_ms"`
	MemoryBytes uint64   `json:"memory_bytes"`
	ExitReason  string   `json:"exit_reason"`
	Error       string   `json:"error"`
}

func gameRun(t *testing.T, wantCode int, args ...string) runJSON {
	t.Helper()
	code, out, errOut := rccctl(t, append([]string{"game", "run", "--output", "json", "--quiet"}, args...)...)
	if code != wantCode {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, wantCode, out, errOut)
	}
	var r runJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	return r
}

func TestGameRunArenaIsDeterministic(t *testing.T) {
	arena := arenaModule(t)
	a := gameRun(t, exitOK, arena, "--ticks", "600", "--players", "8", "--seed", "42")
	b := gameRun(t, exitOK, arena, "--ticks", "600", "--players", "8", "--seed", "42")
	if a.Ticks != 600 || a.StateSHA256 == "" || a.StateBytes == 0 || a.MemoryBytes == 0 || a.TickP50 == nil || a.TickP99 == nil {
		t.Fatalf("run = %+v", a)
	}
	if a.StateSHA256 != b.StateSHA256 {
		t.Errorf("same module, seed and input gave %s then %s", a.StateSHA256, b.StateSHA256)
	}
	c := gameRun(t, exitOK, arena, "--ticks", "600", "--players", "8", "--seed", "43")
	if c.StateSHA256 == a.StateSHA256 {
		t.Error("a different seed gave the same state")
	}
}

func TestGameRunScriptAndStateOut(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "in.jsonl")
	os.WriteFile(script, []byte(`{"frame":2,"player":"zed","kind":"join"}
{"frame":2,"player":"p1","text":"x"}
{"frame":3,"player":"zed","data":"eQ=="}
`), 0o644)
	stateOut := filepath.Join(dir, "state.bin")
	r := gameRun(t, exitOK, corpus+"recorder.wasm", "--ticks", "3", "--players", "1", "--input", script, "--state-out", stateOut)
	state, err := os.ReadFile(stateOut)
	if err != nil {
		t.Fatal(err)
	}
	// The recorder's last frame: zed's input "y", then the tick.
	if string(state) != "IzyT" || r.StateBytes != 4 {
		t.Errorf("final state = %q (%d bytes), want IzyT", state, r.StateBytes)
	}

	os.WriteFile(script, []byte(`{"frame":0,"player":"p1"}`+"\n"), 0o644)
	code, _, errOut := rccctl(t, "game", "run", corpus+"recorder.wasm", "--input", script)
	if code != exitFail || !strings.Contains(errOut, "input line 1: frame 0: frames start at 1") {
		t.Errorf("bad script: exit %d, stderr %q", code, errOut)
	}
}

func TestGameRunReportsFailure(t *testing.T) {
	r := gameRun(t, exitFail, corpus+"out_of_bounds.wasm", "--ticks", "5")
	if r.ExitReason != "trap" || !strings.Contains(r.Error, "out of bounds memory access") || r.Ticks != 0 {
		t.Errorf("run = %+v, want a trap on the first tick", r)
	}
}

func TestGameBuild(t *testing.T) {
	out := filepath.Join(t.TempDir(), "arena.wasm")
	code, stdout, stderr := rccctl(t, "game", "build", "../../games/arena", "--out", out)
	if code != exitOK || !strings.Contains(stdout, "built "+out) {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	t.Setenv("PATH", t.TempDir())
	code, _, stderr = rccctl(t, "game", "build", "../../games/arena", "--out", out)
	if code != exitFail || !strings.Contains(stderr, "Go toolchain") {
		t.Errorf("without go: exit %d, stderr %q", code, stderr)
	}
}

func TestGameReplayArena(t *testing.T) {
	arena := arenaModule(t)
	log := filepath.Join(t.TempDir(), "arena.log")
	run := gameRun(t, exitOK, arena, "--ticks", "3000", "--players", "8", "--seed", "11", "--record", log)

	code, out, errOut := rccctl(t, "game", "replay", arena, log, "--every", "1000", "--output", "json")
	if code != exitOK {
		t.Fatalf("replay exit %d\n%s\n%s", code, out, errOut)
	}
	var r struct {
		StateSHA256 string `json:"state_sha256"`
		Match       bool   `json:"match"`
		Frames      int    `json:"frames"`
		Checkpoints []struct {
			Frame int `json:"frame"`
		} `json:"checkpoints"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if !r.Match || r.Frames != 3000 || r.StateSHA256 != run.StateSHA256 || len(r.Checkpoints) != 3 {
		t.Errorf("replay = %+v, want 3000 matching frames ending in %s", r, run.StateSHA256)
	}

	// The recorder module did not make this log: it diverges at once.
	code, out, _ = rccctl(t, "game", "replay", corpus+"recorder.wasm", log)
	if code != exitFail || !strings.Contains(out, "DIVERGED  at frame 1:") || !strings.Contains(out, "is not the one recorded") {
		t.Errorf("replay with another module: exit %d\n%s", code, out)
	}
}
