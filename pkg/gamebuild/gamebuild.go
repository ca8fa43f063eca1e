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

// ErrNoToolchain means the go command is not installed or not on PATH.
var ErrNoToolchain = errors.New("the Go toolchain (the go command) is not on PATH; install Go 1.26 or newer from https://go.dev/dl")

// Build compiles the Go package in dir to a wasm module at out:
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared. The compiler's own
// messages are part of the returned error.
func Build(ctx context.Context, dir, out string) error {
	return BuildTags(ctx, dir, out)
}

// BuildTags is Build with build tags (go build -tags), for the variants of
// a game that tests build.
func BuildTags(ctx context.Context, dir, out string, tags ...string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return ErrNoToolchain
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(absOut), 0o755); err != nil {
		return err
	}
	args := []string{"build", "-buildmode=c-shared", "-trimpath", "-o", absOut}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.CommandContext(ctx, goBin, append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("build %s:\n%s", dir, msg)
	}
	return nil
}
