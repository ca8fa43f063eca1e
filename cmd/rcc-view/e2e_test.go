package main

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/render/gltest"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/view"
)

// tools builds rccd and rccctl once for the package's tests and returns
// the directory holding them.
func tools(t *testing.T) string { return build(t, "rccd and rccctl", "../rccd", "../rccctl") }

// devEnv is a private rccd dev (its own data dir, free ports) with arena
// deployed and one instance running, and the environment that makes
// rccctl and rcc-view find it.
type devEnv struct {
	t        *testing.T
	env      []string
	bin      string
	instance string
}

func startDev(t *testing.T) *devEnv {
	t.Helper()
	display := gltest.Display(t)
	bin := tools(t)
	arena := gamebuildtest.ArenaFile(t)
	cfg := t.TempDir()
	environ := append(env(display), "XDG_CONFIG_HOME="+cfg, "RCC_ADDR=", "RCC_TOKEN=", "RCC_CONTEXT=")
	d := &devEnv{t: t, env: environ, bin: bin}
	var out testenv.SyncBuffer
	dev := exec.Command(filepath.Join(bin, "rccd"), "dev", "--data-dir", filepath.Join(t.TempDir(), "data"),
		"--grpc-addr", "127.0.0.1:0", "--ws-addr", "127.0.0.1:0", "--metrics-addr", "", "--coordinator-metrics-addr", "",
		"--log-format", "text")
	dev.Env = environ
	dev.Stdout, dev.Stderr = &out, &out
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = dev.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = dev.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = dev.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("--- rccd dev ---\n%s", out.String())
		}
	})
	testenv.WaitFor(t, "rccd dev to print its addresses", 30*time.Second, func() bool {
		return strings.Contains(out.String(), "try:")
	})
	d.ctl("game", "deploy", arena, "--name", "arena")
	// Seed 8 puts the first avatar (bob in TestE2ETwoViewers) at about
	// (3.5, -3.0) and the second (alice) at (7.9, 2.4): she has 17 m to
	// walk towards -Z before the wall, clear of bob (arena draws spawn
	// points from sdk.NewRandStream(seed, 1), x then z per avatar). A
	// random seed could put her against the wall.
	d.ctl("instance", "spawn", "arena", "--lease", "10m", "--seed", "8")
	testenv.WaitFor(t, "arena running", 60*time.Second, func() bool {
		var ls []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(d.ctl("instance", "ls", "--game", "arena", "--state", "running", "-o", "json")), &ls); err != nil {
			t.Fatal(err)
		}
		if len(ls) == 1 {
			d.instance = ls[0].ID
		}
		return d.instance != ""
	})
	return d
}

func (d *devEnv) ctl(args ...string) string {
	d.t.Helper()
	cmd := exec.Command(filepath.Join(d.bin, "rccctl"), args...)
	cmd.Env = d.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		d.t.Fatalf("rccctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// viewer is rcc-view running as a process.
type viewer struct {
	name   string
	cmd    *exec.Cmd
	stderr testenv.SyncBuffer
	done   chan struct{}
	code   int
}

func (d *devEnv) view(name string, args ...string) *viewer {
	d.t.Helper()
	v := &viewer{name: name, done: make(chan struct{})}
	v.cmd = exec.Command(binary(d.t), append([]string{"-v"}, args...)...)
	v.cmd.Env = d.env
	v.cmd.Stderr = &v.stderr
	if err := v.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	go func() {
		err := v.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			v.code = ee.ExitCode()
		} else if err != nil {
			v.code = -1
		}
		close(v.done)
	}()
	d.t.Cleanup(func() {
		_ = v.cmd.Process.Kill()
		<-v.done
		if d.t.Failed() {
			d.t.Logf("--- rcc-view %s ---\n%s", v.name, v.stderr.String())
		}
	})
	return v
}

// wait waits for the viewer to exit and returns its exit code.
func (v *viewer) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-v.done:
		return v.code
	case <-time.After(d):
		t.Fatalf("rcc-view %s still running after %v:\n%s", v.name, d, v.stderr.String())
		return 0
	}
}

func readReport(t *testing.T, path string) *view.FrameReport {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r view.FrameReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestE2ETwoViewers: rccd dev with arena; bob joins with rcc-view and
// stands, watching with the spectator camera (which frames the whole
// arena); alice joins with a scripted input that walks her forward. Bob's
// screenshot shows alice's avatar where she walked to: his frame report
// puts her entity metres from where he first saw it, towards -Z (forward
// at yaw 0), and the pixel it projects to has her colour.
func TestE2ETwoViewers(t *testing.T) {
	d := startDev(t)
	dir := t.TempDir()
	bobPNG, bobJSON := filepath.Join(dir, "bob.png"), filepath.Join(dir, "bob.json")
	bob := d.view("bob", "arena", "--player", "bob", "--spectate", "--size", "640x360",
		"--screenshot", bobPNG, "--frame-json", bobJSON, "--frames", "240")
	testenv.WaitFor(t, "bob's first state", 30*time.Second, func() bool { return strings.Contains(bob.stderr.String(), "first state") })
	alicePNG := filepath.Join(dir, "alice.png")
	alice := d.view("alice", "arena", "--player", "alice", "--input-script", "0.3s:move=0,1",
		"--size", "320x180", "--screenshot", alicePNG, "--frames", "600")
	if code := bob.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("bob's rcc-view exited %d:\n%s", code, bob.stderr.String())
	}
	if code := alice.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("alice's rcc-view exited %d:\n%s", code, alice.stderr.String())
	}
	r := readReport(t, bobJSON)
	if r.Player != "bob" || r.Follow != 0 || r.Message != "" {
		t.Fatalf("bob's report: player %q follow %d message %q", r.Player, r.Follow, r.Message)
	}
	var found bool
	for _, e := range r.Entities {
		if e.Label != "alice" {
			continue
		}
		found = true
		dx, dz := e.Position.X-e.FirstPosition.X, e.Position.Z-e.FirstPosition.Z
		if moved := math.Hypot(float64(dx), float64(dz)); moved < 2 || dz > -1 {
			t.Fatalf("alice's avatar moved (%.2f, %.2f) from where bob first saw it (%v), want 2 m or more towards -Z", dx, dz, e.FirstPosition)
		}
		if !e.OnScreen {
			t.Fatalf("alice's avatar is off bob's screen: %+v", e)
		}
		img := readPNG(t, bobPNG)
		want, _ := gltest.Hue(color.RGBA{e.Color.R, e.Color.G, e.Color.B, 255})
		px, py := int(e.Pixel[0]), int(e.Pixel[1])
		match := 0
		for y := py - 3; y <= py+3; y++ {
			for x := px - 3; x <= px+3; x++ {
				h, s := gltest.Hue(img.At(x, y))
				if s > 0.3 && gltest.HueDistance(h, want) < 20 {
					match++
				}
			}
		}
		if match < 10 {
			t.Fatalf("%d of 49 pixels around (%d, %d) in bob's screenshot have alice's hue %.0f° (colour %v); see %s", match, px, py, want, e.Color, bobPNG)
		}
	}
	if !found {
		t.Fatalf("no entity labelled alice in bob's last frame: %+v", r.Entities)
	}
}

// TestE2ECloseReason: a viewer is connected when the instance is stopped
// with a reason; the reason is on its screen (its frame report's message,
// drawn into the screenshot it still writes) and it exits 1 naming it.
func TestE2ECloseReason(t *testing.T) {
	d := startDev(t)
	dir := t.TempDir()
	shot, report := filepath.Join(dir, "carol.png"), filepath.Join(dir, "carol.json")
	carol := d.view("carol", "arena", "--player", "carol", "--size", "640x360",
		"--screenshot", shot, "--frame-json", report, "--frames", "100000")
	testenv.WaitFor(t, "carol's first state", 30*time.Second, func() bool { return strings.Contains(carol.stderr.String(), "first state") })
	d.ctl("instance", "stop", d.instance, "--reason", "maintenance window")
	if code := carol.wait(t, 30*time.Second); code != 1 {
		t.Fatalf("carol's rcc-view exited %d, want 1:\n%s", code, carol.stderr.String())
	}
	if want := "4030 instance_stopped: maintenance window"; !strings.Contains(carol.stderr.String(), want) {
		t.Fatalf("stderr lacks %q:\n%s", want, carol.stderr.String())
	}
	r := readReport(t, report)
	if r.Message != "instance stopped: maintenance window" {
		t.Fatalf("message on screen %q", r.Message)
	}
	// The message is drawn in large white letters across the middle of
	// the screen; without it the band holds only the small name tag
	// (about 90 white pixels; the message about 1,900).
	img := readPNG(t, shot)
	white := 0
	for y := 150; y < 210; y++ {
		for x := 107; x < 533; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r > 0xE000 && g > 0xE000 && b > 0xE000 {
				white++
			}
		}
	}
	if white < 600 {
		t.Fatalf("%d white pixels across the middle of the screenshot, want the message's letters; see %s", white, shot)
	}
}

// TestE2ENoSuchGame: joining a game that does not exist fails at once
// with a message naming it, and writes no picture.
func TestE2ENoSuchGame(t *testing.T) {
	d := startDev(t)
	shot := filepath.Join(t.TempDir(), "x.png")
	v := d.view("nosuchgame", "nosuchgame", "--screenshot", shot)
	if code := v.wait(t, 30*time.Second); code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, v.stderr.String())
	}
	if want := `no game "nosuchgame" on the coordinator`; !strings.Contains(v.stderr.String(), want) {
		t.Fatalf("stderr lacks %q:\n%s", want, v.stderr.String())
	}
	if _, err := os.Stat(shot); err == nil {
		t.Fatal("a screenshot was written")
	}
}

// TestCoordinatorUnreachable: with no coordinator at the address, the
// message says so and how to start one.
func TestCoordinatorUnreachable(t *testing.T) {
	environ := append(env(""), "XDG_CONFIG_HOME="+t.TempDir(), "RCC_ADDR=127.0.0.1:1", "RCC_TOKEN=x", "RCC_CONTEXT=")
	_, stderr, code := runView(t, environ, "arena", "--screenshot", filepath.Join(t.TempDir(), "x.png"))
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	for _, want := range []string{"coordinator at 127.0.0.1:1 is not reachable", "is rccd dev running", "make run"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}
