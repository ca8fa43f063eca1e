package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/auth"
	"github.com/rcc-games/rcc/pkg/client"
	"github.com/rcc-games/rcc/pkg/coordinator"
	"github.com/rcc-games/rcc/pkg/coordinator/coordinatortest"
)

// TestContexts: two coordinators, each known by a context; the one in use
// follows --context, then RCC_CONTEXT, then context use, and the
// credentials file of rccd dev stays the default.
func TestContexts(t *testing.T) {
	dev := coordinatortest.Start(t, coordinator.Config{})
	prod := coordinatortest.Start(t, coordinator.Config{})
	cfgHome := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfgHome)
	t.Setenv("RCC_ADDR", "")
	t.Setenv("RCC_TOKEN", "")
	t.Setenv("RCC_CONTEXT", "")
	credsPath, _ := client.DefaultCredentialsPath()
	if err := client.SaveCredentials(credsPath, client.Credentials{Addr: dev.Addr, Token: client.Token(dev.Token(auth.RoleAdmin, "dev"))}); err != nil {
		t.Fatal(err)
	}
	ctl := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := rccctl(t, args...)
		if code != want {
			t.Fatalf("rccctl %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out + errOut
	}
	minimal := "../../pkg/coordinator/testdata/minimal.wasm"
	ctl(0, "game", "deploy", minimal, "--name", "on-dev") // the default context: the credentials file

	tokenFile := filepath.Join(t.TempDir(), "prod.token")
	if err := os.WriteFile(tokenFile, []byte(string(prod.Token(auth.RoleAdmin, "prod"))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctl(0, "context", "add", "prod", "--addr", prod.Addr, "--token-file", tokenFile)
	ctl(0, "game", "deploy", minimal, "--name", "on-prod", "--context", "prod")
	games := func(args ...string) string { t.Helper(); return ctl(0, append([]string{"game", "ls"}, args...)...) }
	if out := games(); !strings.Contains(out, "on-dev") || strings.Contains(out, "on-prod") {
		t.Fatalf("default context lists:\n%s", out)
	}
	if out := games("--context", "prod"); !strings.Contains(out, "on-prod") || strings.Contains(out, "on-dev") {
		t.Fatalf("--context prod lists:\n%s", out)
	}
	ctl(0, "context", "use", "prod")
	if out := games(); !strings.Contains(out, "on-prod") {
		t.Fatalf("after context use prod:\n%s", out)
	}
	t.Setenv("RCC_CONTEXT", "default")
	if out := games(); !strings.Contains(out, "on-dev") {
		t.Fatalf("RCC_CONTEXT=default:\n%s", out)
	}
	if out := games("--context", "prod"); !strings.Contains(out, "on-prod") {
		t.Fatalf("--context beats RCC_CONTEXT:\n%s", out)
	}
	t.Setenv("RCC_CONTEXT", "")

	var list []contextOut
	if err := json.Unmarshal([]byte(ctl(0, "context", "ls", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	want := []contextOut{{Name: "default", Addr: dev.Addr, Source: "credentials"}, {Name: "prod", Addr: prod.Addr, Current: true, Source: "config"}}
	if len(list) != 2 || list[0] != want[0] || list[1] != want[1] {
		t.Fatalf("context ls = %+v, want %+v", list, want)
	}
	if out := ctl(0, "context", "ls"); strings.Contains(out, "eyJ") {
		t.Fatalf("context ls shows a token:\n%s", out)
	}
	if fi, err := os.Stat(filepath.Join(cfgHome, "rcc", "config.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config.json: %v %v", fi, err)
	}

	// Mistakes are usage errors that change nothing.
	for _, args := range [][]string{
		{"context", "use", "staging"},
		{"game", "ls", "--context", "staging"},
		{"context", "add", "default", "--addr", "x:1", "--token", "t"},
		{"context", "add", "bad name", "--addr", "x:1", "--token", "t"},
		{"context", "add", "x", "--token", "t"},
		{"context", "add", "x", "--addr", "x:1"},
		{"context", "rm", "staging"},
		{"context", "rm"},
	} {
		if out := ctl(2, args...); !strings.Contains(out, "rccctl:") {
			t.Errorf("%v: %s", args, out)
		}
	}
	t.Setenv("RCC_CONTEXT", "staging")
	if out := ctl(2, "game", "ls"); !strings.Contains(out, `RCC_CONTEXT: context "staging": no such context`) {
		t.Fatalf("RCC_CONTEXT=staging: %s", out)
	}
	t.Setenv("RCC_CONTEXT", "")

	// Removing the context in use gives the default back.
	ctl(0, "context", "rm", "prod")
	if out := games(); !strings.Contains(out, "on-dev") {
		t.Fatalf("after rm prod:\n%s", out)
	}
	cfg, err := client.LoadConfig(filepath.Join(cfgHome, "rcc", "config.json"))
	if err != nil || cfg.Current != "" || len(cfg.Contexts) != 0 {
		t.Fatalf("config after rm = %+v %v", cfg, err)
	}
}
