package gamebuildtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/rcc-games/rcc/pkg/gamebuild"
	"github.com/rcc-games/rcc/pkg/testenv"
)

type built struct {
	once sync.Once
	wasm []byte
	err  error
}

var (
	mu     sync.Mutex
	builds = map[string]*built{}
)

// repoRoot is the repository's top directory, found from this file's path.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Options are the toolchains the tests build with: the offline Rust
// toolchain of make setup (build/rust/root) when it is there, else cargo
// from PATH, and one cargo target directory in build/rust/target, so that
// the standard library built from source is reused across runs.
func Options() gamebuild.Options {
	root := repoRoot()
	opts := gamebuild.Options{CargoTargetDir: filepath.Join(root, "build", "rust", "target")}
	if r := filepath.Join(root, "build", "rust", "root"); fileExists(filepath.Join(r, ".complete")) {
		opts.RustRoot = r
	}
	return opts
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Root returns the repository's top directory.
func Root() string { return repoRoot() }

// Dir returns the directory of games/NAME.
func Dir(name string) string { return filepath.Join(repoRoot(), "games", name) }

// Game returns the module of games/NAME (in any language gamebuild
// knows), built on first use. A missing toolchain ends the test with
// testenv.Unavailable: a skip here, a failure on CI.
func Game(t testing.TB, name string) []byte {
	t.Helper()
	return build(t, name, filepath.Join(repoRoot(), "games", name))
}

// Panicky returns the module of testdata/panicky, a game whose Go guest
// panics at the frame of its param panic_at (default 30) or on the input
// "panic", after writing to stdout and stderr.
func Panicky(t testing.TB) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return build(t, "panicky", filepath.Join(filepath.Dir(file), "testdata", "panicky"))
}

// ArenaVariant returns the arena built with these build tags
// (arena_double_points: orbs score 2).
func ArenaVariant(t testing.TB, tags ...string) []byte {
	t.Helper()
	return build(t, "arena", filepath.Join(repoRoot(), "games", "arena"), tags...)
}

// build returns the module of the Go package in dir, built with tags on
// first use.
func build(t testing.TB, name, dir string, tags ...string) []byte {
	t.Helper()
	key := dir + "#" + strings.Join(tags, ",")
	mu.Lock()
	b, ok := builds[key]
	if !ok {
		b = &built{}
		builds[key] = b
	}
	mu.Unlock()
	b.once.Do(func() {
		tmp, err := os.MkdirTemp("", "rcc-game-"+name)
		if err != nil {
			b.err = err
			return
		}
		defer os.RemoveAll(tmp)
		out := filepath.Join(tmp, name+".wasm")
		opts := Options()
		opts.Tags = tags
		if b.err = gamebuild.BuildWith(context.Background(), dir, out, opts); b.err == nil {
			b.wasm, b.err = os.ReadFile(out)
		}
	})
	if errors.Is(b.err, gamebuild.ErrNoToolchain) {
		testenv.Unavailable(t, "the toolchain of "+dir, b.err.Error()+" (make setup installs every toolchain)")
	}
	if b.err != nil {
		t.Fatalf("build %s: %v", dir, b.err)
	}
	return b.wasm
}

// Arena returns the arena game's module.
func Arena(t testing.TB) []byte { return Game(t, "arena") }

// ArenaFile writes the arena game's module into a directory of the test's
// own and returns its path.
func ArenaFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "arena.wasm")
	if err := os.WriteFile(path, Arena(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
