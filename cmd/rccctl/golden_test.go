package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/agent"
	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// golden compares got with testdata/<test name>.golden; go test -update
// rewrites the file.
func golden(t *testing.T, got string) {
	t.Helper()
	path := filepath.Join("testdata", filepath.FromSlash(t.Name())+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/rccctl -run %s -update writes it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// normaliser replaces the volatile parts of rccctl's JSON (ids, times,
// tickets, seeds, live figures, build details) with stable stand-ins,
// after checking their type: a number stays a number (0), a time must be
// RFC 3339, an id becomes <id-N>, the same N for the same id throughout a
// test.
type normaliser struct {
	t   *testing.T
	ids map[string]string
	// order of ids, to rewrite them in text output.
	seen []string
	// nullStats writes every stats object as null: on a stream whether an
	// event carries figures depends on heartbeat timing.
	nullStats bool
}

func newNormaliser(t *testing.T) *normaliser { return &normaliser{t: t, ids: map[string]string{}} }

var (
	idKeys       = map[string]bool{"id": true, "instance_id": true, "executor_id": true, "respawned_from": true}
	zeroKeys     = map[string]bool{"seed": true, "lease_left_ms": true, "tick_p50_ms": true, "tick_p99_ms": true, "tick_max_ms": true}
	opaqueKeys   = map[string]bool{"ticket": true, "commit": true, "go_version": true, "platform": true}
	volatileObjs = map[string]bool{"stats": true}
)

func (n *normaliser) id(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := n.ids[s]; ok {
		return v
	}
	v := fmt.Sprintf("<id-%d>", len(n.ids)+1)
	n.ids[s] = v
	n.seen = append(n.seen, s)
	return v
}

// text rewrites the ids seen so far in s.
func (n *normaliser) text(s string) string {
	for _, id := range n.seen {
		s = strings.ReplaceAll(s, id, n.ids[id])
	}
	return s
}

// json normalises one JSON document (or JSON Lines) and re-indents it,
// keeping the order of object members.
func (n *normaliser) json(s string) string {
	n.t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var b strings.Builder
	for {
		v, err := n.value(dec, "", false)
		if err == io.EOF {
			break
		}
		if err != nil {
			n.t.Fatalf("not JSON: %v\n%s", err, s)
		}
		b.WriteString(v)
		b.WriteString("\n")
	}
	return b.String()
}

// value reads one JSON value for key (inside a volatile object when vol)
// and returns it normalised, compact, with members in their order.
func (n *normaliser) value(dec *json.Decoder, key string, vol bool) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	switch tok := tok.(type) {
	case json.Delim:
		open, close := string(tok), "}"
		if tok == '[' {
			close = "]"
		}
		var parts []string
		for dec.More() {
			if tok == '{' {
				k, err := dec.Token()
				if err != nil {
					return "", err
				}
				ks := k.(string)
				v, err := n.value(dec, ks, vol || volatileObjs[ks] || key == "stats")
				if err != nil {
					return "", err
				}
				if ks == "stats" && n.nullStats && v != "null" {
					v = "null"
				}
				parts = append(parts, jsonString(ks)+":"+v)
			} else {
				v, err := n.value(dec, key, vol)
				if err != nil {
					return "", err
				}
				parts = append(parts, v)
			}
		}
		if _, err := dec.Token(); err != nil {
			return "", err
		}
		return open + strings.Join(parts, ",") + close, nil
	case json.Number:
		if vol || zeroKeys[key] {
			return "0", nil
		}
		return tok.String(), nil
	case string:
		switch {
		case idKeys[key]:
			tok = n.id(tok)
		case key == "at" || strings.HasSuffix(key, "_at"):
			if _, err := time.Parse(time.RFC3339Nano, tok); err != nil {
				n.t.Errorf("%s = %q: not RFC 3339", key, tok)
			}
			if !strings.HasSuffix(tok, "Z") {
				n.t.Errorf("%s = %q: not UTC", key, tok)
			}
			tok = "<time>"
		case opaqueKeys[key]:
			tok = "<" + key + ">"
		case key == "url":
			tok = regexp.MustCompile(`/play/[^?]+`).ReplaceAllStringFunc(tok, func(p string) string { return "/play/" + n.id(p[len("/play/"):]) })
			tok = regexp.MustCompile(`ticket=[^&]+`).ReplaceAllString(tok, "ticket=<ticket>")
		default:
			tok = n.text(tok)
		}
		return jsonString(tok), nil
	case bool:
		if key == "modified" {
			return "false", nil
		}
		return fmt.Sprint(tok), nil
	case nil:
		return "null", nil
	}
	return "", fmt.Errorf("unexpected token %v", tok)
}

// jsonString is s as a JSON string, without HTML escaping, as rccctl
// writes it.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// pretty indents compact JSON for a golden file.
func pretty(t *testing.T, s string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var out bytes.Buffer
		if err := json.Indent(&out, []byte(line), "", "  "); err != nil {
			t.Fatalf("indent: %v\n%s", err, line)
		}
		b.Write(out.Bytes())
		b.WriteString("\n")
	}
	return b.String()
}

// startExecutor runs a real executor (pkg/agent) against the coordinator
// until the test ends; players are not served (its ws_url is a fixed
// stand-in), instances run.
func startExecutor(t *testing.T, srv *coordinatortest.Server, name string) {
	t.Helper()
	c := srv.Dial(auth.RoleExecutor, name, agent.DialOptions()...)
	a, err := agent.New(context.Background(), agent.Config{Client: c, Name: name, WSURL: "ws://127.0.0.1:1",
		Version: "test", DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = a.Executor().Close(context.Background())
	})
}

// TestJSONGolden holds the JSON shape of every rccctl command (docs/cli.md)
// in testdata/TestJSONGolden/, driving a real coordinator with a real
// executor, and a few tables beside them.
func TestJSONGolden(t *testing.T) {
	srv := coordinatortest.Start(t, coordinator.Config{HeartbeatInterval: 100 * time.Millisecond, MissedHeartbeats: 50,
		ReapInterval: 50 * time.Millisecond, ResyncInterval: 200 * time.Millisecond})
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("RCC_ADDR", "")
	t.Setenv("RCC_TOKEN", "")
	t.Setenv("RCC_CONTEXT", "")
	conn := []string{"--addr", srv.Addr, "--token", string(srv.Token(auth.RoleAdmin, "golden"))}
	n := newNormaliser(t)
	// ctl runs a command that talks to the coordinator and returns its
	// stdout.
	ctl := func(t *testing.T, args ...string) string {
		t.Helper()
		code, out, errOut := rccctl(t, append(args, conn...)...)
		if code != exitOK {
			t.Fatalf("rccctl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	local := func(t *testing.T, want int, args ...string) string {
		t.Helper()
		code, out, errOut := rccctl(t, args...)
		if code != want {
			t.Fatalf("rccctl %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out
	}
	js := func(t *testing.T, out string) {
		t.Helper()
		for _, esc := range []string{`\u003c`, `\u003e`, `\u0026`} {
			if strings.Contains(out, esc) {
				t.Errorf("output escapes HTML (%s):\n%s", esc, out)
			}
		}
		golden(t, pretty(t, n.json(out)))
	}
	minimal := "../../pkg/coordinator/testdata/minimal.wasm"
	recorder := corpus + "recorder.wasm"

	t.Run("version", func(t *testing.T) { js(t, local(t, 0, "version", "--output", "json")) })
	t.Run("game_check", func(t *testing.T) { js(t, local(t, 0, "game", "check", recorder, "--output", "json")) })
	t.Run("game_check_problems", func(t *testing.T) { js(t, local(t, 1, "game", "check", corpus+"bad_exports.wasm", "-o", "json")) })
	t.Run("game_check_table", func(t *testing.T) { golden(t, local(t, 0, "game", "check", recorder)) })
	t.Run("game_check_problems_table", func(t *testing.T) { golden(t, local(t, 1, "game", "check", corpus+"bad_import.wasm")) })
	logFile := filepath.Join(t.TempDir(), "run.rcclog")
	t.Run("game_run", func(t *testing.T) {
		js(t, local(t, 0, "game", "run", recorder, "--ticks", "30", "--players", "2", "--seed", "7", "--quiet", "--record", logFile, "-o", "json"))
	})
	t.Run("game_replay", func(t *testing.T) {
		js(t, local(t, 0, "game", "replay", recorder, logFile, "--every", "10", "--quiet", "-o", "json"))
	})
	t.Run("game_replay_table", func(t *testing.T) {
		golden(t, local(t, 0, "game", "replay", recorder, logFile, "--every", "10", "--quiet"))
	})

	t.Run("game_deploy", func(t *testing.T) {
		js(t, ctl(t, "game", "deploy", minimal, "--name", "mini", "--description", "<b>first</b>", "-o", "json"))
	})
	t.Run("game_deploy_unchanged", func(t *testing.T) { js(t, ctl(t, "game", "deploy", minimal, "--name", "mini", "-o", "json")) })
	t.Run("game_deploy_limits", func(t *testing.T) {
		js(t, ctl(t, "game", "deploy", minimal, "--name", "mini", "--frame-fuel", "50000000", "--memory-mib", "16", "-o", "json"))
	})
	t.Run("game_deploy_init_fuel", func(t *testing.T) {
		js(t, ctl(t, "game", "deploy", minimal, "--name", "mini", "--init-fuel", "2000000000", "-o", "json"))
	})
	t.Run("game_ls", func(t *testing.T) { js(t, ctl(t, "game", "ls", "-o", "json")) })
	t.Run("game_versions", func(t *testing.T) { js(t, ctl(t, "game", "versions", "mini", "-o", "json")) })
	t.Run("instance_ls_empty", func(t *testing.T) { js(t, ctl(t, "instance", "ls", "-o", "json")) })
	t.Run("executor_ls_empty", func(t *testing.T) { js(t, ctl(t, "executor", "ls", "-o", "json")) })

	// A pending instance: no executor yet.
	var pending string
	t.Run("instance_spawn", func(t *testing.T) {
		out := ctl(t, "instance", "spawn", "mini", "--version", "1", "--lease", "10m", "--label", "region=eu", "--param", "rounds=3",
			"--param", "name=<arena & co>", "--seed", "7", "--record", "-o", "json")
		var in struct{ ID string }
		if err := json.Unmarshal([]byte(out), &in); err != nil {
			t.Fatal(err)
		}
		pending = in.ID
		js(t, out)
	})

	startExecutor(t, srv, "ex-golden")
	var exec string
	testenv.WaitFor(t, "the pending instance to run", 30*time.Second, func() bool {
		_, out, _ := rccctl(t, append([]string{"instance", "get", pending, "-o", "json"}, conn...)...)
		var m map[string]any
		if json.Unmarshal([]byte(out), &m) != nil || m["state"] != "running" || m["stats"] == nil {
			return false
		}
		exec, _ = m["executor_id"].(string)
		return true
	})
	testenv.WaitFor(t, "the executor to report its instance", 30*time.Second, func() bool {
		var xs []struct {
			Stats struct{ Instances int } `json:"stats"`
		}
		_, out, _ := rccctl(t, append([]string{"executor", "ls", "-o", "json"}, conn...)...)
		return json.Unmarshal([]byte(out), &xs) == nil && len(xs) == 1 && xs[0].Stats.Instances == 1
	})
	n.id(exec)

	t.Run("instance_get", func(t *testing.T) { js(t, ctl(t, "instance", "get", pending, "-o", "json")) })
	t.Run("instance_ls", func(t *testing.T) { js(t, ctl(t, "instance", "ls", "-o", "json")) })
	t.Run("instance_renew", func(t *testing.T) { js(t, ctl(t, "instance", "renew", pending, "--lease", "20m", "-o", "json")) })
	t.Run("executor_ls", func(t *testing.T) { js(t, ctl(t, "executor", "ls", "-o", "json")) })
	t.Run("executor_drain", func(t *testing.T) { js(t, ctl(t, "executor", "drain", exec, "-o", "json")) })
	t.Run("executor_drain_table", func(t *testing.T) { golden(t, n.text(ctl(t, "executor", "drain", exec))) })
	t.Run("executor_undrain", func(t *testing.T) { js(t, ctl(t, "executor", "undrain", exec, "-o", "json")) })
	t.Run("top_once", func(t *testing.T) { js(t, ctl(t, "top", "--once", "-o", "json")) })
	var joined string
	t.Run("join", func(t *testing.T) {
		out := ctl(t, "join", "mini", "--player", "p<1>", "-o", "json")
		var j struct {
			InstanceID string `json:"instance_id"`
		}
		if err := json.Unmarshal([]byte(out), &j); err != nil {
			t.Fatal(err)
		}
		joined = j.InstanceID
		js(t, out)
	})
	testenv.WaitFor(t, "the joined instance to run", 30*time.Second, func() bool {
		_, out, _ := rccctl(t, append([]string{"instance", "get", joined, "-o", "json"}, conn...)...)
		return strings.Contains(out, `"state": "running"`)
	})

	t.Run("game_rm_in_use", func(t *testing.T) {
		code, out, errOut := rccctl(t, append([]string{"game", "rm", "mini", "-o", "json"}, conn...)...)
		if code != exitFail || out != "" || !strings.Contains(errOut, "live instance") {
			t.Fatalf("game rm of a game in use: exit %d\n%s%s", code, out, errOut)
		}
	})
	t.Run("game_rm_version", func(t *testing.T) { js(t, ctl(t, "game", "rm", "mini", "--version", "2", "-o", "json")) })
	t.Run("game_rm_table", func(t *testing.T) {
		ctl(t, "game", "deploy", minimal, "--name", "mini", "--frame-fuel", "40000000")
		golden(t, ctl(t, "game", "rm", "mini", "--version", "4"))
	})

	// get --watch follows the instance to its end: the distinct states it
	// passes through, each line an instance as instance get prints it.
	t.Run("instance_get_watch", func(t *testing.T) {
		var out, errOut testenv.SyncBuffer
		done := make(chan int, 1)
		go func() {
			done <- run(context.Background(), append([]string{"instance", "get", pending, "--watch", "-o", "json"}, conn...), &out, &errOut)
		}()
		testenv.WaitFor(t, "the first watch line", 30*time.Second, func() bool { return strings.Contains(out.String(), "\n") })
		ctl(t, "instance", "stop", pending, "--reason", "golden")
		select {
		case code := <-done:
			if code != exitOK {
				t.Fatalf("get --watch: exit %d: %s", code, errOut.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("get --watch did not end with its instance")
		}
		n.nullStats = true
		golden(t, pretty(t, distinctStates(t, n.json(out.String()))))
	})
	// An ended instance keeps its figures until its executor's next
	// heartbeat: whether they show is timing.
	n.nullStats = true
	t.Run("instance_stop", func(t *testing.T) { js(t, ctl(t, "instance", "stop", pending, "-o", "json")) })
	t.Run("instance_ls_all", func(t *testing.T) {
		js(t, ctl(t, "instance", "ls", "--all", "--game", "mini", "--state", "stopped", "-o", "json"))
	})

	// ls --watch: the live instances, then each change, as JSON Lines.
	t.Run("instance_ls_watch", func(t *testing.T) {
		var out, errOut testenv.SyncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, append([]string{"instance", "ls", "--watch", "--game", "mini", "-o", "json"}, conn...), &out, &errOut)
		}()
		// The instance join created is live: it comes first, in the snapshot.
		testenv.WaitFor(t, "the snapshot", 30*time.Second, func() bool { return strings.Contains(out.String(), `"snapshot":true`) })
		var sp struct{ ID string }
		if err := json.Unmarshal([]byte(ctl(t, "instance", "spawn", "mini", "--seed", "9", "-o", "json")), &sp); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, "the new instance running", 30*time.Second, func() bool {
			return strings.Contains(out.String(), `"id":"`+sp.ID+`","game":"mini","version":3,"state":"running"`)
		})
		cancel()
		if code := <-done; code != exitOK {
			t.Fatalf("ls --watch: exit %d: %s", code, errOut.String())
		}
		n.nullStats = true
		golden(t, pretty(t, distinctStates(t, n.json(out.String()))))
	})
}

// distinctStates keeps the watch lines (normalised JSON Lines) where an
// instance's state differs from its previous line: heartbeats repeat an
// instance with fresh figures, which the golden file cannot hold.
func distinctStates(t *testing.T, lines string) string {
	t.Helper()
	last := map[string]string{}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(lines), "\n") {
		var ev struct {
			Instance struct{ ID, State string } `json:"instance"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("watch line %q: %v", line, err)
		}
		if last[ev.Instance.ID] == ev.Instance.State {
			continue
		}
		last[ev.Instance.ID] = ev.Instance.State
		b.WriteString(line + "\n")
	}
	return b.String()
}
