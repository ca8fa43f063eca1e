package main

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/demoscene"
	"github.com/rcc-games/rcc/pkg/render/gltest"
	"github.com/rcc-games/rcc/pkg/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/showcase.rccw from demoscene.Showcase")

func TestMain(m *testing.M) { gltest.Main(m) }

// built holds the programs the package's tests build, by name, each
// built once per test binary.
var built sync.Map // string -> *buildResult

type buildResult struct {
	once sync.Once
	dir  string
	out  []byte
	err  error
}

// build builds the packages (relative to this one) into one directory
// once for the package's tests and returns that directory; name keys the
// build and names it in failures.
func build(t *testing.T, name string, pkgs ...string) string {
	t.Helper()
	goTool := testenv.MustHaveCommand(t, "go", "install Go 1.26")
	v, _ := built.LoadOrStore(name, &buildResult{})
	b := v.(*buildResult)
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "rcc-view-test-"); b.err != nil {
			return
		}
		b.out, b.err = exec.Command(goTool, append([]string{"build", "-o", b.dir + "/"}, pkgs...)...).CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("build %s: %v\n%s", name, b.err, b.out)
	}
	return b.dir
}

// binary builds rcc-view once for the package's tests.
func binary(t *testing.T) string { return filepath.Join(build(t, "rcc-view", "."), "rcc-view") }

// env returns the environment with DISPLAY set to display ("" removes it).
func env(display string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DISPLAY=") {
			out = append(out, kv)
		}
	}
	if display != "" {
		out = append(out, "DISPLAY="+display)
	}
	return out
}

func runView(t *testing.T, environ []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = environ
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run rcc-view: %v", err)
	}
	return o.String(), e.String(), code
}

// TestSceneFile keeps testdata/showcase.rccw, the scene file of these
// tests and of the README's screenshot, equal to demoscene.Showcase.
func TestSceneFile(t *testing.T) {
	want, err := demoscene.Showcase().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "showcase.rccw")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from demoscene.Showcase; rewrite it with -update", path)
	}
}

// TestScreenshot runs rcc-view --scene --screenshot --frames as a real
// process under the private Xvfb and checks the picture: its size, and
// the colour of the followed capsule in the middle of the screen.
func TestScreenshot(t *testing.T) {
	display := gltest.Display(t)
	out := filepath.Join(t.TempDir(), "shot.png")
	_, stderr, code := runView(t, env(display), "--scene", "testdata/showcase.rccw", "--player", "alice",
		"--screenshot", out, "--frames", "5", "--size", "480x270")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds() != image.Rect(0, 0, 480, 270) {
		t.Fatalf("screenshot is %v, want 480x270", img.Bounds())
	}
	// The third-person camera aims just above alice's capsule (blue), in
	// the middle of the picture; look for it in the central region.
	var blue int
	for y := 100; y < 200; y++ {
		for x := 200; x < 280; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if b > 2*r && b > g+g/4 && b > 0x6000 {
				blue++
			}
		}
	}
	if blue < 200 {
		t.Fatalf("%d blue pixels in the middle of the screenshot, want the followed capsule (see %s)", blue, out)
	}
}

// TestNoDisplay runs rcc-view with DISPLAY unset: it says so and how to
// get a picture anyway.
func TestNoDisplay(t *testing.T) {
	_, stderr, code := runView(t, env(""), "--scene", "testdata/showcase.rccw")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", code, stderr)
	}
	for _, want := range []string{"no display", "DISPLAY is not set", "xvfb-run", "--screenshot"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// TestOldOpenGL makes Mesa offer OpenGL 3.0 only: rcc-view names the
// version it found.
func TestOldOpenGL(t *testing.T) {
	display := gltest.Display(t)
	_, stderr, code := runView(t, append(env(display), "MESA_GL_VERSION_OVERRIDE=3.0"),
		"--scene", "testdata/showcase.rccw", "--screenshot", filepath.Join(t.TempDir(), "x.png"))
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", code, stderr)
	}
	if !strings.Contains(stderr, "OpenGL 3.3 core or newer is required, found 3.0") {
		t.Fatalf("stderr does not name the version found:\n%s", stderr)
	}
}

// TestBadInput checks that bad flags and files give a clear error and
// write nothing.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.rccw")
	if err := os.WriteFile(garbage, []byte("GIF89a not a world"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.png")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad label", []string{"arena", "--label", "novalue"}, `--label "novalue": want key=value`},
		{"bad input script", []string{"arena", "--input-script", "1s:fly"}, `unknown action "fly"`},
		{"script out of order", []string{"arena", "--input-script", "2s:jump; 1s:stop"}, "before the step before it"},
		{"game and url", []string{"arena", "--url", "ws://127.0.0.1:1/play/i?ticket=x"}, "not both"},
		{"two games", []string{"arena", "maze"}, "at most one game name"},
		{"script without a game", []string{"--scene", "testdata/showcase.rccw", "--input-script", "0s:stop"}, "plays into a game"},
		{"scene and game", []string{"--scene", "testdata/showcase.rccw", "arena"}, "without joining"},
		{"missing scene", []string{"--scene", filepath.Join(dir, "nope.rccw")}, "read scene"},
		{"not a snapshot", []string{"--scene", garbage}, "not a world snapshot"},
		{"bad size", []string{"--scene", "testdata/showcase.rccw", "--size", "12by7"}, "want WIDTHxHEIGHT"},
		{"zero frames", []string{"--scene", "testdata/showcase.rccw", "--frames", "0"}, "--frames 0"},
		{"unknown player", []string{"--scene", "testdata/showcase.rccw", "--player", "carol"}, `"carol": the scene has no such player`},
		{"both sources", []string{"--scene", "testdata/showcase.rccw", "--generate", "5"}, "exclude each other"},
	}
	t.Run("frame json without screenshot", func(t *testing.T) {
		_, stderr, code := runView(t, env(""), "--scene", "testdata/showcase.rccw", "--frame-json", filepath.Join(dir, "f.json"))
		if code != 1 || !strings.Contains(stderr, "add --screenshot") {
			t.Fatalf("exit %d, stderr: %s", code, stderr)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runView(t, env(""), append(tt.args, "--screenshot", out)...)
			if code == 0 {
				t.Fatalf("exit 0; stderr: %s", stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Fatalf("stderr lacks %q:\n%s", tt.want, stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("a screenshot was written")
			}
		})
	}
}

// TestWindowEndsCleanlyOnSignal opens the real window (no --screenshot)
// under the private Xvfb, lets it run, and stops it with SIGTERM: it
// exits 0, having closed its source.
func TestWindowEndsCleanlyOnSignal(t *testing.T) {
	display := gltest.Display(t)
	cmd := exec.Command(binary(t), "--generate", "50", "--size", "320x180", "-v")
	cmd.Env = env(display)
	var stderr testenv.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	testenv.WaitFor(t, "the window's OpenGL context", 20*time.Second, func() bool {
		return strings.Contains(stderr.String(), "msg=opengl")
	})
	select {
	case err := <-done:
		t.Fatalf("rcc-view exited by itself: %v\n%s", err, stderr.String())
	case <-time.After(500 * time.Millisecond): // some frames on screen
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("rcc-view did not exit within 10 s of SIGTERM\n%s", stderr.String())
	}
	if s := stderr.String(); strings.Contains(s, "level=ERROR") || strings.Contains(s, "rcc-view:") {
		t.Fatalf("errors on the way out:\n%s", s)
	}
}

// TestScreenshotWithoutDisplay runs --screenshot with DISPLAY unset: it
// renders through Mesa's surfaceless EGL, and the picture matches the one
// made under Xvfb.
func TestScreenshotWithoutDisplay(t *testing.T) {
	display := gltest.Display(t)
	dir := t.TempDir()
	args := func(out string) []string {
		return []string{"--scene", "testdata/showcase.rccw", "--screenshot", out, "--frames", "2", "--size", "320x180"}
	}
	_, stderr, code := runView(t, env(""), args(filepath.Join(dir, "egl.png"))...)
	if code != 0 {
		if strings.Contains(stderr, "no headless OpenGL") {
			testenv.Unavailable(t, "Mesa's surfaceless EGL", "apt-get install libegl-mesa0 libgl1-mesa-dri (make setup)")
		}
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, stderr, code := runView(t, env(display), args(filepath.Join(dir, "glx.png"))...); code != 0 {
		t.Fatalf("under Xvfb: exit %d: %s", code, stderr)
	}
	read := func(name string) image.Image {
		f, err := os.Open(filepath.Join(dir, name))
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
	a, b := read("egl.png"), read("glx.png")
	if a.Bounds() != b.Bounds() {
		t.Fatalf("sizes %v and %v", a.Bounds(), b.Bounds())
	}
	var diff int
	for y := 0; y < 180; y++ {
		for x := 0; x < 320; x++ {
			if a.At(x, y) != b.At(x, y) {
				diff++
			}
		}
	}
	if diff > 320*180/200 {
		t.Fatalf("%d pixels differ between the EGL and the Xvfb screenshots", diff)
	}
}
