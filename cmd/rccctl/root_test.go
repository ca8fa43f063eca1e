package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rcc-games/rcc/pkg/cmdline"
)

// TestCommandLine: a wrong command line exits 2 naming what is wrong, at
// any depth, before anything is asked of a coordinator.
func TestCommandLine(t *testing.T) {
	t.Setenv("RCC_ADDR", "127.0.0.1:1")
	t.Setenv("RCC_TOKEN", "t")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"gmae"}, `unknown command "gmae" for "rccctl" (did you mean game?)`},
		{[]string{"game", "frobnicate"}, `unknown command "frobnicate" for "rccctl game"`},
		{[]string{"instance", "frobnicate", "x"}, `unknown command "frobnicate" for "rccctl instance"`},
		{[]string{"context", "frobnicate"}, `unknown command "frobnicate" for "rccctl context"`},
		{[]string{"executor"}, "rccctl executor: missing subcommand: want one of drain, ls, undrain"},
		{[]string{"instance", "get"}, "missing ID"},
		{[]string{"instance", "stop"}, "missing ID..."},
		{[]string{"game", "replay", "a.wasm"}, "missing LOG"},
		{[]string{"game", "rm"}, "missing GAME"},
		{[]string{"executor", "undrain"}, "missing ID"},
		{[]string{"instance", "ls", "extra"}, `unexpected argument "extra"`},
		{[]string{"instance", "get", "a", "b"}, `unexpected argument "b" after ID`},
		{[]string{"instance", "ls", "--watch", "--all"}, "--watch follows changes from now on"},
		{[]string{"version", "extra"}, `unexpected argument "extra"`},
	}
	for _, tc := range tests {
		code, out, errOut := rccctl(t, tc.args...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "--help' for usage") {
			t.Errorf("rccctl %s: exit %d, want %d with %q\nstdout: %s\nstderr: %s", strings.Join(tc.args, " "), code, exitUsage, tc.want, out, errOut)
		}
	}
	if code, out, _ := rccctl(t); code != exitOK || !strings.Contains(out, "Available Commands") {
		t.Errorf("rccctl alone: exit %d\n%s", code, out)
	}
}

// TestShorthands: -o means --output wherever it exists.
func TestShorthands(t *testing.T) {
	root := newRootCmd()
	cmdline.Prepare(root)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Shorthand == "o" && f.Name != "output" {
				t.Errorf("%s: -o is --%s, want -o only for --output", c.CommandPath(), f.Name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
