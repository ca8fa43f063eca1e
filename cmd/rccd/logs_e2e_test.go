package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/protocol"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

// TestE2ELogsOfAPanic: a game whose Go guest panics on a player's input,
// on rccd coordinator and executor processes. rccctl instance logs -f (the
// binary) shows its lines and the panic text, then ends with the instance;
// instance get and the player's close frame carry the panic text in the
// reason; the log stays readable once the executor is gone.
func TestE2ELogsOfAPanic(t *testing.T) {
	wasm := gamebuildtest.Panicky(t)
	dir := t.TempDir()
	c := newCluster(t, "sqlite://"+filepath.Join(dir, "rcc.db"))
	x := c.executor("ex-a")
	c.deploy("panicky", wasm)
	params, _ := structpb.NewStruct(map[string]any{"panic_at": 1e6})
	in := c.spawn(&rccv1.SpawnRequest{Game: "panicky", LeaseSeconds: 600, Params: params})
	c.waitInstance(in.Id, "running", isState(rccv1.InstanceState_INSTANCE_STATE_RUNNING))
	env := []string{"RCC_ADDR=" + c.addr, "RCC_TOKEN=" + string(mustToken(t, c.issuer))}

	follow := exec.Command(ctlBinary(t), "instance", "logs", in.Id, "-f")
	follow.Env = append(follow.Environ(), env...)
	var out, errOut bytes.Buffer
	follow.Stdout, follow.Stderr = &out, &errOut
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- follow.Wait() }()
	t.Cleanup(func() { _ = follow.Process.Kill() })

	j := c.join("panicky", "alice")
	u, _ := protocol.PlayURL(j.WsUrl, j.InstanceId, j.Ticket)
	alice := dialPlayer(t, u, "alice")
	b, _ := protocol.Encode(&protocol.Input{Data: []byte("panic")})
	if err := alice.conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		t.Fatal(err)
	}

	const panicText = "panic: boom on input from alice"
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("rccctl instance logs -f: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("rccctl instance logs -f did not end with the instance:\n%s", out.String())
	}
	got := out.String()
	for _, want := range []string{
		"frame 0 stdout: panicky ready, panicking at frame 1000000\n",
		"player_joined: alice\n",
		"stdout: hello alice\n",
		"stderr: alice asked for it\n",
		"stderr: " + panicText + "\n",
		"failed: trap in on_input: unreachable; stderr: " + panicText + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rccctl instance logs -f lacks %q:\n%s", want, got)
		}
	}
	if lines := strings.Split(strings.TrimSpace(got), "\n"); !strings.Contains(lines[len(lines)-1], " failed: ") {
		t.Errorf("the last line is not the failure: %q", lines[len(lines)-1])
	}

	// The reason everywhere: the instance, and the player's close frame.
	c.waitInstance(in.Id, "failed", isState(rccv1.InstanceState_INSTANCE_STATE_FAILED))
	if o, err := rccctl(t, env, "instance", "get", in.Id); err != nil || !strings.Contains(o, "trap in on_input: unreachable; stderr: "+panicText) {
		t.Errorf("rccctl instance get: %v\n%s", err, o)
	}
	<-alice.done
	var ce *websocket.CloseError
	if !errors.As(alice.closed, &ce) || ce.Code != int(protocol.CloseInstanceFailed) || !strings.Contains(ce.Text, panicText) ||
		len(ce.Text) > protocol.MaxCloseReasonBytes {
		t.Errorf("close frame %v, want %d with %q", alice.closed, protocol.CloseInstanceFailed, panicText)
	}

	// Once the executor is gone, the log is still there, as JSON Lines.
	x.stop()
	o, err := rccctl(t, env, "instance", "logs", in.Id, "--tail", "3", "--output", "json")
	if err != nil {
		t.Fatalf("rccctl instance logs --output json: %v\n%s", err, o)
	}
	lines := strings.Split(strings.TrimSpace(o), "\n")
	if len(lines) != 3 {
		t.Fatalf("--tail 3 gave %d lines:\n%s", len(lines), o)
	}
	var last map[string]any
	for _, l := range lines {
		last = nil
		if err := json.Unmarshal([]byte(l), &last); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if _, ok := last["seq"].(float64); !ok {
			t.Errorf("seq is not a JSON number: %s", l)
		}
		if ts, _ := last["time"].(string); ts == "" {
			t.Errorf("no time: %s", l)
		} else if _, err := time.Parse(time.RFC3339, ts); err != nil {
			t.Errorf("time %q is not RFC 3339: %v", ts, err)
		}
	}
	if last["stream"] != "event" || last["event"] != "failed" || !strings.Contains(last["text"].(string), panicText) {
		t.Errorf("last entry %v", last)
	}
	if o, err := rccctl(t, env, "instance", "logs", "i-nope"); err == nil || !strings.Contains(o, "instance i-nope not found") {
		t.Errorf("rccctl instance logs of an unknown id: %v\n%s", err, o)
	}
}
