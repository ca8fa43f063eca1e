package auth

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	key, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %#o, want 0600", perm)
	}
	again, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(again) {
		t.Fatal("second LoadOrCreateKey returned another key")
	}
	pub, err := ReadPublicKey(filepath.Join(dir, PublicKeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(key.Public()) {
		t.Fatal("public key file does not match the private key")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("data dir holds %d files, want the key and the public key", len(entries))
	}
}

func TestLoadOrCreateKeyRefusals(t *testing.T) {
	tests := []struct {
		name    string
		content []byte
		mode    os.FileMode
		want    error  // sentinel, or nil for any error
		wantMsg string // substring of the message
	}{
		{"readable by others", nil, 0o644, ErrKeyPermissions, "chmod 600"},
		{"readable by group", nil, 0o640, ErrKeyPermissions, "0640"},
		{"writable by others", nil, 0o602, ErrKeyPermissions, "want 0600"},
		{"not PEM", []byte("hello"), 0o600, nil, "no PEM PRIVATE KEY block"},
		{"public key instead", mustPublicPEM(t), 0o600, nil, "no PEM PRIVATE KEY block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			content := tt.content
			if content == nil {
				var err error
				if content, err = MarshalPrivateKey(testKey(4)); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, KeyFileName)
			if err := os.WriteFile(path, content, tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // beat the umask
				t.Fatal(err)
			}
			_, err := LoadOrCreateKey(dir)
			if err == nil {
				t.Fatal("LoadOrCreateKey accepted the key file")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %q, want it to name %s and say %q", err, path, tt.wantMsg)
			}
			// The refused file is left alone.
			if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
				t.Error("key file was rewritten")
			}
		})
	}
}

func mustPublicPEM(t *testing.T) []byte {
	t.Helper()
	b, err := MarshalPublicKey(testKey(5).Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadOrCreateKeyConcurrentStart(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	keys := make([]ed25519.PrivateKey, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = LoadOrCreateKey(dir) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("LoadOrCreateKey %d: %v", i, errs[i])
		}
		if !keys[i].Equal(keys[0]) {
			t.Fatalf("LoadOrCreateKey %d returned a different key", i)
		}
	}
}

func TestPublicKeyPEMRoundTrip(t *testing.T) {
	key := testKey(6)
	pemBytes, err := MarshalPublicKey(key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pemBytes, []byte("-----BEGIN PUBLIC KEY-----\n")) {
		t.Fatalf("not a PEM public key:\n%s", pemBytes)
	}
	pub, err := ParsePublicKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	// A verifier built from the PEM alone checks the issuer's tokens.
	iss, err := NewIssuer(key, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ver, err := NewVerifier(pub, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := iss.RoleToken(RoleExecutor, "exec-1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ver.Verify(string(tok)); err != nil {
		t.Fatalf("Verify with the PEM public key: %v", err)
	}

	privPEM, err := MarshalPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"private key": privPEM,
		"garbage":     []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
		"empty":       nil,
	} {
		if _, err := ParsePublicKey(data); err == nil {
			t.Errorf("ParsePublicKey accepted %s", name)
		}
	}
}
