package gamebuildtest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/rcc-games/rcc/pkg/gamebuild"
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

// Game returns the module of games/NAME, built on first use.
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
		if b.err = gamebuild.BuildTags(context.Background(), dir, out, tags...); b.err == nil {
			b.wasm, b.err = os.ReadFile(out)
		}
	})
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
