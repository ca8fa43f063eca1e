// Command rcc-view is RCC's OpenGL 3D client: rcc-view GAME joins a game
// through the coordinator rccctl talks to (rccd dev on this machine by
// default), --url connects with a ready play URL, and --scene and
// --generate show a scene file or a generated crowd. --screenshot renders
// offscreen and writes a PNG.
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
	started := time.Now()
	fs := pflag.NewFlagSet("rcc-view", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: rcc-view [GAME] [flags]        join GAME (default arena) through the coordinator\n"+
			"       rcc-view --url PLAY_URL [flags] connect with a ready play URL (rccctl join prints one)\n"+
			"       rcc-view (--scene FILE | --generate N) [flags]\n\n%s", fs.FlagUsages())
	}
	var jf joinFlags
	fs.StringVar(&jf.url, "url", "", "connect with a ready play `URL` (ws://…/play/…?ticket=…) instead of joining through the coordinator")
	fs.StringArrayVar(&jf.labels, "label", nil, "join an instance carrying label `key=value` (repeatable; a new instance gets them)")
	fs.StringVar(&jf.addr, "addr", "", "coordinator address host:port (default from the context, or localhost:7400)")
	fs.StringVar(&jf.token, "token", "", "admin or player token (rccd token create --role player, or your identity provider's; default $RCC_TOKEN or from the context)")
	fs.StringVar(&jf.ctxt, "context", "", "coordinator context to use (default $RCC_CONTEXT or rccctl's current one)")
	fs.StringVar(&jf.ca, "ca", "", "PEM CA file the coordinator's and the executor's (wss://) certificates must chain to, or \"system\" for the system roots (default $RCC_CA or from the context)")
	fs.BoolVar(&jf.insecure, "insecure", false, "allow plaintext to a coordinator that is not on loopback")
	fs.DurationVar(&jf.timeout, "timeout", 20*time.Second, "how long joining may take")
	script := fs.String("input-script", "", "play `SCRIPT` instead of the keyboard: \"0.5s:move=0,1; 3s:stop\" (see docs/rcc-view.md)")
	spectate := fs.Bool("spectate", false, "when joined, use the spectator camera (framing the whole world) instead of following your avatar")
	frameJSON := fs.String("frame-json", "", "with --screenshot, also write what the frame shows (entities, their pixels, the HUD) as JSON to `FILE`")
	scene := fs.String("scene", "", "show the world snapshot encoded in `FILE` (docs/world.md)")
	generate := fs.Int("generate", 0, "show a generated scene of `N` moving entities")
	player := fs.String("player", "", "your player `NAME` when joining (default: a player token's subject, else your login name); with --scene, the player to follow")
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
	if fs.NArg() > 1 {
		return fail(fmt.Errorf("unexpected arguments %q: want at most one game name", fs.Args()[1:]))
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
	if *frameJSON != "" && *shot == "" {
		return fail(errors.New("--frame-json describes a screenshot: add --screenshot FILE.png"))
	}
	display := os.Getenv("DISPLAY")
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var src view.Source
	title := "rcc-view"
	live := false
	switch {
	case *scene != "" && *generate != 0:
		return fail(errors.New("--scene and --generate exclude each other"))
	case (*scene != "" || *generate != 0) && (fs.NArg() > 0 || jf.url != ""):
		return fail(errors.New("--scene and --generate show a world without joining: drop the game name and --url"))
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
		if fs.NArg() > 0 && jf.url != "" {
			return fail(errors.New("give a game name or --url, not both"))
		}
		jf.game, jf.player = "arena", *player
		if fs.NArg() > 0 {
			jf.game = fs.Arg(0)
		}
		if display == "" && *shot == "" {
			// Say so before taking a seat in the game.
			return fail(view.ErrNoDisplay)
		}
		var steps []view.ScriptStep
		if *script != "" {
			if steps, err = view.ParseScript(*script); err != nil {
				return fail(fmt.Errorf("--input-script: %w", err))
			}
		}
		s, done, err := join(ctx, &jf, logger)
		if err != nil {
			return fail(err)
		}
		defer done()
		st := s.Stats()
		logger.Info("joined", "game", st.Welcome.Game, "instance", st.Welcome.InstanceID, "player", st.Welcome.PlayerID,
			"after", time.Since(started))
		ps := view.NewPlaySource(s, jf.game)
		ps.Spectate = *spectate
		src = ps
		if steps != nil {
			src = view.NewScriptedSource(src, steps)
		}
		title += " — " + st.Welcome.Game + " as " + st.Welcome.PlayerID
		live = true
	}
	if *script != "" && !live {
		return fail(errors.New("--input-script plays into a game: join one (rcc-view GAME or --url)"))
	}
	err = view.Run(ctx, view.Config{
		Source: src, Display: display, Title: title,
		Width: w, Height: h, Fullscreen: *fullscreen, Samples: *samples,
		Screenshot: *shot, Frames: *frames, Live: live, FrameJSON: *frameJSON,
		Started: started, Logger: logger,
	})
	if err != nil {
		return fail(err)
	}
	return 0
}
