package gamedev

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestIgnored(t *testing.T) {
	tests := []struct {
		name string
		dir  bool
		want bool
	}{
		{"game.go", false, false},
		{"main.c", false, false},
		{"Cargo.toml", false, false},
		{".game.go.swp", false, true},
		{"game.go.swx", false, true},
		{"4913", false, true},
		{"game.go~", false, true},
		{"#game.go#", false, true},
		{".#game.go", false, true},
		{"arena.wasm", false, true},
		{"x.tmp", false, true},
		{".git", true, true},
		{"target", true, true},
		{"node_modules", true, true},
		{"build", true, true},
		{"assembly", true, false},
		{"src", true, false},
	}
	for _, tt := range tests {
		if got := Ignored(tt.name, tt.dir); got != tt.want {
			t.Errorf("Ignored(%q, dir %v) = %v, want %v", tt.name, tt.dir, got, tt.want)
		}
	}
}

// TestWatcher: a burst of writes is one change; an editor's swap file,
// a build output and a hidden directory are none; a directory created
// after the start is watched, and so is one inside it.
func TestWatcher(t *testing.T) {
	root := t.TempDir()
	write := func(rel string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(rel), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("game.go")
	write(".git/HEAD")
	write("target/x.rlib")
	w, err := Watch(root, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	next := func() []string {
		t.Helper()
		got, err := w.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	// Ignored changes first, then a real one: Next reports only it.
	write(".game.go.swp")
	write("game.wasm")
	write(".git/index")
	write("target/y.rlib")
	write("game.go~")
	for range 5 {
		write("game.go")
	}
	if got := next(); !slices.Equal(got, []string{"game.go"}) {
		t.Fatalf("first burst: %q, want only game.go", got)
	}

	// A new directory, then a file in it and in one below.
	if err := os.MkdirAll(filepath.Join(root, "levels"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := next(); !slices.Contains(got, "levels") {
		t.Fatalf("new directory: %q", got)
	}
	write("levels/one.go")
	if got := next(); !slices.Equal(got, []string{filepath.Join("levels", "one.go")}) {
		t.Fatalf("file in the new directory: %q", got)
	}
	if err := os.MkdirAll(filepath.Join(root, "levels", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	next()
	write("levels/deep/two.go")
	if got := next(); !slices.Equal(got, []string{filepath.Join("levels", "deep", "two.go")}) {
		t.Fatalf("file two directories down: %q", got)
	}

	cancel()
	if _, err := w.Next(ctx); err == nil {
		t.Fatal("Next after its context ended returned no error")
	}
}
