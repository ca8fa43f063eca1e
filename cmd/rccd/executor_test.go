package main

import (
	"os"
	"strings"
	"testing"
)

func TestPublicURLOf(t *testing.T) {
	h := hostname()
	tests := []struct {
		name, addr string
		tls        bool
		want       string
	}{
		{"every interface", ":7450", false, "ws://" + h + ":7450"},
		{"IPv4 unspecified", "0.0.0.0:7450", false, "ws://" + h + ":7450"},
		{"IPv6 unspecified", "[::]:7450", false, "ws://" + h + ":7450"},
		{"loopback", "127.0.0.1:7450", false, "ws://127.0.0.1:7450"},
		{"IPv6 loopback", "[::1]:7450", false, "ws://[::1]:7450"},
		{"host name", "exec-1.example:80", false, "ws://exec-1.example:80"},
		{"TLS", "10.0.0.5:7450", true, "wss://10.0.0.5:7450"},
		{"TLS on every interface", ":7450", true, "wss://" + h + ":7450"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := publicURLOf(tc.addr, tc.tls); got != tc.want {
				t.Fatalf("publicURLOf(%q) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}

func TestExecutorConfigValidate(t *testing.T) {
	ok := executorConfig{Coordinator: "127.0.0.1:7400", Token: "t", Name: "n", WSAddr: "127.0.0.1:7450", DataDir: "/d"}
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
		{"plaintext players' endpoint off loopback", func(c *executorConfig) { c.WSAddr = ":7450" }, "--ws-addr :7450: plaintext off loopback"},
		{"plaintext off loopback, insecure", func(c *executorConfig) { c.WSAddr, c.TLS.Insecure = ":7450", true }, ""},
		{"TLS players' endpoint", func(c *executorConfig) { c.WSAddr, c.TLS.Cert, c.TLS.Key = ":7450", "c.pem", "k.pem" }, ""},
		{"certificate without key", func(c *executorConfig) { c.TLS.Cert = "c.pem" }, "--tls-cert and --tls-key go together"},
		{"ws public url with TLS", func(c *executorConfig) { c.TLS.Cert, c.TLS.Key, c.PublicURL = "c.pem", "k.pem", "ws://x:1" }, "want wss://"},
		{"plaintext coordinator off loopback", func(c *executorConfig) { c.Coordinator = "127.0.0.1:7400,coord-2:7400" }, "--coordinator coord-2:7400: plaintext off loopback"},
		{"coordinator over TLS", func(c *executorConfig) { c.Coordinator, c.CoordTLS.CA = "coord-1:7400,coord-2:7400", "ca.pem" }, ""},
		{"coordinator over TLS, system roots", func(c *executorConfig) { c.Coordinator, c.CoordTLS.SystemRoots = "coord.example:443", true }, ""},
		{"client certificate without TLS", func(c *executorConfig) { c.CoordTLS.Cert, c.CoordTLS.Key = "c.pem", "k.pem" }, "needs TLS to the coordinator"},
		{"bad coordinator list", func(c *executorConfig) { c.Coordinator = "127.0.0.1:7400,nope" }, "want host:port"},
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
