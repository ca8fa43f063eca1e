package view

import (
	"context"
	"time"

	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/rcc-games/rcc/pkg/camera"
	"github.com/rcc-games/rcc/pkg/control"
)

// Gamepad right-stick turn speed, radians per second at full deflection.
const stickTurn = 2.6

// interactive runs the visible window until it is closed or q is pressed.
func (l *loop) interactive(ctx context.Context) error {
	w := l.win.GLFW()
	glfw.SwapInterval(1)
	w.SetKeyCallback(func(_ *glfw.Window, key glfw.Key, _ int, action glfw.Action, _ glfw.ModifierKey) {
		if action != glfw.Press {
			return
		}
		switch key {
		case glfw.KeyQ:
			w.SetShouldClose(true)
		case glfw.KeyEscape:
			l.capture(false)
		case glfw.KeyF11:
			l.toggleFullscreen()
		}
	})
	w.SetMouseButtonCallback(func(_ *glfw.Window, _ glfw.MouseButton, action glfw.Action, _ glfw.ModifierKey) {
		if action == glfw.Press && !l.captured {
			l.capture(true)
		}
	})
	w.SetCursorPosCallback(func(_ *glfw.Window, x, y float64) {
		if l.captured && l.mouseValid {
			l.cam.Orbit(x-l.mouseX, y-l.mouseY)
		}
		l.mouseX, l.mouseY, l.mouseValid = x, y, true
	})
	w.SetScrollCallback(func(_ *glfw.Window, _, dy float64) { l.cam.Zoom(dy) })
	w.SetFocusCallback(func(_ *glfw.Window, focused bool) {
		if !focused {
			l.capture(false)
		}
	})
	if l.cfg.Fullscreen {
		l.toggleFullscreen()
	}
	w.Show()
	last := time.Now()
	for !w.ShouldClose() {
		if err := ctx.Err(); err != nil {
			return l.info.End
		}
		glfw.PollEvents()
		now := time.Now()
		dt := float32(now.Sub(last).Seconds())
		last = now
		in := l.readInput(dt)
		fw, fh := w.GetFramebufferSize()
		if fw == 0 || fh == 0 { // minimised
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if _, err := l.step(now, in, fw, fh); err != nil {
			return err
		}
		l.r.Present(fw, fh)
		w.SwapBuffers()
	}
	return l.info.End
}

func (l *loop) capture(on bool) {
	w := l.win.GLFW()
	l.captured = on
	l.mouseValid = false
	if on {
		w.SetInputMode(glfw.CursorMode, glfw.CursorDisabled)
		if glfw.RawMouseMotionSupported() {
			w.SetInputMode(glfw.RawMouseMotion, glfw.True)
		}
		return
	}
	w.SetInputMode(glfw.CursorMode, glfw.CursorNormal)
}

func (l *loop) toggleFullscreen() {
	w := l.win.GLFW()
	if l.fullscreen {
		w.SetMonitor(nil, l.winX, l.winY, l.winW, l.winH, 0)
		l.fullscreen = false
		return
	}
	m := glfw.GetPrimaryMonitor()
	if m == nil {
		return
	}
	l.winX, l.winY = w.GetPos()
	l.winW, l.winH = w.GetSize()
	mode := m.GetVideoMode()
	w.SetMonitor(m, 0, 0, mode.Width, mode.Height, mode.RefreshRate)
	l.fullscreen = true
}

// readInput reads the keyboard and the first gamepad; the right stick
// turns the camera.
func (l *loop) readInput(dt float32) control.Input {
	w := l.win.GLFW()
	down := func(keys ...glfw.Key) bool {
		for _, k := range keys {
			if w.GetKey(k) == glfw.Press {
				return true
			}
		}
		return false
	}
	in := control.Input{
		Forward:   down(glfw.KeyW, glfw.KeyUp),
		Back:      down(glfw.KeyS, glfw.KeyDown),
		Left:      down(glfw.KeyA, glfw.KeyLeft),
		Right:     down(glfw.KeyD, glfw.KeyRight),
		Up:        down(glfw.KeyE, glfw.KeyPageUp),
		Down:      down(glfw.KeyC, glfw.KeyPageDown),
		Jump:      down(glfw.KeySpace),
		Sprint:    down(glfw.KeyLeftShift, glfw.KeyRightShift),
		Crouch:    down(glfw.KeyLeftControl, glfw.KeyRightControl),
		Use:       down(glfw.KeyF),
		Primary:   w.GetMouseButton(glfw.MouseButtonLeft) == glfw.Press && l.captured,
		Secondary: w.GetMouseButton(glfw.MouseButtonRight) == glfw.Press && l.captured,
	}
	if in.Jump && l.cam.Mode != camera.Follow {
		in.Up = true // a spectator rises with space
	}
	for j := glfw.Joystick1; j <= glfw.JoystickLast; j++ {
		if !j.Present() || !j.IsGamepad() {
			continue
		}
		st := j.GetGamepadState()
		if st == nil {
			continue
		}
		in.StickX = control.Axis(st.Axes[glfw.AxisLeftX])
		in.StickY = control.Axis(st.Axes[glfw.AxisLeftY])
		press := func(b glfw.GamepadButton) bool { return st.Buttons[b] == glfw.Press }
		in.Jump = in.Jump || press(glfw.ButtonA)
		in.Use = in.Use || press(glfw.ButtonX)
		in.Sprint = in.Sprint || press(glfw.ButtonLeftThumb)
		in.Crouch = in.Crouch || press(glfw.ButtonB)
		in.Primary = in.Primary || st.Axes[glfw.AxisRightTrigger] > 0.5
		in.Secondary = in.Secondary || st.Axes[glfw.AxisLeftTrigger] > 0.5
		l.cam.Turn(-control.Axis(st.Axes[glfw.AxisRightX])*stickTurn*dt, -control.Axis(st.Axes[glfw.AxisRightY])*stickTurn*dt)
		break
	}
	return in
}
