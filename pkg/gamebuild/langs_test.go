package gamebuild_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/gamebuild"
	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/testenv"
	"github.com/rcc-games/rcc/pkg/wasmhost"
	"github.com/rcc-games/rcc/pkg/wasmhost/wasmhosttest"
	"github.com/rcc-games/rcc/pkg/world"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  gamebuild.Kind
	}{
		{"go module", []string{"go.mod", "main.go"}, gamebuild.Go},
		{"go files", []string{"main.go"}, gamebuild.Go},
		{"cargo", []string{"Cargo.toml", "build.c"}, gamebuild.Rust},
		{"assemblyscript", []string{"package.json"}, gamebuild.AssemblyScript},
		{"c", []string{"game.c", "util.c"}, gamebuild.C},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tt.files {
				os.WriteFile(filepath.Join(dir, f), nil, 0o644)
			}
			got, err := gamebuild.Detect(dir)
			if err != nil || got != tt.want {
				t.Fatalf("Detect = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := gamebuild.Detect(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a game project") {
		t.Errorf("empty dir: err = %v, want not a game project", err)
	}
}

// TestMissingToolchain: with nothing on PATH, each kind names what is
// missing and how to install it.
func TestMissingToolchain(t *testing.T) {
	tests := []struct {
		dir  string
		opts gamebuild.Options
		want string
	}{
		{"c-coins", gamebuild.Options{}, "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32"},
		{"rust-tag", gamebuild.Options{}, "rustup target add wasm32-wasip1"},
		{"rust-tag", gamebuild.Options{RustRoot: t.TempDir()}, "run scripts/setup-rust.sh"},
	}
	t.Setenv("PATH", t.TempDir())
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			err := gamebuild.BuildWith(context.Background(), gamebuildtest.Dir(tt.dir), filepath.Join(t.TempDir(), "x.wasm"), tt.opts)
			if !errors.Is(err, gamebuild.ErrNoToolchain) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrNoToolchain saying %q", err, tt.want)
			}
		})
	}
	t.Run("assemblyscript", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{}`), 0o644)
		err := gamebuild.Build(context.Background(), dir, filepath.Join(dir, "x.wasm"))
		if !errors.Is(err, gamebuild.ErrNoToolchain) || !strings.Contains(err.Error(), "apt-get install nodejs npm") {
			t.Fatalf("err = %v, want ErrNoToolchain naming npm", err)
		}
	})
}

func TestBuildReportsCCompileErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "game.c"), []byte("int f(void) { return undefined_thing; }\n"), 0o644)
	err := gamebuild.Build(context.Background(), dir, filepath.Join(dir, "out.wasm"))
	if errors.Is(err, gamebuild.ErrNoToolchain) {
		testenv.Unavailable(t, "clang for wasm32-wasi", err.Error())
	}
	if err == nil || !strings.Contains(err.Error(), "undefined_thing") {
		t.Fatalf("err = %v, want clang's message", err)
	}
}

// TestExamples builds every non-Go example from source, checks it against
// the guest ABI and plays it in the sandbox: joins, movement from arena's
// 3-byte input, labels, a leave, and the same state bytes for the same
// seed and input.
func TestExamples(t *testing.T) {
	for _, game := range []string{"c-coins", "as-chase", "rust-tag"} {
		t.Run(game, func(t *testing.T) {
			wasm := gamebuildtest.Game(t, game)
			if r := wasmhost.Check(wasm, 0); !r.OK() {
				t.Fatalf("ABI problems: %+v", r.Problems)
			}
			play := func(seed uint64) *wasmhosttest.Sandbox {
				s := wasmhosttest.Start(t, wasm, game, seed)
				s.Frame(wasmhost.Event{Kind: wasmhost.EventJoin, Player: "ann"}, wasmhost.Event{Kind: wasmhost.EventJoin, Player: "bö"})
				ann := s.Avatar("ann")
				if ann == nil || s.Avatar("bö") == nil {
					t.Fatalf("after two joins: players %+v", s.Snap.Players)
				}
				if ann.Label != "ann" {
					t.Errorf("ann's avatar is labelled %q", ann.Label)
				}
				start := ann.Position
				s.Frame(wasmhost.Event{Kind: wasmhost.EventInput, Player: "ann", Data: []byte{127, 0, 0}},
					wasmhost.Event{Kind: wasmhost.EventInput, Player: "bö", Data: []byte("not an input")})
				for range 30 {
					s.Frame()
				}
				if moved := s.Avatar("ann").Position.X - start.X; moved < 0.5 && s.Avatar("ann").Position.X < 9 {
					t.Errorf("ann pushed +X for half a second moved %.2f m (from %.2f)", moved, start.X)
				}
				// The standard controller input, as rcc-view sends it:
				// strafing left at yaw 0 runs towards -X.
				ctl, _ := world.Controller{MoveX: -1}.MarshalBinary()
				before := s.Avatar("ann").Position
				s.Frame(wasmhost.Event{Kind: wasmhost.EventInput, Player: "ann", Data: ctl})
				for range 29 {
					s.Frame()
				}
				if moved := before.X - s.Avatar("ann").Position.X; moved < 0.5 {
					t.Errorf("ann strafing left (controller input) for half a second moved %.2f m towards -X", moved)
				}
				s.Frame(wasmhost.Event{Kind: wasmhost.EventLeave, Player: "bö"})
				if s.Snap.Player("bö") != nil || s.Snap.Frame != 63 {
					t.Errorf("after bö left at frame %d: players %+v", s.Snap.Frame, s.Snap.Players)
				}
				return s
			}
			a, b, c := play(7), play(7), play(8)
			if a.Hash != b.Hash {
				t.Error("the same seed and input gave different states")
			}
			if a.Hash == c.Hash {
				t.Error("different seeds gave the same state")
			}
		})
	}
}
