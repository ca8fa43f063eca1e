package view

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/rcc-games/rcc/pkg/camera"
	"github.com/rcc-games/rcc/pkg/control"
	"github.com/rcc-games/rcc/pkg/geom"
	"github.com/rcc-games/rcc/pkg/render"
	"github.com/rcc-games/rcc/pkg/render/window"
	"github.com/rcc-games/rcc/pkg/world"
)

// ErrNoDisplay is returned by Run when there is no display to open a
// window on.
var ErrNoDisplay = errors.New("no display: DISPLAY is not set, so there is no X server to open a window on\n" +
	"  for a picture without a screen, render offscreen under a virtual display:\n" +
	"    xvfb-run -a rcc-view --screenshot out.png --frames 3 ...")

// Config configures Run.
type Config struct {
	// Source gives the world every frame. Run closes it when it returns.
	Source Source
	// Display is the X display to use (main passes $DISPLAY); empty
	// means none: Run returns ErrNoDisplay, unless it makes a screenshot,
	// which it then tries to render with surfaceless EGL.
	Display string
	// Title is the window title.
	Title string
	// Width and Height are the window size in screen coordinates, and
	// the framebuffer size of a screenshot. 0 means 1280×720.
	Width, Height int
	// Fullscreen starts the window on the whole primary monitor.
	Fullscreen bool
	// Samples is the multisampling of the renderer (0: none, -1: the
	// renderer's default, see render.Options).
	Samples int
	// Screenshot, when set, makes Run render Frames frames after the
	// first state in a hidden window, write them as a PNG to this path
	// and return.
	Screenshot string
	// Frames is the number of frames a screenshot renders after the first
	// state (at least 1).
	Frames int
	// Live says the source follows the wall clock (a game over the
	// network): screenshot frames are then rendered at the real time,
	// at most 60 a second, instead of 1/60 s apart on a virtual clock.
	Live bool
	// FrameJSON, with Screenshot, is where to write a description of the
	// screenshot's frame (FrameReport) as JSON, for tests and tools.
	FrameJSON string
	// Started is when the program started, from which the log line of
	// the first state counts (zero: Run's start).
	Started time.Time
	// Logger receives the loop's log lines (nil: discarded).
	Logger *slog.Logger
}

// Run opens the window and runs the frame loop until the window is
// closed, q is pressed, ctx is done or the source fails; with
// Config.Screenshot it renders offscreen and writes the picture, in a
// hidden window, or with no display at all through Mesa's surfaceless EGL. It must be
// called from the main goroutine (OpenGL contexts belong to a thread).
func Run(ctx context.Context, cfg Config) (err error) {
	started := cfg.Started
	if started.IsZero() {
		started = time.Now()
	}
	if cfg.Source == nil {
		return errors.New("view: no source")
	}
	defer func() {
		if cerr := cfg.Source.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close source: %w", cerr)
		}
	}()
	if cfg.Display == "" && cfg.Screenshot == "" {
		return ErrNoDisplay
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		cfg.Width, cfg.Height = 1280, 720
	}
	if cfg.Width > render.MaxSize || cfg.Height > render.MaxSize {
		return fmt.Errorf("view: size %dx%d larger than %d", cfg.Width, cfg.Height, render.MaxSize)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer func() {
		// go-gl/glfw panics on what it considers programming errors; a
		// broken X connection should still end as an error.
		if r := recover(); r != nil {
			err = fmt.Errorf("view: window system: %v", r)
		}
	}()
	var (
		win   *window.Window
		ropts = render.Options{Samples: cfg.Samples}
	)
	if cfg.Display == "" {
		// A screenshot needs no window system: try Mesa's surfaceless EGL.
		h, err := window.OpenHeadless()
		if err != nil {
			return fmt.Errorf("%w\n  (and no headless OpenGL either: %v)", ErrNoDisplay, err)
		}
		defer h.Close()
		ropts.ProcAddress = h.ProcAddress
	} else {
		win, err = window.Open(cfg.Title, cfg.Width, cfg.Height, cfg.Screenshot == "")
		if err != nil {
			return err
		}
		defer win.Close()
		if cfg.Screenshot == "" {
			sx, _ := win.GLFW().GetContentScale()
			ropts.UIScale = max(sx, 1)
		}
	}
	r, err := render.New(ropts)
	if err != nil {
		return err
	}
	defer r.Close()
	v, ver := r.Version()
	cfg.Logger.Info("opengl", "version", v, "renderer", ver, "samples", r.Samples())
	l := newLoop(cfg, win, r, started)
	if cfg.Screenshot != "" {
		return l.screenshot(ctx)
	}
	return l.interactive(ctx)
}

// loop is the state of the frame loop.
type loop struct {
	cfg  Config
	win  *window.Window
	r    *render.Renderer
	cam  *camera.Camera
	snap world.Snapshot
	send control.Sender

	framed    bool // the spectator camera was placed over the scene
	last      time.Time
	info      FrameInfo // of the latest step
	firstSeen map[uint32]world.Vec3
	started   time.Time
	firstAt   time.Duration // from Run's start to the first state

	// Interactive state.
	captured   bool
	mouseX     float64
	mouseY     float64
	mouseValid bool
	fullscreen bool
	winX, winY int
	winW, winH int

	fps       float64
	fpsFrames int
	fpsSince  time.Time
	fpsLine   string
	fpsStats  render.Stats
	lines     []string
	side      []string
	sideKey   []world.Player
}

func newLoop(cfg Config, win *window.Window, r *render.Renderer, started time.Time) *loop {
	l := &loop{cfg: cfg, win: win, r: r, cam: camera.New(), started: started}
	if cfg.FrameJSON != "" {
		l.firstSeen = map[uint32]world.Vec3{}
	}
	return l
}

// step pulls a frame from the source, moves the camera and renders at
// width×height. It returns whether the frame held a state.
func (l *loop) step(now time.Time, in control.Input, width, height int) (bool, error) {
	info, err := l.cfg.Source.Frame(now, &l.snap)
	if err != nil {
		return false, err
	}
	l.info = info
	if info.Ready && l.firstAt == 0 {
		l.firstAt = max(time.Since(l.started), 1)
		l.cfg.Logger.Info("first state", "after", l.firstAt)
	}
	if l.firstSeen != nil && info.Ready {
		for i := range l.snap.Entities {
			e := &l.snap.Entities[i]
			if _, ok := l.firstSeen[e.ID]; !ok {
				l.firstSeen[e.ID] = e.Position
			}
		}
	}
	dt := float32(0)
	if !l.last.IsZero() {
		dt = float32(min(now.Sub(l.last).Seconds(), 0.25))
	}
	l.last = now
	var e *world.Entity
	if info.Ready && info.Follow != 0 {
		e = l.snap.Entity(info.Follow)
	}
	switch {
	case e != nil:
		l.cam.Follow(geom.Vec3(e.Position), dt)
	case info.Ready && !l.framed:
		lo, hi := bounds(&l.snap)
		l.cam.Frame(lo, hi, float32(width)/float32(height))
		l.framed = true
	default:
		if l.cam.Mode == camera.Follow || l.framed {
			speed := float32(1)
			if in.Sprint {
				speed = 3
			}
			l.cam.Fly(control.Move(in), speed, dt)
		}
	}
	c := control.Controller(in, l.cam.Yaw, l.cam.Pitch)
	if info.Ready && l.send.Changed(c) {
		l.cfg.Source.SendInput(c)
	}
	l.updateHUD(now, &info)
	f := render.Frame{Camera: l.cam, Lines: l.lines, Side: l.side, Message: info.Message}
	if info.Ready {
		f.Snapshot = &l.snap
	} else if f.Message == "" {
		f.Message = "waiting for the first state…"
	}
	if err := l.r.Render(&f, width, height); err != nil {
		return false, err
	}
	return info.Ready || info.End != nil, nil
}

func (l *loop) updateHUD(now time.Time, info *FrameInfo) {
	l.fpsFrames++
	if l.fpsSince.IsZero() {
		l.fpsSince = now
	}
	st := l.r.Stats()
	d := now.Sub(l.fpsSince)
	if d >= 500*time.Millisecond {
		l.fps = float64(l.fpsFrames) / d.Seconds()
		l.fpsFrames, l.fpsSince = 0, now
	}
	if d >= 500*time.Millisecond || st != l.fpsStats || l.fpsLine == "" {
		l.fpsStats = st
		rate := "… fps"
		switch {
		case l.cfg.Screenshot != "":
			rate = "offscreen"
		case l.fps > 0:
			rate = fmt.Sprintf("%.0f fps", l.fps)
		}
		l.fpsLine = fmt.Sprintf("%s · %d drawn, %d culled · %d draw calls", rate, st.Drawn, st.Culled, st.DrawCalls)
	}
	l.lines = append(append(l.lines[:0], info.Lines...), l.fpsLine)
	if !slices.Equal(l.sideKey, l.snap.Players) || !info.Ready {
		l.sideKey = append(l.sideKey[:0], l.snap.Players...)
		l.side = l.side[:0]
		if info.Ready && len(l.snap.Players) > 0 {
			l.side = append(l.side, "players")
			ps := slices.Clone(l.snap.Players)
			slices.SortStableFunc(ps, func(a, b world.Player) int { return int(b.Score) - int(a.Score) })
			w := 0
			for _, p := range ps {
				w = max(w, len([]rune(p.ID)))
			}
			for _, p := range ps {
				mark := "  "
				if p.ID == info.Player {
					mark = "• "
				}
				name := p.ID + strings.Repeat(" ", w-len([]rune(p.ID)))
				l.side = append(l.side, fmt.Sprintf("%s%s  %5d", mark, name, p.Score))
			}
		}
	}
}

// bounds returns the box holding the snapshot's entity centres.
func bounds(s *world.Snapshot) (lo, hi geom.Vec3) {
	if len(s.Entities) == 0 {
		return geom.Vec3{X: -5, Z: -5}, geom.Vec3{X: 5, Y: 2, Z: 5}
	}
	lo = geom.Vec3{X: 1e9, Y: 1e9, Z: 1e9}
	hi = geom.Vec3{X: -1e9, Y: -1e9, Z: -1e9}
	for i := range s.Entities {
		e := &s.Entities[i]
		p := geom.Vec3(e.Position)
		h := geom.Vec3(e.Scale).Mul(0.5)
		if h.X < 0 || h.Y < 0 || h.Z < 0 || h.Len() > 1e6 || p.Len() > 1e6 {
			continue
		}
		lo = geom.Vec3{X: min(lo.X, p.X-h.X), Y: min(lo.Y, p.Y-h.Y), Z: min(lo.Z, p.Z-h.Z)}
		hi = geom.Vec3{X: max(hi.X, p.X+h.X), Y: max(hi.Y, p.Y+h.Y), Z: max(hi.Z, p.Z+h.Z)}
	}
	if lo.X > hi.X {
		return geom.Vec3{X: -5, Z: -5}, geom.Vec3{X: 5, Y: 2, Z: 5}
	}
	return lo, hi
}

// endedFrames is how many frames a screenshot renders once the source
// has ended (FrameInfo.End), before it writes the picture.
const endedFrames = 3

// screenshot renders Frames frames after the first state offscreen and
// writes the last one as a PNG; once the source has ended, endedFrames
// more at most.
func (l *loop) screenshot(ctx context.Context) error {
	frames := max(l.cfg.Frames, 1)
	n := 0
	// Frames are spaced as at 60 Hz, so smoothing and animation advance
	// as they would on screen, however fast the machine renders.
	now := time.Now()
	deadline := now.Add(30 * time.Second)
	ended := 0
	for n < frames && ended < endedFrames {
		if err := ctx.Err(); err != nil {
			return err
		}
		if n == 0 && time.Now().After(deadline) {
			return errors.New("view: screenshot: no state within 30 s")
		}
		ready, err := l.step(now, control.Input{}, l.cfg.Width, l.cfg.Height)
		if err != nil {
			return err
		}
		if l.info.End != nil {
			// Nothing more will come: take the picture of the message.
			ended++
		}
		if ready {
			n++
		} else {
			time.Sleep(5 * time.Millisecond)
		}
		if l.win != nil {
			glfw.PollEvents()
		}
		now = now.Add(time.Second / 60)
		if l.cfg.Live {
			// A live source's buffer runs on the wall clock: render
			// at the real time, at most 60 frames a second.
			if d := time.Until(now); d > 0 {
				time.Sleep(d)
			}
			now = time.Now()
		}
		if !ready {
			now = time.Now()
		}
	}
	img, err := l.r.ReadImage()
	if err != nil {
		return err
	}
	if err := WritePNG(l.cfg.Screenshot, img); err != nil {
		return err
	}
	if l.cfg.FrameJSON != "" {
		if err := writeReport(l.cfg.FrameJSON, l.report()); err != nil {
			return err
		}
	}
	return l.info.End
}

// WritePNG writes img to path through a temporary file renamed into place,
// so a reader never sees half a picture.
func WritePNG(path string, img image.Image) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".rcc-view-*.png")
	if err != nil {
		return fmt.Errorf("write screenshot: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write screenshot: %w", err)
	}
	if err := png.Encode(tmp, img); err != nil {
		tmp.Close()
		return fmt.Errorf("write screenshot %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write screenshot %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write screenshot: %w", err)
	}
	return nil
}

// ParseSize reads "WIDTHxHEIGHT".
func ParseSize(s string) (w, h int, err error) {
	a, b, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		w, err = strconv.Atoi(a)
		if err == nil {
			h, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || w < 1 || h < 1 || w > render.MaxSize || h > render.MaxSize {
		return 0, 0, fmt.Errorf("size %q: want WIDTHxHEIGHT, each 1 to %d (like 1280x720)", s, render.MaxSize)
	}
	return w, h, nil
}
