package client_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/rcc-games/rcc/pkg/client"
)

// TestResolve checks the order in which Resolve takes the address and
// token: flags, --context, RCC_ADDR and RCC_TOKEN, RCC_CONTEXT or the
// current context, the credentials file; and its errors.
func TestResolve(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	credsPath, err := client.DefaultCredentialsPath()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Resolve(client.Selection{}); !errors.Is(err, client.ErrNoToken) {
		t.Fatalf("nothing anywhere: %v, want client.ErrNoToken", err)
	}
	if err := client.SaveCredentials(credsPath, client.Credentials{Addr: "dev:1", Token: "dev-token"}); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(filepath.Dir(credsPath), "config.json")
	if err := client.SaveConfig(cfgPath, client.Config{Contexts: map[string]client.Credentials{
		"prod":    {Addr: "prod:1", Token: "prod-token"},
		"staging": {Addr: "staging:1", Token: "staging-token"},
	}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		sel         client.Selection
		addr, token string
	}{
		{"the credentials file", client.Selection{}, "dev:1", "dev-token"},
		{"flags win", client.Selection{Addr: "flag:1", Token: "flag-token", Context: "prod", EnvAddr: "env:1"}, "flag:1", "flag-token"},
		{"--context beats the environment", client.Selection{Context: "prod", EnvAddr: "env:1", EnvToken: "env-token"}, "prod:1", "prod-token"},
		{"--addr with --context's token", client.Selection{Addr: "flag:1", Context: "prod"}, "flag:1", "prod-token"},
		{"the environment beats RCC_CONTEXT", client.Selection{EnvAddr: "env:1", EnvToken: "env-token", EnvContext: "prod"}, "env:1", "env-token"},
		{"RCC_CONTEXT fills what the environment lacks", client.Selection{EnvToken: "env-token", EnvContext: "staging"}, "staging:1", "env-token"},
		{"RCC_CONTEXT=default is the credentials file", client.Selection{EnvContext: "default"}, "dev:1", "dev-token"},
		{"a token alone: the default address", client.Selection{Token: "t", Context: "default", Addr: ""}, "dev:1", "t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.Resolve(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if c.Addr != tt.addr || string(c.Token) != tt.token {
				t.Fatalf("got %s %s, want %s %s", c.Addr, c.Token, tt.addr, tt.token)
			}
		})
	}
	var se *client.SelectionError
	if _, err := client.Resolve(client.Selection{EnvContext: "nope"}); !errors.As(err, &se) || !errors.Is(err, client.ErrNoContext) {
		t.Fatalf("unknown context: %v, want a client.SelectionError wrapping client.ErrNoContext", err)
	}
	// The current context of the config applies when nothing else is chosen.
	if err := client.SaveConfig(cfgPath, client.Config{Current: "staging", Contexts: map[string]client.Credentials{"staging": {Addr: "staging:1", Token: "staging-token"}}}); err != nil {
		t.Fatal(err)
	}
	if c, err := client.Resolve(client.Selection{}); err != nil || c.Addr != "staging:1" {
		t.Fatalf("current context: %v %v", c, err)
	}
	// Without a credentials file or any address, the address is client.DefaultAddr.
	if err := client.SaveConfig(cfgPath, client.Config{}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if c, err := client.Resolve(client.Selection{Token: "t"}); err != nil || c.Addr != client.DefaultAddr {
		t.Fatalf("token only: %v %v", c, err)
	}
}
