package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestSelfLoad(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--self", "--module", "../../pkg/wasmhost/testdata/recorder.wasm",
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

func TestFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--players", "0", "--self"}, "--players must be positive"},
		{[]string{"--url", "ws://x"}, "required without --self"},
		{[]string{"--self", "--output", "yaml"}, "want table or json"},
		{[]string{"--self", "--per-instance", "100"}, "--per-instance"},
		{[]string{"--self", "--players", "many"}, "invalid argument"},
		{[]string{"--self", "--no-such-flag"}, "unknown flag"},
		{[]string{"--self", "extra"}, `unexpected argument "extra"`},
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
