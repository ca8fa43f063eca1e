// Package window opens the GLFW window, visible or hidden, with the OpenGL
// 3.3 core context that rcc-view and the renderer's tests draw in. It is
// the daemon's insides of rcc-view, not public API.
package window

import (
	"fmt"

	"github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/rcc-games/rcc/pkg/render"
)

// Window is a GLFW window with a current OpenGL 3.3 core context.
type Window struct {
	w *glfw.Window
}

// Open initialises GLFW and opens a window of width×height with an
// OpenGL 3.3 core context current on the calling thread (which must stay
// locked: runtime.LockOSThread). A hidden window (visible false) serves
// offscreen rendering. When the display offers no OpenGL 3.3 core the
// error wraps render.ErrGLVersion and says what it offers.
func Open(title string, width, height int, visible bool) (w *Window, err error) {
	defer func() {
		// go-gl/glfw logs a failed connection to the display and panics
		// at the next call; make that an error.
		if r := recover(); r != nil {
			glfw.Terminate()
			w, err = nil, fmt.Errorf("window: cannot open a window on the display (%v)", r)
		}
	}()
	if err := glfw.Init(); err != nil {
		return nil, fmt.Errorf("window: initialise GLFW: %w", err)
	}
	hint := func(visible bool) {
		glfw.DefaultWindowHints()
		glfw.WindowHint(glfw.Visible, boolHint(visible))
		glfw.WindowHint(glfw.Samples, 0)
		glfw.WindowHint(glfw.DoubleBuffer, glfw.True)
		glfw.WindowHint(glfw.ScaleToMonitor, glfw.True)
	}
	hint(visible)
	glfw.WindowHint(glfw.ContextVersionMajor, 3)
	glfw.WindowHint(glfw.ContextVersionMinor, 3)
	glfw.WindowHint(glfw.OpenGLProfile, glfw.OpenGLCoreProfile)
	glfw.WindowHint(glfw.OpenGLForwardCompatible, glfw.True)
	gw, err := glfw.CreateWindow(width, height, title, nil, nil)
	if err != nil {
		// Find out what the display does offer, to say so.
		hint(false)
		old, oerr := glfw.CreateWindow(64, 64, title, nil, nil)
		if oerr != nil {
			glfw.Terminate()
			return nil, fmt.Errorf("window: open an OpenGL 3.3 core window: %w", err)
		}
		old.MakeContextCurrent()
		found := &render.GLVersionError{}
		if gl.Init() == nil {
			found.Version = gl.GoStr(gl.GetString(gl.VERSION))
			found.Renderer = gl.GoStr(gl.GetString(gl.RENDERER))
		}
		old.Destroy()
		glfw.Terminate()
		return nil, fmt.Errorf("window: %w (GLFW: %v)", found, err)
	}
	gw.MakeContextCurrent()
	return &Window{w: gw}, nil
}

func boolHint(b bool) int {
	if b {
		return glfw.True
	}
	return glfw.False
}

// Close destroys the window and terminates GLFW.
func (w *Window) Close() {
	w.w.Destroy()
	glfw.Terminate()
}

// GLFW returns the GLFW window.
func (w *Window) GLFW() *glfw.Window { return w.w }
