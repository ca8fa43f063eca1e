package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// KeySetFileName is the key set's manifest in the data directory, written
// by [RotateKey]: which key signs, and the retired keys kept for their
// tokens. Without it the key set is [KeyFileName] alone.
const KeySetFileName = "keyset.json"

// keysDir holds the keys made by rotations, one PKCS #8 PEM file per kid.
const keysDir = "keys"

// KeySet is the coordinator's signing keys: the active one, which signs
// every new token, and retired ones, whose tokens are still accepted until
// their RemoveAfter. It is a value: rotations make a new one.
type KeySet struct {
	// ActiveID is the kid of the signing key.
	ActiveID string
	active   ed25519.PrivateKey
	// Keys are the public keys by kid, the active one included.
	Keys map[string]ed25519.PublicKey
	// Retired are the retired keys' kids, oldest first, with when each
	// was retired and when it goes.
	Retired []RetiredKey
}

// RetiredKey is a key that no longer signs.
type RetiredKey struct {
	ID          string    `json:"kid"`
	File        string    `json:"file"`
	RetiredAt   time.Time `json:"retired_at"`
	RemoveAfter time.Time `json:"remove_after"`
}

// keySetFile is the manifest's JSON.
type keySetFile struct {
	Active  string       `json:"active"`
	File    string       `json:"file"`
	Retired []RetiredKey `json:"retired"`
}

// NewKeySet returns the key set of one key.
func NewKeySet(key ed25519.PrivateKey) (*KeySet, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("new key set: private key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	pub := key.Public().(ed25519.PublicKey)
	id := KeyID(pub)
	return &KeySet{ActiveID: id, active: key, Keys: map[string]ed25519.PublicKey{id: pub}}, nil
}

// Active returns the signing key.
func (ks *KeySet) Active() ed25519.PrivateKey { return ks.active }

// JWKS returns the public keys as a JSON Web Key Set.
func (ks *KeySet) JWKS() ([]byte, error) { return MarshalJWKS(ks.Keys) }

// LoadKeySet reads the key set of the data directory dir: the manifest
// written by [RotateKey] when there is one, else [LoadOrCreateKey]'s key.
// Retired keys whose RemoveAfter has passed at now are left out.
func LoadKeySet(dir string, now time.Time) (*KeySet, error) {
	m, err := readManifest(dir)
	if errors.Is(err, fs.ErrNotExist) {
		key, err := LoadOrCreateKey(dir)
		if err != nil {
			return nil, err
		}
		return NewKeySet(key)
	}
	if err != nil {
		return nil, err
	}
	key, err := readPrivateKey(filepath.Join(dir, m.File))
	if err != nil {
		return nil, fmt.Errorf("load key set: active key: %w", err)
	}
	ks, err := NewKeySet(key)
	if err != nil {
		return nil, err
	}
	if ks.ActiveID != m.Active {
		return nil, fmt.Errorf("load key set: %s holds key %s, the manifest says %s", m.File, ks.ActiveID, m.Active)
	}
	for _, r := range m.Retired {
		if !now.Before(r.RemoveAfter) {
			continue
		}
		k, err := readPrivateKey(filepath.Join(dir, r.File))
		if err != nil {
			return nil, fmt.Errorf("load key set: retired key %s: %w", r.ID, err)
		}
		ks.Keys[r.ID] = k.Public().(ed25519.PublicKey)
		ks.Retired = append(ks.Retired, r)
	}
	return ks, nil
}

func readManifest(dir string) (keySetFile, error) {
	var m keySetFile
	b, err := os.ReadFile(filepath.Join(dir, KeySetFileName))
	if err != nil {
		return m, fmt.Errorf("load key set: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("load key set: %s: %w", KeySetFileName, err)
	}
	if m.Active == "" || m.File == "" {
		return m, fmt.Errorf("load key set: %s names no active key", KeySetFileName)
	}
	return m, nil
}

// RotateKey makes a new signing key in dir and retires the active one,
// whose tokens stay valid until now+keep (set keep to the longest lifetime
// of the tokens it signed). Retired keys past their time are dropped from
// the manifest. Coordinators reading dir pick the new key up without a
// restart ([KeySet] reloads); it returns the new key set.
func RotateKey(dir string, keep time.Duration, now time.Time) (*KeySet, error) {
	if keep < 0 {
		return nil, fmt.Errorf("rotate key: negative keep %v", keep)
	}
	m, err := readManifest(dir)
	if errors.Is(err, fs.ErrNotExist) {
		key, err := LoadOrCreateKey(dir)
		if err != nil {
			return nil, err
		}
		m = keySetFile{Active: KeyID(key.Public().(ed25519.PublicKey)), File: KeyFileName}
	} else if err != nil {
		return nil, err
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("rotate key: %w", err)
	}
	id := KeyID(key.Public().(ed25519.PublicKey))
	file := filepath.Join(keysDir, id+".key")
	if err := os.MkdirAll(filepath.Join(dir, keysDir), 0o700); err != nil {
		return nil, fmt.Errorf("rotate key: %w", err)
	}
	data, err := MarshalPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, file), data, 0o600); err != nil {
		return nil, fmt.Errorf("rotate key: %w", err)
	}
	retired := slices.DeleteFunc(m.Retired, func(r RetiredKey) bool { return !now.Before(r.RemoveAfter) })
	retired = append(retired, RetiredKey{ID: m.Active, File: m.File, RetiredAt: now.UTC(), RemoveAfter: now.Add(keep).UTC()})
	if err := writeManifest(dir, keySetFile{Active: id, File: file, Retired: retired}); err != nil {
		return nil, fmt.Errorf("rotate key: %w", err)
	}
	if err := WritePublicKey(filepath.Join(dir, PublicKeyFileName), key.Public().(ed25519.PublicKey)); err != nil {
		return nil, fmt.Errorf("rotate key: %w", err)
	}
	return LoadKeySet(dir, now)
}

// RemoveKey drops a retired key from the manifest at once: the tokens it
// signed are refused from the coordinators' next reload on. The active key
// cannot be removed (rotate first).
func RemoveKey(dir, kid string, now time.Time) (*KeySet, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	if kid == m.Active {
		return nil, fmt.Errorf("remove key %s: it is the active key: rotate first", kid)
	}
	n := len(m.Retired)
	m.Retired = slices.DeleteFunc(m.Retired, func(r RetiredKey) bool { return r.ID == kid })
	if len(m.Retired) == n {
		return nil, fmt.Errorf("remove key %s: no such retired key", kid)
	}
	if err := writeManifest(dir, m); err != nil {
		return nil, fmt.Errorf("remove key: %w", err)
	}
	return LoadKeySet(dir, now)
}

func writeManifest(dir string, m keySetFile) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, KeySetFileName), append(b, '\n'), 0o600)
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so a reader sees the old file or the new one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return err
}
