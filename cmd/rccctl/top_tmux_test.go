package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/testenv"
)

// TestTopInTmux runs `rccctl top` in a real terminal (tmux, 160×48) against
// `rccd dev` with a few arena instances, and reads the screen as an
// operator does: it sorts, filters, pauses visibly, opens the detail view,
// stops an instance after confirmation and comes back after the
// coordinator restarts.
func TestTopInTmux(t *testing.T) {
	tmux := testenv.MustHaveCommand(t, "tmux", "apt-get install tmux")
	if testing.Short() {
		t.Skip("builds rccd and rccctl and runs rccd dev")
	}
	bin := t.TempDir()
	for _, pkg := range []string{".", "../rccd"} {
		if out, err := exec.Command("go", "build", "-o", bin+"/", pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	arena := arenaModule(t)
	home := t.TempDir()
	env := append(os.Environ(), "XDG_CONFIG_HOME="+home, "RCC_ADDR=", "RCC_TOKEN=", "NO_COLOR=1")
	dev := startDev(t, filepath.Join(bin, "rccd"), env, filepath.Join(t.TempDir(), "data"))

	ctl := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, "rccctl"), args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("rccctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	ctl("game", "deploy", arena, "--name", "arena")
	// chatty writes ten lines a frame: a log that moves.
	ctl("game", "deploy", corpus+"chatty.wasm", "--name", "chatty")
	var ids []string
	for i, label := range []string{"region=eu", "region=eu", "region=us", "region=eu"} {
		game := "arena"
		if i == 1 {
			game = "chatty"
		}
		ids = append(ids, ctl("instance", "spawn", game, "--lease", "1h", "--label", label, "--output", "json"))
	}
	for i, out := range ids {
		ids[i] = regexp.MustCompile(`"id":\s*"([^"]+)"`).FindStringSubmatch(out)[1]
	}
	us, chatty := ids[2], ids[1]

	// rccctl top in a tmux server of this test's own.
	sock := fmt.Sprintf("rcc-top-test-%d", os.Getpid())
	tm := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(tmux, append([]string{"-L", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	var envArgs []string
	for _, e := range []string{"XDG_CONFIG_HOME=" + home, "RCC_ADDR=", "RCC_TOKEN=", "NO_COLOR=1", "TERM=xterm-256color"} {
		envArgs = append(envArgs, e)
	}
	tm(append([]string{"new-session", "-d", "-s", "top", "-x", "160", "-y", "48", "env"}, append(envArgs, filepath.Join(bin, "rccctl"), "top")...)...)
	t.Cleanup(func() { _ = exec.Command(tmux, "-L", sock, "kill-server").Run() })
	screen := func() string { return tm("capture-pane", "-p", "-t", "top") }
	var last string
	waitScreen := func(what string, cond func(s string) bool) {
		t.Helper()
		defer func() {
			if t.Failed() {
				t.Logf("last screen:\n%s", last)
			}
		}()
		testenv.WaitFor(t, what, 60*time.Second, func() bool {
			last = screen()
			return cond(last)
		})
	}
	keys := func(k ...string) { t.Helper(); tm(append([]string{"send-keys", "-t", "top"}, k...)...) }
	has := func(subs ...string) func(string) bool {
		return func(s string) bool {
			for _, sub := range subs {
				if !strings.Contains(s, sub) {
					return false
				}
			}
			return true
		}
	}
	rowOf := func(s, id string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, id) {
				return l
			}
		}
		return ""
	}

	waitScreen("the four instances running", func(s string) bool {
		return has("● connected", "4 running", "Instances 4")(s) && !slices.ContainsFunc(ids, func(id string) bool { return !strings.Contains(rowOf(s, id), "running") })
	})

	// Sort: < goes from GAME to ID, S reverses it.
	order := func(s string) []string {
		var got []string
		for _, l := range strings.Split(s, "\n") {
			if m := regexp.MustCompile(`^(?:▶| ) (i-[0-9a-f]{16})\b`).FindStringSubmatch(l); m != nil {
				got = append(got, m[1])
			}
		}
		return got
	}
	asc := slices.Sorted(slices.Values(ids))
	desc := slices.Clone(asc)
	slices.Reverse(desc)
	keys("<")
	waitScreen("sorted by id", func(s string) bool { return strings.Contains(s, "ID▲") && slices.Equal(order(s), asc) })
	keys("S")
	waitScreen("sorted by id, reversed", func(s string) bool { return strings.Contains(s, "ID▼") && slices.Equal(order(s), desc) })

	// Filter on a label, then clear it.
	keys("/")
	keys("-l", "region=us")
	keys("Enter")
	waitScreen("only the us instance", func(s string) bool {
		return has("Instances 1 of 4", "filter region=us")(s) && slices.Equal(order(s), []string{us})
	})
	keys("Escape")
	waitScreen("the filter cleared", func(s string) bool { return len(order(s)) == 4 && !strings.Contains(s, "filter region=us") })

	// Pause: a stop made meanwhile stays off the screen until p again.
	keys("p")
	waitScreen("paused", has("PAUSED"))
	ctl("instance", "stop", ids[3])
	waitScreen("refreshes while paused", func(string) bool {
		return strings.Contains(ctl("instance", "get", ids[3]), "stopped")
	})
	time.Sleep(2500 * time.Millisecond) // two refreshes of top: what a paused screen must not show
	if s := screen(); !strings.Contains(rowOf(s, ids[3]), "running") || !strings.Contains(s, "PAUSED") {
		t.Fatalf("paused screen changed:\n%s", s)
	}
	keys("p")
	waitScreen("resumed with the stop", func(s string) bool {
		return !strings.Contains(s, "PAUSED") && strings.Contains(rowOf(s, ids[3]), "stopped")
	})

	// The detail view of chatty, picked with the filter, with its log
	// following live.
	keys("/")
	keys("-l", "chatty")
	keys("Enter")
	waitScreen("chatty alone", func(s string) bool { return slices.Equal(order(s), []string{chatty}) })
	keys("Enter")
	waitScreen("the detail view", has("Instance "+chatty, "chatty version 1", "tick p99", "players", "memory", "Events", "on dev", "Log following", "out   tick"))
	lastFrame := func(s string) int {
		f := 0
		for _, m := range regexp.MustCompile(`\bf(\d+)\s+out\s+tick`).FindAllStringSubmatch(s, -1) {
			fmt.Sscan(m[1], &f)
		}
		return f
	}
	seen := lastFrame(last)
	waitScreen("newer log lines", func(s string) bool { return lastFrame(s) > seen })
	keys("Escape")
	waitScreen("back to the tables", has("Executors 1", "Instances 1 of 4"))

	// Stop after confirmation: n cancels, y stops.
	keys("x")
	waitScreen("the stop prompt", has("stop instance "+chatty, "[y/N]"))
	keys("n")
	waitScreen("cancelled", has("cancelled"))
	if !strings.Contains(ctl("instance", "get", chatty), "running") {
		t.Fatal("a cancelled stop stopped the instance")
	}
	keys("x")
	waitScreen("the stop prompt again", has("stop instance "+chatty, "[y/N]"))
	keys("y")
	waitScreen("the instance stopped", func(s string) bool {
		return strings.Contains(rowOf(s, chatty), "stopped from rccctl top")
	})
	if !strings.Contains(ctl("instance", "get", chatty), "stopped") {
		t.Fatal("the coordinator does not have the instance stopped")
	}
	keys("Escape")
	waitScreen("the filter cleared again", func(s string) bool { return len(order(s)) == 4 })

	// The coordinator restarts: top keeps its data, says it is disconnected,
	// and resumes by itself.
	dev.stop()
	waitScreen("disconnected with the data kept", func(s string) bool {
		return has("DISCONNECTED", "retrying")(s) && strings.Contains(s, us)
	})
	dev.start()
	fresh := regexp.MustCompile(`"id":\s*"([^"]+)"`).FindStringSubmatch(ctl("instance", "spawn", "arena", "--lease", "1h", "--output", "json"))[1]
	waitScreen("reconnected, with an instance spawned since", func(s string) bool {
		return has("● connected")(s) && strings.Contains(rowOf(s, fresh), "running")
	})
	keys("q")
	testenv.WaitFor(t, "top to quit", 10*time.Second, func() bool {
		out, _ := exec.Command(tmux, "-L", sock, "list-sessions").CombinedOutput()
		return !bytes.Contains(out, []byte("top:"))
	})
}

// devProc is `rccd dev` on fixed loopback ports, so that a restart keeps
// its address.
type devProc struct {
	t         *testing.T
	rccd      string
	env, args []string
	mu        sync.Mutex
	cmd       *exec.Cmd
	log       bytes.Buffer
	done      chan struct{}
}

func startDev(t *testing.T, rccd string, env []string, data string) *devProc {
	d := &devProc{t: t, rccd: rccd, env: env,
		args: []string{"dev", "--data-dir", data, "--grpc-addr", freeAddr(t), "--ws-addr", freeAddr(t), "--metrics-addr", "", "--coordinator-metrics-addr", ""}}
	d.start()
	t.Cleanup(d.stop)
	return d
}

func (d *devProc) start() {
	d.t.Helper()
	d.mu.Lock()
	d.log.Reset()
	d.cmd = exec.Command(d.rccd, d.args...)
	d.cmd.Env = d.env
	d.cmd.Stdout, d.cmd.Stderr = &lockedWriter{mu: &d.mu, w: &d.log}, &lockedWriter{mu: &d.mu, w: &d.log}
	if err := d.cmd.Start(); err != nil {
		d.mu.Unlock()
		d.t.Fatal(err)
	}
	d.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(d.cmd, d.done)
	d.mu.Unlock()
	testenv.WaitFor(d.t, "rccd dev to start", 60*time.Second, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		select {
		case <-d.done:
			d.t.Fatalf("rccd dev exited:\n%s", d.log.String())
		default:
		}
		return strings.Contains(d.log.String(), "rccd dev started") && strings.Contains(d.log.String(), "registered with the coordinator")
	})
}

// stop stops rccd dev (SIGTERM) and waits for it to exit.
func (d *devProc) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	select {
	case <-d.done:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

// lockedWriter writes to w under mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// freeAddr returns a loopback address with a port free at the time.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
