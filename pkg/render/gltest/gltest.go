// Package gltest gives tests a real OpenGL context: Main starts a private
// Xvfb (on a free display number, chosen by Xvfb itself) for the whole test
// binary, forces Mesa's llvmpipe software renderer so pictures are the same
// on every machine, and Context opens a hidden window with an OpenGL 3.3
// core context on the test's thread. When Xvfb is missing, tests that need
// it end with testenv.Unavailable (a failure on CI). It is for the
// project's own tests, not public API.
package gltest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rcc-games/rcc/pkg/render/window"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// Install says how to get what the tests need.
const Install = "apt-get install xvfb xauth libgl1-mesa-dri (make setup)"

// display is the X display Main started ("" when it could not).
var display, startErr = "", "Main was not called"

// Main runs the package's tests with a private Xvfb as DISPLAY (and
// LIBGL_ALWAYS_SOFTWARE=1) for them and the processes they start. Call it
// from TestMain: func TestMain(m *testing.M) { gltest.Main(m) }.
func Main(m *testing.M) {
	cmd, d, err := startXvfb()
	if err != nil {
		startErr = err.Error()
	} else {
		display, startErr = d, ""
		os.Setenv("DISPLAY", d)
	}
	os.Setenv("LIBGL_ALWAYS_SOFTWARE", "1")
	os.Setenv("GALLIUM_DRIVER", "llvmpipe")
	code := m.Run()
	if cmd != nil {
		cmd.Process.Kill()
		cmd.Wait()
	}
	os.Exit(code)
}

func startXvfb() (*exec.Cmd, string, error) {
	path, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, "", fmt.Errorf("no Xvfb on PATH")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, "", err
	}
	defer r.Close()
	cmd := exec.Command(path, "-displayfd", "3", "-screen", "0", "1920x1080x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, "", fmt.Errorf("start Xvfb: %w", err)
	}
	w.Close()
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, "", fmt.Errorf("Xvfb exited without a display number")
		}
		// The display number comes when Xvfb is ready; its socket should
		// be there, but wait for it in case. This runs in TestMain, before
		// any test: there is no testing.TB for testenv.WaitFor, and a
		// missing socket is not an error here (opening the display fails later).
		sock := "/tmp/.X11-unix/X" + n
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(sock); err == nil {
				break
			}
		}
		return cmd, ":" + n, nil
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, "", fmt.Errorf("Xvfb gave no display number within 20 s")
	}
}

// Display returns the DISPLAY of the private Xvfb, or ends the test with
// testenv.Unavailable.
func Display(t testing.TB) string {
	t.Helper()
	if display == "" {
		testenv.Unavailable(t, "a virtual X display (Xvfb)", startErr+"; "+Install)
	}
	return display
}

// Context opens a hidden window of width×height with a current OpenGL 3.3
// core context, locked to the calling goroutine's thread until the test
// ends.
func Context(t testing.TB, width, height int) *window.Window {
	t.Helper()
	Display(t)
	runtime.LockOSThread()
	w, err := window.Open("test", width, height, false)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("open a hidden OpenGL window: %v", err)
	}
	t.Cleanup(func() {
		w.Close()
		runtime.UnlockOSThread()
	})
	return w
}
