package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
)

// TestDynamicCompletion asks rccctl's hidden __complete command, as the
// shell scripts in completions/ do, for words the coordinator knows.
func TestDynamicCompletion(t *testing.T) {
	srv := coordinatortest.Start(t, coordinator.Config{})
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("RCC_ADDR", srv.Addr)
	t.Setenv("RCC_TOKEN", string(srv.Token(auth.RoleAdmin, "complete")))
	t.Setenv("RCC_CONTEXT", "")
	minimal := "../../pkg/coordinator/testdata/minimal.wasm"
	for _, g := range []string{"arena", "asteroids"} {
		if code, out, errOut := rccctl(t, "game", "deploy", minimal, "--name", g); code != 0 {
			t.Fatalf("deploy: %s%s", out, errOut)
		}
	}
	var in struct{ ID string }
	_, out, _ := rccctl(t, "instance", "spawn", "arena", "-o", "json")
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatal(err)
	}
	complete := func(args ...string) []string {
		t.Helper()
		code, out, errOut := rccctl(t, append([]string{"__complete"}, args...)...)
		if code != 0 {
			t.Fatalf("__complete %v: exit %d %s", args, code, errOut)
		}
		var words []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(line, ":") { // the last line is the directive
				words = append(words, strings.SplitN(line, "\t", 2)[0])
			}
		}
		return words
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"game names", []string{"instance", "spawn", ""}, []string{"arena", "asteroids"}},
		{"game prefix", []string{"join", "ast"}, []string{"asteroids"}},
		{"one game only", []string{"instance", "spawn", "arena", ""}, nil},
		{"instance ids", []string{"instance", "get", ""}, []string{in.ID}},
		{"ids not yet given", []string{"instance", "stop", in.ID, ""}, nil},
		{"versions of a game", []string{"game", "rm", "arena", "--version", ""}, []string{"1"}},
		{"states", []string{"instance", "ls", "--state", ""}, instanceStateWords},
		{"output", []string{"game", "ls", "--output", ""}, []string{"table", "json"}},
		{"contexts", []string{"game", "ls", "--context", ""}, []string{"default"}},
		{"subcommands", []string{"executor", ""}, []string{"drain", "ls", "undrain"}},
		{"executor ids, none", []string{"executor", "drain", ""}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := complete(tc.args...); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("completions %q, want %q", got, tc.want)
			}
		})
	}
	// A coordinator that is away offers nothing, quickly.
	t.Setenv("RCC_ADDR", "127.0.0.1:1")
	if got := complete("instance", "get", ""); len(got) != 0 {
		t.Fatalf("with no coordinator: %q", got)
	}
}
