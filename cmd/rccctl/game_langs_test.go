package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/gamebuild/gamebuildtest"
	"github.com/rcc-games/rcc/pkg/testenv"
)

// TestGameBuildOtherLanguages: rccctl game build finds a C and a Cargo
// project by their files, builds and checks them, and without the
// toolchains says how to get them.
func TestGameBuildOtherLanguages(t *testing.T) {
	testenv.MustHaveCommand(t, "clang", "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 (make setup)")
	opts := gamebuildtest.Options()
	out := filepath.Join(t.TempDir(), "game.wasm")
	for _, args := range [][]string{
		{"game", "build", "../../games/c-coins", "--out", out},
		{"game", "build", "../../games/rust-tag", "--out", out, "--rust-root", opts.RustRoot, "--cargo-target-dir", opts.CargoTargetDir},
	} {
		if opts.RustRoot == "" && strings.Contains(args[2], "rust") {
			testenv.MustHaveCommand(t, "cargo", "make setup (scripts/setup-rust.sh) or rustup target add wasm32-wasip1")
		}
		code, stdout, stderr := rccctl(t, args...)
		if code != exitOK || !strings.Contains(stdout, "built "+out) {
			t.Fatalf("rccctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
		}
	}
	t.Setenv("PATH", t.TempDir())
	t.Setenv("RCC_RUST_ROOT", "")
	for dir, want := range map[string]string{
		"../../games/c-coins":  "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32",
		"../../games/rust-tag": "rustup target add wasm32-wasip1",
	} {
		code, _, stderr := rccctl(t, "game", "build", dir, "--out", out)
		if code != exitFail || !strings.Contains(stderr, want) {
			t.Errorf("%s without its toolchain: exit %d, stderr %q, want it to say %q", dir, code, stderr, want)
		}
	}
}
