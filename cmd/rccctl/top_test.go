package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
)

// TestTopNotATerminal: with standard output not a terminal, top prints one
// snapshot as tables and exits; bad flags exit 2 and print nothing.
func TestTopNotATerminal(t *testing.T) {
	srv := coordinatortest.Start(t, coordinator.Config{})
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("RCC_ADDR", "")
	t.Setenv("RCC_TOKEN", "")
	t.Setenv("RCC_CONTEXT", "")
	conn := []string{"--addr", srv.Addr, "--token", string(srv.Token(auth.RoleAdmin, "top"))}
	if code, out, errOut := rccctl(t, append([]string{"game", "deploy", corpus + "recorder.wasm", "--name", "rec"}, conn...)...); code != exitOK {
		t.Fatalf("deploy: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := rccctl(t, append([]string{"instance", "spawn", "rec", "--label", "region=eu"}, conn...)...)
	m := regexp.MustCompile(`\bi-[0-9a-f]{16}\b`).FindString(out)
	if code != exitOK || m == "" {
		t.Fatalf("spawn: exit %d\n%s%s", code, out, errOut)
	}
	id := m
	for _, args := range [][]string{{"top"}, {"top", "--once"}} {
		code, out, errOut := rccctl(t, append(args, conn...)...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") || lines[1] != "" || !strings.HasPrefix(lines[2], "ID") ||
			!strings.Contains(lines[3], id) || !strings.Contains(lines[3], "pending") || !strings.HasSuffix(lines[3], "region=eu") {
			t.Fatalf("%v printed:\n%s", args, out)
		}
	}
	for _, args := range [][]string{{"top", "--interval", "0s"}, {"top", "--output", "yaml"}, {"top", "extra"}} {
		if code, out, errOut := rccctl(t, append(args, conn...)...); code != exitUsage || out != "" || errOut == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and a message", args, code, out, errOut)
		}
	}
}
