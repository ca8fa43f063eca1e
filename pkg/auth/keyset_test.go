package auth

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// publicKeys is the key set's public keys as a verifier takes them.
func publicKeys(t testing.TB, ks *KeySet) map[string]crypto.PublicKey {
	t.Helper()
	b, err := ks.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParseJWKS(b)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestKeyRotation: tokens name their key; after a rotation new tokens use
// the new key, the old key's tokens stay valid until the key is removed
// (or its keep passes), and then they are refused as signed by an unknown
// key.
func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	ks1, err := LoadKeySet(dir, t0)
	if err != nil {
		t.Fatal(err)
	}
	if ks1.ActiveID != KeyID(ks1.Active().Public().(ed25519.PublicKey)) || len(ks1.Keys) != 1 {
		t.Fatalf("first key set = %+v", ks1)
	}
	is := NewKeySetIssuer(ks1, Options{Now: fixedClock(t0)})
	old := roleToken(t, is, RoleAdmin, time.Hour)

	ks2, err := RotateKey(dir, 2*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	if ks2.ActiveID == ks1.ActiveID || len(ks2.Keys) != 2 || len(ks2.Retired) != 1 || ks2.Retired[0].ID != ks1.ActiveID {
		t.Fatalf("after rotation = %+v", ks2)
	}
	is.SetKeySet(ks2)
	fresh := roleToken(t, is, RoleAdmin, time.Hour)
	v, err := NewKeySetVerifier(publicKeys(t, ks2), Options{Now: fixedClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"old key's token": old, "new key's token": fresh} {
		if _, err := v.Verify(tok); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The data directory's key set is what a coordinator reloads.
	again, err := LoadKeySet(dir, t0.Add(time.Hour))
	if err != nil || again.ActiveID != ks2.ActiveID || len(again.Keys) != 2 {
		t.Fatalf("reload = %+v, %v", again, err)
	}
	if pub, err := ReadPublicKey(filepath.Join(dir, PublicKeyFileName)); err != nil || KeyID(pub) != ks2.ActiveID {
		t.Fatalf("%s is not the active key: %v", PublicKeyFileName, err)
	}
	// Past its keep, the retired key is gone.
	if later, err := LoadKeySet(dir, t0.Add(3*time.Hour)); err != nil || len(later.Keys) != 1 {
		t.Fatalf("after keep = %+v, %v", later, err)
	}
	if _, err := RemoveKey(dir, ks2.ActiveID, t0); err == nil {
		t.Fatal("removed the active key")
	}
	removed, err := RemoveKey(dir, ks1.ActiveID, t0)
	if err != nil || len(removed.Keys) != 1 {
		t.Fatalf("remove = %+v, %v", removed, err)
	}
	v.SetKeys(publicKeys(t, removed))
	if _, err := v.Verify(old); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("removed key's token: %v, want %v", err, ErrUnknownKey)
	}
	if _, err := v.Verify(fresh); err != nil {
		t.Fatal(err)
	}
	if _, err := RemoveKey(dir, ks1.ActiveID, t0); err == nil {
		t.Fatal("removed a key twice")
	}
	if fi, err := os.Stat(filepath.Join(dir, KeySetFileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("manifest: %v %v", fi, err)
	}
}

// TestRefreshOnUnknownKey: a verifier meeting an unknown kid fetches the key
// set again, at most once per interval, so a flood of made-up kids costs
// one fetch.
func TestRefreshOnUnknownKey(t *testing.T) {
	now := t0
	clock := func() time.Time { return now }
	dir := t.TempDir()
	ks1, err := LoadKeySet(dir, t0)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewKeySetVerifier(publicKeys(t, ks1), Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	published := ks1
	fetches := 0
	v.RefreshOnUnknownKey(10*time.Second, func() (map[string]crypto.PublicKey, error) {
		fetches++
		return publicKeys(t, published), nil
	})
	ks2, err := RotateKey(dir, time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := NewIssuer(testKey(9), Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if _, err := v.Verify(roleToken(t, stranger, RoleAdmin, time.Hour)); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("stranger's token: %v", err)
		}
	}
	if fetches != 1 {
		t.Fatalf("%d fetches for 50 unknown kids, want 1", fetches)
	}
	published = ks2
	tok := roleToken(t, NewKeySetIssuer(ks2, Options{Now: clock}), RoleAdmin, time.Hour)
	if _, err := v.Verify(tok); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("within the interval: %v", err)
	}
	now = now.Add(11 * time.Second)
	if _, err := v.Verify(tok); err != nil || fetches != 2 {
		t.Fatalf("after the interval: %v (%d fetches)", err, fetches)
	}
}

func TestJWKS(t *testing.T) {
	pub := testKey(1).Public().(ed25519.PublicKey)
	b, err := MarshalJWKS(map[string]ed25519.PublicKey{"k1": pub})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParseJWKS(b)
	if err != nil || len(keys) != 1 || !pub.Equal(keys["k1"]) {
		t.Fatalf("round trip: %v %v", keys, err)
	}
	// RFC 8037 appendix A.3: the thumbprint of its example key.
	x := []byte{0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
		0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a}
	if got := KeyID(x); got != "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k" {
		t.Fatalf("KeyID = %s", got)
	}
	for name, bad := range map[string]string{
		"not json":    "{",
		"no kid":      `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
		"short x":     `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"AAAA"}]}`,
		"small RSA n": `{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}`,
	} {
		if _, err := ParseJWKS([]byte(bad)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	if keys, err := ParseJWKS([]byte(`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`)); err != nil || len(keys) != 0 {
		t.Errorf("a symmetric key was taken: %v %v", keys, err)
	}
}
