package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func TestLogWriter(t *testing.T) {
	at := time.Date(2026, 12, 1, 21, 30, 0, 123e6, time.UTC)
	entries := []*rccv1.LogEntry{
		{InstanceId: "i-1", Seq: 1, Time: timestamppb.New(at), Stream: rccv1.LogStream_LOG_STREAM_EVENT, Event: "started",
			Text: "running panicky version 1 at 60 Hz, 16 players at most"},
		{InstanceId: "i-1", Seq: 2, Time: timestamppb.New(at.Add(time.Second)), Frame: 60, Stream: rccv1.LogStream_LOG_STREAM_STDERR,
			Text: "panic: <boom> & \"more\""},
	}
	var b bytes.Buffer
	w := logWriter{out: &b, json: true}
	for _, e := range entries {
		if err := w.write(e); err != nil {
			t.Fatal(err)
		}
	}
	want := `{"instance_id":"i-1","seq":1,"time":"2026-12-01T21:30:00.123Z","frame":0,"stream":"event","event":"started","text":"running panicky version 1 at 60 Hz, 16 players at most"}
{"instance_id":"i-1","seq":2,"time":"2026-12-01T21:30:01.123Z","frame":60,"stream":"stderr","event":"","text":"panic: <boom> & \"more\""}
`
	if b.String() != want {
		t.Errorf("JSON Lines:\n%s\nwant\n%s", b.String(), want)
	}

	b.Reset()
	w.json = false
	for _, e := range entries {
		if err := w.write(e); err != nil {
			t.Fatal(err)
		}
	}
	local := func(d time.Duration) string { return at.Add(d).Local().Format("2006-01-02 15:04:05.000") }
	want = local(0) + " frame 0 started: running panicky version 1 at 60 Hz, 16 players at most\n" +
		local(time.Second) + " frame 60 stderr: panic: <boom> & \"more\"\n"
	if b.String() != want {
		t.Errorf("text:\n%s\nwant\n%s", b.String(), want)
	}
}

func TestLogsCommandErrors(t *testing.T) {
	addr, token := startCoordinator(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	conn := []string{"--addr", addr, "--token", token}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no id", []string{"instance", "logs"}, exitUsage, "accepts 1 arg"},
		{"unknown id", []string{"instance", "logs", "i-nope"}, exitFail, "instance i-nope not found"},
		{"unknown id followed", []string{"instance", "logs", "i-nope", "-f"}, exitFail, "instance i-nope not found"},
		{"negative tail", []string{"instance", "logs", "i-1", "--tail", "-1"}, exitUsage, "--tail -1"},
		{"negative since", []string{"instance", "logs", "i-1", "--since", "-5m"}, exitUsage, "--since -5m0s"},
		{"bad since", []string{"instance", "logs", "i-1", "--since", "soon"}, exitUsage, "soon"},
		{"bad output", []string{"instance", "logs", "i-1", "--output", "yaml"}, exitUsage, "want table or json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := rccctl(t, append(tc.args, conn...)...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, want %d; stderr %q, want %q (stdout %q)", code, tc.code, errOut, tc.want, out)
			}
		})
	}
}
