package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/testenv"
)

// TestMain runs rcc-load itself when the test binary is started as the
// executor process of --separate.
func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) != "" {
		main()
	}
	os.Exit(m.Run())
}

// TestSeparateLoad: with --separate the executor runs in a child process,
// pinned with --executor-cpus, and the report has that process's CPU per
// state and memory per player besides the executor's own figures.
func TestSeparateLoad(t *testing.T) {
	testenv.MustHaveCommand(t, "taskset", "make setup (Debian util-linux)")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--self", "--separate", "--executor-cpus", "0",
		"--module", "../../pkg/wasmhost/testdata/recorder.wasm", "--snapshot-hz", "60",
		"--players", "6", "--per-instance", "4", "--duration", "1s", "--rate", "30", "--output", "json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rep struct {
		Connected    int     `json:"connected"`
		States       int     `json:"states_received"`
		CPUSeconds   float64 `json:"executor_cpu_seconds"`
		CPUPerState  float64 `json:"executor_cpu_us_per_state"`
		RSS          int64   `json:"executor_rss_bytes"`
		IdleRSS      int64   `json:"executor_rss_before_players_bytes"`
		RSSPerPlayer float64 `json:"executor_rss_per_player_bytes"`
		CPUs         string  `json:"executor_cpus"`
		Latency      struct {
			Count int `json:"count"`
		} `json:"input_to_broadcast_ms"`
		Server *struct {
			Frames uint64 `json:"frames"`
		} `json:"server"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if rep.Connected != 6 || rep.States < 6*30 || rep.Latency.Count < 6*15 {
		t.Errorf("report: %s", stdout.String())
	}
	if rep.CPUSeconds <= 0 || rep.CPUPerState <= 0 || rep.RSS < 1<<20 || rep.IdleRSS <= 0 || rep.CPUs != "0" {
		t.Errorf("executor process figures: %s", stdout.String())
	}
	if want := float64(rep.RSS-rep.IdleRSS) / 6; rep.RSSPerPlayer != want {
		t.Errorf("RSS per player %.0f, want %.0f", rep.RSSPerPlayer, want)
	}
	// The executor's frames come from the child, not from this process.
	if rep.Server == nil || rep.Server.Frames == 0 {
		t.Errorf("no executor figures: %s", stdout.String())
	}
}

// TestSeparateLoadIOUring: with --io-uring the executor process sends its
// players' states through io_uring, and every player gets them.
func TestSeparateLoadIOUring(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--self", "--separate", "--io-uring",
		"--module", "../../pkg/wasmhost/testdata/recorder.wasm", "--snapshot-hz", "60",
		"--players", "6", "--per-instance", "4", "--duration", "1s", "--rate", "30", "--output", "json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rep struct {
		Connected int `json:"connected"`
		States    int `json:"states_received"`
		Latency   struct {
			Count int `json:"count"`
		} `json:"input_to_broadcast_ms"`
		Server *struct {
			Dropped float64 `json:"state_frames_dropped"`
		} `json:"server"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if rep.Connected != 6 || rep.States < 6*30 || rep.Latency.Count < 6*15 || rep.Server == nil || rep.Server.Dropped != 0 {
		t.Errorf("report: %s", stdout.String())
	}
}

// TestReadProc reads this process's own figures.
func TestReadProc(t *testing.T) {
	ps, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if ps.rss < 1<<20 || ps.cpusList == "" {
		t.Errorf("%+v", ps)
	}
	busy := 0
	for ps2, _ := readProc(os.Getpid()); ps2.cpu <= ps.cpu; ps2, _ = readProc(os.Getpid()) {
		busy++ // spin until the kernel has counted a clock tick of CPU
	}
	if busy == 0 {
		t.Log("CPU time advanced at once")
	}
}

func TestSelfLoad(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--self", "--module", "../../pkg/wasmhost/testdata/recorder.wasm", "--snapshot-hz", "60",
		"--players", "6", "--per-instance", "4", "--duration", "1s", "--rate", "30", "--output", "json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rep struct {
		Connected int  `json:"connected"`
		States    int  `json:"states_received"`
		Exact     bool `json:"latency_exact"`
		Latency   struct {
			Count int     `json:"count"`
			P50   float64 `json:"p50"`
		} `json:"input_to_broadcast_ms"`
		Server *struct {
			Frames uint64 `json:"frames"`
		} `json:"server"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if rep.Connected != 6 || rep.States < 6*30 || !rep.Exact || rep.Latency.Count < 6*15 || rep.Latency.P50 <= 0 {
		t.Errorf("report: %s", stdout.String())
	}
	if rep.Server == nil || rep.Server.Frames == 0 {
		t.Errorf("no executor figures: %s", stdout.String())
	}
}

// TestSelfLoadCheck: players asking for deltas, checked against a witness
// on full states, reconstruct every state; with --full-states no delta is sent;
// the report has the bandwidth per player either way.
func TestSelfLoadCheck(t *testing.T) {
	type report struct {
		Connected      int     `json:"connected"`
		States         int64   `json:"states_received"`
		Bytes          int64   `json:"bytes_received"`
		Seconds        float64 `json:"seconds"`
		BytesPerPlayer float64 `json:"bytes_per_player_per_second"`
		Deltas         int64   `json:"delta_states"`
		Keyframes      int64   `json:"keyframes"`
		Check          *struct {
			States     int `json:"states"`
			Mismatches int `json:"mismatches"`
		} `json:"check"`
	}
	runLoad := func(extra ...string) report {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args := append([]string{"--self", "--module", "../../pkg/wasmhost/testdata/recorder.wasm",
			"--players", "4", "--per-instance", "2", "--duration", "1s", "--rate", "30", "--output", "json"}, extra...)
		if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("%q: exit %d: %s", extra, code, stderr.String())
		}
		var rep report
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("%v: %s", err, stdout.String())
		}
		// At the default snapshot rate: 30 states a second on deltas.
		if rep.Connected != 4 || rep.States < 4*20 || rep.Seconds <= 0 {
			t.Fatalf("%q: report %+v", extra, rep)
		}
		if want := float64(rep.Bytes) / rep.Seconds / 4; rep.BytesPerPlayer < want*0.99 || rep.BytesPerPlayer > want*1.01 {
			t.Errorf("%q: %.0f bytes/s per player, want bytes/seconds/players = %.0f", extra, rep.BytesPerPlayer, want)
		}
		return rep
	}
	checked := runLoad("--check")
	if c := checked.Check; c == nil || c.States < 4*20 || c.Mismatches != 0 {
		t.Errorf("--check: %+v", c)
	}
	// The recorder's states are a few bytes, smaller as state frames than
	// as deltas, so the executor sends them whole (pkg/executor's and
	// pkg/play's tests cover deltas on arena); none may be counted twice.
	if checked.Deltas+checked.Keyframes > checked.States {
		t.Errorf("--check: %d deltas and %d keyframes of %d states", checked.Deltas, checked.Keyframes, checked.States)
	}
	full := runLoad("--full-states")
	if full.Deltas != 0 || full.Keyframes != 0 || full.Check != nil {
		t.Errorf("--full-states: %d deltas, %d keyframes, check %v", full.Deltas, full.Keyframes, full.Check)
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--players", "0", "--self"}, "--players must be positive"},
		{[]string{"--url", "ws://x"}, "required without --self"},
		{[]string{"--self", "--output", "yaml"}, "want table or json"},
		{[]string{"--self", "--per-instance", "100"}, "--per-instance"},
		{[]string{"--self", "--snapshot-hz", "-1"}, "--snapshot-hz"},
		{[]string{"--self", "--players", "many"}, "invalid argument"},
		{[]string{"--self", "--no-such-flag"}, "unknown flag"},
		{[]string{"--self", "extra"}, `unexpected argument "extra"`},
		{[]string{"--self", "--executor-cpus", "1"}, "need --separate"},
		{[]string{"--url", "ws://x", "--separate"}, "--separate needs --self"},
		{[]string{"--url", "ws://x", "--io-uring"}, "--io-uring needs --self"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tt.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr.String(), tt.want)
		}
	}
}

// TestHelp: --help prints the flags and exits 0.
func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "--per-instance") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

func TestRecorderInputs(t *testing.T) {
	state := []byte("TJaIa\x05Ib\x07Ia\x09LbT")
	if got := recorderInputs(state, 'a'); !bytes.Equal(got, []byte{5, 9}) {
		t.Errorf("inputs of a = %v", got)
	}
	if got := recorderInputs([]byte(`N{"x":1}`), 'a'); len(got) != 0 {
		t.Errorf("inputs in the init record = %v", got)
	}
}

func TestParsePerfStat(t *testing.T) {
	out := "# started on Wed Dec  2 10:00:00 2026\n\n" +
		"1234,,raw_syscalls:sys_enter,5001234,100.00,,\n" +
		"1000,,syscalls:sys_enter_write,5001234,100.00,,\n" +
		"<not counted>,,syscalls:sys_enter_futex,0,0.00,,\n"
	got, err := parsePerfStat(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["total"] != 1234 || got["write"] != 1000 {
		t.Errorf("%v", got)
	}
	if _, err := parsePerfStat("# nothing\n"); err == nil {
		t.Error("no error for output without a count")
	}
}

// TestSeparateLoadSyscalls: --executor-syscalls counts the executor
// process's system calls, at least one write per state received (one
// message per write at most, the coalesced ones aside).
func TestSeparateLoadSyscalls(t *testing.T) {
	testenv.MustHaveCommand(t, "perf", "make setup (Debian linux-perf)")
	if out, err := exec.Command("perf", "stat", "-e", "raw_syscalls:sys_enter", "true").CombinedOutput(); err != nil {
		testenv.Unavailable(t, "perf counting system calls (tracepoints, perf_event_paranoid)", string(out))
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--self", "--separate", "--executor-syscalls", "--full-states",
		"--module", "../../pkg/wasmhost/testdata/recorder.wasm", "--snapshot-hz", "60",
		"--players", "4", "--duration", "1s", "--rate", "10", "--output", "json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rep struct {
		States   float64            `json:"states_received"`
		Syscalls map[string]float64 `json:"executor_syscalls"`
		PerState map[string]float64 `json:"executor_syscalls_per_state"`
		Server   struct {
			Coalesced float64 `json:"coalesced_messages"`
		} `json:"server"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	s := rep.Syscalls
	if rep.States < 4*30 || s["write"] < (rep.States-rep.Server.Coalesced)*0.8 || s["total"] < s["write"]+s["read"] {
		t.Errorf("%v system calls for %.0f states: %s", s, rep.States, stdout.String())
	}
	if p := rep.PerState["total"]; p != s["total"]/rep.States {
		t.Errorf("per state %v, want total/states", p)
	}
}
