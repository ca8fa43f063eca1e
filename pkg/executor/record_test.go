package executor

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/lifecycle"
	"github.com/rcc-games/rcc/pkg/localrun"
	"github.com/rcc-games/rcc/pkg/replay"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/wasmhost"
)

// withReplayDir sets Config.ReplayDir.
func withReplayDir(dir string) harnessOption {
	return func(c *Config, _ *httptestServer) { c.ReplayDir = dir }
}

// playRecorded runs instance id with two players sending inputs until both
// have seen count state frames, then stops it.
func playRecorded(t *testing.T, h *harness, id string, count int) {
	t.Helper()
	alice, _ := h.join("alice", id)
	bob, _ := h.join("bob", id)
	for i := range count {
		if err := alice.send([]byte{127, byte(i), 0}); err != nil {
			t.Fatal(err)
		}
		if err := bob.send([]byte{0, 129, byte(i)}); err != nil {
			t.Fatal(err)
		}
		alice.nextState()
		bob.nextState()
	}
	if err := bob.conn.Close(); err != nil { // bob leaves mid-game
		t.Fatal(err)
	}
	st, err := h.ex.Instance(id)
	if err != nil {
		t.Fatal(err)
	}
	n := st.Frames
	testenv.WaitFor(t, "frames after bob left", 10*time.Second, func() bool {
		st, _ := h.ex.Instance(id)
		return st.Frames > n+10
	})
	if err := h.ex.Stop(context.Background(), id, "test over"); err != nil {
		t.Fatal(err)
	}
}

func TestRecordReplays(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, withReplayDir(dir), func(c *Config, _ *httptestServer) { c.ReconnectGrace = -1 })
	spec := arenaSpec(t, "rec-1", 4)
	spec.Params = json.RawMessage(`{}`)
	f, err := h.ex.CreateReplay(spec.ID)
	if err != nil {
		t.Fatal(err)
	}
	spec.Record = f
	h.start(spec)
	h.start(arenaSpec(t, "plain-1", 4))
	h.run()
	playRecorded(t, h, "rec-1", 30)

	log, err := os.ReadFile(filepath.Join(dir, "rec-1"+ReplayExt))
	if err != nil {
		t.Fatal(err)
	}
	r, err := replay.NewReader(bytes.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	hd := r.Header()
	if hd.Game != "arena" || hd.InstanceID != "rec-1" || hd.Seed != 7 || hd.MaxPlayers != 4 || hd.TickHz != 60 {
		t.Errorf("header %+v", hd)
	}
	var frames, inputs uint64
	kinds := map[string]int{}
	for {
		fr, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames++
		if fr.Frame != frames || fr.StateSHA256 == "" {
			t.Fatalf("frame %d recorded as %+v", frames, fr)
		}
		for _, e := range fr.Events {
			kinds[e.Kind]++
			if e.Kind == replay.KindInput {
				inputs++
			}
		}
	}
	if kinds[replay.KindJoin] != 2 || kinds[replay.KindLeave] != 1 || inputs < 40 {
		t.Errorf("events recorded: %v", kinds)
	}
	st, _ := h.ex.Instance("rec-1")
	if frames != st.Frames {
		t.Errorf("%d frames recorded, the instance ran %d", frames, st.Frames)
	}

	eng, err := wasmhost.NewEngine(context.Background(), wasmhost.Config{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(context.Background())
	res, err := localrun.Replay(context.Background(), eng, arenaModule(t), bytes.NewReader(log), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Match || !res.ModuleMatches || res.Frames != frames || res.Error != "" {
		t.Errorf("replay: %+v", res)
	}

	// The instance that did not record wrote nothing.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("replay dir holds %d files, want only rec-1's", len(entries))
	}
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct {
	n      int
	closed bool
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, io.ErrShortWrite
	}
	w.n -= len(p)
	return len(p), nil
}

func (w *failingWriter) Close() error { w.closed = true; return nil }

func TestRecordWriteErrorKeepsInstance(t *testing.T) {
	h := newHarness(t)
	w := &failingWriter{n: 1 << 10}
	spec := arenaSpec(t, "rec-fail", 4)
	spec.Record = w
	h.start(spec)
	h.run()
	c, _ := h.join("alice", "rec-fail")
	for range 150 { // past a flush of the buffer
		c.nextState()
	}
	if st, _ := h.ex.Instance("rec-fail"); st.State != StateRunning {
		t.Fatalf("state %s (%s), want running", st.State, st.Detail)
	}
	if err := h.ex.Stop(context.Background(), "rec-fail", "done"); err != nil {
		t.Fatal(err)
	}
	if !w.closed {
		t.Error("the record writer was not closed")
	}
}

func TestServeReplay(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, withReplayDir(dir))
	// A log being written ends in a partial line, which is not served.
	body := "{\"format\":\"rcc-replay/1\"}\n{\"f\":1,\"h\":\"ab\"}\n{\"f\":2,"
	if err := os.WriteFile(filepath.Join(dir, "i-1"+ReplayExt), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	token := func(role auth.Role) string {
		tok, _, err := h.issuer.RoleToken(role, "someone", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return string(tok)
	}
	grant := func(iss *auth.Issuer, instance, executor string) string {
		tok, _, err := iss.Grant(auth.GrantRequest{Subject: "someone", Action: auth.ActionInputLog, InstanceID: instance, ExecutorID: executor})
		if err != nil {
			t.Fatal(err)
		}
		return string(tok)
	}
	_, otherKey, _ := ed25519.GenerateKey(nil)
	other, err := auth.NewIssuer(otherKey, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	spent := grant(h.issuer, "i-1", testExecutorID)
	tests := []struct {
		name, path, auth string
		code             int
		body             string
	}{
		{"grant", "/replays/i-1", "Bearer " + spent, 200, body[:strings.LastIndexByte(body, '\n')+1]},
		{"grant again", "/replays/i-1", "Bearer " + spent, 401, ""},
		{"lower-case scheme", "/replays/i-1", "bearer " + grant(h.issuer, "i-1", testExecutorID), 200, body[:strings.LastIndexByte(body, '\n')+1]},
		{"no token", "/replays/i-1", "", 401, ""},
		{"not bearer", "/replays/i-1", "Basic eDp5", 401, ""},
		{"admin token", "/replays/i-1", "Bearer " + token(auth.RoleAdmin), 401, ""},
		{"executor token", "/replays/i-1", "Bearer " + token(auth.RoleExecutor), 401, ""},
		{"ticket", "/replays/i-1", "Bearer " + h.ticket("alice", "i-1"), 401, ""},
		{"other key", "/replays/i-1", "Bearer " + grant(other, "i-1", testExecutorID), 401, ""},
		{"garbage", "/replays/i-1", "Bearer nope", 401, ""},
		{"grant for another instance", "/replays/i-1", "Bearer " + grant(h.issuer, "i-2", testExecutorID), 403, ""},
		{"grant for another executor", "/replays/i-1", "Bearer " + grant(h.issuer, "i-1", "x-other"), 403, ""},
		{"unknown instance", "/replays/i-2", "Bearer " + grant(h.issuer, "i-2", testExecutorID), 404, ""},
		{"dot id", "/replays/..", "Bearer " + grant(h.issuer, "..", testExecutorID), 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", h.srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, tc.code)
			}
			if tc.code == 200 && string(b) != tc.body {
				t.Errorf("body %q, want %q", b, tc.body)
			}
		})
	}
}

// TestRecordFailedFrame: the frame in which the guest fails is recorded
// with its events and no hash, so that a replay runs into the same failure.
func TestRecordFailedFrame(t *testing.T) {
	h := newHarness(t)
	var log bytes.Buffer
	module := testModule(t, "tick_loop")
	h.start(InstanceSpec{ID: "hostile", Game: "tick_loop", Module: module, Record: &log})
	h.join("victim", "hostile")
	h.run()
	testenv.WaitFor(t, "the instance to fail", 10*time.Second, func() bool {
		st, _ := h.ex.Instance("hostile")
		return st.State == StateFailed
	})
	h.shutdown()
	r, err := replay.NewReader(bytes.NewReader(log.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	f, err := r.Next()
	if err != nil || f.Frame != 1 || f.StateSHA256 != "" || len(f.Events) != 1 || f.Events[0].Kind != replay.KindJoin {
		t.Fatalf("first frame %+v, %v; want frame 1 with victim's join and no hash", f, err)
	}
	eng, err := wasmhost.NewEngine(context.Background(), wasmhost.Config{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(context.Background())
	res, err := localrun.Replay(context.Background(), eng, module, bytes.NewReader(log.Bytes()), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitReason != string(lifecycle.ReasonFuelExhausted) {
		t.Errorf("replay: %+v, want it to end with fuel_exhausted", res)
	}
}
