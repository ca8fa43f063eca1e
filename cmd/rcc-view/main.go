// Command rcc-view is RCC's OpenGL 3D client. Today it shows a scene file
// (--scene) or a generated crowd (--generate); joining a live game comes
// with the player client. --screenshot renders offscreen and writes a PNG.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/rcc-games/rcc/pkg/view"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := pflag.NewFlagSet("rcc-view", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: rcc-view (--scene FILE | --generate N) [flags]\n\n%s", fs.FlagUsages())
	}
	scene := fs.String("scene", "", "show the world snapshot encoded in `FILE` (docs/world.md)")
	generate := fs.Int("generate", 0, "show a generated scene of `N` moving entities")
	player := fs.String("player", "", "follow the entity of player `NAME` of the scene (default: the spectator camera)")
	shot := fs.String("screenshot", "", "render offscreen and write a PNG to `FILE`, then exit")
	frames := fs.Int("frames", 3, "frames to render after the first state before --screenshot writes")
	size := fs.String("size", "1280x720", "window size, and the --screenshot size, `WIDTHxHEIGHT`")
	samples := fs.Int("samples", -1, "multisampling samples per pixel: 0 for none, -1 for 4 on a GPU and none on software rendering")
	fullscreen := fs.Bool("fullscreen", false, "start fullscreen (F11 toggles)")
	verbose := fs.BoolP("verbose", "v", false, "log what the viewer does")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "rcc-view: %v\n", err)
		return 1
	}
	if fs.NArg() > 0 {
		return fail(fmt.Errorf("unexpected argument %q: joining a game by name is not available yet; use --scene FILE or --generate N", fs.Arg(0)))
	}
	w, h, err := view.ParseSize(*size)
	if err != nil {
		return fail(fmt.Errorf("--size: %w", err))
	}
	if *frames < 1 {
		return fail(fmt.Errorf("--frames %d: want at least 1", *frames))
	}
	if *samples < -1 || *samples > 16 {
		return fail(fmt.Errorf("--samples %d: want -1 (automatic) or 0 to 16", *samples))
	}
	var src view.Source
	title := "rcc-view"
	switch {
	case *scene != "" && *generate != 0:
		return fail(errors.New("--scene and --generate exclude each other"))
	case *scene != "":
		snap, err := view.LoadScene(*scene)
		if err != nil {
			return fail(err)
		}
		if *player != "" && snap.Player(*player) == nil {
			return fail(fmt.Errorf("--player %q: the scene has no such player", *player))
		}
		src = view.NewSceneSource(snap, *scene, *player)
		title += " — " + *scene
	case *generate > 0:
		if *generate > 16383 {
			return fail(fmt.Errorf("--generate %d: at most 16383 entities", *generate))
		}
		src = view.NewCrowdSource(*generate, time.Now())
	case *generate < 0:
		return fail(fmt.Errorf("--generate %d: want a positive count", *generate))
	default:
		fs.Usage()
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = view.Run(ctx, view.Config{
		Source: src, Display: os.Getenv("DISPLAY"), Title: title,
		Width: w, Height: h, Fullscreen: *fullscreen, Samples: *samples,
		Screenshot: *shot, Frames: *frames, Logger: logger,
	})
	if err != nil {
		return fail(err)
	}
	return 0
}
