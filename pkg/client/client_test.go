package client_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/client"
	rccv1 "github.com/rcc-games/rcc/proto/rcc/v1"
)

func TestCredentialsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rcc", "credentials.json")
	if _, err := client.LoadCredentials(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	want := client.Credentials{Addr: "127.0.0.1:7400", Token: client.Token("a.b.c")}
	if err := client.SaveCredentials(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := client.LoadCredentials(path)
	if err != nil || got != want {
		t.Fatalf("got %+v %v", got, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	if err := os.WriteFile(path, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := client.LoadCredentials(path); err == nil {
		t.Fatal("empty credentials accepted")
	}
}

func TestDefaultCredentialsPath(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/cfg")
	p, err := client.DefaultCredentialsPath()
	if err != nil || p != "/cfg/rcc/credentials.json" {
		t.Fatalf("%q %v", p, err)
	}
}

// Example deploys a module, spawns an instance and joins a player.
func Example() {
	ctx := context.Background()
	c, err := client.Dial("localhost:7400", client.Token(os.Getenv("RCC_TOKEN")))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	module, _ := os.ReadFile("build/games/arena.wasm")
	dep, err := c.Deploy(ctx, client.DeployRequest{Game: "arena", Module: module})
	if err != nil {
		fmt.Println(err)
		return
	}
	in, err := c.Instances.Spawn(ctx, &rccv1.SpawnRequest{Game: "arena", Version: dep.Version.Version, LeaseSeconds: 600})
	if err != nil {
		fmt.Println(err)
		return
	}
	j, err := c.Instances.Join(ctx, &rccv1.JoinRequest{Game: "arena", PlayerId: "alice"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(in.Id, j.WsUrl, j.Ticket != "")
}

func TestConfigRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rcc", "config.json")
	cfg, err := client.LoadConfig(path)
	if err != nil || cfg.Current != "" || len(cfg.Contexts) != 0 {
		t.Fatalf("missing file = %+v %v, want an empty config", cfg, err)
	}
	cfg.Contexts["prod"] = client.Credentials{Addr: "coord:7400", Token: "a.b.c"}
	cfg.Contexts["lab"] = client.Credentials{Addr: "lab:7400", Token: "d.e.f"}
	cfg.Current = "prod"
	if err := client.SaveConfig(path, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := client.LoadConfig(path)
	if err != nil || got.Current != "prod" || got.Contexts["lab"] != cfg.Contexts["lab"] || fmt.Sprint(got.Names()) != "[lab prod]" {
		t.Fatalf("round trip = %+v %v", got, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi, err)
	}
	if _, err := got.Context("staging"); !errors.Is(err, client.ErrNoContext) {
		t.Fatalf("missing context: %v", err)
	}
	if err := os.WriteFile(path, []byte(`{"current":"gone","contexts":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := client.LoadConfig(path); !errors.Is(err, client.ErrNoContext) {
		t.Fatalf("current context missing: %v", err)
	}
	for _, name := range []string{"", "-x", "a b", strings.Repeat("x", 64)} {
		if client.CheckContextName(name) == nil {
			t.Errorf("context name %q accepted", name)
		}
	}
	if err := client.CheckContextName("prod-eu.1"); err != nil {
		t.Error(err)
	}
}

// TestTokenRedacted checks that a token printed or logged shows REDACTED,
// and that the credentials file still holds the token itself.
func TestTokenRedacted(t *testing.T) {
	tok := client.Token("secret.jwt.value")
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("dial", "token", tok)
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %s %#v", tok, tok, tok),
		fmt.Sprintf("%+v", client.Credentials{Addr: "a", Token: tok}), logged.String()} {
		if strings.Contains(s, "secret") || !strings.Contains(s, "REDACTED") {
			t.Errorf("token shown: %s", s)
		}
	}
	path := filepath.Join(t.TempDir(), "credentials.json")
	if err := client.SaveCredentials(path, client.Credentials{Addr: "a", Token: tok}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), `"token": "secret.jwt.value"`) && !strings.Contains(string(b), `"token":"secret.jwt.value"`) {
		t.Fatalf("credentials file %q %v", b, err)
	}
}
