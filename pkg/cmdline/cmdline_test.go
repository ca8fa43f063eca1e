package cmdline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// tree is a small command tree like rccctl's: a group with two commands
// and a nested group.
func tree() *cobra.Command {
	root := &cobra.Command{Use: "tool"}
	game := &cobra.Command{Use: "game", Short: "games"}
	game.AddCommand(
		&cobra.Command{Use: "deploy FILE", Args: Args("FILE"), RunE: func(*cobra.Command, []string) error { return nil }},
		&cobra.Command{Use: "versions GAME [N]", Args: Args("GAME", "[N]"), RunE: func(*cobra.Command, []string) error { return nil }},
		&cobra.Command{Use: "stop ID...", Args: Args("ID..."), RunE: func(*cobra.Command, []string) error { return nil }},
		&cobra.Command{Use: "fail", Args: Args(), RunE: func(*cobra.Command, []string) error { return errors.New("it broke") }},
		&cobra.Command{Use: "quiet", Args: Args(), RunE: func(*cobra.Command, []string) error { return ExitCode(3) }},
		&cobra.Command{Use: "exact", Args: cobra.ExactArgs(1), RunE: func(*cobra.Command, []string) error { return nil }},
	)
	nested := &cobra.Command{Use: "asset"}
	nested.AddCommand(&cobra.Command{Use: "ls", Args: Args(), RunE: func(*cobra.Command, []string) error { return nil }})
	game.AddCommand(nested)
	root.AddCommand(game, NewVersionCmd())
	return root
}

func TestRun(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"ok", []string{"game", "deploy", "a.wasm"}, ExitOK, ""},
		{"root alone prints help", nil, ExitOK, ""},
		{"unknown at the top", []string{"gmae"}, ExitUsage, `unknown command "gmae" for "tool" (did you mean game?)`},
		{"unknown in a group", []string{"game", "rm"}, ExitUsage, `unknown command "rm" for "tool game": want one of asset, deploy, exact, fail, quiet, stop, versions`},
		{"unknown two deep", []string{"game", "asset", "put"}, ExitUsage, `unknown command "put" for "tool game asset"`},
		{"missing subcommand", []string{"game"}, ExitUsage, "tool game: missing subcommand: want one of asset, deploy"},
		{"missing argument named", []string{"game", "deploy"}, ExitUsage, "missing FILE"},
		{"missing first of two", []string{"game", "versions"}, ExitUsage, "missing GAME\n"},
		{"optional given", []string{"game", "versions", "arena", "2"}, ExitOK, ""},
		{"one too many", []string{"game", "versions", "arena", "2", "3"}, ExitUsage, `unexpected argument "3" after GAME [N]`},
		{"none of many", []string{"game", "stop"}, ExitUsage, "missing ID..."},
		{"none wanted", []string{"game", "fail", "x"}, ExitUsage, `unexpected argument "x": this command takes none`},
		{"cobra's own check", []string{"game", "exact"}, ExitUsage, "accepts 1 arg(s)"},
		{"unknown flag", []string{"game", "deploy", "a", "--nope"}, ExitUsage, "unknown flag: --nope"},
		{"usage points to help", []string{"game", "deploy"}, ExitUsage, "run 'tool game deploy --help' for usage"},
		{"operation failed", []string{"game", "fail"}, ExitFail, "tool: it broke\n"},
		{"exit code as is", []string{"game", "quiet"}, 3, ""},
		{"version bad output", []string{"version", "-o", "yaml"}, ExitUsage, `--output "yaml"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), tree(), tc.args, &out, &errOut)
			if code != tc.code || !strings.Contains(errOut.String(), tc.stderr) {
				t.Fatalf("exit %d, want %d; stderr %q, want it to contain %q", code, tc.code, errOut.String(), tc.stderr)
			}
			if tc.stderr == "" && tc.code == ExitOK && errOut.Len() != 0 {
				t.Fatalf("stderr %q", errOut.String())
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), tree(), []string{"version", "--output", "json"}, &out, &errOut); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var v map[string]any
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "commit", "modified", "go_version", "platform"} {
		if _, ok := v[k]; !ok {
			t.Errorf("version JSON lacks %q: %s", k, out.String())
		}
	}
	if !strings.HasPrefix(v["go_version"].(string), "go1.") {
		t.Errorf("go_version = %v", v["go_version"])
	}
	out.Reset()
	if code := Run(context.Background(), tree(), []string{"version"}, &out, &errOut); code != ExitOK || !strings.HasPrefix(out.String(), "tool ") ||
		!strings.Contains(out.String(), "go        go1.") {
		t.Fatalf("version: exit %d\n%s", code, out.String())
	}
}

func TestManPages(t *testing.T) {
	dir := t.TempDir()
	root := tree()
	root.AddCommand(NewManCmd())
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), root, []string{"gen-man", dir}, &out, &errOut); code != ExitOK {
		t.Fatalf("gen-man: exit %d %s", code, errOut.String())
	}
	for page, want := range map[string]string{
		"tool.1":             `.TH "tool" "1"`,
		"tool-game-deploy.1": "tool game deploy FILE",
		"tool-version.1":     `\fB--output\fP="table"`,
	} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %q:\n%s", page, want, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tool-gen-man.1")); err == nil {
		t.Error("the hidden gen-man has a page")
	}
	if code := Run(context.Background(), tree(), []string{"gen-man"}, &out, &errOut); code != ExitUsage {
		t.Errorf("gen-man without DIR in a tree without it: exit %d", code)
	}
}
