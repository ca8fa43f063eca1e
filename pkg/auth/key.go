package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// File names [LoadOrCreateKey] uses inside its directory.
const (
	// KeyFileName holds the Ed25519 private key, PKCS #8 in a PEM
	// "PRIVATE KEY" block, mode 0600.
	KeyFileName = "signing.key"
	// PublicKeyFileName holds the matching public key, PKIX in a PEM
	// "PUBLIC KEY" block, mode 0644: the file to hand to executors.
	PublicKeyFileName = "signing.pub"
)

// LoadOrCreateKey returns the token signing key kept in dir, generating it on
// first use. The key is written atomically with mode 0600 (dir is created
// with mode 0700 if missing), and the public key is written beside it as
// [PublicKeyFileName] if that file is missing.
//
// An existing key file readable or writable by group or others is refused
// with an error wrapping [ErrKeyPermissions]; fix it with chmod 600.
// Two processes starting on the same empty dir end up with the same key.
func LoadOrCreateKey(dir string) (ed25519.PrivateKey, error) {
	if dir == "" {
		return nil, errors.New("load signing key: empty directory name")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("load signing key: %w", err)
	}
	path := filepath.Join(dir, KeyFileName)
	key, err := readPrivateKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createPrivateKey(dir, path)
	}
	if err != nil {
		return nil, err
	}
	pubPath := filepath.Join(dir, PublicKeyFileName)
	if _, err := os.Stat(pubPath); errors.Is(err, fs.ErrNotExist) {
		if err := WritePublicKey(pubPath, key.Public().(ed25519.PublicKey)); err != nil {
			return nil, fmt.Errorf("load signing key: %w", err)
		}
	}
	return key, nil
}

// readPrivateKey reads and checks the private key file at path. A missing
// file is reported with an error wrapping fs.ErrNotExist.
func readPrivateKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("read signing key: %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("read signing key %s: %w: mode %#o, want 0600 (run: chmod 600 %s)",
			path, ErrKeyPermissions, perm, path)
	}
	data, err := readAll(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("read signing key %s: %w", path, err)
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("read signing key %s: %w", path, err)
	}
	return key, nil
}

func readAll(f *os.File, size int64) ([]byte, error) {
	const maxKeyFile = 64 << 10
	if size > maxKeyFile {
		return nil, fmt.Errorf("file is %d bytes, too large for a key", size)
	}
	buf := make([]byte, size)
	n, err := f.ReadAt(buf, 0)
	if err != nil && n != len(buf) {
		return nil, err
	}
	return buf[:n], nil
}

// createPrivateKey generates a key and links it into place at path without
// ever replacing an existing file, then returns whatever key is at path.
func createPrivateKey(dir, path string) (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	data, err := MarshalPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".signing-*.tmp") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	// Link fails if another process created the key first; its key wins.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	return readPrivateKey(path)
}

// MarshalPrivateKey encodes key as PKCS #8 in a PEM "PRIVATE KEY" block.
func MarshalPrivateKey(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKey decodes an Ed25519 private key written by
// [MarshalPrivateKey].
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("parse private key: no PEM PRIVATE KEY block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("parse private key: %T is not an Ed25519 key", k)
	}
	return key, nil
}

// MarshalPublicKey encodes pub as PKIX in a PEM "PUBLIC KEY" block, the form
// executors are given to verify tickets.
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("marshal public key: %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKey decodes an Ed25519 public key written by [MarshalPublicKey].
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("parse public key: no PEM PUBLIC KEY block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("parse public key: %T is not an Ed25519 key", k)
	}
	return pub, nil
}

// WritePublicKey writes pub in PEM form to path with mode 0644, replacing
// the file atomically.
func WritePublicKey(path string, pub ed25519.PublicKey) error {
	data, err := MarshalPublicKey(pub)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".public-*.tmp")
	if err != nil {
		return fmt.Errorf("write public key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write public key: %w", err)
	}
	return nil
}

// ReadPublicKey reads a PEM public key file written by [WritePublicKey] or
// [LoadOrCreateKey].
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	pub, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("read public key %s: %w", path, err)
	}
	return pub, nil
}
