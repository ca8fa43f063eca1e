package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated shell completions in completions/")

// TestCompletionsInSync keeps completions/ equal to what `rccctl completion
// SHELL` prints; `go test ./cmd/rccctl -run TestCompletionsInSync -update`
// (or `make completions`) rewrites them.
func TestCompletionsInSync(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		t.Run(shell, func(t *testing.T) {
			code, out, errOut := rccctl(t, "completion", shell)
			if code != exitOK || len(out) == 0 {
				t.Fatalf("completion %s: exit %d, %s", shell, code, errOut)
			}
			ext := map[string]string{"powershell": "ps1"}[shell]
			if ext == "" {
				ext = shell
			}
			path := filepath.Join("..", "..", "completions", "rccctl."+ext)
			if *update {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (make completions writes it)", err)
			}
			if !bytes.Equal(want, []byte(out)) {
				t.Errorf("%s is stale: run make completions", path)
			}
		})
	}
}
