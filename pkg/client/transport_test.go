package client_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rcc-games/rcc/pkg/certs"
	"github.com/rcc-games/rcc/pkg/client"
)

func TestSplitAddrs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{"", []string{client.DefaultAddr}, ""},
		{"a:1", []string{"a:1"}, ""},
		{"a:1, b:2,c:3", []string{"a:1", "b:2", "c:3"}, ""},
		{"a:1,b", nil, `"b": want host:port`},
		{"a:1,", nil, `"": want host:port`},
	} {
		got, err := client.SplitAddrs(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("SplitAddrs(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("SplitAddrs(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestTargetRefusesPlaintextOffLoopback(t *testing.T) {
	files, err := certs.WriteDev(certs.DevRequest{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		creds    client.Credentials
		insecure bool
		tls      bool
		err      error
	}{
		{"loopback plaintext", client.Credentials{Addr: "127.0.0.1:7400"}, false, false, nil},
		{"remote plaintext", client.Credentials{Addr: "coord.example:7400"}, false, false, certs.ErrPlaintext},
		{"one remote in the list", client.Credentials{Addr: "localhost:7400,10.0.0.2:7400"}, false, false, certs.ErrPlaintext},
		{"remote plaintext, insecure", client.Credentials{Addr: "coord.example:7400"}, true, false, nil},
		{"remote with a CA file", client.Credentials{Addr: "coord.example:7400", CA: files.CA}, false, true, nil},
		{"remote with the system roots", client.Credentials{Addr: "coord.example:7400", CA: client.SystemRoots}, false, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg, err := tc.creds.Target(tc.insecure)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("Target: %v, want %v", err, tc.err)
			}
			if err == nil && (tg.TLS != nil) != tc.tls {
				t.Fatalf("TLS %v, want %v", tg.TLS != nil, tc.tls)
			}
		})
	}
	if _, err := (client.Credentials{Addr: "a:1", CA: "/no/such/ca.pem"}).Target(false); err == nil || !strings.Contains(err.Error(), "read CA file") {
		t.Fatalf("a missing CA file: %v", err)
	}
}
