package main

import (
	"os"
	"strings"
	"testing"
)

func TestPublicURLOf(t *testing.T) {
	h := hostname()
	tests := []struct{ name, addr, want string }{
		{"every interface", ":7450", "ws://" + h + ":7450"},
		{"IPv4 unspecified", "0.0.0.0:7450", "ws://" + h + ":7450"},
		{"IPv6 unspecified", "[::]:7450", "ws://" + h + ":7450"},
		{"loopback", "127.0.0.1:7450", "ws://127.0.0.1:7450"},
		{"IPv6 loopback", "[::1]:7450", "ws://[::1]:7450"},
		{"host name", "exec-1.example:80", "ws://exec-1.example:80"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := publicURLOf(tc.addr); got != tc.want {
				t.Fatalf("publicURLOf(%q) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}

func TestExecutorConfigValidate(t *testing.T) {
	ok := executorConfig{Coordinator: "c:7400", Token: "t", Name: "n", WSAddr: ":7450", DataDir: "/d"}
	tests := []struct {
		name   string
		change func(*executorConfig)
		want   string
	}{
		{"valid", func(*executorConfig) {}, ""},
		{"token file instead", func(c *executorConfig) { c.Token, c.TokenFile = "", "/f" }, ""},
		{"no token", func(c *executorConfig) { c.Token = "" }, "executor token is required"},
		{"no name", func(c *executorConfig) { c.Name = "" }, "--name"},
		{"http public url", func(c *executorConfig) { c.PublicURL = "http://x:1" }, "--public-url"},
		{"wss public url", func(c *executorConfig) { c.PublicURL = "wss://exec.example" }, ""},
		{"bad label", func(c *executorConfig) { c.Labels = []string{"nokey"} }, "--label"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.change(&c)
			err := c.validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestExecutorNeedsAToken(t *testing.T) {
	for _, k := range []string{"RCC_TOKEN", "RCC_EXECUTOR_TOKEN", "RCC_EXECUTOR_TOKEN_FILE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	code, _, errOut := rccd(t, "executor", "--data-dir", t.TempDir())
	if code != exitUsage || !strings.Contains(errOut, "executor token is required") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}
