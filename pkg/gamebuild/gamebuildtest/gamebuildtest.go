package gamebuildtest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
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

// build returns the module of the Go package in dir, built on first use.
func build(t testing.TB, name, dir string) []byte {
	t.Helper()
	mu.Lock()
	b, ok := builds[dir]
	if !ok {
		b = &built{}
		builds[dir] = b
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
		if b.err = gamebuild.Build(context.Background(), dir, out); b.err == nil {
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
