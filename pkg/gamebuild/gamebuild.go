package gamebuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoToolchain means the compiler a project needs is not installed or
// not on PATH. The errors that wrap it say which one and how to install it.
var ErrNoToolchain = errors.New("toolchain missing")

// Kind is the language of a game project.
type Kind string

// The kinds of project Build compiles.
const (
	// Go is a Go main package (a go.mod or .go files).
	Go Kind = "go"
	// Rust is a Cargo crate (a Cargo.toml) whose library is a cdylib.
	Rust Kind = "rust"
	// C is a directory of .c files, compiled together by clang.
	C Kind = "c"
	// AssemblyScript is an npm project (a package.json) whose entry file
	// is assembly/index.ts, compiled by the assemblyscript package it
	// depends on.
	AssemblyScript Kind = "assemblyscript"
)

// WASMTarget is the Rust target a game is built for.
const WASMTarget = "wasm32-wasip1"

// Options are the toolchains' locations; the zero value finds everything
// on PATH.
type Options struct {
	// RustRoot, when set, is a directory holding a Rust toolchain
	// extracted from Debian's rustc-web, cargo-web and rust-web-src
	// packages (see scripts/setup-rust.sh): its cargo builds the standard
	// library from source for wasm32-wasip1, offline. When empty, cargo
	// and rustc come from PATH and rustc must have the wasm32-wasip1
	// target (rustup target add wasm32-wasip1).
	RustRoot string
	// CargoTargetDir, when set, is cargo's target directory, shared by
	// every crate built with these options, so that the standard library
	// built from source is built once.
	CargoTargetDir string
	// Tags are build tags for a Go game (go build -tags), for the variants
	// of a game that tests build; other kinds ignore them.
	Tags []string
	// WASISysroot is the wasi-libc sysroot clang links C games against;
	// empty means /usr, where Debian's wasi-libc package puts it.
	WASISysroot string
}

// Detect returns the kind of the project in dir: Rust when it has a
// Cargo.toml, AssemblyScript when it has a package.json, Go when it has a
// go.mod or .go files, C when it has .c files.
func Detect(dir string) (Kind, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	has := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	glob := func(pat string) bool {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		return len(m) > 0
	}
	switch {
	case has("Cargo.toml"):
		return Rust, nil
	case has("package.json"):
		return AssemblyScript, nil
	case has("go.mod") || glob("*.go"):
		return Go, nil
	case glob("*.c"):
		return C, nil
	}
	return "", fmt.Errorf("%s is not a game project: no Cargo.toml, package.json, go.mod, .go or .c files", dir)
}

// Build compiles the project in dir to a wasm module at out, finding the
// toolchains on PATH; see BuildWith.
func Build(ctx context.Context, dir, out string) error {
	return BuildWith(ctx, dir, out, Options{})
}

// BuildWith compiles the project in dir (of the kind Detect finds) to a
// WASI reactor module at out. The compiler's own messages are part of the
// returned error; a missing toolchain is an error wrapping ErrNoToolchain.
func BuildWith(ctx context.Context, dir, out string, opts Options) error {
	kind, err := Detect(dir)
	if err != nil {
		return err
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(absOut), 0o755); err != nil {
		return err
	}
	switch kind {
	case Rust:
		return buildRust(ctx, dir, absOut, opts)
	case C:
		return buildC(ctx, dir, absOut, opts)
	case AssemblyScript:
		return buildAS(ctx, dir, absOut)
	}
	return buildGo(ctx, dir, absOut, opts.Tags)
}

func buildGo(ctx context.Context, dir, out string, tags []string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("%w: the Go toolchain (the go command) is not on PATH; install Go 1.26 or newer from https://go.dev/dl", ErrNoToolchain)
	}
	args := []string{"build", "-buildmode=c-shared", "-trimpath", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	return run(ctx, dir, []string{"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0"}, goBin, append(args, ".")...)
}

// run runs a compiler in dir with env added, returning its output in the
// error when it fails.
func run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var output bytes.Buffer
	cmd.Stderr = &output
	cmd.Stdout = &output
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(output.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("build %s:\n%s", dir, msg)
	}
	return nil
}
